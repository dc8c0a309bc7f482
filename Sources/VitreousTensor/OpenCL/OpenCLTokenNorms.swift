// tokenNorms on an OpenCL device: `Kernels/token_norms.cl`, one work-group per token for the norms, then one per
// image for the statistics.

extension KernelTunable {
    /// token_norms.cl: the group per token (`NORM_WG`) and the group per image for the statistics (`STATS_WG`).
    static let tokenNormGroup = KernelTunable("NORM_WG", cpu: 1, gpu: 64, workGroupSize: true)
    static let tokenStatisticsGroup = KernelTunable("STATS_WG", cpu: 16, gpu: 128, workGroupSize: true)
}

extension KernelProgram {
    static let tokenNorms = KernelProgram(file: "token_norms", source: KernelSources.token_norms,
                                          tunables: [.tokenNormGroup, .tokenStatisticsGroup])
}

extension OpenCLKernel {
    static let tokenNorms = OpenCLKernel(.tokenNorms, "token_norms")
    static let tokenNormStatistics = OpenCLKernel(.tokenNorms, "token_norm_stats")
}

extension OpenCLBackend {
    /// Per-token L2 norms of `[batch, tokens, dim]` into `norms` `[batch, tokens]`, and per image
    /// `(max, argmax, mean)` over tokens `range` into `stats` `[batch, 3]`.
    func tokenNorms(_ x: Tensor, batch: Int, tokens: Int, dim: Int, range: Range<Int>,
                    norms: Tensor, stats: Tensor) throws {
        let (normGroup, statsGroup) = (programs.tuning[.tokenNormGroup], programs.tuning[.tokenStatisticsGroup])
        try launch(.tokenNorms, global: batch * tokens * normGroup, local: normGroup,
                   [.buffer(try buffer(x)), .buffer(try buffer(norms)), .int(dim)])
        try launch(.tokenNormStatistics, global: batch * statsGroup, local: statsGroup,
                   [.buffer(try buffer(norms)), .buffer(try buffer(stats)), .int(tokens),
                    .int(range.lowerBound), .int(range.upperBound)])
    }
}
