// attentionRowStatistics as one unit (the recipe of AddingAnOp.md): the public op with its checks, the CPU
// implementation, and the dispatch to the OpenCL launcher in OpenCL/OpenCLAttentionRowStatistics.swift.
import CVitreousCPU

/// Per attention row, the two sums that attention entropy and attention distance are made of, from
/// ``attentionRowStatistics(_:patchDistances:firstPatch:)``. Both are small: read them back instead of the maps.
public struct AttentionRowStatistics: Sendable {
    /// `[batch, heads, tokens]`: `−Σₖ pₖ log pₖ` (nats) over the keys with `pₖ > 0` of each query row.
    public let entropy: Tensor
    /// `[batch, heads, patches]`: `Σⱼ pᵢⱼ · distance(i, j)` over the patch keys `j` of each patch query `i`.
    public let distance: Tensor
}

/// Reduces attention probabilities `[batch, heads, tokens, tokens]` (rows are queries) on their device to per-row
/// entropy and per-patch-query distance sums. `patchDistances` is `[patches, patches]`, the distance between
/// patch `i` and patch `j`; the patches are tokens `firstPatch..<firstPatch + patches`.
///
/// Each row is summed in float32 in a fixed order (vector lanes, then a pairwise tree); every term is
/// non-negative for probabilities in [0, 1], so a row's sum is within about `tokens · 2⁻²⁴` relative of the
/// float64 sum. Keys that are 0 or NaN add nothing to the entropy; a NaN key makes its row's distance NaN.
public func attentionRowStatistics(_ probabilities: Tensor, patchDistances: Tensor,
                                   firstPatch: Int) throws -> AttentionRowStatistics {
    let backend = try commonBackend("attentionRowStatistics", probabilities, patchDistances)
    guard probabilities.rank == 4, probabilities.shape[2] == probabilities.shape[3] else {
        throw VitreousError.shapeMismatch("attentionRowStatistics: expected probabilities [batch, heads, tokens, tokens], "
            + "got \(probabilities.shape)")
    }
    let (batch, heads, tokens) = (probabilities.shape[0], probabilities.shape[1], probabilities.shape[2])
    guard patchDistances.rank == 2, patchDistances.shape[0] == patchDistances.shape[1] else {
        throw VitreousError.shapeMismatch("attentionRowStatistics: expected patchDistances [patches, patches], "
            + "got \(patchDistances.shape)")
    }
    let patches = patchDistances.shape[0]
    guard firstPatch >= 0, firstPatch + patches <= tokens else {
        throw VitreousError.invalidArgument("attentionRowStatistics: patches \(firstPatch)..<\(firstPatch + patches) "
            + "do not fit \(tokens) tokens")
    }
    let entropy = try backend.empty(shape: [batch, heads, tokens])
    let distance = try backend.empty(shape: [batch, heads, patches])
    switch backend.kind {
    case .cpu(let cpu):
        try cpu.attentionRowStatistics(probabilities, patchDistances: patchDistances, rows: batch * heads * tokens,
                                       tokens: tokens, firstPatch: firstPatch, patches: patches,
                                       entropy: entropy, distance: distance)
    case .openCL(let openCL):
        try openCL.attentionRowStatistics(probabilities, patchDistances: patchDistances, rows: batch * heads * tokens,
                                          tokens: tokens, firstPatch: firstPatch, patches: patches,
                                          entropy: entropy, distance: distance)
    }
    return AttentionRowStatistics(entropy: entropy, distance: distance)
}

extension CPUBackend {
    /// Per-row entropy into `entropy` `[rows]` and per-patch-query distance into `distance`, rows of `tokens`
    /// split over the cores.
    func attentionRowStatistics(_ p: Tensor, patchDistances: Tensor, rows: Int, tokens: Int, firstPatch: Int,
                                patches: Int, entropy: Tensor, distance: Tensor) throws {
        let pp = SendablePointer(try host(p)), pd = SendablePointer(try host(patchDistances))
        let pe = SendablePointer(try host(entropy)), pdist = SendablePointer(try host(distance))
        let kernels = CPUInstructionSet.kernels
        parallelFor(rows, grain: max(1, 16_384 / max(tokens, 1))) { range in
            kernels.attention_row_statistics(pp.base, range.lowerBound, range.count, tokens, pd.base, firstPatch,
                                             patches, pe.base, pdist.base)
        }
    }
}
