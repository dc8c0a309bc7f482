// The element-wise program on an OpenCL device: `Kernels/elementwise.cl`, four floats per work-item. gelu, add and
// layerScale declare their kernels beside their launchers (OpenCLGELU.swift, ...); `bias_activation` is the
// second half of `linear` here.

extension KernelTunable {
    /// Work-group size of the element-wise kernels (`EW_WG`; tokens.cl uses it as `TOK_WG`).
    static let elementwiseGroup = KernelTunable("EW_WG", cpu: 64, gpu: 256, workGroupSize: true)
}

extension KernelProgram {
    static let elementwise = KernelProgram(file: "elementwise", source: KernelSources.elementwise,
                                           tunables: [.elementwiseGroup])
}

extension OpenCLKernel {
    static let biasActivation = OpenCLKernel(.elementwise, "bias_activation")
}

extension OpenCLBackend {
    package func biasActivation(_ y: Tensor, bias: Tensor?, activation: Activation, columns: Int) throws {
        if bias == nil && activation == .identity { return }
        try launch(.biasActivation, global: (y.count + 3) / 4, local: programs.tuning[.elementwiseGroup],
                   [.buffer(try buffer(y)), .buffer(try bias.map(buffer)), .int(y.count), .int(columns),
                    .int(bias == nil ? 0 : 1), .int(activation.rawValue)])
    }
}
