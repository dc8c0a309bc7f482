import Foundation

/// The `defectCosine` detector of RegisterRepair.md, "Detection": scores each patch by `c_t = |cos(x_t, u)|`,
/// its alignment with a layer's defect direction `u` (from ``DefectDirection``), and flags the high scores.
public struct DefectCosineDetector: Codable, Sendable, Equatable, CustomStringConvertible {
    /// How high scores are told from ordinary ones.
    public enum Rule: Codable, Sendable, Equatable {
        /// SINDER's rule: `c > mean + k·std` with the sample (Bessel-corrected) std, k = 4 in SINDER. Like
        /// ``ArtifactDetector/meanStd(k:)`` it breaks down once more than about `1/(1 + k²)` of the patches
        /// are defects: kept to document and reproduce that breakdown.
        case sinder(k: Float = 4)
        /// The robust rule of ``ArtifactDetector/robustLogMAD(zMin:ratioMin:)`` applied to `c` without the log:
        /// `0.6745·(c − median)/MAD > zMin` and `c > ratioMin·median` (only the ratio test when MAD < 1e-6),
        /// and also `c > minCosine`. The floor is ours: the `|cos|` of ordinary tokens with a fixed direction is
        /// roughly half-normal, whose upper tail passes `z > 3.5` for about 0.6 % of patches whatever its
        /// scale, while artifacts sit near 1 (≥ 0.99 on the planted fixture).
        case robust(zMin: Float = 3.5, ratioMin: Float = 2, minCosine: Float = 0.5)
    }

    /// The rule; ``Rule/robust(zMin:ratioMin:)`` by default.
    public var rule: Rule
    /// Leave the outer ring of the grid out, as SINDER's training does (its border patches are never flagged).
    public var excludeBorder: Bool

    /// A detector; the default is the robust rule over the whole grid.
    public init(rule: Rule = .robust(), excludeBorder: Bool = false) {
        self.rule = rule
        self.excludeBorder = excludeBorder
    }

    /// SINDER's own detector: `mean + 4·std` (Bessel) without the outer ring.
    public static let sinder = DefectCosineDetector(rule: .sinder(), excludeBorder: true)

    public var description: String {
        let border = excludeBorder ? ", interior only" : ""
        switch rule {
        case .sinder(let k): return "defectCosine(sinder k: \(k)\(border))"
        case .robust(let zMin, let ratioMin, let minCosine):
            return "defectCosine(robust zMin: \(zMin), ratioMin: \(ratioMin), minCosine: \(minCosine)\(border))"
        }
    }

    /// `|cos(x_t, u)|` for every patch token (0 for a zero token).
    /// - Parameters:
    ///   - tokens: patch tokens `[grid.count, dimension]`, row-major.
    ///   - direction: the defect direction `u` [`dimension`]; its length does not matter.
    /// - Throws: ``RepairError`` when the sizes do not match or `direction` is zero or not finite.
    public static func scores(tokens: [Float], grid: PatchGrid, dimension: Int, direction: [Float]) throws -> [Float] {
        try grid.checkTokens(tokens, dimension: dimension)
        try checkDirection(direction, dimension: dimension)
        return (0..<grid.count).map {
            Float(abs(Stats.cosine(tokens, $0 * dimension, direction, 0, dimension)))
        }
    }

    /// Flags the patches whose tokens align with `direction`; ``ArtifactDetection/threshold`` is the cut on `c`.
    /// - Throws: ``RepairError`` as ``scores(tokens:grid:dimension:direction:)``, or for a rule parameter out
    ///   of range.
    public func detect(tokens: [Float], grid: PatchGrid, dimension: Int, direction: [Float]) throws -> ArtifactDetection {
        let scores = try Self.scores(tokens: tokens, grid: grid, dimension: dimension, direction: direction)
        return try detect(scores: scores, grid: grid)
    }

    /// Flags among precomputed scores `c_t` (one per patch, row-major).
    /// - Throws: ``RepairError`` when `scores` does not fill the grid or holds a non-finite value.
    public func detect(scores: [Float], grid: PatchGrid) throws -> ArtifactDetection {
        guard scores.count == grid.count else {
            throw RepairError.shapeMismatch("\(scores.count) scores for a \(grid) of \(grid.count) patches")
        }
        try Stats.checkFinite(scores, "the defect-cosine scores")
        let candidates = (0..<grid.count).filter { index in
            guard excludeBorder else { return true }
            let (row, column) = (index / grid.width, index % grid.width)
            return row > 0 && row < grid.height - 1 && column > 0 && column < grid.width - 1
        }
        guard !candidates.isEmpty else { return ArtifactDetection(flagged: [], threshold: .greatestFiniteMagnitude) }
        let values = candidates.map { Double(scores[$0]) }
        let local: ArtifactDetection
        switch rule {
        case .sinder(let k):
            guard k.isFinite else { throw RepairError.invalidArgument("sinder k is \(k)") }
            let cut = Stats.mean(values) + Double(k) * Stats.std(values, bessel: true)
            local = ArtifactDetection(flagged: values.indices.filter { values[$0] > cut }, threshold: Float(cut))
        case .robust(let zMin, let ratioMin, let minCosine):
            guard zMin.isFinite, ratioMin.isFinite, ratioMin > 0, minCosine.isFinite else {
                throw RepairError.invalidArgument(
                    "robust rule needs finite zMin and minCosine and positive ratioMin, got \(zMin), \(ratioMin), \(minCosine)")
            }
            // The ratio test `c > ratioMin·median` is an additive cut `median + (ratioMin − 1)·median` here.
            let median = Stats.median(values)
            let robust = ArtifactDetector.robust(values, zMin: Double(zMin), logRatio: (Double(ratioMin) - 1) * median,
                                                 transform: { $0 })
            local = ArtifactDetection(flagged: robust.flagged.filter { values[$0] > Double(minCosine) },
                                      threshold: max(robust.threshold, minCosine))
        }
        return ArtifactDetection(flagged: local.flagged.map { candidates[$0] }, threshold: local.threshold)
    }

    static func checkDirection(_ direction: [Float], dimension: Int) throws {
        guard direction.count == dimension else {
            throw RepairError.shapeMismatch("the direction has \(direction.count) entries for tokens of dimension \(dimension)")
        }
        try Stats.checkFinite(direction, "the direction")
        guard direction.contains(where: { $0 != 0 }) else {
            throw RepairError.invalidArgument("the direction is the zero vector")
        }
    }
}
