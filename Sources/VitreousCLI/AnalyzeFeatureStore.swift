import Foundation

/// Pooled per-layer features on disk, one float32 file per pooling and layer (`[images, D]`, rows in input
/// order): written batch by batch while encoding, read back in blocks for NCC and k-NN, so memory stays flat
/// in the number of images.
struct PooledFeatureStore {
    let folder: URL
    let layers: Int
    let dimension: Int
    private var handles: [String: FileHandle] = [:]
    /// Rows written so far (the caller counts each batch once, after appending every pooling).
    var rows = 0

    init(folder: URL, layers: Int, dimension: Int, poolings: [String]) throws {
        self.folder = folder
        self.layers = layers
        self.dimension = dimension
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for pooling in poolings {
            for layer in 0..<layers {
                let url = file(pooling, layer)
                guard FileManager.default.createFile(atPath: url.path, contents: nil),
                      let handle = try? FileHandle(forWritingTo: url) else {
                    throw CLIError("\(url.path): cannot create the feature file")
                }
                handles["\(pooling)/\(layer)"] = handle
            }
        }
    }

    func file(_ pooling: String, _ layer: Int) -> URL {
        folder.appendingPathComponent("\(pooling)-layer\(layer).f32")
    }

    /// Appends `count` rows of each layer for `pooling` (`features[layer]` is `[count, D]`).
    mutating func append(_ pooling: String, _ features: [[Float]], count: Int) throws {
        for (layer, values) in features.enumerated() {
            guard let handle = handles["\(pooling)/\(layer)"] else { continue }
            try values.withUnsafeBytes { try handle.write(contentsOf: Data($0)) }
        }
    }

    /// Closes the files (before reading them).
    mutating func close() throws {
        for handle in handles.values { try handle.close() }
        handles = [:]
    }

    /// Calls `body` with consecutive blocks of rows of one layer: (first row, `[count, D]` values).
    func blocks(_ pooling: String, _ layer: Int, rows blockRows: Int, _ body: (Int, [Float]) throws -> Void) throws {
        let url = file(pooling, layer)
        let data = try Data(contentsOf: url, options: .alwaysMapped)
        let total = data.count / (4 * dimension)
        try data.withUnsafeBytes { raw in
            let floats = raw.bindMemory(to: Float.self)
            for start in stride(from: 0, to: total, by: blockRows) {
                let end = min(start + blockRows, total)
                try body(start, Array(floats[(start * dimension)..<(end * dimension)]))
            }
        }
    }
}
