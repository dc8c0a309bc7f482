import Foundation
import VitreousAnalysis
import VitreousModel

/// The on-disk store is where `analyze` keeps pooled features, so memory stays flat in the number of images.


/// `analyze`'s view of the library's ``LayerAnalysis``: the accumulator itself plus what only the CLI needs
/// (class names, the prepared images behind the overlay figure, errors naming the input file).
struct AnalyzeState {
    var analysis: LayerAnalysis
    let labels: AnalyzeLabels?
    /// The pooled features NCC and k-NN read back (only with labels and one of them asked for).
    let chunks: PooledFeatureChunks?
    /// Prepared images of the overlay entries, by input position.
    private var overlayImages: [Int: PreparedImage] = [:]

    /// A fresh state, or with `checkpoint` the state it holds (its chunks in `featureFolder`).
    init(metrics: Set<AnalysisMetric>, config: ViTConfig, labels: AnalyzeLabels?, ckaMinibatch: Int,
         featureFolder: URL, checkpoint: AnalyzeCheckpoint? = nil) throws {
        self.labels = labels
        let split = try labels.map { try AnalysisLabels(labels: $0.labels, validation: $0.validation, classCount: $0.classes.count) }
        if labels != nil, metrics.contains(.ncc) || metrics.contains(.knn) {
            chunks = try PooledFeatureChunks(folder: featureFolder, layers: config.depth + 1, dimension: config.hiddenSize,
                                             committed: checkpoint?.chunkRows ?? [])
        } else {
            chunks = nil
        }
        analysis = try LayerAnalysis(metrics: metrics, config: config, labels: split, ckaMinibatch: ckaMinibatch,
                                     store: chunks, overlayLimit: 4)
        if let checkpoint {
            do {
                try analysis.restore(checkpoint.analysis)
            } catch {
                throw CLIError("\(AnalyzeCheckpoint.url(featureFolder.deletingLastPathComponent()).path): \(error); add --restart")
            }
        }
    }

    /// Prepares again the images of overlay entries a checkpoint restored (the figure draws over them).
    mutating func prepareOverlays(_ images: [InputImage], with run: ImageRun) throws {
        for entry in analysis.overlays where overlayImages[entry.position] == nil && images.indices.contains(entry.position) {
            let input = images[entry.position]
            overlayImages[entry.position] = PreparedImage(path: input.path, name: input.name, image: try run.prepare(input))
        }
    }

    /// The checkpoint of this state after `next` inputs (committing the chunk being filled first).
    func checkpoint(next: Int, failures: [AnalyzeCheckpoint.Failure], parameters: [String: String]) throws -> AnalyzeCheckpoint {
        try chunks?.commit()
        return AnalyzeCheckpoint(parameters: parameters, next: next, failures: failures, chunkRows: chunks?.chunkRows ?? [],
                                 analysis: analysis.snapshot)
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
    /// `inputs` are the batch's inputs (what the pooled features' index names).
    mutating func add(_ batch: [PreparedImage], _ output: EncoderOutput, positions: [Int], inputs: [InputImage],
                      masks: [[Bool]?]) throws {
        let (gh, gw) = (output.gridHeight, output.gridWidth)
        if let grid = analysis.grid, grid != (gh, gw) {
            throw CLIError("\(batch[0].path): a \(gw)×\(gh) patch grid, the first images had \(grid.width)×\(grid.height); "
                + "analyze needs one input size (use --size N or WxH)")
        }
        let before = analysis.overlays.count
        let rows = chunks?.rows
        try analysis.add(output, positions: positions, masks: masks)
        if let chunks, chunks.rows != rows { chunks.noteInputs(inputs) }
        for entry in analysis.overlays.dropFirst(before) {
            if let index = positions.firstIndex(of: entry.position) { overlayImages[entry.position] = batch[index] }
        }
    }
}
