// gelu on an OpenCL device: `gelu` in `Kernels/elementwise.cl`, four floats per work-item.

extension OpenCLKernel {
    static let gelu = OpenCLKernel(.elementwise, "gelu")
}

extension OpenCLBackend {
    /// Element-wise exact GELU.
    func gelu(_ x: Tensor, out: Tensor) throws {
        try launch(.gelu, global: (x.count + 3) / 4, local: programs.tuning[.elementwiseGroup],
                   [.buffer(try buffer(x)), .buffer(try buffer(out)), .int(x.count)])
    }
}
