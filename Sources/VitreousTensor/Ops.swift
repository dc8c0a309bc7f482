// The public operations. Each validates shapes and devices here, once, then hands flat sizes to the
// backend of its inputs' device.

/// All tensors on one device, else ``VitreousError/deviceMismatch(_:)`` naming the operation.
package func commonBackend(_ operation: String, _ tensors: Tensor?...) throws -> any Backend {
    let present = tensors.compactMap { $0 }
    guard let first = present.first else { throw VitreousError.invalidArgument("\(operation): no inputs") }
    if let other = present.first(where: { $0.device != first.device }) {
        throw VitreousError.deviceMismatch(
            "\(operation) got tensors on \(first.device) and \(other.device); move them with .to(_:) first")
    }
    return try first.backend()
}

func requireShape(_ tensor: Tensor, _ shape: [Int], _ what: String, _ operation: String) throws {
    guard tensor.shape == shape else {
        throw VitreousError.shapeMismatch("\(operation): \(what) has shape \(tensor.shape), expected \(shape)")
    }
}

func requireRank(_ tensor: Tensor, atLeast rank: Int, _ what: String, _ operation: String) throws {
    guard tensor.rank >= rank else {
        throw VitreousError.shapeMismatch("\(operation): \(what) has shape \(tensor.shape), needs \(rank)+ axes")
    }
}

/// Matrix product over the last two axes, `[..., m, k] · [k, n]` or batched `[..., m, k] · [..., k, n]`
/// with equal leading axes.
public func matmul(_ a: Tensor, _ b: Tensor) throws -> Tensor {
    let backend = try commonBackend("matmul", a, b)
    try requireRank(a, atLeast: 2, "a", "matmul")
    try requireRank(b, atLeast: 2, "b", "matmul")
    let (m, k) = (a.shape[a.rank - 2], a.shape[a.rank - 1])
    let (kb, n) = (b.shape[b.rank - 2], b.shape[b.rank - 1])
    guard k == kb else {
        throw VitreousError.shapeMismatch("matmul: \(a.shape) · \(b.shape): inner sizes \(k) and \(kb) differ")
    }
    let leading = Array(a.shape.dropLast(2))
    let shareB = b.rank == 2
    guard shareB || Array(b.shape.dropLast(2)) == leading else {
        throw VitreousError.shapeMismatch("matmul: \(a.shape) · \(b.shape): leading axes differ")
    }
    let out = try backend.empty(shape: leading + [m, n])
    try backend.matmul(a, b, into: out, batch: leading.reduce(1, *), m: m, n: n, k: k,
                       transposeB: false, shareB: shareB)
    return out
}

/// A fully connected layer as PyTorch stores it: `y = act(x · weightᵀ + bias)`.
/// - Parameters:
///   - x: `[..., in]`.
///   - weight: `[out, in]` (PyTorch's `nn.Linear.weight` layout).
///   - bias: `[out]`, optional.
///   - activation: applied after the bias, fused into the same pass.
/// - Returns: `[..., out]`.
public func linear(_ x: Tensor, weight: Tensor, bias: Tensor? = nil,
                   activation: Activation = .identity) throws -> Tensor {
    let backend = try commonBackend("linear", x, weight, bias)
    try requireRank(x, atLeast: 1, "x", "linear")
    guard weight.rank == 2, weight.shape[1] == x.shape[x.rank - 1] else {
        throw VitreousError.shapeMismatch(
            "linear: weight \(weight.shape) does not fit input \(x.shape); expected [out, \(x.shape[x.rank - 1])]")
    }
    let (outFeatures, inFeatures) = (weight.shape[0], weight.shape[1])
    if let bias { try requireShape(bias, [outFeatures], "bias", "linear") }
    let rows = x.count / max(inFeatures, 1)
    let out = try backend.empty(shape: Array(x.shape.dropLast()) + [outFeatures])
    if case .cpu(let cpu) = backend.kind {
        try cpu.linear(x, weight: weight, bias: bias, activation: activation, rows: rows, outFeatures: outFeatures,
                       inFeatures: inFeatures, out: out)
        return out
    }
    if case .openCL(let gpu) = backend.kind, let half = weight.storage as? HalfWeightStorage {
        try gpu.halfLinear(x, weight: half, bias: bias, activation: activation, rows: rows, outFeatures: outFeatures,
                           inFeatures: inFeatures, out: out)
        return out
    }
    try backend.matmul(x, weight, into: out, batch: 1, m: rows, n: outFeatures, k: inFeatures,
                       transposeB: true, shareB: true)
    try backend.biasActivation(out, bias: bias, activation: activation, columns: outFeatures)
    return out
}

func normParameters(_ x: Tensor, _ weight: Tensor, _ bias: Tensor, _ eps: Float,
                            _ operation: String) throws -> (rows: Int, dim: Int) {
    try requireRank(x, atLeast: 1, "x", operation)
    let dim = x.shape[x.rank - 1]
    guard dim > 0 else { throw VitreousError.invalidArgument("\(operation): the last axis of \(x.shape) is empty") }
    guard eps.isFinite, eps >= 0 else { throw VitreousError.invalidArgument("\(operation): eps \(eps)") }
    try requireShape(weight, [dim], "weight", operation)
    try requireShape(bias, [dim], "bias", operation)
    return (x.count / dim, dim)
}

/// Layer norm over the last axis: `(x − mean) / √(var + eps) · weight + bias`, biased variance as PyTorch.
/// NaN or infinite inputs give NaN in their row, nowhere else.
public func layerNorm(_ x: Tensor, weight: Tensor, bias: Tensor, eps: Float = 1e-6) throws -> Tensor {
    let backend = try commonBackend("layerNorm", x, weight, bias)
    let (rows, dim) = try normParameters(x, weight, bias, eps, "layerNorm")
    let out = try backend.empty(shape: x.shape)
    try backend.layerNorm(x, weight: weight, bias: bias, rows: rows, dim: dim, eps: eps, out: out)
    return out
}

/// Per-token L2 norms and per-image statistics, from ``tokenNorms(_:statisticsOver:)``.
public struct TokenNorms: Sendable {
    /// `[batch, tokens]`: the L2 norm of each token's channel vector.
    public let norms: Tensor
    /// `[batch, 3]`: per image `(max, argmax, mean)` over the chosen token range. Argmax is a token index
    /// stored as float (exact below 2²⁴ tokens); it is the first maximum. A NaN norm counts as the maximum.
    public let statistics: Tensor

    /// One image's statistics, read back to the host.
    public struct ImageStatistics: Sendable, Equatable {
        public let max: Float
        public let argmax: Int
        public let mean: Float
    }

    /// The statistics of every image, read back to the host (waits for the device).
    public func imageStatistics() throws -> [ImageStatistics] {
        let values = try statistics.toArray()
        return stride(from: 0, to: values.count, by: 3).map {
            ImageStatistics(max: values[$0], argmax: values[$0 + 1].isFinite ? Int(values[$0 + 1]) : -1,
                            mean: values[$0 + 2])
        }
    }
}

/// The L2 norm of every token of `x` (`[batch, tokens, dim]`, or `[tokens, dim]` as one image) and,
/// per image, max / argmax / mean of the norms over tokens `range` (all tokens by default; pass the
/// patch range to leave out CLS and registers).
public func tokenNorms(_ x: Tensor, statisticsOver range: Range<Int>? = nil) throws -> TokenNorms {
    let backend = try commonBackend("tokenNorms", x)
    guard x.rank == 2 || x.rank == 3 else {
        throw VitreousError.shapeMismatch("tokenNorms: expected [batch, tokens, dim] or [tokens, dim], got \(x.shape)")
    }
    let (batch, tokens, dim) = x.rank == 3 ? (x.shape[0], x.shape[1], x.shape[2]) : (1, x.shape[0], x.shape[1])
    guard batch > 0, tokens > 0 else {
        throw VitreousError.invalidArgument("tokenNorms: \(x.shape) has no tokens")
    }
    let range = range ?? 0..<tokens
    guard !range.isEmpty, range.lowerBound >= 0, range.upperBound <= tokens else {
        throw VitreousError.invalidArgument("tokenNorms: statistics range \(range) is not a non-empty part of 0..<\(tokens)")
    }
    let norms = try backend.empty(shape: x.rank == 3 ? [batch, tokens] : [tokens])
    let stats = try backend.empty(shape: [batch, 3])
    try backend.tokenNorms(x, batch: batch, tokens: tokens, dim: dim, range: range, norms: norms, stats: stats)
    return TokenNorms(norms: norms, statistics: stats)
}

/// Exact GELU, `0.5·x·(1 + erf(x/√2))`, element-wise.
public func gelu(_ x: Tensor) throws -> Tensor {
    let backend = try commonBackend("gelu", x)
    let out = try backend.empty(shape: x.shape)
    try backend.gelu(x, out: out)
    return out
}

/// Element-wise sum of two tensors of the same shape.
public func add(_ a: Tensor, _ b: Tensor) throws -> Tensor {
    let backend = try commonBackend("add", a, b)
    try requireShape(b, a.shape, "b", "add")
    let out = try backend.empty(shape: a.shape)
    try backend.add(a, b, out: out)
    return out
}

/// LayerScale and the residual connection: `residual + gamma ⊙ x`, `gamma` of the last axis's length.
public func layerScale(_ x: Tensor, gamma: Tensor, residual: Tensor) throws -> Tensor {
    let backend = try commonBackend("layerScale", x, gamma, residual)
    try requireRank(x, atLeast: 1, "x", "layerScale")
    let columns = x.shape[x.rank - 1]
    try requireShape(gamma, [columns], "gamma", "layerScale")
    try requireShape(residual, x.shape, "residual", "layerScale")
    let out = try backend.empty(shape: x.shape)
    try backend.layerScale(x, gamma: gamma, residual: residual, columns: columns, out: out)
    return out
}

/// Softmax over the last axis. A row of all −∞ gives NaN, as PyTorch does.
public func softmax(_ x: Tensor) throws -> Tensor {
    let backend = try commonBackend("softmax", x)
    try requireRank(x, atLeast: 1, "x", "softmax")
    let columns = x.shape[x.rank - 1]
    let out = try backend.empty(shape: x.shape)
    guard columns > 0 else { return out }
    try backend.softmax(x, rows: x.count / columns, columns: columns, out: out)
    return out
}

extension Tensor {
    /// ``VitreousTensor/matmul(_:_:)`` with `self` on the left.
    public func matmul(_ other: Tensor) throws -> Tensor { try VitreousTensor.matmul(self, other) }
    /// ``VitreousTensor/linear(_:weight:bias:activation:)`` applied to `self`.
    public func linear(weight: Tensor, bias: Tensor? = nil, activation: Activation = .identity) throws -> Tensor {
        try VitreousTensor.linear(self, weight: weight, bias: bias, activation: activation)
    }
    /// ``VitreousTensor/layerNorm(_:weight:bias:eps:)`` of `self`.
    public func layerNorm(weight: Tensor, bias: Tensor, eps: Float = 1e-6) throws -> Tensor {
        try VitreousTensor.layerNorm(self, weight: weight, bias: bias, eps: eps)
    }
    /// ``VitreousTensor/tokenNorms(_:statisticsOver:)`` of `self`.
    public func tokenNorms(statisticsOver range: Range<Int>? = nil) throws -> TokenNorms {
        try VitreousTensor.tokenNorms(self, statisticsOver: range)
    }
    /// ``VitreousTensor/gelu(_:)`` of `self`.
    public func gelu() throws -> Tensor { try VitreousTensor.gelu(self) }
    /// ``VitreousTensor/add(_:_:)`` of `self` and `other`.
    public func adding(_ other: Tensor) throws -> Tensor { try VitreousTensor.add(self, other) }
    /// ``VitreousTensor/softmax(_:)`` of `self`.
    public func softmax() throws -> Tensor { try VitreousTensor.softmax(self) }
}
