// Fused multi-head attention: the public operations and their validation. (The materialised
// GEMM → softmax → GEMM version it is compared with lives in VitreousTesting.)

/// Which query rows' softmax probabilities an attention call returns alongside its output.
///
/// Nothing of size tokens × tokens is ever stored: the CPU backend keeps the chosen rows' scores as its
/// attention pass goes by and normalises them at the end (one row of tokens per requested row and head), an
/// OpenCL device computes them in a cheap second pass over the chosen rows only.
public enum AttentionProbabilityRows: Sendable, Equatable {
    /// The CLS token's row (query 0): probabilities shaped `[batch, heads, tokens]`.
    case cls
    /// One query row: probabilities shaped `[batch, heads, tokens]`.
    case row(Int)
    /// Several query rows, in the order given (repeats allowed): `[batch, heads, rows.count, tokens]`.
    case rows([Int])

    /// The query indices, in output order.
    var indices: [Int] {
        switch self {
        case .cls: return [0]
        case .row(let index): return [index]
        case .rows(let indices): return indices
        }
    }
}

/// What an attention call returns.
public struct AttentionOutput: Sendable {
    /// `[batch, tokens, heads·headDim]`: each token's heads side by side (head-major), the layout the
    /// output projection reads.
    package let output: Tensor
    /// The softmax probabilities of the requested query rows for every head, when asked for:
    /// `[batch, heads, tokens]` for ``AttentionProbabilityRows/cls`` and ``AttentionProbabilityRows/row(_:)``,
    /// `[batch, heads, rows, tokens]` for ``AttentionProbabilityRows/rows(_:)``. Each row sums to 1; masked
    /// keys are exactly 0.
    package let probabilities: Tensor?
}

/// Where Q, K and V lie in their tensors and how big the problem is: what a backend's
/// ``Backend/attention(q:k:v:keyMask:geometry:out:rows:probabilities:)`` needs, validated by the public ops.
///
/// Head `h` of token `t` in batch item `b` starts at float `(b·tokens + t)·rowStride + offset + h·headDim`
/// of its tensor, where `offset` is ``qOffset``, ``kOffset`` or ``vOffset``.
package struct AttentionGeometry: Sendable, Equatable {
    package var batch: Int
    package var tokens: Int
    package var heads: Int
    package var headDim: Int
    /// Floats from one token to the next: `3·heads·headDim` in a fused QKV projection, `heads·headDim`
    /// for separate tensors.
    package var rowStride: Int
    package var qOffset: Int
    package var kOffset: Int
    package var vOffset: Int
    /// Multiplies `q·k` before the softmax.
    package var scale: Float
    /// Both products on bf16 operands (``Precision/bf16``, CPU only): Q, K, V and the softmax numerators rounded
    /// to bf16, sums in float32.
    package var bf16Products = false

    /// Floats in one token's output row, `heads·headDim`.
    package var width: Int { heads * headDim }
}

/// Fused multi-head attention reading straight from a fused QKV projection, flash style: one pass over
/// key/value tiles with a running (online) softmax, no tokens × tokens matrix in memory.
///
/// For batch item `b`, head `h` and query token `i`:
/// `out[b, i, h] = Σⱼ softmaxⱼ(scale · q[b, i, h] · k[b, j, h]) · v[b, j, h]` over the keys `j` not masked.
///
/// - Parameters:
///   - qkv: `[batch, tokens, 3·heads·headDim]`, the output of the QKV linear layer as DINOv2 and timm lay it
///     out, `[B, T, 3, H, Dh]`: per token all of Q (head-major, each head `headDim` consecutive floats),
///     then K, then V. Read in place: no split, transpose or copy.
///   - heads: number of heads; `headDim` is inferred. Any head dim works; 64 (every DINOv2 size) is the
///     fast path the kernels are tuned for.
///   - scale: multiplies `q·k`; `1/√headDim` when nil.
///   - probabilities: query rows whose softmax probabilities to return too (nil: none), for attention maps.
///   - keyMask: `[batch, tokens]` on the same device; a key whose mask value is exactly `0` is excluded
///     (probability exactly 0), any other value keeps it. When every key of a batch item is masked, its
///     output rows and probabilities are all zeros, on every backend. A masked key's K and V must still be
///     finite: its value row is multiplied by zero, not skipped.
///   - precision: ``Precision/bf16`` (CPU) takes both products on bf16 operands as a bf16 model does: Q, K, V and
///     the softmax numerators rounded to bf16, every sum float32. ``Precision/fp16`` computes as ``Precision/fp32``
///     (half storage covers the linear weights only).
/// - Returns: the output `[batch, tokens, heads·headDim]` and the requested probabilities. A NaN in Q, K or V
///   makes the affected rows NaN on every backend; it is never hidden.
/// - Throws: ``VitreousError/shapeMismatch(_:)`` for shapes that do not fit,
///   ``VitreousError/invalidArgument(_:)`` for a bad head count, scale or query index,
///   ``VitreousError/deviceMismatch(_:)`` when the tensors are on different devices.
public func attention(qkv: Tensor, heads: Int, scale: Float? = nil,
                      probabilities rows: AttentionProbabilityRows? = nil,
                      keyMask: Tensor? = nil, precision: Precision = .fp32) throws -> AttentionOutput {
    let operation = "attention(qkv:)"
    let backend = try commonBackend(operation, qkv, keyMask)
    guard qkv.rank == 3 else {
        throw VitreousError.shapeMismatch(
            "\(operation): qkv has shape \(qkv.shape), expected [batch, tokens, 3·heads·headDim]")
    }
    guard heads > 0 else { throw VitreousError.invalidArgument("\(operation): heads is \(heads), must be positive") }
    let channels = qkv.shape[2]
    guard channels > 0, channels % (3 * heads) == 0 else {
        throw VitreousError.shapeMismatch(
            "\(operation): qkv has \(channels) channels, not a positive multiple of 3·heads = \(3 * heads)")
    }
    let width = channels / 3
    let geometry = AttentionGeometry(batch: qkv.shape[0], tokens: qkv.shape[1], heads: heads, headDim: width / heads,
                                     rowStride: channels, qOffset: 0, kOffset: width, vOffset: 2 * width,
                                     scale: 0)
    return try runAttention(backend, operation, q: qkv, k: qkv, v: qkv, geometry: geometry, scale: scale,
                            rows: rows, keyMask: keyMask, precision: precision)
}

/// Fused multi-head attention over separate Q, K and V tensors, each `[batch, tokens, heads·headDim]`
/// (heads side by side). Otherwise the same as ``attention(qkv:heads:scale:probabilities:keyMask:precision:)``.
public func attention(q: Tensor, k: Tensor, v: Tensor, heads: Int, scale: Float? = nil,
                      probabilities rows: AttentionProbabilityRows? = nil,
                      keyMask: Tensor? = nil, precision: Precision = .fp32) throws -> AttentionOutput {
    let operation = "attention(q:k:v:)"
    let backend = try commonBackend(operation, q, k, v, keyMask)
    guard q.rank == 3 else {
        throw VitreousError.shapeMismatch(
            "\(operation): q has shape \(q.shape), expected [batch, tokens, heads·headDim]")
    }
    guard heads > 0 else { throw VitreousError.invalidArgument("\(operation): heads is \(heads), must be positive") }
    for (tensor, name) in [(k, "k"), (v, "v")] where tensor.shape != q.shape {
        throw VitreousError.shapeMismatch("\(operation): \(name) has shape \(tensor.shape), expected q's \(q.shape)")
    }
    let width = q.shape[2]
    guard width > 0, width % heads == 0 else {
        throw VitreousError.shapeMismatch(
            "\(operation): q has \(width) channels, not a positive multiple of heads = \(heads)")
    }
    let geometry = AttentionGeometry(batch: q.shape[0], tokens: q.shape[1], heads: heads, headDim: width / heads,
                                     rowStride: width, qOffset: 0, kOffset: 0, vOffset: 0, scale: 0)
    return try runAttention(backend, operation, q: q, k: k, v: v, geometry: geometry, scale: scale,
                            rows: rows, keyMask: keyMask, precision: precision)
}

/// The checks and allocations both public forms share, then the backend call.
private func runAttention(_ backend: any Backend, _ operation: String, q: Tensor, k: Tensor, v: Tensor,
                          geometry: AttentionGeometry, scale: Float?, rows: AttentionProbabilityRows?,
                          keyMask: Tensor?, precision: Precision) throws -> AttentionOutput {
    var geometry = geometry
    try precision.check(on: q.device)
    geometry.bf16Products = precision == .bf16
    geometry.scale = scale ?? 1 / Float(geometry.headDim).squareRoot()
    guard geometry.scale.isFinite else {
        throw VitreousError.invalidArgument("\(operation): scale \(geometry.scale) is not finite")
    }
    let (batch, tokens) = (geometry.batch, geometry.tokens)
    if let keyMask, keyMask.shape != [batch, tokens] {
        throw VitreousError.shapeMismatch(
            "\(operation): keyMask has shape \(keyMask.shape), expected [\(batch), \(tokens)]")
    }
    let indices = rows?.indices ?? []
    if let bad = indices.first(where: { !(0..<tokens).contains($0) }) {
        throw VitreousError.invalidArgument("\(operation): query row \(bad) is outside 0..<\(tokens)")
    }
    if case .rows(let list) = rows, list.isEmpty {
        throw VitreousError.invalidArgument("\(operation): probabilities(.rows([])) asks for no rows; pass nil")
    }
    let out = try backend.empty(shape: [batch, tokens, geometry.width])
    var probabilities: Tensor?
    if let rows {
        if case .rows = rows {
            probabilities = try backend.empty(shape: [batch, geometry.heads, indices.count, tokens])
        } else {
            probabilities = try backend.empty(shape: [batch, geometry.heads, tokens])
        }
    }
    guard batch > 0, tokens > 0 else { return AttentionOutput(output: out, probabilities: probabilities) }
    switch backend.kind {
    case .cpu(let cpu):
        try cpu.attention(q: q, k: k, v: v, keyMask: keyMask, geometry: geometry, out: out, rows: indices,
                          probabilities: probabilities)
    case .openCL(let gpu):
        try gpu.attention(q: q, k: k, v: v, keyMask: keyMask, geometry: geometry, out: out, rows: indices,
                          probabilities: probabilities)
    }
    return AttentionOutput(output: out, probabilities: probabilities)
}

extension Tensor {
    /// ``VitreousTensor/attention(qkv:heads:scale:probabilities:keyMask:precision:)`` with `self` as the fused QKV
    /// projection `[batch, tokens, 3·heads·headDim]`.
    public func attention(heads: Int, scale: Float? = nil, probabilities rows: AttentionProbabilityRows? = nil,
                          keyMask: Tensor? = nil, precision: Precision = .fp32) throws -> AttentionOutput {
        try VitreousTensor.attention(qkv: self, heads: heads, scale: scale, probabilities: rows, keyMask: keyMask,
                                     precision: precision)
    }
}
