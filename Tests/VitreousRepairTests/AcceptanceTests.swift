import Testing
import VitreousDemo
import VitreousModel
@testable import VitreousRepair
import VitreousTensor

/// The register-repair acceptance criteria on the planted-defect model, through the real encoder on every
/// backend: detection is exact, test-time registers remove the outliers and spread the CLS attention, and
/// a repair leaves what it does not touch within 1e-5 of the unrepaired forward pass.
@Suite("Repair acceptance on planted models")
struct AcceptanceTests {
    static let devices: [Device] = Device.all
    static let planted = Set(PlantedArtifacts.Layout.isolated.backgroundCells.map { $0.row * 16 + $0.column })

    struct Pass {
        let layerNorms: [[Float]]   // per block output, whole sequence
        let attention: [Float]      // [heads, tokens]
        let patches: [Float]        // final patch tokens [256, 64]
        let cls: [Float]
        let layout: TokenLayout
    }

    static func encode(_ variant: PlantedArtifacts.Variant, _ layout: PlantedArtifacts.Layout, on device: Device,
                       registers: TestTimeRegisters? = nil) throws -> Pass {
        let encoder = ViTEncoder(weights: try PlantedArtifacts.weights(variant: variant).tensors(on: device))
        let image = try Tensor(PlantedArtifacts.image(layout: layout, seed: 5), shape: [1, 3, 224, 224], on: device)
        let out = try encoder.encode(image, options: EncoderOptions(tokenNorms: true, clsAttention: true,
                                                                    testTimeRegisters: registers))
        return Pass(layerNorms: try (out.tokenNorms ?? []).dropFirst().map { try $0.norms.toArray() },
                    attention: try out.clsAttention?.toArray() ?? [], patches: try out.patches.toArray(),
                    cls: try out.cls.toArray(),
                    layout: try TokenLayout(firstPatch: out.firstPatch, grid: try PatchGrid(height: 16, width: 16),
                                            testTimeRegisters: registers?.count ?? 0))
    }

    @Test("detection: precision and recall 1 on the planted tokens, nothing without the plant", arguments: devices)
    func detection(device: Device) throws {
        let run = try Self.encode(.planted, .isolated, on: device)
        let reports = try LayerArtifactReport.reports(layerNorms: run.layerNorms, layout: run.layout)
        for report in reports {
            let flagged = Set(report.flagged.map { $0.row * 16 + $0.column })
            #expect(flagged == (report.layer >= 2 ? Self.planted : []), "\(device) block \(report.layer)")
        }
        #expect(LayerArtifactReport.onsetLayer(reports) == 2)
        for (variant, layout) in [(PlantedArtifacts.Variant.clean, PlantedArtifacts.Layout.isolated), (.planted, .none)] {
            let clean = try Self.encode(variant, layout, on: device)
            let cleanReports = try LayerArtifactReport.reports(layerNorms: clean.layerNorms, layout: clean.layout)
            #expect(cleanReports.allSatisfy { $0.flagged.isEmpty }, "\(device) \(variant) \(layout)")
        }
    }

    @Test("test-time registers: max patch norm ≤ 1.5 × median, CLS attention entropy rises", arguments: devices)
    func testTimeRegisters(device: Device) throws {
        let before = try Self.encode(.planted, .isolated, on: device)
        let after = try Self.encode(.planted, .isolated, on: device, registers: TestTimeRegisters(neurons: [2: [7]]))
        for norms in after.layerNorms {
            let stats = try NormStatistics(norms: Array(norms[after.layout.patchRange]))
            #expect(stats.max <= 1.5 * stats.median, "\(device): max \(stats.max), median \(stats.median)")
        }
        let heads = 4
        let entropyBefore = try AttentionConcentration.perHead(
            rows: try RegisterAttention.patchRows(before.attention, heads: heads, layout: before.layout),
            heads: heads, flagged: Array(Self.planted)).mean.entropy
        let entropyAfter = try AttentionConcentration.perHead(
            rows: try RegisterAttention.patchRows(after.attention, heads: heads, layout: after.layout),
            heads: heads, flagged: Array(Self.planted)).mean.entropy
        #expect(entropyAfter > entropyBefore + 0.1, "\(device): entropy \(entropyBefore) → \(entropyAfter)")
    }

    @Test("inpainting and attention cleanup leave unflagged tokens exactly as the forward pass made them",
          arguments: devices)
    func untouchedStaysPut(device: Device) throws {
        let run = try Self.encode(.planted, .isolated, on: device)
        let flagged = Array(Self.planted).sorted()
        let repaired = try Inpainting.apply(.neighbourMean, tokens: run.patches, grid: run.layout.grid, dimension: 64,
                                            flagged: flagged)
        var largest: Float = 0
        for p in 0..<256 where !Self.planted.contains(p) {
            for c in 0..<64 { largest = max(largest, abs(repaired.tokens[p * 64 + c] - run.patches[p * 64 + c])) }
        }
        #expect(largest <= 1e-5, "\(device): unflagged tokens moved by \(largest)")
        let rows = try RegisterAttention.patchRows(run.attention, heads: 4, layout: run.layout)
        let cleaned = try AttentionCleanup.apply(rows: rows, heads: 4, patchCount: 256, flagged: flagged)
        for head in 0..<4 {
            let row = Array(cleaned.rows[(head * 256)..<((head + 1) * 256)])
            #expect(abs(row.reduce(0, +) - 1) < 1e-5 && flagged.allSatisfy { row[$0] == 0 }, "\(device) head \(head)")
        }
    }
}

/// Attention cleanup renormalises the stored CLS row instead of running attention again with the flagged
/// keys masked; this checks that the two are the same, on every backend.
@Suite("Attention cleanup equals key masking")
struct CleanupEqualsMaskTests {
    @Test("renormalised CLS rows match the attention op's key mask", arguments: Device.all)
    func equivalence(device: Device) throws {
        var generator = SplitMix64(seed: 42)
        let (tokens, heads, headDim, firstPatch) = (1 + 4 + 36, 3, 16, 5)
        let qkv = generator.normal(tokens * 3 * heads * headDim, std: 1.5)
        let flagged = [3, 10, 11, 35]  // patch indices
        var mask = [Float](repeating: 1, count: tokens)
        for p in flagged { mask[firstPatch + p] = 0 }
        let input = try Tensor(qkv, shape: [1, tokens, 3 * heads * headDim], on: device)
        let plain = try attention(qkv: input, heads: heads, probabilities: .cls).probabilities?.toArray() ?? []
        let masked = try attention(qkv: input, heads: heads, probabilities: .cls,
                                   keyMask: try Tensor(mask, shape: [1, tokens], on: device)).probabilities?.toArray() ?? []
        let layout = try TokenLayout(firstPatch: firstPatch, grid: try PatchGrid(height: 6, width: 6))
        let cleaned = try AttentionCleanup.apply(rows: try RegisterAttention.patchRows(plain, heads: heads, layout: layout),
                                                 heads: heads, patchCount: 36, flagged: flagged)
        // Masking every non-patch key too turns the masked row into a distribution over patches alone.
        var patchOnly = mask
        for t in 0..<firstPatch { patchOnly[t] = 0 }
        let patchMasked = try attention(qkv: input, heads: heads, probabilities: .cls,
                                        keyMask: try Tensor(patchOnly, shape: [1, tokens], on: device))
            .probabilities?.toArray() ?? []
        for h in 0..<heads {
            for p in 0..<36 {
                let expected = patchMasked[h * tokens + firstPatch + p]
                #expect(abs(cleaned.rows[h * 36 + p] - expected) < 1e-6, "\(device) head \(h) patch \(p)")
            }
            #expect(flagged.allSatisfy { masked[h * tokens + firstPatch + $0] == 0 })
        }
    }
}
