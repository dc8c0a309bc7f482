// The token-layout program on an OpenCL device: `Kernels/tokens.cl`, one element per work-item. patchify,
// assembleTokens and swiglu declare their kernels beside their launchers (OpenCLPatchify.swift, ...).

extension KernelProgram {
    /// tokens.cl runs one element per work-item, in groups of the element-wise size.
    static let tokens = KernelProgram(file: "tokens", source: KernelSources.tokens,
                                      defines: [("TOK_WG", .elementwiseGroup)])
}
