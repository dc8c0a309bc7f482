import COpenCL

extension KernelProgram {
    /// tokens.cl runs one element per work-item, in groups of the element-wise size.
    static let tokens = KernelProgram(file: "tokens", source: KernelSources.tokens,
                                      defines: [("TOK_WG", .elementwiseGroup)])
}

extension OpenCLKernel {
    static let patchify = OpenCLKernel(.tokens, "patchify")
    static let assembleTokens = OpenCLKernel(.tokens, "assemble_tokens")
    static let swiglu = OpenCLKernel(.tokens, "swiglu")
}

/// Token layout ops on an OpenCL device (`Kernels/tokens.cl`; slices are rectangular buffer copies).
extension OpenCLBackend {
    package func patchify(_ images: Tensor, batch: Int, channels: Int, height: Int, width: Int, patch: Int,
                         out: Tensor) throws {
        try launch(.patchify, global: out.count, local: programs.tuning[.elementwiseGroup],
                   [.buffer(try buffer(images)), .buffer(try buffer(out)), .int(out.count), .int(channels),
                    .int(height), .int(width), .int(patch)])
    }

    package func assembleTokens(patches: Tensor, cls: Tensor, registers: Tensor?, positions: Tensor, batch: Int,
                               registerCount: Int, patchCount: Int, extraCount: Int, dim: Int, out: Tensor) throws {
        try launch(.assembleTokens, global: out.count, local: programs.tuning[.elementwiseGroup],
                   [.buffer(try buffer(patches)), .buffer(try buffer(cls)), .buffer(try registers.map(buffer)),
                    .buffer(try buffer(positions)), .buffer(try buffer(out)), .int(out.count), .int(registerCount),
                    .int(patchCount), .int(extraCount), .int(dim)])
    }

    package func sliceTokens(_ x: Tensor, batch: Int, tokens: Int, dim: Int, range: Range<Int>, out: Tensor) throws {
        guard out.count > 0 else { return }
        let (source, target) = (try buffer(x), try buffer(out))
        // One rectangle: `batch` rows of `range.count·dim` floats, source rows `tokens·dim` apart.
        var sourceOrigin = [range.lowerBound * dim * 4, 0, 0], targetOrigin = [0, 0, 0]
        var region = [range.count * dim * 4, batch, 1]
        try enqueue("clEnqueueCopyBufferRect") { queue in
            clEnqueueCopyBufferRect(queue, source, target, &sourceOrigin, &targetOrigin, &region,
                                    tokens * dim * 4, 0, range.count * dim * 4, 0, 0, nil, nil)
        }
    }

    package func swiglu(_ x: Tensor, rows: Int, hidden: Int, out: Tensor) throws {
        try launch(.swiglu, global: out.count, local: programs.tuning[.elementwiseGroup],
                   [.buffer(try buffer(x)), .buffer(try buffer(out)), .int(out.count), .int(hidden)])
    }
}
