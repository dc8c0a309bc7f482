// layerScale as one unit (the recipe of AddingAnOp.md): the public op with its checks, the CPU implementation,
// and the dispatch to the OpenCL launcher in OpenCL/OpenCLLayerScale.swift.
import CVitreousCPU

/// LayerScale and the residual connection: `residual + gamma ⊙ x`, `gamma` of the last axis's length.
public func layerScale(_ x: Tensor, gamma: Tensor, residual: Tensor) throws -> Tensor {
    let backend = try commonBackend("layerScale", x, gamma, residual)
    try requireRank(x, atLeast: 1, "x", "layerScale")
    let columns = x.shape[x.rank - 1]
    try requireShape(gamma, [columns], "gamma", "layerScale")
    try requireShape(residual, x.shape, "residual", "layerScale")
    let out = try backend.empty(shape: x.shape)
    switch backend.kind {
    case .cpu(let cpu): try cpu.layerScale(x, gamma: gamma, residual: residual, columns: columns, out: out)
    case .openCL(let openCL): try openCL.layerScale(x, gamma: gamma, residual: residual, columns: columns, out: out)
    }
    return out
}

extension CPUBackend {
    /// `out = residual + gamma ⊙ x`, `gamma` broadcast over rows of `columns`, split over the cores by rows.
    func layerScale(_ x: Tensor, gamma: Tensor, residual: Tensor, columns: Int, out: Tensor) throws {
        let px = SendablePointer(try host(x)), pg = SendablePointer(try host(gamma))
        let pr = SendablePointer(try host(residual)), py = SendablePointer(try host(out))
        guard columns > 0 else { return }
        let kernels = CPUInstructionSet.kernels
        parallelFor(x.count / columns, grain: max(1, 16_384 / columns)) { range in
            let offset = range.lowerBound * columns
            kernels.layer_scale_rows(px.base + offset, pg.base, pr.base + offset, py.base + offset, range.count,
                                     columns)
        }
    }
}
