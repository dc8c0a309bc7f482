import Foundation

/// Patch-norm statistics of one layer (RegisterRepair.md, "Metrics").
public struct NormStatistics: Codable, Sendable, Equatable {
    /// Largest, median and 99th-percentile (linear interpolation) patch norm.
    public var max: Float, median: Float, p99: Float
    /// `max/median` (`Float.greatestFiniteMagnitude` when the median is 0).
    public var maxOverMedian: Float

    /// Statistics of `norms` (one per patch).
    /// - Throws: ``RepairError/invalidArgument(_:)`` for no norms or a non-finite one.
    public init(norms: [Float]) throws {
        guard !norms.isEmpty else { throw RepairError.invalidArgument("no norms to summarise") }
        try Stats.checkFinite(norms, "the norms")
        let values = norms.map(Double.init)
        max = norms.max() ?? 0
        median = Float(Stats.median(values))
        p99 = Float(Stats.quantile(values, 0.99))
        maxOverMedian = median > 0 ? max / median : .greatestFiniteMagnitude
    }
}

/// Spatial smoothness of a patch-token grid over its 4-neighbour pairs.
public struct Smoothness: Codable, Sendable, Equatable {
    /// `S_cos`: mean cosine over 4-neighbour pairs (1 for a grid without pairs).
    public var meanCosine: Float
    /// `TV`: mean `‖x_i − x_j‖` over 4-neighbour pairs divided by the mean token norm (0 without pairs or
    /// for an all-zero grid), so it does not scale with the representation.
    public var totalVariation: Float

    /// The smoothness of `tokens` `[grid.count, dimension]`.
    /// - Throws: ``RepairError/shapeMismatch(_:)`` when `tokens` does not fill the grid.
    public init(tokens: [Float], grid: PatchGrid, dimension: Int) throws {
        try grid.checkTokens(tokens, dimension: dimension)
        let pairs = grid.neighbourPairs
        guard !pairs.isEmpty else {
            (meanCosine, totalVariation) = (1, 0)
            return
        }
        var (cosines, distances) = (0.0, 0.0)
        for (i, j) in pairs {
            cosines += Stats.cosine(tokens, i * dimension, tokens, j * dimension, dimension)
            var squared = 0.0
            for k in 0..<dimension {
                let difference = Double(tokens[i * dimension + k]) - Double(tokens[j * dimension + k])
                squared += difference * difference
            }
            distances += squared.squareRoot()
        }
        let meanNorm = (0..<grid.count).reduce(0.0) { $0 + Stats.norm(tokens, $1 * dimension, dimension) } / Double(grid.count)
        meanCosine = Float(cosines / Double(pairs.count))
        totalVariation = meanNorm > 0 ? Float(distances / Double(pairs.count) / meanNorm) : 0
    }
}

/// How much a repair changed what should not change (RegisterRepair.md, "Metrics").
public struct Fidelity: Codable, Sendable, Equatable {
    /// `cos(CLS_before, CLS_after)` (nil when no CLS was given).
    public var clsCosine: Float?
    /// Median of `‖x′ − x‖/‖x‖` over unflagged patches (0 for inpainting, which leaves them alone; nil when
    /// every patch is flagged). Zero tokens count as unchanged when they stay zero.
    public var medianRelativeChange: Float?

    /// Compares patch tokens before and after a repair, and optionally the CLS token.
    /// - Throws: ``RepairError`` for mismatched sizes or a flagged index off the grid.
    public init(before: [Float], after: [Float], grid: PatchGrid, dimension: Int, flagged: [Int],
                clsBefore: [Float]? = nil, clsAfter: [Float]? = nil) throws {
        try grid.checkTokens(before, dimension: dimension, "the tokens before")
        try grid.checkTokens(after, dimension: dimension, "the tokens after")
        let flaggedSet = Set(try grid.validated(flagged, "the flagged set"))
        var changes: [Double] = []
        for t in 0..<grid.count where !flaggedSet.contains(t) {
            var squared = 0.0
            for i in 0..<dimension {
                let difference = Double(after[t * dimension + i]) - Double(before[t * dimension + i])
                squared += difference * difference
            }
            let norm = Stats.norm(before, t * dimension, dimension)
            changes.append(norm > 0 ? squared.squareRoot() / norm : (squared > 0 ? Double(Float.greatestFiniteMagnitude) : 0))
        }
        medianRelativeChange = changes.isEmpty ? nil : Float(Stats.median(changes))
        switch (clsBefore, clsAfter) {
        case (nil, nil):
            clsCosine = nil
        case let (before?, after?) where before.count == after.count && !before.isEmpty:
            clsCosine = Float(Stats.cosine(before, 0, after, 0, before.count))
        default:
            throw RepairError.shapeMismatch("CLS before and after must both be given, with the same nonzero length")
        }
    }
}

/// Per-patch helpers shared by the metrics.
public enum PatchMetrics {
    /// `‖x_t‖` for every patch token.
    /// - Throws: ``RepairError/shapeMismatch(_:)`` when `tokens` does not fill the grid.
    public static func norms(tokens: [Float], grid: PatchGrid, dimension: Int) throws -> [Float] {
        try grid.checkTokens(tokens, dimension: dimension)
        return (0..<grid.count).map { Float(Stats.norm(tokens, $0 * dimension, dimension)) }
    }

    /// Mean cosine between each flagged patch and its 4-neighbours (all such pairs pooled); nil when nothing
    /// is flagged. High after a good inpainting, low for an artifact that stands out.
    /// - Throws: ``RepairError`` for mismatched sizes or a flagged index off the grid.
    public static func flaggedNeighbourCosine(tokens: [Float], grid: PatchGrid, dimension: Int,
                                              flagged: [Int]) throws -> Float? {
        try grid.checkTokens(tokens, dimension: dimension)
        var (sum, count) = (0.0, 0)
        for t in try grid.validated(flagged, "the flagged set") {
            for s in grid.neighbours4(of: t) {
                sum += Stats.cosine(tokens, t * dimension, tokens, s * dimension, dimension)
                count += 1
            }
        }
        return count == 0 ? nil : Float(sum / Double(count))
    }
}
