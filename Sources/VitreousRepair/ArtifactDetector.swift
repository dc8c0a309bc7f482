import Foundation

/// The outcome of one detector on one layer's patch norms (or scores).
public struct ArtifactDetection: Codable, Sendable, Equatable {
    /// Row-major patch indices that were flagged, ascending.
    public var flagged: [Int]
    /// The effective cut: a patch is flagged when its value exceeds it. When a detector declines to flag
    /// anything (Otsu finding no clear second mode) this is `Float.greatestFiniteMagnitude`, not infinity,
    /// so that reports stay valid JSON.
    public var threshold: Float

    /// A detection result.
    public init(flagged: [Int], threshold: Float) {
        self.flagged = flagged
        self.threshold = threshold
    }
}

/// The norm detectors of RegisterRepair.md, "Detection". All look only at the upper tail: before an artifact forms,
/// flat background patches have *low* norm and must not be flagged.
public enum ArtifactDetector: Codable, Sendable, Equatable, CustomStringConvertible {
    /// `n > threshold`: a hand-picked cut (150 for DINOv2 ViT-L block 22 and ViT-g; RegisterRepair.md, "Detection").
    case absolute(threshold: Float)
    /// `n > mean + k·std` with the population std. Breaks down once more than `1/(1 + k²)` of the patches are
    /// outliers (k = 3: 10 %, k = 4: 5.9 %), because the outliers inflate the std they are measured against.
    case meanStd(k: Float)
    /// The default: on `ℓ = log n`, `z = 0.6745·(ℓ − median ℓ)/MAD`; flag when `z > zMin` and
    /// `n > ratioMin·exp(median ℓ)`. The median and MAD ignore up to half the patches being outliers, and the
    /// ratio test keeps a very tight distribution from flagging its ordinary upper tail. When the MAD is below
    /// 1e-6 only the ratio test applies.
    case robustLogMAD(zMin: Float = 3.5, ratioMin: Float = 2)
    /// Otsu's threshold on a histogram of `log n` (`bins` bins between its minimum and maximum), accepted
    /// only when the upper class holds at most 25 % of the patches and its geometric mean is at least
    /// `ratioMin` times that of the lower class; otherwise nothing is flagged.
    case otsuLog(bins: Int = 256, ratioMin: Float = 2)

    /// The recommended detector, `robustLogMAD(zMin: 3.5, ratioMin: 2)`.
    public static let `default` = ArtifactDetector.robustLogMAD()

    /// A short name with the parameters, as reports record it.
    public var description: String {
        switch self {
        case .absolute(let threshold): return "absolute(\(threshold))"
        case .meanStd(let k): return "meanStd(k: \(k))"
        case .robustLogMAD(let zMin, let ratioMin): return "robustLogMAD(zMin: \(zMin), ratioMin: \(ratioMin))"
        case .otsuLog(let bins, let ratioMin): return "otsuLog(bins: \(bins), ratioMin: \(ratioMin))"
        }
    }

    /// Flags the high-norm patches among `norms` (one non-negative value per patch, row-major).
    /// - Throws: ``RepairError/invalidArgument(_:)`` for no norms, a negative or non-finite norm, or a
    ///   detector parameter out of range.
    public func detect(norms: [Float]) throws -> ArtifactDetection {
        guard !norms.isEmpty else { throw RepairError.invalidArgument("\(self) was given no norms") }
        try Stats.checkFinite(norms, "the norms given to \(self)")
        if let negative = norms.firstIndex(where: { $0 < 0 }) {
            throw RepairError.invalidArgument("norm \(norms[negative]) at index \(negative) is negative")
        }
        let values = norms.map(Double.init)
        switch self {
        case .absolute(let threshold):
            guard threshold.isFinite else { throw RepairError.invalidArgument("absolute threshold is \(threshold)") }
            return cut(values, at: Double(threshold))
        case .meanStd(let k):
            guard k.isFinite else { throw RepairError.invalidArgument("meanStd k is \(k)") }
            return cut(values, at: Stats.mean(values) + Double(k) * Stats.std(values))
        case .robustLogMAD(let zMin, let ratioMin):
            try Self.checkRatio(ratioMin)
            guard zMin.isFinite else { throw RepairError.invalidArgument("robustLogMAD zMin is \(zMin)") }
            return Self.robust(values.map(Self.safeLog), zMin: Double(zMin), logRatio: log(Double(ratioMin)),
                               transform: exp)
        case .otsuLog(let bins, let ratioMin):
            try Self.checkRatio(ratioMin)
            guard bins >= 2 else { throw RepairError.invalidArgument("otsuLog needs at least 2 bins, got \(bins)") }
            return Self.otsu(values.map(Self.safeLog), bins: bins, logRatio: log(Double(ratioMin)))
        }
    }

    /// Every index whose value exceeds `threshold`.
    private func cut(_ values: [Double], at threshold: Double) -> ArtifactDetection {
        ArtifactDetection(flagged: values.indices.filter { values[$0] > threshold }, threshold: Float(threshold))
    }

    /// A zero norm (a token exactly zero) has log −∞, which would poison the median; treat it as tiny.
    private static func safeLog(_ value: Double) -> Double { log(max(value, 1e-30)) }

    private static func checkRatio(_ ratioMin: Float) throws {
        guard ratioMin.isFinite, ratioMin > 0 else {
            throw RepairError.invalidArgument("ratioMin is \(ratioMin); it must be positive")
        }
    }

    /// The robust rule on already transformed scores `s` (log norms, or raw cosines): `z > zMin` and
    /// `s > median + logRatio` in the transformed space. `transform` maps the cut back for the report.
    static func robust(_ scores: [Double], zMin: Double, logRatio: Double,
                       transform: (Double) -> Double) -> ArtifactDetection {
        let m = Stats.median(scores)
        let mad = Stats.median(scores.map { abs($0 - m) })
        let ratioCut = m + logRatio
        var flagged: [Int] = []
        for (index, s) in scores.enumerated() where s > ratioCut {
            if mad < 1e-6 || 0.6745 * (s - m) / mad > zMin { flagged.append(index) }
        }
        let zCut = mad < 1e-6 ? -Double.infinity : m + zMin * mad / 0.6745
        return ArtifactDetection(flagged: flagged, threshold: Float(transform(max(ratioCut, zCut))))
    }

    /// Otsu's method on the histogram of log norms; see ``otsuLog(bins:ratioMin:)``.
    private static func otsu(_ logs: [Double], bins: Int, logRatio: Double) -> ArtifactDetection {
        let declined = ArtifactDetection(flagged: [], threshold: .greatestFiniteMagnitude)
        guard let low = logs.min(), let high = logs.max(), high - low > 1e-12 else { return declined }
        let width = (high - low) / Double(bins)
        let binOf = logs.map { min(Int(($0 - low) / width), bins - 1) }
        var counts = [Double](repeating: 0, count: bins)
        for bin in binOf { counts[bin] += 1 }
        let total = Double(logs.count)
        let centres = (0..<bins).map { low + (Double($0) + 0.5) * width }
        let totalSum = zip(counts, centres).reduce(0) { $0 + $1.0 * $1.1 }
        // Split k: the lower class is bins [0, k), the upper [k, bins); maximise the between-class variance.
        var (best, bestSplit) = (-1.0, 0)
        var (lowerCount, lowerSum) = (0.0, 0.0)
        for split in 1..<bins {
            lowerCount += counts[split - 1]
            lowerSum += counts[split - 1] * centres[split - 1]
            let upperCount = total - lowerCount
            guard lowerCount > 0, upperCount > 0 else { continue }
            let difference = lowerSum / lowerCount - (totalSum - lowerSum) / upperCount
            let between = lowerCount * upperCount * difference * difference
            if between > best { (best, bestSplit) = (between, split) }
        }
        guard bestSplit > 0 else { return declined }
        let upper = logs.indices.filter { binOf[$0] >= bestSplit }
        let lower = logs.indices.filter { binOf[$0] < bestSplit }
        guard !upper.isEmpty, !lower.isEmpty, Double(upper.count) <= 0.25 * total else { return declined }
        let meanHigh = Stats.mean(upper.map { logs[$0] }), meanLow = Stats.mean(lower.map { logs[$0] })
        guard meanHigh - meanLow >= logRatio else { return declined }
        return ArtifactDetection(flagged: upper, threshold: Float(exp(low + Double(bestSplit) * width)))
    }
}
