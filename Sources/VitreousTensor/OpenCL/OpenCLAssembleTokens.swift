// assembleTokens on an OpenCL device: `assemble_tokens` in `Kernels/tokens.cl`, one output element per work-item.

extension OpenCLKernel {
    static let assembleTokens = OpenCLKernel(.tokens, "assemble_tokens")
}

extension OpenCLBackend {
    /// `[batch, 1 + registerCount + patchCount + extraCount, dim]`: CLS + position 0, the registers, each patch +
    /// its position, then zero tokens; the batch is in `out`'s count.
    func assembleTokens(patches: Tensor, cls: Tensor, registers: Tensor?, positions: Tensor, registerCount: Int,
                        patchCount: Int, extraCount: Int, dim: Int, out: Tensor) throws {
        try launch(.assembleTokens, global: out.count, local: programs.tuning[.elementwiseGroup],
                   [.buffer(try buffer(patches)), .buffer(try buffer(cls)), .buffer(try registers.map(buffer)),
                    .buffer(try buffer(positions)), .buffer(try buffer(out)), .int(out.count), .int(registerCount),
                    .int(patchCount), .int(extraCount), .int(dim)])
    }
}
