import VitreousTensor

/// Attention the unfused way, for comparison with the fused op (benchmarks, tests): the scores
/// `scale·q·kᵀ` as a full `[batch·heads, tokens, tokens]` tensor (one GEMM), a softmax over it into a second
/// such tensor, then `P·v` (another GEMM), with the backend's own GEMM and softmax.
///
/// It takes the heads already split, `[batch, heads, tokens, headDim]`, the layout an unfused pipeline
/// transposes its QKV projection into; those transposes are not part of this function. A `scale` other
/// than 1 costs one extra element-wise pass over `q`. No key mask.
/// - Returns: `[batch, heads, tokens, headDim]`.
public func materializedAttention(q: Tensor, k: Tensor, v: Tensor, scale: Float? = nil) throws -> Tensor {
    let operation = "materializedAttention"
    let backend = try commonBackend(operation, q, k, v)
    guard q.rank == 4 else {
        throw VitreousError.shapeMismatch(
            "\(operation): q has shape \(q.shape), expected [batch, heads, tokens, headDim]")
    }
    for (tensor, name) in [(k, "k"), (v, "v")] where tensor.shape != q.shape {
        throw VitreousError.shapeMismatch("\(operation): \(name) has shape \(tensor.shape), expected q's \(q.shape)")
    }
    let (groups, tokens, headDim) = (q.shape[0] * q.shape[1], q.shape[2], q.shape[3])
    let scale = scale ?? 1 / Float(max(headDim, 1)).squareRoot()
    var scaled = q
    if scale != 1 {
        let gamma = try Tensor.filled(scale, shape: [headDim], on: q.device)
        scaled = try layerScale(q, gamma: gamma, residual: try Tensor.zeros(shape: q.shape, on: q.device))
    }
    let scores = try backend.empty(shape: [groups, tokens, tokens])
    try backend.kind.matmul(scaled, k, into: scores, batch: groups, m: tokens, n: tokens, k: headDim,
                            transposeB: true, shareB: false)
    let weights = try softmax(scores)
    let out = try backend.empty(shape: q.shape)
    try backend.kind.matmul(weights, v, into: out, batch: groups, m: tokens, n: headDim, k: tokens,
                            transposeB: false, shareB: false)
    return out
}
