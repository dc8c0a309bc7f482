// layerNorm on an OpenCL device: `layer_norm` in `Kernels/layernorm.cl`, one work-group per row. The program and
// its tunables are declared here; addLayerNorm (OpenCLAddLayerNorm.swift) shares them.

extension KernelTunable {
    /// layernorm.cl's work-group per row (`LN_WG`): 1 on CPU drivers, one item per row vectorised by `LN_VEC`.
    static let layerNormGroup = KernelTunable("LN_WG", cpu: 1, gpu: 128, workGroupSize: true)
    /// Width of vector loads in row kernels (`LN_VEC`): 8 on CPUs (one AVX register), 4 on GPUs (16-byte loads).
    static let rowVectorWidth = KernelTunable("LN_VEC", cpu: 8, gpu: 4)
}

extension KernelProgram {
    static let layerNorm = KernelProgram(file: "layernorm", source: KernelSources.layernorm,
                                         tunables: [.layerNormGroup, .rowVectorWidth])
}

extension OpenCLKernel {
    static let layerNorm = OpenCLKernel(.layerNorm, "layer_norm")
}

extension OpenCLBackend {
    /// Layer norm of `rows` rows of `dim`.
    func layerNorm(_ x: Tensor, weight: Tensor, bias: Tensor, rows: Int, dim: Int, eps: Float, out: Tensor) throws {
        let group = programs.tuning[.layerNormGroup]
        try launch(.layerNorm, global: rows * group, local: group,
                   [.buffer(try buffer(x)), .buffer(try buffer(out)), .buffer(try buffer(weight)),
                    .buffer(try buffer(bias)), .int(dim), .float(eps)])
    }
}
