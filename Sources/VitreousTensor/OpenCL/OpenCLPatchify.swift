// patchify on an OpenCL device: `patchify` in `Kernels/tokens.cl`, one output element per work-item.

extension OpenCLKernel {
    static let patchify = OpenCLKernel(.tokens, "patchify")
}

extension OpenCLBackend {
    /// im2col of a stride-`patch` convolution: `[batch, channels, height, width]` →
    /// `[batch, gh·gw, channels·patch·patch]`, rows ordered (channel, ky, kx); the batch is in `out`'s count.
    func patchify(_ images: Tensor, channels: Int, height: Int, width: Int, patch: Int, out: Tensor) throws {
        try launch(.patchify, global: out.count, local: programs.tuning[.elementwiseGroup],
                   [.buffer(try buffer(images)), .buffer(try buffer(out)), .int(out.count), .int(channels),
                    .int(height), .int(width), .int(patch)])
    }
}
