// Element-wise ops on an OpenCL device: `Kernels/elementwise.cl`, four floats per work-item.

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
    static let gelu = OpenCLKernel(.elementwise, "gelu")
    static let add = OpenCLKernel(.elementwise, "add")
    static let layerScale = OpenCLKernel(.elementwise, "layer_scale")
}

extension OpenCLBackend {
    package func biasActivation(_ y: Tensor, bias: Tensor?, activation: Activation, columns: Int) throws {
        if bias == nil && activation == .identity { return }
        try launch(.biasActivation, global: (y.count + 3) / 4, local: programs.tuning[.elementwiseGroup],
                   [.buffer(try buffer(y)), .buffer(try bias.map(buffer)), .int(y.count), .int(columns),
                    .int(bias == nil ? 0 : 1), .int(activation.rawValue)])
    }

    package func gelu(_ x: Tensor, out: Tensor) throws {
        try launch(.gelu, global: (x.count + 3) / 4, local: programs.tuning[.elementwiseGroup],
                   [.buffer(try buffer(x)), .buffer(try buffer(out)), .int(x.count)])
    }

    package func add(_ a: Tensor, _ b: Tensor, out: Tensor) throws {
        try launch(.add, global: (a.count + 3) / 4, local: programs.tuning[.elementwiseGroup],
                   [.buffer(try buffer(a)), .buffer(try buffer(b)), .buffer(try buffer(out)), .int(a.count)])
    }

    package func layerScale(_ x: Tensor, gamma: Tensor, residual: Tensor, columns: Int, out: Tensor) throws {
        try launch(.layerScale, global: (x.count + 3) / 4, local: programs.tuning[.elementwiseGroup],
                   [.buffer(try buffer(x)), .buffer(try buffer(gamma)), .buffer(try buffer(residual)),
                    .buffer(try buffer(out)), .int(x.count), .int(columns)])
    }
}
