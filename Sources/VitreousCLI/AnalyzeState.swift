import Foundation
import VitreousAnalysis
import VitreousModel

/// The on-disk store is where `analyze` keeps pooled features, so memory stays flat in the number of images.
extension PooledFeatureStore: PooledFeatureSink {}

/// `analyze`'s view of the library's ``LayerAnalysis``: the accumulator itself plus what only the CLI needs
/// (class names, the prepared images behind the overlay figure, errors naming the input file).
struct AnalyzeState {
    var analysis: LayerAnalysis
    let labels: AnalyzeLabels?
    /// Prepared images of the overlay entries, by input position.
    private var overlayImages: [Int: PreparedImage] = [:]

    init(metrics: Set<AnalysisMetric>, config: ViTConfig, labels: AnalyzeLabels?, ckaMinibatch: Int,
         featureFolder: URL) throws {
        self.labels = labels
        let split = try labels.map { try AnalysisLabels(labels: $0.labels, validation: $0.validation, classCount: $0.classes.count) }
        var store: PooledFeatureStore?
        if labels != nil, metrics.contains(.ncc) || metrics.contains(.knn) {
            store = try PooledFeatureStore(folder: featureFolder, layers: config.depth + 1, dimension: config.hiddenSize,
                                           poolings: LayerPooling.allCases.map(\.rawValue))
        }
        analysis = try LayerAnalysis(metrics: metrics, config: config, labels: split, ckaMinibatch: ckaMinibatch,
                                     store: store, overlayLimit: 4)
    }

    var metrics: Set<AnalysisMetric> { analysis.metrics }
    var config: ViTConfig { analysis.config }
    var poolings: [LayerPooling] { analysis.poolings }
    var attention: [AttentionStatistics] { analysis.attention }
    var segmentation: [SegmentationScores] { analysis.segmentation }
    var frequency: [FrequencyAnalysis] { analysis.frequency }
    var cka: [LayerPooling: MinibatchCKA] { analysis.cka }
    var grid: (height: Int, width: Int)? { analysis.grid }
    var encoded: [Int] { analysis.encoded }
    /// A few images with their last-layer CLS attention masks, for the overlay figure.
    var overlays: [(image: PreparedImage, masks: [[Bool]], truth: [Bool]?)] {
        analysis.overlays.compactMap { entry in overlayImages[entry.position].map { ($0, entry.masks, entry.truth) } }
    }

    /// Folds one encoded batch in; `positions` are the images' places in the input list.
    mutating func add(_ batch: [PreparedImage], _ output: EncoderOutput, positions: [Int],
                      masks: [[Bool]?]) throws {
        let (gh, gw) = (output.gridHeight, output.gridWidth)
        if let grid = analysis.grid, grid != (gh, gw) {
            throw CLIError("\(batch[0].path): a \(gw)×\(gh) patch grid, the first images had \(grid.width)×\(grid.height); "
                + "analyze needs one input size (use --size N or WxH)")
        }
        let before = analysis.overlays.count
        try analysis.add(output, positions: positions, masks: masks)
        for entry in analysis.overlays.dropFirst(before) {
            if let index = positions.firstIndex(of: entry.position) { overlayImages[entry.position] = batch[index] }
        }
    }
}
