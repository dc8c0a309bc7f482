/// Where ``LayerAnalysis`` keeps the pooled per-layer features that NCC and k-NN read back after the last
/// batch: in memory (``InMemoryPooledFeatures``) for a few thousand images, or on disk for more.
public protocol PooledFeatureSink {
    /// Layers per image, `depth + 1`.
    var layers: Int { get }
    /// Channels per feature.
    var dimension: Int { get }
    /// Rows written so far; ``LayerAnalysis`` adds each batch once, after appending every pooling.
    var rows: Int { get set }
    /// Appends `count` rows of each layer for `pooling` (`features[layer]` is `[count, dimension]`).
    mutating func append(_ pooling: String, _ features: [[Float]], count: Int) throws
    /// Ends writing (before the first ``blocks(_:_:rows:_:)``).
    mutating func close() throws
    /// Calls `body` with consecutive blocks of rows of one layer: (first row, `[count, dimension]` values).
    func blocks(_ pooling: String, _ layer: Int, rows: Int, _ body: (Int, [Float]) throws -> Void) throws
}

/// Pooled features held in memory: what callers with a few thousand images (Python, the C API) use.
public struct InMemoryPooledFeatures: PooledFeatureSink, Sendable {
    public let layers: Int
    public let dimension: Int
    public var rows = 0
    /// Per pooling name, per layer, `[rows, dimension]` values in the order they were appended.
    public private(set) var values: [String: [[Float]]] = [:]

    /// An empty store of `layers` layers of `dimension` channels.
    public init(layers: Int, dimension: Int) {
        self.layers = layers
        self.dimension = dimension
    }

    public mutating func append(_ pooling: String, _ features: [[Float]], count: Int) throws {
        guard features.count == layers, features.allSatisfy({ $0.count == count * dimension }) else {
            throw AnalysisError.shapeMismatch("pooled features of \(pooling): expected \(layers) layers of \(count) × \(dimension) values")
        }
        var stored = values[pooling] ?? Array(repeating: [], count: layers)
        for layer in 0..<layers { stored[layer] += features[layer] }
        values[pooling] = stored
    }

    public mutating func close() throws {}

    public func blocks(_ pooling: String, _ layer: Int, rows blockRows: Int, _ body: (Int, [Float]) throws -> Void) throws {
        guard let all = values[pooling]?[layer] else { return }
        let total = all.count / dimension
        for start in stride(from: 0, to: total, by: max(blockRows, 1)) {
            let end = min(start + blockRows, total)
            try body(start, Array(all[(start * dimension)..<(end * dimension)]))
        }
    }
}
