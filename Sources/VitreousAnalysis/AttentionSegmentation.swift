/// Attention as segmentation, as DINO shows it (Caron et al., "Emerging Properties in Self-Supervised Vision
/// Transformers", ICCV 2021, fig. 3 and table 5): for each head, the CLS token's attention over the patches,
/// renormalised to sum to 1, keeps the smallest set of patches holding `fraction` of the mass (the reference
/// code sorts ascending, takes the cumulative sum and keeps the patches where it exceeds `1 − fraction`).
/// Against a ground-truth mask the score is the Jaccard index `|A ∩ B| / |A ∪ B|` (1 when both are empty).
public enum AttentionSegmentation {
    /// The kept patches of one head's CLS attention over the patches.
    public static func mask(_ attention: [Float], fraction: Double = 0.6) -> [Bool] {
        let total = attention.reduce(0.0) { $0 + Double($1) }
        let order = attention.indices.sorted { attention[$0] != attention[$1] ? attention[$0] < attention[$1] : $0 < $1 }
        var kept = [Bool](repeating: false, count: attention.count)
        var cumulative = 0.0
        for index in order {
            cumulative += total > 0 ? Double(attention[index]) / total : 0
            kept[index] = cumulative > 1 - fraction
        }
        return kept
    }

    /// `|a ∩ b| / |a ∪ b|`, 1 when both are empty.
    public static func jaccard(_ a: [Bool], _ b: [Bool]) -> Double {
        let both = zip(a, b).filter { $0 && $1 }.count
        let either = zip(a, b).filter { $0 || $1 }.count
        return either == 0 ? 1 : Double(both) / Double(either)
    }

    /// A pixel mask `[height, width]` (values in 0…1, foreground > 0.5) on the patch grid: a patch is
    /// foreground when more than half of its pixels are. `height`, `width` must be the grid times `patchSize`.
    public static func patchMask(_ pixels: [Float], height: Int, width: Int, patchSize: Int) throws -> [Bool] {
        try requireCount(pixels, height * width, "mask [\(height), \(width)]")
        guard patchSize > 0, height % patchSize == 0, width % patchSize == 0 else {
            throw AnalysisError.shapeMismatch("mask \(width)×\(height) is not a whole number of \(patchSize)-pixel patches")
        }
        let (gh, gw) = (height / patchSize, width / patchSize)
        return (0..<(gh * gw)).map { patch in
            let (py, px) = (patch / gw, patch % gw)
            var foreground = 0
            for y in (py * patchSize)..<((py + 1) * patchSize) {
                for x in (px * patchSize)..<((px + 1) * patchSize) where pixels[y * width + x] > 0.5 { foreground += 1 }
            }
            return 2 * foreground > patchSize * patchSize
        }
    }
}

/// Mean Jaccard index per head between attention masks and ground-truth patch masks, image by image.
public struct SegmentationScores: Sendable, Codable {
    /// Attention heads scored.
    public let heads: Int
    /// Share of each head's attention mass a mask keeps (DINO: 0.6).
    public let fraction: Double
    private var sums: [Double]
    /// Images scored so far.
    public private(set) var images = 0

    /// Scores for `heads` heads, masks keeping `fraction` of the attention mass.
    public init(heads: Int, fraction: Double = 0.6) {
        self.heads = heads
        self.fraction = fraction
        sums = Array(repeating: 0, count: heads)
    }

    /// Adds one image: `clsAttention` `[heads, patches]` (the CLS row over the patch keys) and its truth.
    public mutating func add(clsAttention: [Float], truth: [Bool]) throws {
        try requireCount(clsAttention, heads * truth.count, "CLS attention [\(heads), \(truth.count)]")
        let n = truth.count
        for h in 0..<heads {
            let mask = AttentionSegmentation.mask(Array(clsAttention[(h * n)..<((h + 1) * n)]), fraction: fraction)
            sums[h] += AttentionSegmentation.jaccard(mask, truth)
        }
        images += 1
    }

    /// Mean Jaccard index per head.
    public var meanJaccard: [Double] { sums.map { $0 / Double(max(images, 1)) } }
}
