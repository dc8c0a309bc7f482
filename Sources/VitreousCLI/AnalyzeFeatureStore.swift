import Foundation
import VitreousAnalysis
import VitreousModel

/// `analyze`'s pooled per-layer features on disk, in the dataset's chunk format: `features-00000-NNNNN.safetensors`
/// files holding `pooled_cls.L` and `pooled_mean_patch.L` `[rows, D]` for every layer L (as `encode --dataset
/// --pooled-layers all` names them), rows in the order the images were encoded. Only the chunk being filled is
/// in memory; ``commit()`` writes it whole or not at all, and NCC and k-NN read the chunks back one at a time,
/// so memory stays flat in the number of images.
final class PooledFeatureChunks: PooledFeatureSink {
    let folder: URL
    let layers: Int
    let dimension: Int
    var rows = 0
    /// Rows of each committed chunk, in chunk order.
    private(set) var chunkRows: [Int]
    /// Per pooling name, per layer: the rows appended since the last commit.
    private var pending: [String: [[Float]]] = [:]

    /// A store in `folder` whose first `committed.count` chunks (of `committed[i]` rows) an earlier run wrote;
    /// chunk files after them (written after its last checkpoint) are removed.
    init(folder: URL, layers: Int, dimension: Int, committed: [Int] = []) throws {
        self.folder = folder
        self.layers = layers
        self.dimension = dimension
        chunkRows = committed
        rows = committed.reduce(0, +)
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            for name in try FileManager.default.contentsOfDirectory(atPath: folder.path) {
                guard let number = DatasetFiles.chunkNumber(name, shard: 0), number >= committed.count else { continue }
                try FileManager.default.removeItem(at: folder.appendingPathComponent(name))
            }
        } catch {
            throw CLIError("\(folder.path): cannot prepare the feature chunks (\(error.localizedDescription))")
        }
        for (number, count) in committed.enumerated() {
            let url = chunk(number)
            guard let file = try? SafetensorsFile(url), file.metadata["rows"] == String(count) else {
                throw CLIError("\(url.path): missing or not the chunk of \(count) rows the checkpoint names; add --restart")
            }
        }
    }

    /// The file of chunk `number`.
    func chunk(_ number: Int) -> URL { folder.appendingPathComponent(DatasetFiles.chunk(shard: 0, chunk: number)) }

    /// The tensor name of a pooling and layer, as the dataset layout has it.
    static func tensorName(_ pooling: String, _ layer: Int) -> String {
        "pooled_\(pooling.replacingOccurrences(of: "-", with: "_")).\(layer)"
    }

    func append(_ pooling: String, _ features: [[Float]], count: Int) throws {
        guard features.count == layers, features.allSatisfy({ $0.count == count * dimension }) else {
            throw CLIError("pooled features of \(pooling): expected \(layers) layers of \(count) × \(dimension) values")
        }
        var stored = pending[pooling] ?? Array(repeating: [], count: layers)
        for layer in 0..<layers { stored[layer] += features[layer] }
        pending[pooling] = stored
    }

    /// Rows appended since the last commit.
    var pendingRows: Int { rows - chunkRows.reduce(0, +) }

    /// Writes the pending rows as the next chunk (synced, renamed into place); nothing when none is pending.
    func commit() throws {
        let count = pendingRows
        guard count > 0 else { return }
        var writer = SafetensorsWriter(metadata: ["producer": "vitreous analyze", "format": DatasetFiles.format,
                                                  "vitreous_version": VitreousCommand.version, "rows": String(count)])
        for pooling in pending.keys.sorted() {
            for (layer, values) in (pending[pooling] ?? []).enumerated() {
                try writer.add(Self.tensorName(pooling, layer), values, shape: [count, dimension])
            }
        }
        try writer.write(to: chunk(chunkRows.count), sync: true)
        try syncToDisk(folder.path)
        chunkRows.append(count)
        pending = [:]
    }

    func close() throws { try commit() }

    /// Blocks of exactly `blockRows` rows (the last one shorter) whatever the chunk sizes, so the results do
    /// not depend on where the chunks were cut.
    func blocks(_ pooling: String, _ layer: Int, rows blockRows: Int, _ body: (Int, [Float]) throws -> Void) throws {
        let size = max(blockRows, 1) * dimension
        var buffer: [Float] = [], first = 0
        for number in chunkRows.indices {
            let url = chunk(number)
            do {
                buffer += try SafetensorsFile(url).floats(Self.tensorName(pooling, layer))
            } catch {
                throw CLIError("\(url.path): cannot read \(Self.tensorName(pooling, layer)) (\(error))")
            }
            while buffer.count >= size {
                try body(first, Array(buffer[0..<size]))
                buffer.removeFirst(size)
                first += blockRows
            }
        }
        if !buffer.isEmpty { try body(first, buffer) }
    }
}
