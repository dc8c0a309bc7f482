// swiglu on an OpenCL device: `swiglu` in `Kernels/tokens.cl`, one output element per work-item.

extension OpenCLKernel {
    static let swiglu = OpenCLKernel(.tokens, "swiglu")
}

extension OpenCLBackend {
    /// `silu(gate) ⊙ up` for rows `[gate | up]` of `2·hidden`; the row count is in `out`'s count.
    func swiglu(_ x: Tensor, hidden: Int, out: Tensor) throws {
        try launch(.swiglu, global: out.count, local: programs.tuning[.elementwiseGroup],
                   [.buffer(try buffer(x)), .buffer(try buffer(out)), .int(out.count), .int(hidden)])
    }
}
