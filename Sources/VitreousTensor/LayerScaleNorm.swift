// layerScaleNorm as one unit (the recipe of AddingAnOp.md): the public op with its checks, the CPU implementation
// (one pass, a C kernel of the active instruction set), and on OpenCL the two existing kernels in turn.
import CVitreousCPU

/// LayerScale, the residual connection and the next layer norm in one pass over the tokens:
/// `sum = residual + gamma ⊙ x`, `normalized = layerNorm(sum)` (the seam between two pre-norm sublayers).
public func layerScaleNorm(_ x: Tensor, gamma: Tensor, residual: Tensor, weight: Tensor, bias: Tensor,
                           eps: Float = 1e-6) throws -> (sum: Tensor, normalized: Tensor) {
    let backend = try commonBackend("layerScaleNorm", x, gamma, residual, weight, bias)
    let (rows, dim) = try normParameters(x, weight, bias, eps, "layerScaleNorm")
    try requireShape(gamma, [dim], "gamma", "layerScaleNorm")
    try requireShape(residual, x.shape, "residual", "layerScaleNorm")
    let sum = try backend.empty(shape: x.shape)
    let out = try backend.empty(shape: x.shape)
    switch backend.kind {
    case .cpu(let cpu):
        try cpu.layerScaleNorm(x, gamma: gamma, residual: residual, weight: weight, bias: bias, rows: rows, dim: dim,
                               eps: eps, sum: sum, out: out)
    case .openCL(let openCL):
        // The sum round-trips through device memory once; a fused kernel would save that pass.
        try openCL.layerScale(x, gamma: gamma, residual: residual, columns: dim, out: sum)
        try openCL.layerNorm(sum, weight: weight, bias: bias, rows: rows, dim: dim, eps: eps, out: out)
    }
    return (sum, out)
}

extension CPUBackend {
    /// `sum = residual + gamma ⊙ x`, `out = layerNorm(sum)`, rows of `dim` split over the cores; each sum row is
    /// still in L1 when its norm reads it back.
    func layerScaleNorm(_ x: Tensor, gamma: Tensor, residual: Tensor, weight: Tensor, bias: Tensor, rows: Int,
                        dim: Int, eps: Float, sum: Tensor, out: Tensor) throws {
        let (px, pg, pr) = (SendablePointer(try host(x)), SendablePointer(try host(gamma)),
                            SendablePointer(try host(residual)))
        let (pw, pb) = (SendablePointer(try host(weight)), SendablePointer(try host(bias)))
        let (ps, py) = (SendablePointer(try host(sum)), SendablePointer(try host(out)))
        let kernels = CPUInstructionSet.kernels
        parallelFor(rows, grain: Self.normRowGrain(dim)) { range in
            let offset = range.lowerBound * dim
            kernels.layer_scale_norm_rows(px.base + offset, pg.base, pr.base + offset, ps.base + offset, pw.base,
                                          pb.base, range.count, dim, eps, py.base + offset)
        }
    }
}
