import VitreousModel
import VitreousTensor

/// The measures ``LayerAnalysis`` computes.
public enum AnalysisMetric: String, Sendable, CaseIterable, Codable {
    /// Mean attention distance per block and head, in pixels.
    case attentionDistance = "attention-distance"
    /// Attention entropy per block and head, in nats.
    case entropy
    /// Minibatch linear CKA between every pair of layers.
    case cka
    /// Relative log amplitude of the patch-feature maps' high frequencies per layer.
    case frequency
    /// Nearest-class-centre accuracy per layer (needs labels).
    case ncc
    /// Weighted k-NN top-1 and top-5 accuracy per layer (needs labels and a split).
    case knn
    /// CLS-attention masks per head, and their Jaccard against given masks.
    case segmentation

    /// Whether the measure reads attention maps (run the encoder with every block in
    /// ``VitreousModel/EncoderOptions/attentionLayers``).
    public var needsAttention: Bool { [.attentionDistance, .entropy, .segmentation].contains(self) }
    /// What the encoder must return for `metrics`: every block's attention maps for the attention measures,
    /// the hidden states for the representation measures (CKA, frequency, NCC, k-NN), nothing else.
    public static func encoderOptions(for metrics: Set<AnalysisMetric>, depth: Int,
                                      base: EncoderOptions = EncoderOptions()) -> EncoderOptions {
        var options = base
        options.hiddenStates = metrics.contains { !$0.needsAttention }
        if metrics.contains(where: \.needsAttention) { options.attentionLayers = Set(0..<depth) }
        return options
    }
}

/// Integer class labels and a train/validation split, indexed by an image's position in the input list.
public struct AnalysisLabels: Sendable {
    /// Class of each image, `0..<classCount`.
    public let labels: [Int]
    /// Whether each image belongs to the validation split.
    public let validation: [Bool]
    /// Number of classes.
    public let classCount: Int
    /// Whether any image is held out; without a split NCC is measured on the training images and k-NN leaves
    /// each image out of its own neighbours.
    public var hasSplit: Bool { validation.contains(true) }

    /// - Throws: ``AnalysisError/shapeMismatch(_:)`` when the arrays differ in length,
    ///   ``AnalysisError/invalidArgument(_:)`` for a label outside `0..<classCount`.
    public init(labels: [Int], validation: [Bool]? = nil, classCount: Int? = nil) throws {
        let validation = validation ?? Array(repeating: false, count: labels.count)
        try requireCount(validation, labels.count, "validation flags")
        let classes = classCount ?? ((labels.max() ?? -1) + 1)
        if let bad = labels.first(where: { $0 < 0 || $0 >= classes }) {
            throw AnalysisError.invalidArgument("label \(bad) is outside 0..<\(classes)")
        }
        self.labels = labels
        self.validation = validation
        self.classCount = classes
    }
}

/// Everything a layer-by-layer analysis accumulates while images stream through the encoder, one batch of
/// ``VitreousModel/EncoderOutput`` at a time: nothing per image is kept except the pooled features in the
/// ``PooledFeatureSink``. ``finish(k:temperature:device:)`` turns it into a ``LayerAnalysisReport``.
/// `vitreous analyze`, the C API and Python all run this one type.
public struct LayerAnalysis {
    /// The measures asked for.
    public let metrics: Set<AnalysisMetric>
    /// The model's configuration.
    public let config: ViTConfig
    /// Labels and split, for NCC and k-NN.
    public let labels: AnalysisLabels?
    /// The poolings the representation measures compare.
    public let poolings = LayerPooling.allCases
    /// Per block, attention distance and entropy so far.
    public internal(set) var attention: [AttentionStatistics] = []
    /// Per block, Jaccard scores so far.
    public internal(set) var segmentation: [SegmentationScores] = []
    /// Per layer, spectra so far.
    public internal(set) var frequency: [FrequencyAnalysis] = []
    /// Per pooling, the CKA estimator.
    public internal(set) var cka: [LayerPooling: MinibatchCKA] = [:]
    /// Per pooling and layer, the class centres of the training images.
    public internal(set) var centres: [LayerPooling: [NearestClassCentre]] = [:]
    /// The pooled features NCC and k-NN read back (only with labels and one of them asked for).
    public internal(set) var store: (any PooledFeatureSink)?
    /// The grid every image must share (attention distance and frequency are per grid).
    public internal(set) var grid: (height: Int, width: Int)?
    /// Input positions of the images added, in store order.
    public internal(set) var encoded: [Int] = []
    /// How many last-block CLS-attention masks to keep in ``overlays``.
    public let overlayLimit: Int
    /// The first images' last-block CLS-attention masks per head, with their truth masks, for figures.
    public internal(set) var overlays: [(position: Int, masks: [[Bool]], truth: [Bool]?)] = []

    /// - Parameters:
    ///   - store: where the pooled features go when NCC or k-NN is asked for (default: in memory).
    ///   - ckaMinibatch: images per minibatch of the CKA estimator (at least 4).
    /// - Throws: ``AnalysisError`` for NCC or k-NN without labels, or arguments out of range.
    public init(metrics: Set<AnalysisMetric>, config: ViTConfig, labels: AnalysisLabels? = nil, ckaMinibatch: Int = 256,
                store: (any PooledFeatureSink)? = nil, overlayLimit: Int = 0) throws {
        self.metrics = metrics
        self.config = config
        self.labels = labels
        self.overlayLimit = overlayLimit
        let layers = config.depth + 1, d = config.hiddenSize
        if metrics.contains(.cka) {
            for pooling in poolings {
                cka[pooling] = try MinibatchCKA(dimensions: Array(repeating: d, count: layers), minibatch: ckaMinibatch)
            }
        }
        let classify = metrics.contains(.ncc) || metrics.contains(.knn)
        if classify, labels == nil {
            throw AnalysisError.invalidArgument("ncc and knn need labels")
        }
        if let labels, classify {
            for pooling in poolings {
                centres[pooling] = try (0..<layers).map { _ in try NearestClassCentre(classes: labels.classCount, dimension: d) }
            }
            self.store = store ?? InMemoryPooledFeatures(layers: layers, dimension: d)
        }
    }

    /// Folds one encoded batch in. `positions` are the images' places in the input list (indices into the
    /// labels); `masks` one patch-grid truth mask per image, or nil, for segmentation.
    /// - Throws: ``AnalysisError/shapeMismatch(_:)`` for a patch grid unlike the first batch's.
    public mutating func add(_ output: EncoderOutput, positions: [Int], masks: [[Bool]?]? = nil) throws {
        let (gh, gw) = (output.gridHeight, output.gridWidth)
        let b = output.tokens.shape[0]
        try requireCount(positions, b, "positions")
        let masks = masks ?? Array(repeating: nil, count: b)
        try requireCount(masks, b, "masks")
        if let labels, let bad = positions.first(where: { $0 < 0 || $0 >= labels.labels.count }) {
            throw AnalysisError.invalidArgument("position \(bad) has no label (\(labels.labels.count) labels)")
        }
        if let grid, grid != (gh, gw) {
            throw AnalysisError.shapeMismatch("a \(gw)×\(gh) patch grid, the first images had \(grid.width)×\(grid.height); "
                + "the analysis needs one input size")
        }
        if grid == nil { try start(output) }
        let patches = output.firstPatch..<(output.firstPatch + gh * gw)
        if !attention.isEmpty || !segmentation.isEmpty {
            // The maps stay on their device: only per-row sums and the CLS rows come back.
            var table: Tensor?
            for block in 0..<config.depth {
                guard let maps = output.attentionMaps[block] else { continue }
                if !attention.isEmpty {
                    let distances = try table ?? Tensor(attention[block].patchDistanceTable,
                                                        shape: [patches.count, patches.count], on: maps.device)
                    table = distances
                    let sums = try attentionRowStatistics(maps, patchDistances: distances, firstPatch: patches.lowerBound)
                    try attention[block].add(rowEntropy: try sums.entropy.toArray(), rowDistance: try sums.distance.toArray(),
                                             batch: b)
                }
                if !segmentation.isEmpty || (block == config.depth - 1 && overlays.count < overlayLimit) {
                    let t = output.tokens.shape[1]
                    let cls = try sliceTokens(try maps.reshaped([b * config.heads, t * t, 1]), patches).toArray()
                    try segment(cls, block: block, positions: positions, masks: masks, patches: patches.count)
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
                    if let labels, store != nil {
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

    /// The CLS row over the patch keys of each image and head (`cls` `[images, heads, patches]`): Jaccard scores,
    /// and overlays of the last block.
    private mutating func segment(_ cls: [Float], block: Int, positions: [Int], masks: [[Bool]?], patches n: Int) throws {
        let h = config.heads
        for (image, position) in positions.enumerated() {
            let rows = Array(cls[(image * h * n)..<((image + 1) * h * n)])
            if let truth = masks[image], !segmentation.isEmpty { try segmentation[block].add(clsAttention: rows, truth: truth) }
            if block == config.depth - 1, overlays.count < overlayLimit {
                overlays.append((position, (0..<h).map { AttentionSegmentation.mask(Array(rows[($0 * n)..<(($0 + 1) * n)])) },
                                 masks[image]))
            }
        }
    }
}
