import Foundation
import Testing
import VitreousDemo
import VitreousModel
@testable import VitreousRepair
import VitreousTensor

/// bf16 against float32 on the same weights and images, in the measures `vitreous-bench --fidelity` reports
/// (the Precision article gives the numbers for the benchmark models). Bounds, derived from the operand rounding
/// (2⁻⁸ relative per operand, the float32 sums unchanged) and the planted model's margins:
/// - CLS cosine ≥ 0.9999 and patch cosine ≥ 0.999 on the planted DINOv2-style model: its tokens move by about
///   1 % relative through six blocks (one rounding per operand per layer), so a cosine of 1 − (1e-2)²/2 or better;
/// - the norm maps within 3 % of the float32 ones at every layer (planted artifacts are ~8× the other patches, so
///   a 3 % change cannot move a patch across the detector's threshold), and the same patches flagged at every
///   layer;
/// - defect directions within 2° (the bf16 weights differ from the float32 ones by up to 2⁻⁸ relative);
/// - test-time registers still pull the planted artifacts down to the foreground's norm (max patch norm ≤ 1.05×
///   float32's).
@Suite("Precision fidelity")
struct PrecisionFidelityTests {
    static func images(_ layouts: [PlantedArtifacts.Layout]) throws -> Tensor {
        let values = layouts.enumerated().flatMap { PlantedArtifacts.image(layout: $1, seed: UInt64($0 + 1)) }
        let size = PlantedArtifacts.imageSize
        return try Tensor(values, shape: [layouts.count, 3, size, size], on: .cpu)
    }

    @Test("bf16 on the planted model: same artifacts at every layer, same defect directions, repair intact")
    func plantedModel() throws {
        let weights = try PlantedArtifacts.weights(variant: .planted)
        let registers = TestTimeRegisters(neurons: [PlantedArtifacts.registerNeuron.layer: [PlantedArtifacts.registerNeuron.unit]])
        let report = try PrecisionFidelity.measure(weights: weights, images: try Self.images([.isolated, .block, .none]),
                                                   precision: .bf16, registers: registers)
        #expect(report.minCLSCosine >= 0.9999, "CLS cosine \(report.minCLSCosine)")
        #expect(report.minPatchCosine >= 0.999, "patch cosine \(report.minPatchCosine)")
        #expect(report.tokensRelativeError <= 2e-2, "tokens relative error \(report.tokensRelativeError)")
        #expect(report.normMapMaxRelativeDifference.count == PlantedArtifacts.config.depth + 1)
        for (layer, difference) in report.normMapMaxRelativeDifference.enumerated() {
            #expect(difference <= 3e-2, "layer \(layer): norm maps differ by \(difference)")
        }
        #expect(report.sameArtifacts, "flagged in one precision only, per layer: \(report.flaggedDisagreements)")
        // The plant: 4 + 16 background patches flagged from block 2 on.
        #expect(report.flagged32.suffix(from: 3).allSatisfy { $0 == 20 }, "flagged per layer: \(report.flagged32)")
        for (block, angle) in report.defectAngleDegrees.enumerated() {
            #expect(angle <= 2, "block \(block): defect directions \(angle)° apart")
        }
        let repaired = try #require(report.maxPatchNormWithRegisters)
        #expect(repaired.reduced <= 1.05 * repaired.fp32, "max patch norm with registers \(repaired)")
        let decoded = try JSONDecoder().decode(PrecisionFidelity.self, from: try JSONEncoder().encode(report))
        #expect(decoded.flaggedDisagreements == report.flaggedDisagreements
                    && decoded.maxPatchNormWithRegisters?.reduced == repaired.reduced)
    }

    @Test("bf16 on a random DINOv3 model (RoPE, no position table): CLS cosine ≥ 0.999")
    func dinov3() throws {
        let config = ViTConfig(patchSize: 16, hiddenSize: 64, depth: 3, heads: 4, mlpHiddenSize: 128, mlp: .swiglu,
                               registerCount: 4, positionGrid: 14, layerNormEps: 1e-5, family: .dinov3, ropeTheta: 100)
        let weights = try ViTHostWeights.random(config: config, seed: 5)
        var generator = SplitMix64(seed: 9)
        let images = try Tensor(generator.normal(2 * 3 * 64 * 48), shape: [2, 3, 64, 48], on: .cpu)
        let report = try PrecisionFidelity.measure(weights: weights, images: images, precision: .bf16)
        #expect(report.minCLSCosine >= 0.999, "CLS cosine \(report.minCLSCosine)")
        #expect(report.minPatchCosine >= 0.99, "patch cosine \(report.minPatchCosine)")
        #expect(report.normMapMaxRelativeDifference.allSatisfy { $0 <= 3e-2 }, "\(report.normMapMaxRelativeDifference)")
    }

    @Test("a precision the device does not run is refused")
    func refused() throws {
        let weights = try PlantedArtifacts.weights(variant: .clean)
        #expect(throws: VitreousError.self) {
            try PrecisionFidelity.measure(weights: weights, images: try Self.images([.none]), precision: .fp16)
        }
    }
}
