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
    try backend.kind.matmul(a, b, into: out, batch: leading.reduce(1, *), m: m, n: n, k: k,
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
    switch backend.kind {
    case .cpu(let cpu):
        try cpu.linear(x, weight: weight, bias: bias, activation: activation, rows: rows, outFeatures: outFeatures,
                       inFeatures: inFeatures, out: out)
    case .openCL(let gpu):
        try gpu.linear(x, weight: weight, bias: bias, activation: activation, rows: rows, outFeatures: outFeatures,
                       inFeatures: inFeatures, out: out)
    }
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
