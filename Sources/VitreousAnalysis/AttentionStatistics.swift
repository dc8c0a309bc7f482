import Foundation

/// Where the patch tokens of one forward pass lie: the grid, the patch size in pixels and the index of the
/// first patch token (after CLS and registers).
public struct PatchGeometry: Sendable, Equatable, Codable {
    /// Patch rows.
    public var gridHeight: Int
    /// Patch columns.
    public var gridWidth: Int
    /// Pixels per patch side: attention distances are in pixels of the model's input.
    public var patchSize: Int
    /// Token index of patch (0, 0); patches follow row-major (row = y).
    public var firstPatch: Int

    /// A grid of `gridHeight` × `gridWidth` patches of `patchSize` pixels starting at token `firstPatch`.
    public init(gridHeight: Int, gridWidth: Int, patchSize: Int, firstPatch: Int) {
        self.gridHeight = gridHeight
        self.gridWidth = gridWidth
        self.patchSize = patchSize
        self.firstPatch = firstPatch
    }

    /// Patch tokens, `gridHeight · gridWidth`.
    public var patchCount: Int { gridHeight * gridWidth }
    /// The patch tokens' indices.
    public var patches: Range<Int> { firstPatch..<(firstPatch + patchCount) }
}

/// Mean attention distance and attention entropy per head of one layer, accumulated image by image.
///
/// **Attention distance** (Dosovitskiy et al., "An Image is Worth 16x16 Words", ICLR 2021, fig. 7; Park et
/// al., "What Do Self-Supervised Vision Transformers Learn?", ICLR 2023, fig. 4): for a patch query `i`,
/// `dᵢ = Σⱼ pᵢⱼ · ‖cᵢ − cⱼ‖` over the patch keys `j`, where `pᵢⱼ` is the softmax attention probability and `c`
/// a patch's centre in pixels; the head's value is the mean of `dᵢ` over patch queries and images. As the
/// reference implementations do, the CLS and register tokens are left out and the remaining probabilities
/// are not renormalised.
///
/// **Attention entropy** (Park et al., fig. 5): `Hᵢ = −Σⱼ pᵢⱼ log pᵢⱼ` (nats) over every key, averaged over
/// every query token and image.
public struct AttentionStatistics: Sendable {
    /// Attention heads per layer.
    public let heads: Int
    /// Where the patch tokens are and how large they are.
    public let geometry: PatchGeometry
    /// Tokens per attention row (CLS, registers, patches and anything after them).
    public let tokens: Int
    private var distanceSum: [Double]
    private var entropySum: [Double]
    /// Images added so far.
    public private(set) var images = 0
    /// Pixel distance between patch centres, `[patches, patches]`.
    private let distances: [Double]

    /// - Throws: ``AnalysisError/shapeMismatch(_:)`` when the patches do not fit in `tokens`.
    public init(heads: Int, tokens: Int, geometry: PatchGeometry) throws {
        guard heads > 0, geometry.gridHeight > 0, geometry.gridWidth > 0, geometry.firstPatch >= 0,
              geometry.patches.upperBound <= tokens else {
            throw AnalysisError.shapeMismatch("attention statistics: \(heads) heads, patches \(geometry.patches) "
                + "do not fit \(tokens) tokens")
        }
        self.heads = heads
        self.tokens = tokens
        self.geometry = geometry
        distanceSum = Array(repeating: 0, count: heads)
        entropySum = Array(repeating: 0, count: heads)
        let (n, w, size) = (geometry.patchCount, geometry.gridWidth, Double(geometry.patchSize))
        var table = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            for j in 0..<n {
                let (dy, dx) = (Double(i / w - j / w), Double(i % w - j % w))
                table[i * n + j] = size * (dy * dy + dx * dx).squareRoot()
            }
        }
        distances = table
    }

    /// Adds a batch of attention maps `[batch, heads, tokens, tokens]` (rows = queries, as
    /// ``VitreousModel/EncoderOutput/attentionMaps`` holds them).
    public mutating func add(_ probabilities: [Float], batch: Int) throws {
        try requireCount(probabilities, batch * heads * tokens * tokens, "attention maps [\(batch), \(heads), \(tokens), \(tokens)]")
        let (t, n, first) = (tokens, geometry.patchCount, geometry.firstPatch)
        probabilities.withUnsafeBufferPointer { p in
            for b in 0..<batch {
                for h in 0..<heads {
                    let map = (b * heads + h) * t * t
                    var entropy = 0.0, distance = 0.0
                    for q in 0..<t {
                        let row = map + q * t
                        for k in 0..<t {
                            let value = Double(p[row + k])
                            if value > 0 { entropy -= value * Foundation.log(value) }
                        }
                    }
                    for i in 0..<n {
                        let row = map + (first + i) * t + first
                        for j in 0..<n { distance += Double(p[row + j]) * distances[i * n + j] }
                    }
                    entropySum[h] += entropy / Double(t)
                    distanceSum[h] += distance / Double(n)
                }
            }
        }
        images += batch
    }

    /// Adds a batch from ``VitreousTensor/attentionRowStatistics(_:patchDistances:firstPatch:)`` run on its maps with
    /// ``patchDistanceTable``: `rowEntropy` `[batch, heads, tokens]`, `rowDistance` `[batch, heads, patches]`. The
    /// rows are summed in float64 here, as ``add(_:batch:)`` sums the elements.
    public mutating func add(rowEntropy: [Float], rowDistance: [Float], batch: Int) throws {
        let (t, n) = (tokens, geometry.patchCount)
        try requireCount(rowEntropy, batch * heads * t, "row entropies [\(batch), \(heads), \(t)]")
        try requireCount(rowDistance, batch * heads * n, "row distances [\(batch), \(heads), \(n)]")
        for b in 0..<batch {
            for h in 0..<heads {
                let map = b * heads + h
                entropySum[h] += rowEntropy[(map * t)..<((map + 1) * t)].reduce(0.0) { $0 + Double($1) } / Double(t)
                distanceSum[h] += rowDistance[(map * n)..<((map + 1) * n)].reduce(0.0) { $0 + Double($1) } / Double(n)
            }
        }
        images += batch
    }

    /// Pixel distance between patch centres, `[patches, patches]` row-major, for
    /// ``VitreousTensor/attentionRowStatistics(_:patchDistances:firstPatch:)``.
    public var patchDistanceTable: [Float] { distances.map(Float.init) }

    /// Mean attention distance per head, in pixels.
    public var meanDistance: [Double] { distanceSum.map { $0 / Double(max(images, 1)) } }
    /// Mean attention entropy per head, in nats.
    public var meanEntropy: [Double] { entropySum.map { $0 / Double(max(images, 1)) } }
}

/// A checkpoint holds the sums and the shape; the distance table is rebuilt from the geometry.
extension AttentionStatistics: Codable {
    private enum CodingKeys: String, CodingKey { case heads, tokens, geometry, distanceSum, entropySum, images }

    /// Writes the accumulated sums and what rebuilds the rest.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(heads, forKey: .heads)
        try container.encode(tokens, forKey: .tokens)
        try container.encode(geometry, forKey: .geometry)
        try container.encode(distanceSum, forKey: .distanceSum)
        try container.encode(entropySum, forKey: .entropySum)
        try container.encode(images, forKey: .images)
    }

    /// Reads what ``encode(to:)`` wrote.
    /// - Throws: ``AnalysisError/shapeMismatch(_:)`` when the sums do not fit the shape.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(heads: try container.decode(Int.self, forKey: .heads), tokens: try container.decode(Int.self, forKey: .tokens),
                      geometry: try container.decode(PatchGeometry.self, forKey: .geometry))
        distanceSum = try container.decode([Double].self, forKey: .distanceSum)
        entropySum = try container.decode([Double].self, forKey: .entropySum)
        images = try container.decode(Int.self, forKey: .images)
        guard distanceSum.count == heads, entropySum.count == heads else {
            throw AnalysisError.shapeMismatch("attention statistics checkpoint: sums for \(distanceSum.count) heads, expected \(heads)")
        }
    }
}
