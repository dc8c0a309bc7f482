import Foundation
import VitreousAnalysis
import VitreousModel

/// `analyze`'s pooled per-layer features on disk, in the dataset's chunk format: `features-00000-NNNNN.safetensors`
/// files holding `pooled_cls.L` and `pooled_mean_patch.L` `[rows, D]` for every layer L (as `encode --dataset
/// --pooled-layers all` names them), rows in the order the images were encoded. Only the chunk being filled is
/// in memory; ``commit()`` writes it whole or not at all, then appends its rows to `index-00000.jsonl` (`source`,
/// `path`, `file`, `row`, as a dataset run's index), so the folder reads as a dataset (`load_dataset(DIR,
/// "pooled_cls.6")`). NCC and k-NN read the chunks back one at a time, so memory stays flat in the number of
/// images.
final class PooledFeatureChunks: PooledFeatureSink {
    let folder: URL
    let layers: Int
    let dimension: Int
    var rows = 0
    /// Rows of each committed chunk, in chunk order.
    private(set) var chunkRows: [Int]
    /// Per pooling name, per layer: the rows appended since the last commit.
    private var pending: [String: [[Float]]] = [:]
    /// The inputs of the rows appended since the last commit, in row order.
    private var pendingInputs: [InputImage] = []

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
        try keepIndexLines(ofChunks: committed.count)
    }

    /// `index-00000.jsonl`.
    var index: URL { folder.appendingPathComponent(DatasetFiles.index(shard: 0)) }

    /// Rewrites the index with only the whole lines naming the first `chunks` chunks: lines a run appended
    /// after its last checkpoint name chunks that were just removed.
    private func keepIndexLines(ofChunks chunks: Int) throws {
        let names = Set((0..<chunks).map { DatasetFiles.chunk(shard: 0, chunk: $0) })
        let text = (try? String(contentsOf: index, encoding: .utf8)) ?? ""
        var kept = Data()
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let file = object["file"] as? String, names.contains(file) else { continue }
            kept.append(contentsOf: Data(line.utf8) + [0x0A])
        }
        let expected = chunkRows.reduce(0, +)
        let lines = kept.filter { $0 == 0x0A }.count
        guard lines == expected else {
            throw CLIError("\(index.path): \(lines) index lines for the \(expected) rows the checkpoint names; add --restart")
        }
        do {
            try AtomicFile.write(kept, to: index, sync: true)
        } catch {
            throw CLIError("\(index.path): cannot write the index (\(error.localizedDescription))")
        }
    }

    /// Records the inputs of the rows appended next (call once per batch, in the order of the rows).
    func noteInputs(_ inputs: [InputImage]) { pendingInputs += inputs }

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
        guard pendingInputs.count == count else {
            throw CLIError("\(folder.path): \(pendingInputs.count) inputs noted for \(count) pending rows")
        }
        let name = DatasetFiles.chunk(shard: 0, chunk: chunkRows.count)
        try writer.write(to: chunk(chunkRows.count), sync: true)
        try syncToDisk(folder.path)
        // After the chunk, before the checkpoint: a crash between them leaves lines a resume drops.
        var lines = Data()
        for (row, input) in pendingInputs.enumerated() {
            lines.append(try DatasetFiles.jsonLine(["source": input.path, "path": input.relative, "file": name, "row": row]))
        }
        do {
            let handle = try FileHandle(forWritingTo: index)
            defer { try? handle.close() }
            try handle.seekToEnd()
            try handle.write(contentsOf: lines)
            try handle.synchronize()
        } catch {
            throw CLIError("\(index.path): cannot append to the index (\(error.localizedDescription))")
        }
        chunkRows.append(count)
        pending = [:]
        pendingInputs = []
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
