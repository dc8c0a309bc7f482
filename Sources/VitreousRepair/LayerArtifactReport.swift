/// Where each kind of token sits in a sequence: CLS at 0, trained registers `1..<firstPatch`, the patch grid
/// from `firstPatch`, and test-time registers (if any) after the patches.
public struct TokenLayout: Codable, Sendable, Hashable {
    /// Index of the first patch token (1 + trained registers).
    public let firstPatch: Int
    /// The patch grid.
    public let grid: PatchGrid
    /// Test-time registers appended after the patches.
    public let testTimeRegisters: Int

    /// A layout.
    /// - Throws: ``RepairError/invalidArgument(_:)`` when `firstPatch < 1` (CLS must come first) or
    ///   `testTimeRegisters < 0`.
    public init(firstPatch: Int, grid: PatchGrid, testTimeRegisters: Int = 0) throws {
        guard firstPatch >= 1 else {
            throw RepairError.invalidArgument("firstPatch is \(firstPatch); CLS occupies token 0, so it must be ≥ 1")
        }
        guard testTimeRegisters >= 0 else {
            throw RepairError.invalidArgument("testTimeRegisters is \(testTimeRegisters)")
        }
        self.firstPatch = firstPatch
        self.grid = grid
        self.testTimeRegisters = testTimeRegisters
    }

    /// Decodes a layout, with the same checks as ``init(firstPatch:grid:testTimeRegisters:)``.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(firstPatch: try container.decode(Int.self, forKey: .firstPatch),
                      grid: try container.decode(PatchGrid.self, forKey: .grid),
                      testTimeRegisters: try container.decode(Int.self, forKey: .testTimeRegisters))
    }

    private enum CodingKeys: String, CodingKey { case firstPatch, grid, testTimeRegisters }

    /// Number of trained registers.
    public var trainedRegisters: Int { firstPatch - 1 }
    /// Tokens in the whole sequence.
    public var tokenCount: Int { firstPatch + grid.count + testTimeRegisters }
    /// Sequence indices of the patch tokens.
    public var patchRange: Range<Int> { firstPatch..<(firstPatch + grid.count) }
    /// Sequence indices of the trained registers.
    public var trainedRegisterRange: Range<Int> { 1..<firstPatch }
    /// Sequence indices of the test-time registers.
    public var testTimeRegisterRange: Range<Int> { (firstPatch + grid.count)..<tokenCount }
}

/// What detection found in one layer of one image (RegisterRepair.md, "Detection"), ready to be written as JSON.
public struct LayerArtifactReport: Codable, Sendable, Equatable {
    /// Block index whose output was examined (0-based).
    public var layer: Int
    /// The detector and its parameters, as text.
    public var detector: String
    /// The detector's effective cut on patch norms (`Float.greatestFiniteMagnitude` when it declined).
    public var threshold: Float
    /// The flagged patches, row-major order.
    public var flagged: [GridIndex]
    /// Flagged patches ÷ all patches.
    public var fraction: Float
    /// Largest and median patch norm.
    public var maxNorm: Float, medianNorm: Float
    /// Norm of the CLS token.
    public var clsNorm: Float
    /// Norms of the trained registers, in order.
    public var registerNorms: [Float]
    /// Norms of the test-time registers, reported apart from the trained ones.
    public var testTimeRegisterNorms: [Float]

    /// A report from one layer's token norms.
    /// - Parameters:
    ///   - layer: the block index.
    ///   - norms: `‖x_{l,t}‖` for the whole sequence, `layout.tokenCount` values.
    ///   - layout: where CLS, registers and patches are.
    ///   - detector: the norm detector (``ArtifactDetector/default`` unless a preset applies).
    /// - Throws: ``RepairError`` when `norms` does not match the layout or holds invalid values.
    public init(layer: Int, norms: [Float], layout: TokenLayout,
                detector: ArtifactDetector = .default) throws {
        guard norms.count == layout.tokenCount else {
            throw RepairError.shapeMismatch(
                "layer \(layer) has \(norms.count) token norms, but the layout needs \(layout.tokenCount) "
                    + "(CLS, \(layout.trainedRegisters) registers, \(layout.grid.count) patches, "
                    + "\(layout.testTimeRegisters) test-time registers)")
        }
        try Stats.checkFinite(norms, "the norms of layer \(layer)")
        let patches = Array(norms[layout.patchRange])
        let detection = try detector.detect(norms: patches)
        let values = patches.map(Double.init)
        self.layer = layer
        self.detector = detector.description
        threshold = detection.threshold
        flagged = detection.flagged.map(layout.grid.cell(at:))
        fraction = Float(detection.flagged.count) / Float(patches.count)
        maxNorm = patches.max() ?? 0
        medianNorm = Float(Stats.median(values))
        clsNorm = norms[0]
        registerNorms = Array(norms[layout.trainedRegisterRange])
        testTimeRegisterNorms = Array(norms[layout.testTimeRegisterRange])
    }

    /// One report per layer, from per-layer norm arrays of the whole sequence (`layerNorms[l]` has
    /// `layout.tokenCount` values for block `l`).
    /// - Throws: ``RepairError`` for the first layer whose norms do not fit.
    public static func reports(layerNorms: [[Float]], layout: TokenLayout,
                               detector: ArtifactDetector = .default) throws -> [LayerArtifactReport] {
        try layerNorms.enumerated().map { layer, norms in
            try LayerArtifactReport(layer: layer, norms: norms, layout: layout, detector: detector)
        }
    }

    /// One report per layer for a sequence of CLS, `firstPatch − 1` trained registers, the `grid` patches and
    /// `testTimeRegisters` test-time registers; see ``reports(layerNorms:layout:detector:)``.
    /// - Throws: ``RepairError`` for an invalid layout or norms that do not fit it.
    public static func reports(layerNorms: [[Float]], firstPatch: Int, grid: PatchGrid, testTimeRegisters: Int = 0,
                               detector: ArtifactDetector = .default) throws -> [LayerArtifactReport] {
        try reports(layerNorms: layerNorms,
                    layout: try TokenLayout(firstPatch: firstPatch, grid: grid, testTimeRegisters: testTimeRegisters),
                    detector: detector)
    }

    /// The onset layer: the first report with a flagged patch, nil when none has one.
    public static func onsetLayer(_ reports: [LayerArtifactReport]) -> Int? {
        reports.first { !$0.flagged.isEmpty }?.layer
    }
}
