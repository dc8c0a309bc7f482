/// Every metric of RegisterRepair.md, "Metrics", for one image at one representation (a layer's output, or the final patch tokens),
/// ready to be written as one JSON object. Parts whose inputs were not given are nil.
public struct ImageMetrics: Codable, Sendable, Equatable {
    /// Block index the tokens come from (nil for final, normalised outputs).
    public var layer: Int?
    /// Flagged patches, and their share of all patches.
    public var flaggedCount: Int, flaggedFraction: Float
    /// Patch-norm statistics.
    public var norms: NormStatistics
    /// Norm of the CLS token, if given.
    public var clsNorm: Float?
    /// Norms of the register tokens given (trained, then test-time), in order.
    public var registerNorms: [Float]
    /// `S_cos` and `TV` over 4-neighbour pairs.
    public var smoothness: Smoothness
    /// Mean cosine of flagged patches to their 4-neighbours (nil when nothing is flagged).
    public var flaggedNeighbourCosine: Float?
    /// CLS attention concentration per head and its head mean (nil without attention rows).
    public var attentionPerHead: [AttentionConcentration]?, attentionMean: AttentionConcentration?
    /// CLS attention mass on registers (nil unless given).
    public var registerAttention: RegisterAttention?

    /// Measures one image.
    /// - Parameters:
    ///   - tokens: patch tokens `[grid.count, dimension]`.
    ///   - flagged: the flagged patches (row-major indices), e.g. from ``ArtifactDetector``.
    ///   - clsToken: the CLS token, for its norm.
    ///   - registerTokens: register tokens, flattened `[R, dimension]`, for their norms.
    ///   - patchAttention: CLS attention restricted to patches, `[heads, grid.count]` (before or after
    ///     ``AttentionCleanup``); `heads` splits it.
    ///   - registerAttention: masses from the full rows, see ``RegisterAttention``.
    /// - Throws: ``RepairError`` when any input does not fit the grid.
    public init(tokens: [Float], grid: PatchGrid, dimension: Int, flagged: [Int], layer: Int? = nil,
                clsToken: [Float]? = nil, registerTokens: [Float] = [], patchAttention: [Float]? = nil,
                heads: Int = 1, registerAttention: RegisterAttention? = nil) throws {
        let flaggedSet = try grid.validated(flagged, "the flagged set")
        self.layer = layer
        flaggedCount = flaggedSet.count
        flaggedFraction = Float(flaggedSet.count) / Float(grid.count)
        norms = try NormStatistics(norms: try PatchMetrics.norms(tokens: tokens, grid: grid, dimension: dimension))
        if let clsToken {
            guard clsToken.count == dimension else {
                throw RepairError.shapeMismatch("the CLS token has \(clsToken.count) entries, not \(dimension)")
            }
            clsNorm = Float(Stats.norm(clsToken, 0, dimension))
        } else {
            clsNorm = nil
        }
        guard registerTokens.count % dimension == 0 else {
            throw RepairError.shapeMismatch("\(registerTokens.count) register values are not whole tokens of \(dimension)")
        }
        registerNorms = (0..<(registerTokens.count / dimension)).map { Float(Stats.norm(registerTokens, $0 * dimension, dimension)) }
        smoothness = try Smoothness(tokens: tokens, grid: grid, dimension: dimension)
        flaggedNeighbourCosine = try PatchMetrics.flaggedNeighbourCosine(tokens: tokens, grid: grid, dimension: dimension,
                                                                         flagged: flaggedSet)
        if let patchAttention {
            guard patchAttention.count == heads * grid.count else {
                throw RepairError.shapeMismatch(
                    "\(patchAttention.count) attention weights for \(heads) heads × \(grid.count) patches")
            }
            let concentration = try AttentionConcentration.perHead(rows: patchAttention, heads: heads, flagged: flaggedSet)
            attentionPerHead = concentration.heads
            attentionMean = concentration.mean
        } else {
            attentionPerHead = nil
            attentionMean = nil
        }
        self.registerAttention = registerAttention
    }
}

/// One repair's effect on one image: the metrics before and after, and its fidelity.
public struct ImageMetricsComparison: Codable, Sendable, Equatable {
    /// What was done (e.g. "neighbourMean", "attentionCleanup").
    public var repair: String
    /// Metrics of the original and of the repaired tokens.
    public var before: ImageMetrics, after: ImageMetrics
    /// How much was changed that should not be.
    public var fidelity: Fidelity

    /// A comparison record.
    public init(repair: String, before: ImageMetrics, after: ImageMetrics, fidelity: Fidelity) {
        self.repair = repair
        self.before = before
        self.after = after
        self.fidelity = fidelity
    }

    /// Change of the maximum patch norm, after − before (negative when the repair lowered it).
    public var maxNormChange: Float { after.norms.max - before.norms.max }
    /// Change of `S_cos`, after − before (positive when the grid got smoother).
    public var smoothnessChange: Float { after.smoothness.meanCosine - before.smoothness.meanCosine }
}
