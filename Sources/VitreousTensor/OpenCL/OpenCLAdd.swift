// add on an OpenCL device: `add` in `Kernels/elementwise.cl`, four floats per work-item.

extension OpenCLKernel {
    static let add = OpenCLKernel(.elementwise, "add")
}

extension OpenCLBackend {
    /// Element-wise sum of two tensors of equal count.
    func add(_ a: Tensor, _ b: Tensor, out: Tensor) throws {
        try launch(.add, global: (a.count + 3) / 4, local: programs.tuning[.elementwiseGroup],
                   [.buffer(try buffer(a)), .buffer(try buffer(b)), .buffer(try buffer(out)), .int(a.count)])
    }
}
