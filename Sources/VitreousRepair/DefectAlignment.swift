import Foundation

/// The training-free checks of RegisterRepair.md, "Checks": how well one image's tokens at layer `l` line up
/// with the weight-derived defect direction `u_l`.
public struct DefectAlignment: Codable, Sendable, Equatable {
    /// `a_l`: mean `|cos(x_t, u_l)|` over flagged patches (nil when none is flagged).
    public var flaggedMeanCosine: Float?
    /// `b_l`: the same mean over unflagged patches (nil when every patch is flagged).
    public var unflaggedMeanCosine: Float?
    /// `d`: the image's own defect direction, `normalise(Σ_{t∈F} sign(x_t·u)·x_t)` (nil without flags or
    /// when the sum vanishes).
    public var imageDirection: [Float]?
    /// Angle between `d` and `u_l` in degrees, 0…180 (nil without `d`).
    public var angleDegrees: Float?

    /// The checks for patch tokens `[grid.count, dimension]` with the flagged set `flagged` (row-major
    /// patch indices) against `direction` (`u_l`, any length).
    /// - Throws: ``RepairError`` when sizes do not match, an index is off the grid or `direction` is zero.
    public init(tokens: [Float], grid: PatchGrid, dimension: Int, flagged: [Int], direction: [Float]) throws {
        try grid.checkTokens(tokens, dimension: dimension)
        try DefectCosineDetector.checkDirection(direction, dimension: dimension)
        let flaggedSet = Set(try grid.validated(flagged, "the flagged set"))
        let scores = try DefectCosineDetector.scores(tokens: tokens, grid: grid, dimension: dimension,
                                                     direction: direction).map(Double.init)
        let inside = scores.indices.filter { flaggedSet.contains($0) }.map { scores[$0] }
        let outside = scores.indices.filter { !flaggedSet.contains($0) }.map { scores[$0] }
        flaggedMeanCosine = inside.isEmpty ? nil : Float(Stats.mean(inside))
        unflaggedMeanCosine = outside.isEmpty ? nil : Float(Stats.mean(outside))

        var sum = [Double](repeating: 0, count: dimension)
        for t in flaggedSet {
            let sign: Double = Stats.dot(tokens, t * dimension, direction, 0, dimension) < 0 ? -1 : 1
            for i in 0..<dimension { sum[i] += sign * Double(tokens[t * dimension + i]) }
        }
        let length = sum.reduce(0) { $0 + $1 * $1 }.squareRoot()
        if !flaggedSet.isEmpty, length > 0 {
            let d = sum.map { Float($0 / length) }
            imageDirection = d
            angleDegrees = Float(Self.angle(d, direction))
        } else {
            imageDirection = nil
            angleDegrees = nil
        }
    }

    /// Angle between two vectors in degrees (0…180); 90 when either is zero.
    public static func angle(_ a: [Float], _ b: [Float]) -> Double {
        guard a.count == b.count, !a.isEmpty else { return 90 }
        let cosine = max(-1, min(1, Stats.cosine(a, 0, b, 0, a.count)))
        return acos(cosine) * 180 / Double.pi
    }

    /// The input-independence check: mean angle in degrees over all pairs of per-image directions `d`
    /// (nil for fewer than two). Directions are compared by `|cos|`, as signs carry no meaning.
    public static func meanPairwiseAngle(_ directions: [[Float]]) -> Double? {
        guard directions.count >= 2 else { return nil }
        var (sum, pairs) = (0.0, 0)
        for i in 0..<directions.count {
            for j in (i + 1)..<directions.count {
                let cosine = directions[i].count == directions[j].count
                    ? abs(Stats.cosine(directions[i], 0, directions[j], 0, directions[i].count)) : 0
                sum += acos(min(1, cosine)) * 180 / Double.pi
                pairs += 1
            }
        }
        return sum / Double(pairs)
    }

    /// Jaccard index `|A ∩ B| / |A ∪ B|` of two flagged sets (1 when both are empty: they agree).
    public static func jaccard(_ a: [Int], _ b: [Int]) -> Double {
        let (setA, setB) = (Set(a), Set(b))
        let union = setA.union(setB).count
        return union == 0 ? 1 : Double(setA.intersection(setB).count) / Double(union)
    }
}
