// attentionRowStatistics on an OpenCL device: `Kernels/attention_statistics.cl`, one work-group per attention row.

extension KernelTunable {
    /// attention_statistics.cl: the group per attention row (`ASTAT_WG`).
    static let attentionStatisticsGroup = KernelTunable("ASTAT_WG", cpu: 1, gpu: 64, workGroupSize: true)
}

extension KernelProgram {
    static let attentionStatistics = KernelProgram(file: "attention_statistics",
                                                   source: KernelSources.attention_statistics,
                                                   tunables: [.attentionStatisticsGroup])
}

extension OpenCLKernel {
    static let attentionRowStatistics = OpenCLKernel(.attentionStatistics, "attention_row_statistics")
}

extension OpenCLBackend {
    /// Per-row entropy into `entropy` `[rows]` and per-patch-query distance into `distance`, rows of `tokens`.
    func attentionRowStatistics(_ p: Tensor, patchDistances: Tensor, rows: Int, tokens: Int, firstPatch: Int,
                                patches: Int, entropy: Tensor, distance: Tensor) throws {
        guard rows > 0 else { return }
        let group = programs.tuning[.attentionStatisticsGroup]
        try launch(.attentionRowStatistics, global: rows * group, local: group,
                   [.buffer(try buffer(p)), .buffer(try buffer(patchDistances)), .buffer(try buffer(entropy)),
                    .buffer(try buffer(distance)), .int(tokens), .int(firstPatch), .int(patches)])
    }
}
