// addLayerNorm on an OpenCL device: `add_layer_norm` in `Kernels/layernorm.cl`, one work-group per row, with
// layer norm's tunables (an op added by the recipe in AddingAnOp.md).

extension OpenCLKernel {
    static let addLayerNorm = OpenCLKernel(.layerNorm, "add_layer_norm")
}

extension OpenCLBackend {
    /// `sum = x + residual`, `out = layerNorm(sum)`, rows of `dim`.
    func addLayerNorm(_ x: Tensor, residual: Tensor, weight: Tensor, bias: Tensor, rows: Int, dim: Int, eps: Float,
                      sum: Tensor, out: Tensor) throws {
        let group = programs.tuning[.layerNormGroup]
        try launch(.addLayerNorm, global: rows * group, local: group,
                   [.buffer(try buffer(x)), .buffer(try buffer(residual)), .buffer(try buffer(sum)),
                    .buffer(try buffer(out)), .buffer(try buffer(weight)), .buffer(try buffer(bias)),
                    .int(dim), .float(eps)])
    }
}
