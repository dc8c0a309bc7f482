// Row reductions on an OpenCL device: layer norm (`Kernels/layernorm.cl`), token norms
// (`Kernels/token_norms.cl`) and softmax (`Kernels/softmax.cl`), one work-group per row.

extension KernelTunable {
    /// layernorm.cl's work-group per row (`LN_WG`): 1 on CPU drivers, one item per row vectorised by `LN_VEC`.
    static let layerNormGroup = KernelTunable("LN_WG", cpu: 1, gpu: 128, workGroupSize: true)
    /// Width of vector loads in row kernels (`LN_VEC`): 8 on CPUs (one AVX register), 4 on GPUs (16-byte loads).
    static let rowVectorWidth = KernelTunable("LN_VEC", cpu: 8, gpu: 4)
    /// token_norms.cl: the group per token (`NORM_WG`) and the group per image for the statistics (`STATS_WG`).
    static let tokenNormGroup = KernelTunable("NORM_WG", cpu: 1, gpu: 64, workGroupSize: true)
    static let tokenStatisticsGroup = KernelTunable("STATS_WG", cpu: 16, gpu: 128, workGroupSize: true)
    /// softmax.cl's work-group per row (`SM_WG`).
    static let softmaxGroup = KernelTunable("SM_WG", cpu: 16, gpu: 128, workGroupSize: true)
}

extension KernelProgram {
    static let layerNorm = KernelProgram(file: "layernorm", source: KernelSources.layernorm,
                                         tunables: [.layerNormGroup, .rowVectorWidth])
    static let tokenNorms = KernelProgram(file: "token_norms", source: KernelSources.token_norms,
                                          tunables: [.tokenNormGroup, .tokenStatisticsGroup])
    static let softmax = KernelProgram(file: "softmax", source: KernelSources.softmax, tunables: [.softmaxGroup])
}

extension OpenCLKernel {
    static let layerNorm = OpenCLKernel(.layerNorm, "layer_norm")
    static let tokenNorms = OpenCLKernel(.tokenNorms, "token_norms")
    static let tokenNormStatistics = OpenCLKernel(.tokenNorms, "token_norm_stats")
    static let softmaxRows = OpenCLKernel(.softmax, "softmax_rows")
}

extension OpenCLBackend {
    package func layerNorm(_ x: Tensor, weight: Tensor, bias: Tensor, rows: Int, dim: Int, eps: Float,
                           out: Tensor) throws {
        let group = programs.tuning[.layerNormGroup]
        try launch(.layerNorm, global: rows * group, local: group,
                   [.buffer(try buffer(x)), .buffer(try buffer(out)), .buffer(try buffer(weight)),
                    .buffer(try buffer(bias)), .int(dim), .float(eps)])
    }

    package func tokenNorms(_ x: Tensor, batch: Int, tokens: Int, dim: Int, range: Range<Int>,
                            norms: Tensor, stats: Tensor) throws {
        let (normGroup, statsGroup) = (programs.tuning[.tokenNormGroup], programs.tuning[.tokenStatisticsGroup])
        try launch(.tokenNorms, global: batch * tokens * normGroup, local: normGroup,
                   [.buffer(try buffer(x)), .buffer(try buffer(norms)), .int(dim)])
        try launch(.tokenNormStatistics, global: batch * statsGroup, local: statsGroup,
                   [.buffer(try buffer(norms)), .buffer(try buffer(stats)), .int(tokens),
                    .int(range.lowerBound), .int(range.upperBound)])
    }

    package func softmax(_ x: Tensor, rows: Int, columns: Int, out: Tensor) throws {
        let group = programs.tuning[.softmaxGroup]
        try launch(.softmaxRows, global: rows * group, local: group,
                   [.buffer(try buffer(x)), .buffer(try buffer(out)), .int(columns)])
    }
}
