import Foundation
import Testing
import VitreousAnalysis
import VitreousDemo
import VitreousModel
import VitreousTensor

/// A ``LayerAnalysis`` checkpointed part way (its snapshot through a binary property list) and restored into
/// a fresh one finishes with the numbers of an uninterrupted analysis, bit for bit.
@Suite struct SnapshotTests {
    private static let metrics: Set<AnalysisMetric> = [.attentionDistance, .entropy, .cka, .frequency, .ncc, .knn, .segmentation]

    /// Eight batches of two planted images (one of each class); the first is held out when `split`.
    private static func batches(_ encoder: ViTEncoder) throws -> [EncoderOutput] {
        var options = EncoderOptions(hiddenStates: true)
        options.attentionLayers = Set(0..<PlantedArtifacts.config.depth)
        return try (0..<8).map { seed in
            let images = PlantedArtifacts.image(layout: .none, seed: UInt64(300 + seed))
                + PlantedArtifacts.image(layout: .block, seed: UInt64(400 + seed))
            return try encoder.encode(try Tensor(images, shape: [2, 3, 224, 224]), options: options)
        }
    }

    private static func fresh(store: (any PooledFeatureSink)? = nil) throws -> LayerAnalysis {
        let labels = try AnalysisLabels(labels: (0..<16).map { $0 % 2 }, validation: (0..<16).map { $0 % 8 == 0 })
        return try LayerAnalysis(metrics: metrics, config: PlantedArtifacts.config, labels: labels, ckaMinibatch: 5,
                                 store: store, overlayLimit: 3)
    }

    /// Every number of a report as text (NaN equals NaN, -0 differs from 0: bit for bit in practice).
    private static func text(_ report: LayerAnalysisReport) -> [String] {
        ["\(report.images)", "\(report.attentionDistance as Any)", "\(report.entropy as Any)", "\(report.segmentation as Any)",
         "\(report.frequency as Any)"]
            + LayerPooling.allCases.map { "\($0): \(report.cka[$0] as Any) \(report.ncc[$0] as Any) \(report.knn[$0] as Any)" }
    }

    @Test func restoredAnalysisFinishesAsAnUninterruptedOne() throws {
        let encoder = ViTEncoder(weights: try PlantedArtifacts.weights().tensors(on: .cpu))
        let outputs = try Self.batches(encoder)
        let masks = outputs.indices.map { batch in (0..<2).map { image in (0..<256).map { ($0 + batch + image) % 3 == 0 } } }
        func add(_ analysis: inout LayerAnalysis, _ range: Range<Int>) throws {
            for b in range { try analysis.add(outputs[b], positions: [2 * b, 2 * b + 1], masks: masks[b]) }
        }
        var whole = try Self.fresh()
        try add(&whole, 0..<8)
        let reference = try whole.finish(k: 3)

        var first = try Self.fresh()
        try add(&first, 0..<3)  // 6 images: CKA holds one minibatch of 5 and one image pending
        let encoder64 = PropertyListEncoder()
        encoder64.outputFormat = .binary
        let data = try encoder64.encode(first.snapshot)
        var resumed = try Self.fresh(store: first.store)
        try resumed.restore(try PropertyListDecoder().decode(LayerAnalysisSnapshot.self, from: data))
        try add(&resumed, 3..<8)
        let report = try resumed.finish(k: 3)
        #expect(Self.text(report) == Self.text(reference))
        #expect(resumed.overlays.map(\.position) == whole.overlays.map(\.position))
        #expect(report.ncc[.cls]?.count == PlantedArtifacts.config.depth + 1 && report.cka[.meanPatch] != nil)

        // A snapshot only fits an analysis of the same measures and store.
        var other = try LayerAnalysis(metrics: [.cka], config: PlantedArtifacts.config, ckaMinibatch: 5)
        #expect(throws: AnalysisError.self) { try other.restore(first.snapshot) }
        var empty = try Self.fresh()
        #expect(throws: AnalysisError.self) { try empty.restore(first.snapshot) }
    }
}
