import Foundation
import Testing
@testable import VitreousAnalysis
import VitreousDemo
import VitreousModel
import VitreousTensor

/// The measures on the encoder's own outputs: transformers' attention for the seeded random models, and the
/// known structure of the demo's planted model.
@Suite struct EncoderAnalysisTests {
    @Test(arguments: Device.all, [(0, "tiny", "tiny56"), (1, "tiny", "tiny84x112"), (2, "tiny_reg4", "tiny56")])
    func attentionLayersMatchTransformers(device: Device, fixture: (index: Int, model: String, input: String)) throws {
        let reference = AnalysisFixture.shared.attention[fixture.index]
        let config = ViTConfig(hiddenSize: 64, depth: 3, heads: 2, mlpHiddenSize: 256,
                               registerCount: fixture.model == "tiny_reg4" ? 4 : 0, positionGrid: 4)
        let encoder = try ViTEncoder(contentsOf: AnalysisFixture.modelFixture("\(fixture.model)/weights_orig.safetensors"),
                                     on: device, config: config)
        let input = try NPYArray(contentsOf: AnalysisFixture.modelFixture("inputs/\(fixture.input).npy"))
        var options = EncoderOptions(clsAttention: true)
        options.attentionLayers = [0, 2]
        let out = try encoder.encode(try Tensor(input.floats, shape: input.shape, on: device), options: options)
        let maps = try #require(out.attentionMaps[2])
        #expect(maps.shape == reference.shape)
        #expect(out.attentionMaps[0]?.shape == reference.shape && out.attentionMaps[1] == nil)
        let values = try maps.toArray()
        #expect(maxDifference(values.map(Double.init), reference.attention.map(Double.init)) <= 1e-5)
        // The CLS rows the last block also returns are row 0 of the full map.
        let (b, h, t) = (reference.shape[0], reference.shape[1], reference.shape[2])
        let cls = try #require(out.clsAttention).toArray()
        let row0 = (0..<(b * h)).flatMap { values[($0 * t * t)..<($0 * t * t + t)] }
        #expect(cls == Array(row0))

        let geometry = PatchGeometry(gridHeight: out.gridHeight, gridWidth: out.gridWidth, patchSize: 14,
                                     firstPatch: out.firstPatch)
        var stats = try AttentionStatistics(heads: h, tokens: t, geometry: geometry)
        try stats.add(values, batch: b)
        #expect(maxDifference(stats.meanDistance, reference.distance) <= 1e-3)  // pixels, values ~20
        #expect(maxDifference(stats.meanEntropy, reference.entropy) <= 1e-4)

        // LayerAnalysis reduces the maps on the device and reads back only the CLS rows for the overlays.
        var analysis = try LayerAnalysis(metrics: [.attentionDistance, .entropy], config: config, overlayLimit: b)
        try analysis.add(out, positions: Array(0..<b))
        #expect(analysis.attention[1].images == 0, "block 1 returned no maps")
        #expect(maxDifference(analysis.attention[2].meanDistance, reference.distance) <= 1e-3)
        #expect(maxDifference(analysis.attention[2].meanEntropy, reference.entropy) <= 1e-4)
        let n = out.gridHeight * out.gridWidth
        for (image, overlay) in analysis.overlays.enumerated() {
            let expected = (0..<h).map { head in
                let row = (image * h + head) * t * t + out.firstPatch
                return AttentionSegmentation.mask(Array(values[row..<(row + n)]))
            }
            #expect(overlay.position == image && overlay.masks == expected, "\(device) image \(image)")
        }
        #expect(analysis.overlays.count == b)
    }

    @Test func attentionLayersOutsideTheModelAreRefused() throws {
        let encoder = ViTEncoder(weights: try PlantedArtifacts.weights().tensors(on: .cpu))
        var options = EncoderOptions()
        options.attentionLayers = [6]
        let images = try Tensor(PlantedArtifacts.image(layout: .none, seed: 1), shape: [1, 3, 224, 224])
        #expect(throws: ModelError.invalidArgument("attention layers: block 6 is outside 0..<6")) {
            try encoder.encode(images, options: options)
        }
    }

    /// Planted classes: images with a 4×4 block of flat background against images with none. The register
    /// neuron (block 2) writes 60·u into flat patches, so from block 3's input on the classes separate along
    /// u and nearest-class-centre accuracy on the mean patch token reaches 1, above the embeddings'.
    @Test func nccRisesWithDepthOnPlantedClasses() throws {
        let encoder = ViTEncoder(weights: try PlantedArtifacts.weights().tensors(on: .cpu))
        let layers = PlantedArtifacts.config.depth + 1
        var centres = try (0..<layers).map { _ in try NearestClassCentre(classes: 2, dimension: 64) }
        var held: [(PooledLayers, [Int])] = []
        for seed in 0..<12 {
            let labels = [0, 1]
            let images = PlantedArtifacts.image(layout: .none, seed: UInt64(100 + seed))
                + PlantedArtifacts.image(layout: .block, seed: UInt64(200 + seed))
            let out = try encoder.encode(try Tensor(images, shape: [2, 3, 224, 224]),
                                         options: EncoderOptions(hiddenStates: true))
            let pooled = try PooledLayers(out)
            if seed < 6 {
                for l in 0..<layers { try centres[l].add(pooled.meanPatch[l], labels: labels) }
            } else {
                held.append((pooled, labels))
            }
        }
        let accuracy = try (0..<layers).map { l in
            var hits = 0, total = 0
            for (pooled, labels) in held {
                let predicted = try centres[l].predict(pooled.meanPatch[l], rows: labels.count)
                hits += zip(predicted, labels).filter { $0 == $1 }.count
                total += labels.count
            }
            return Double(hits) / Double(total)
        }
        #expect(accuracy[layers - 1] == 1, "\(accuracy)")
        #expect(accuracy[3...].allSatisfy { $0 == 1 }, "\(accuracy)")
        #expect(accuracy[0] < 1, "\(accuracy)")
    }
}
