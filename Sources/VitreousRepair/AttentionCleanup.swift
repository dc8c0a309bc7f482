/// CLS attention rows with the flagged patches masked out, and what that took away.
public struct AttentionCleanupResult: Codable, Sendable, Equatable {
    /// Cleaned rows `[heads, patches]`, each summing to 1 over the patches.
    public var rows: [Float]
    /// Per head: the share of the row's patch mass that sat on flagged patches and was removed.
    public var removedMass: [Float]
    /// Heads left as they were (only renormalised): every patch flagged, or no mass on unflagged patches,
    /// so masking would leave nothing to renormalise.
    public var unchangedHeads: [Int]

    /// Mean removed share over heads.
    public var meanRemovedMass: Float {
        removedMass.isEmpty ? 0 : removedMass.reduce(0, +) / Float(removedMass.count)
    }
}

/// CLS attention cleanup (RegisterRepair.md, "Output repairs"): in each head's CLS softmax row over the patches, set the
/// flagged entries to zero and divide the rest by their sum. This equals a softmax with the flagged logits
/// at −∞, so the stored row is all it needs. Flag with the detector on the input of the last block united
/// with its output.
public enum AttentionCleanup {
    /// Cleans `rows` `[heads, patchCount]` (each head's CLS attention restricted to the patches, in
    /// row-major patch order; need not sum to 1, e.g. when cut out of a row over all tokens).
    /// - Throws: ``RepairError`` for mismatched sizes, negative or non-finite weights, a head whose row
    ///   has no mass at all, or a flagged index out of range.
    public static func apply(rows: [Float], heads: Int, patchCount: Int, flagged: [Int]) throws -> AttentionCleanupResult {
        guard heads > 0, patchCount > 0, rows.count == heads * patchCount else {
            throw RepairError.shapeMismatch("\(rows.count) attention weights for \(heads) heads × \(patchCount) patches")
        }
        try Stats.checkFinite(rows, "the attention rows")
        if let negative = rows.firstIndex(where: { $0 < 0 }) {
            throw RepairError.invalidArgument("attention weight \(rows[negative]) at index \(negative) is negative")
        }
        for index in flagged where index < 0 || index >= patchCount {
            throw RepairError.invalidArgument("flagged patch \(index) is outside 0..<\(patchCount)")
        }
        var isFlagged = [Bool](repeating: false, count: patchCount)
        for index in flagged { isFlagged[index] = true }
        var output = rows
        var removed: [Float] = [], unchanged: [Int] = []
        for head in 0..<heads {
            let base = head * patchCount
            var (total, kept) = (0.0, 0.0)
            for t in 0..<patchCount {
                total += Double(rows[base + t])
                if !isFlagged[t] { kept += Double(rows[base + t]) }
            }
            guard total > 0 else {
                throw RepairError.invalidArgument("head \(head)'s attention row has no mass on any patch")
            }
            let keep = kept > 0
            if !keep { unchanged.append(head) }
            for t in 0..<patchCount {
                let value = Double(rows[base + t])
                output[base + t] = keep ? (isFlagged[t] ? 0 : Float(value / kept)) : Float(value / total)
            }
            removed.append(keep ? Float((total - kept) / total) : 0)
        }
        return AttentionCleanupResult(rows: output, removedMass: removed, unchangedHeads: unchanged)
    }
}
