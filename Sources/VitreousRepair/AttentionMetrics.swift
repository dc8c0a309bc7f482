import Foundation

/// How concentrated one CLS attention row over the patches is (RegisterRepair.md, "Metrics").
public struct AttentionConcentration: Codable, Sendable, Equatable {
    /// Entropy of the row renormalised to `p`, divided by `log N_p`: 1 for uniform, 0 for one patch.
    public var entropy: Float
    /// Mass of the ⌈1 % · N_p⌉ largest entries of `p`.
    public var topMass: Float
    /// Mass of `p` on the flagged patches.
    public var artifactMass: Float

    /// The concentration of `row` (one weight per patch; renormalised here) given the flagged patches.
    /// - Throws: ``RepairError`` for an empty row, negative or non-finite weights, a row without mass, or a
    ///   flagged index out of range.
    public init(row: [Float], flagged: [Int]) throws {
        guard !row.isEmpty else { throw RepairError.invalidArgument("an empty attention row") }
        try Stats.checkFinite(row, "the attention row")
        guard !row.contains(where: { $0 < 0 }) else {
            throw RepairError.invalidArgument("the attention row holds a negative weight")
        }
        let total = row.reduce(0.0) { $0 + Double($1) }
        guard total > 0 else { throw RepairError.invalidArgument("the attention row has no mass") }
        for index in flagged where index < 0 || index >= row.count {
            throw RepairError.invalidArgument("flagged patch \(index) is outside 0..<\(row.count)")
        }
        let p = row.map { Double($0) / total }
        let n = p.count
        let h = -p.reduce(0) { $0 + ($1 > 0 ? $1 * log($1) : 0) }
        entropy = n > 1 ? Float(h / log(Double(n))) : 0
        let top = Int((0.01 * Double(n)).rounded(.up))
        topMass = Float(p.sorted(by: >).prefix(top).reduce(0, +))
        artifactMass = Float(Set(flagged).reduce(0) { $0 + p[$1] })
    }

    /// Per-head concentrations of rows `[heads, patchCount]`, and their mean entry by entry.
    /// - Throws: ``RepairError`` as ``init(row:flagged:)``, or when `rows` does not split into `heads`.
    public static func perHead(rows: [Float], heads: Int,
                               flagged: [Int]) throws -> (heads: [AttentionConcentration], mean: AttentionConcentration) {
        guard heads > 0, !rows.isEmpty, rows.count % heads == 0 else {
            throw RepairError.shapeMismatch("\(rows.count) attention weights do not split into \(heads) heads")
        }
        let n = rows.count / heads
        let each = try (0..<heads).map { try AttentionConcentration(row: Array(rows[($0 * n)..<(($0 + 1) * n)]), flagged: flagged) }
        let count = Float(heads)
        var mean = each[0]
        mean.entropy = each.reduce(0) { $0 + $1.entropy } / count
        mean.topMass = each.reduce(0) { $0 + $1.topMass } / count
        mean.artifactMass = each.reduce(0) { $0 + $1.artifactMass } / count
        return (each, mean)
    }
}

/// CLS attention mass on registers, from the raw rows over the whole sequence (RegisterRepair.md, "Metrics").
public struct RegisterAttention: Codable, Sendable, Equatable {
    /// Per head: mass on the trained registers, and on the test-time registers.
    public var trained: [Float], testTime: [Float]
    /// Means over heads.
    public var meanTrained: Float, meanTestTime: Float

    /// Reads the masses from `rows` `[heads, layout.tokenCount]` (each head's CLS softmax row, not
    /// renormalised).
    /// - Throws: ``RepairError/shapeMismatch(_:)`` when `rows` does not fit `heads` and the layout.
    public init(rows: [Float], heads: Int, layout: TokenLayout) throws {
        let t = layout.tokenCount
        guard heads > 0, rows.count == heads * t else {
            throw RepairError.shapeMismatch("\(rows.count) attention weights for \(heads) heads × \(t) tokens")
        }
        try Stats.checkFinite(rows, "the attention rows")
        func mass(_ head: Int, _ range: Range<Int>) -> Float { range.reduce(0) { $0 + rows[head * t + $1] } }
        trained = (0..<heads).map { mass($0, layout.trainedRegisterRange) }
        testTime = (0..<heads).map { mass($0, layout.testTimeRegisterRange) }
        meanTrained = trained.reduce(0, +) / Float(heads)
        meanTestTime = testTime.reduce(0, +) / Float(heads)
    }

    /// The patch part of full rows `[heads, layout.tokenCount]`: `[heads, grid.count]`, not renormalised,
    /// as ``AttentionCleanup`` and ``AttentionConcentration`` take it.
    /// - Throws: ``RepairError/shapeMismatch(_:)`` when `rows` does not fit.
    public static func patchRows(_ rows: [Float], heads: Int, layout: TokenLayout) throws -> [Float] {
        let t = layout.tokenCount
        guard heads > 0, rows.count == heads * t else {
            throw RepairError.shapeMismatch("\(rows.count) attention weights for \(heads) heads × \(t) tokens")
        }
        return (0..<heads).flatMap { head in rows[(head * t + layout.firstPatch)..<(head * t + layout.patchRange.upperBound)] }
    }
}
