// rotaryEmbedding as one unit (the recipe of AddingAnOp.md): the public op with its checks and the CPU body (plain
// Swift: one multiply-add pair per element, memory-bound like the copy it replaces; see Benchmarks/HISTORY.md for its cost
// per pass). On OpenCL, Kernels/rope.cl through OpenCL/OpenCLRotaryEmbedding.swift.

/// The rotary position embedding of DINOv3 (and of transformers' `apply_rotary_pos_emb`, rotate-half layout)
/// applied to the queries and keys of a fused QKV projection: a copy of `qkv` in which, for every token `t`
/// of `tokens` and every head of Q and of K (the first two thirds of each row), the head's halves
/// `x₁ = x[0 ..< h]`, `x₂ = x[h ..< 2h]` (h = headDim/2) become
///
///     x₁′ = x₁ ⊙ cos[t′] − x₂ ⊙ sin[t′],   x₂′ = x₂ ⊙ cos[t′] + x₁ ⊙ sin[t′],   t′ = t − tokens.lowerBound,
///
/// which is `x ⊙ [cos, cos] + rotate_half(x) ⊙ [sin, sin]`. Every other value (V, and the tokens outside
/// `tokens`: CLS, registers, test-time registers) is copied unchanged.
/// - Parameters:
///   - qkv: `[batch, tokens, 3·heads·headDim]`, as ``attention(qkv:heads:scale:probabilities:keyMask:precision:)`` reads it.
///   - heads: the head count; the head dimension (`channels / (3·heads)`) must be even.
///   - cos: `[tokens.count, headDim/2]`, the cosines of each rotated token's angles (the table's second half
///     repeats the first, so only one half is passed).
///   - sin: the sines, shaped as `cos`.
///   - tokens: the rotated token indices, within `0 ..< qkv.shape[1]`.
/// - Returns: a new tensor of `qkv`'s shape. NaN in an input stays in the values computed from it.
/// - Throws: ``VitreousError/shapeMismatch(_:)`` or ``VitreousError/invalidArgument(_:)`` naming the input,
///   ``VitreousError/deviceMismatch(_:)`` when the tensors are on different devices.
public func rotaryEmbedding(qkv: Tensor, heads: Int, cos: Tensor, sin: Tensor, tokens: Range<Int>) throws -> Tensor {
    let operation = "rotaryEmbedding"
    let backend = try commonBackend(operation, qkv, cos, sin)
    guard qkv.rank == 3 else {
        throw VitreousError.shapeMismatch("\(operation): qkv has shape \(qkv.shape), expected [batch, tokens, 3·heads·headDim]")
    }
    guard heads > 0 else { throw VitreousError.invalidArgument("\(operation): heads is \(heads), must be positive") }
    let (batch, count, channels) = (qkv.shape[0], qkv.shape[1], qkv.shape[2])
    guard channels > 0, channels % (6 * heads) == 0 else {
        throw VitreousError.shapeMismatch("\(operation): qkv has \(channels) channels, not 3·\(heads) heads of an even "
            + "head dimension")
    }
    guard tokens.lowerBound >= 0, tokens.upperBound <= count else {
        throw VitreousError.invalidArgument("\(operation): rotated tokens \(tokens) outside 0..<\(count)")
    }
    let half = channels / (6 * heads)
    try requireShape(cos, [tokens.count, half], "cos", operation)
    try requireShape(sin, [tokens.count, half], "sin", operation)
    let out = try backend.empty(shape: qkv.shape)
    guard batch > 0, count > 0 else { return out }
    let geometry = RotaryGeometry(batch: batch, tokens: count, heads: heads, half: half, rotated: tokens)
    switch backend.kind {
    case .cpu(let cpu): try cpu.rotaryEmbedding(qkv, cos: cos, sin: sin, geometry, out: out)
    case .openCL(let openCL): try openCL.rotaryEmbedding(qkv, cos: cos, sin: sin, geometry, out: out)
    }
    return out
}

/// The sizes a backend's rotary embedding works with, validated by ``rotaryEmbedding(qkv:heads:cos:sin:tokens:)``.
struct RotaryGeometry {
    let batch: Int
    let tokens: Int
    let heads: Int
    /// Half the head dimension: the width of one cos/sin row.
    let half: Int
    /// The rotated tokens.
    let rotated: Range<Int>

    /// Floats in one token's QKV row.
    var rowStride: Int { 6 * heads * half }
}

extension CPUBackend {
    /// Token rows split over the cores: a rotated row's Q and K heads are written rotated and its V copied,
    /// any other row copied whole.
    func rotaryEmbedding(_ qkv: Tensor, cos: Tensor, sin: Tensor, _ g: RotaryGeometry, out: Tensor) throws {
        let (px, pc, ps, py) = (SendablePointer(try host(qkv)), SendablePointer(try host(cos)),
                                SendablePointer(try host(sin)), SendablePointer(try host(out)))
        let (stride, half) = (g.rowStride, g.half)
        let queriesAndKeys = 4 * g.heads * half
        parallelFor(g.batch * g.tokens, grain: max(1, 16_384 / stride)) { rows in
            for row in rows {
                let source = px.base + row * stride, target = py.base + row * stride
                let t = row % g.tokens
                guard g.rotated.contains(t) else {
                    target.update(from: source, count: stride)
                    continue
                }
                (target + queriesAndKeys).update(from: source + queriesAndKeys, count: stride - queriesAndKeys)
                let c = pc.base + (t - g.rotated.lowerBound) * half, s = ps.base + (t - g.rotated.lowerBound) * half
                // Q then K: 2·heads consecutive heads of 2·half floats.
                for head in 0..<(2 * g.heads) {
                    let x = source + head * 2 * half, y = target + head * 2 * half
                    for j in 0..<half {
                        let (x1, x2) = (x[j], x[j + half])
                        y[j] = x1 * c[j] - x2 * s[j]
                        y[j + half] = x2 * c[j] + x1 * s[j]
                    }
                }
            }
        }
    }
}
