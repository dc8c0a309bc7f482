// layerScale on an OpenCL device: `layer_scale` in `Kernels/elementwise.cl`, four floats per work-item.

extension OpenCLKernel {
    static let layerScale = OpenCLKernel(.elementwise, "layer_scale")
}

extension OpenCLBackend {
    /// `out = residual + gamma ⊙ x`, `gamma` broadcast over rows of `columns`.
    func layerScale(_ x: Tensor, gamma: Tensor, residual: Tensor, columns: Int, out: Tensor) throws {
        try launch(.layerScale, global: (x.count + 3) / 4, local: programs.tuning[.elementwiseGroup],
                   [.buffer(try buffer(x)), .buffer(try buffer(gamma)), .buffer(try buffer(residual)),
                    .buffer(try buffer(out)), .int(x.count), .int(columns)])
    }
}
