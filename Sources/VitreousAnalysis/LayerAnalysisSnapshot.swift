import Foundation
import VitreousModel

/// Everything a ``LayerAnalysis`` has accumulated, as a value that can be encoded: a checkpoint of a long
/// run. ``LayerAnalysis/restore(_:)`` folds it back into an analysis made with the same arguments, which then
/// goes on as if it had never stopped (the next batches give the same numbers, bit for bit). The pooled
/// features are not part of it: they stay in the ``PooledFeatureSink``, which the caller checkpoints.
public struct LayerAnalysisSnapshot: Codable, Sendable {
    /// One overlay entry: an image's last-block CLS-attention masks per head and its truth mask.
    public struct Overlay: Codable, Sendable {
        /// The image's place in the input list.
        public var position: Int
        /// Per head, the kept patches.
        public var masks: [[Bool]]
        /// The ground-truth patch mask, if any.
        public var truth: [Bool]?
    }

    /// The measures of the analysis that took it.
    public var metrics: Set<AnalysisMetric>
    /// Per block, attention sums.
    public var attention: [AttentionStatistics]
    /// Per block, Jaccard sums.
    public var segmentation: [SegmentationScores]
    /// Per layer, spectrum sums.
    public var frequency: [FrequencyAnalysis]
    /// Per pooling (raw value), the CKA estimator with its partial minibatch.
    public var cka: [String: MinibatchCKA]
    /// Per pooling (raw value) and layer, the class-centre sums.
    public var centres: [String: [NearestClassCentre]]
    /// The patch grid, `[height, width]`, once the first batch is in.
    public var grid: [Int]?
    /// Input positions of the images added, in store order.
    public var encoded: [Int]
    /// The overlay entries so far.
    public var overlays: [Overlay]
    /// Rows the pooled-feature store held.
    public var storeRows: Int
}

extension LayerAnalysis {
    /// The accumulated state, to encode into a checkpoint.
    public var snapshot: LayerAnalysisSnapshot {
        LayerAnalysisSnapshot(
            metrics: metrics, attention: attention, segmentation: segmentation, frequency: frequency,
            cka: Dictionary(uniqueKeysWithValues: cka.map { ($0.key.rawValue, $0.value) }),
            centres: Dictionary(uniqueKeysWithValues: centres.map { ($0.key.rawValue, $0.value) }),
            grid: grid.map { [$0.height, $0.width] }, encoded: encoded,
            overlays: overlays.map { .init(position: $0.position, masks: $0.masks, truth: $0.truth) },
            storeRows: store?.rows ?? 0)
    }

    /// Takes up a checkpoint: this analysis (fresh, made with the arguments of the one that took `snapshot`)
    /// then holds what that one held. The store must already hold ``LayerAnalysisSnapshot/storeRows`` rows.
    /// - Throws: ``AnalysisError/shapeMismatch(_:)`` when the snapshot is of other measures or another shape.
    public mutating func restore(_ snapshot: LayerAnalysisSnapshot) throws {
        guard snapshot.metrics == metrics else {
            throw AnalysisError.shapeMismatch("checkpoint of measures \(snapshot.metrics.map(\.rawValue).sorted()), "
                + "this analysis has \(metrics.map(\.rawValue).sorted())")
        }
        let restoredCKA = Dictionary(uniqueKeysWithValues: snapshot.cka.compactMap { key, value in
            LayerPooling(rawValue: key).map { ($0, value) } })
        let restoredCentres = Dictionary(uniqueKeysWithValues: snapshot.centres.compactMap { key, value in
            LayerPooling(rawValue: key).map { ($0, value) } })
        guard Set(restoredCKA.keys) == Set(cka.keys), Set(restoredCentres.keys) == Set(centres.keys),
              restoredCKA.allSatisfy({ $0.value.dimensions == cka[$0.key]?.dimensions && $0.value.minibatch == cka[$0.key]?.minibatch }),
              restoredCentres.allSatisfy({ $0.value.count == config.depth + 1 }),
              snapshot.grid.map({ $0.count == 2 }) ?? true,
              (store?.rows ?? 0) == snapshot.storeRows else {
            throw AnalysisError.shapeMismatch("the checkpoint does not fit this analysis (another model, CKA minibatch, "
                + "labels or feature store)")
        }
        if let labels, let bad = snapshot.encoded.first(where: { $0 < 0 || $0 >= labels.labels.count }) {
            throw AnalysisError.shapeMismatch("checkpoint position \(bad) has no label (\(labels.labels.count) labels)")
        }
        attention = snapshot.attention
        segmentation = snapshot.segmentation
        frequency = snapshot.frequency
        cka = restoredCKA
        centres = restoredCentres
        grid = snapshot.grid.map { ($0[0], $0[1]) }
        encoded = snapshot.encoded
        overlays = snapshot.overlays.map { ($0.position, $0.masks, $0.truth) }
    }
}

/// Arrays of numbers as raw little-endian bytes: a checkpoint's large sums encode and decode at memory speed.
enum RawValues {
    static func data(_ values: [Double]) -> Data { values.withUnsafeBytes { Data($0) } }
    static func data(_ values: [Float]) -> Data { values.withUnsafeBytes { Data($0) } }

    static func doubles(_ data: Data, count: Int, _ what: String) throws -> [Double] {
        guard data.count == count * MemoryLayout<Double>.size else {
            throw AnalysisError.shapeMismatch("\(what): \(data.count) bytes, expected \(count) float64 values")
        }
        return data.withUnsafeBytes { Array($0.bindMemory(to: Double.self)) }
    }

    static func floats(_ data: Data, count: Int, _ what: String) throws -> [Float] {
        guard data.count == count * MemoryLayout<Float>.size else {
            throw AnalysisError.shapeMismatch("\(what): \(data.count) bytes, expected \(count) float32 values")
        }
        return data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }
}
