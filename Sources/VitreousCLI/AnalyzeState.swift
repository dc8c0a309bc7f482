import Foundation
import VitreousAnalysis
import VitreousModel

/// The measures `vitreous analyze` computes.
enum AnalysisMetric: String, CaseIterable {
    case attentionDistance = "attention-distance", entropy, cka, frequency, ncc, knn, segmentation

    var needsAttention: Bool { [.attentionDistance, .entropy, .segmentation].contains(self) }
}

/// Everything `analyze` accumulates while the images stream through the encoder: one batch of token states
/// at a time, nothing per image kept in memory except what goes to the feature store.
struct AnalyzeState {
    let metrics: Set<AnalysisMetric>
    let config: ViTConfig
    let labels: AnalyzeLabels?
    let poolings = LayerPooling.allCases
    var attention: [AttentionStatistics] = []
    var segmentation: [SegmentationScores] = []
    var frequency: [FrequencyAnalysis] = []
    var cka: [LayerPooling: MinibatchCKA] = [:]
    var centres: [LayerPooling: [NearestClassCentre]] = [:]
    var store: PooledFeatureStore?
    /// The grid every image must share (attention distance and frequency are per grid).
    var grid: (height: Int, width: Int)?
    /// Input positions of the images encoded, in store order.
    var encoded: [Int] = []
    /// A few images with their last-layer CLS attention masks, for the overlay figure.
    var overlays: [(image: PreparedImage, masks: [[Bool]], truth: [Bool]?)] = []

    init(metrics: Set<AnalysisMetric>, config: ViTConfig, labels: AnalyzeLabels?, ckaMinibatch: Int,
         featureFolder: URL) throws {
        self.metrics = metrics
        self.config = config
        self.labels = labels
        let layers = config.depth + 1, d = config.hiddenSize
        if metrics.contains(.cka) {
            for pooling in poolings {
                cka[pooling] = try MinibatchCKA(dimensions: Array(repeating: d, count: layers), minibatch: ckaMinibatch)
            }
        }
        if let labels, metrics.contains(.ncc) || metrics.contains(.knn) {
            for pooling in poolings {
                centres[pooling] = try (0..<layers).map { _ in try NearestClassCentre(classes: labels.classes.count, dimension: d) }
            }
            store = try PooledFeatureStore(folder: featureFolder, layers: layers, dimension: d,
                                           poolings: poolings.map(\.rawValue))
        }
    }

    /// Folds one encoded batch in; `positions` are the images' places in the input list.
    mutating func add(_ batch: [PreparedImage], _ output: EncoderOutput, positions: [Int],
                      masks: [[Bool]?]) throws {
        let (gh, gw) = (output.gridHeight, output.gridWidth)
        if let grid, grid != (gh, gw) {
            throw CLIError("\(batch[0].path): a \(gw)×\(gh) patch grid, the first images had \(grid.width)×\(grid.height); "
                + "analyze needs one input size (use --size N or WxH)")
        }
        if grid == nil { try start(output) }
        let b = batch.count
        let patches = output.firstPatch..<(output.firstPatch + gh * gw)
        if !attention.isEmpty || !segmentation.isEmpty {
            for block in 0..<config.depth {
                guard let maps = try output.attentionMaps[block]?.toArray() else { continue }
                if !attention.isEmpty { try attention[block].add(maps, batch: b) }
                if !segmentation.isEmpty || block == config.depth - 1 {
                    try segment(maps, block: block, batch: batch, masks: masks, patches: patches,
                                tokens: output.tokens.shape[1])
                }
            }
        }
        if let states = output.hiddenStates {
            if !frequency.isEmpty {
                for (layer, state) in states.enumerated() {
                    let values = try state.toArray()
                    let (t, d) = (state.shape[1], state.shape[2])
                    var maps: [Float] = []
                    maps.reserveCapacity(b * patches.count * d)
                    for image in 0..<b { maps += values[((image * t + patches.lowerBound) * d)..<((image * t + patches.upperBound) * d)] }
                    try frequency[layer].add(maps, batch: b)
                }
            }
            if !cka.isEmpty || store != nil {
                let pooled = try PooledLayers(output)
                for pooling in poolings {
                    let features = pooled.features(pooling)
                    try cka[pooling]?.add(features, rows: b)
                    if let labels {
                        let trainRows = positions.indices.filter { !labels.validation[positions[$0]] }
                        let d = pooled.dimension
                        for layer in 0..<pooled.layers {
                            let rows = trainRows.flatMap { features[layer][($0 * d)..<(($0 + 1) * d)] }
                            try centres[pooling]?[layer].add(rows, labels: trainRows.map { labels.labels[positions[$0]] })
                        }
                    }
                    try store?.append(pooling.rawValue, features, count: b)
                }
                store?.rows += b
            }
        }
        encoded += positions
    }

    /// Sets up the per-grid measures on the first batch.
    private mutating func start(_ output: EncoderOutput) throws {
        let (gh, gw) = (output.gridHeight, output.gridWidth)
        grid = (gh, gw)
        let tokens = output.tokens.shape[1]
        let geometry = PatchGeometry(gridHeight: gh, gridWidth: gw, patchSize: config.patchSize, firstPatch: output.firstPatch)
        if metrics.contains(.attentionDistance) || metrics.contains(.entropy) {
            attention = try (0..<config.depth).map { _ in try AttentionStatistics(heads: config.heads, tokens: tokens, geometry: geometry) }
        }
        if metrics.contains(.segmentation) {
            segmentation = (0..<config.depth).map { _ in SegmentationScores(heads: config.heads) }
        }
        if metrics.contains(.frequency) {
            frequency = try (0...config.depth).map { _ in
                try FrequencyAnalysis(gridHeight: gh, gridWidth: gw, dimension: config.hiddenSize)
            }
        }
    }

    /// The CLS row over the patch keys of each image and head: Jaccard scores, and overlays of the last block.
    private mutating func segment(_ maps: [Float], block: Int, batch: [PreparedImage], masks: [[Bool]?],
                                  patches: Range<Int>, tokens: Int) throws {
        let (h, tokens) = (config.heads, tokens)
        for (image, prepared) in batch.enumerated() {
            var cls: [Float] = []
            for head in 0..<h {
                let row = (image * h + head) * tokens * tokens
                cls += maps[(row + patches.lowerBound)..<(row + patches.upperBound)]
            }
            if let truth = masks[image], !segmentation.isEmpty { try segmentation[block].add(clsAttention: cls, truth: truth) }
            if block == config.depth - 1, overlays.count < 4 {
                let n = patches.count
                overlays.append((prepared, (0..<h).map { AttentionSegmentation.mask(Array(cls[($0 * n)..<(($0 + 1) * n)])) },
                                 masks[image]))
            }
        }
    }
}
