import Dispatch
import Foundation
import VitreousAnalysis
import VitreousImage
import VitreousModel
import VitreousTensor

/// SIGINT and SIGTERM during a dataset run: noted, so the run stops after the current batch, commits what
/// is done and exits with 128 + the signal (130, 143), instead of dying mid-write.
final class StopRequest: @unchecked Sendable {
    private let lock = NSLock()
    private var signalNumber: Int32?  // guarded by `lock`
    private var sources: [DispatchSourceSignal] = []
    private let queue = DispatchQueue(label: "vitreous.dataset.signals")

    init() {
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)  // the dispatch source takes over the default action
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler { [self] in
                lock.withLock { signalNumber = signalNumber ?? number }
                FileHandle.standardError.write(Data("\nstopping after the current batch (signal \(number))…\n".utf8))
            }
            source.resume()
            sources.append(source)
        }
    }

    var received: Int32? { lock.withLock { signalNumber } }
}

/// Time spent per stage of a dataset run, in seconds: decode and resize are summed over the background
/// threads (they overlap the encoder); `wait` is the encoder's time waiting for decoded images.
struct StageTimes {
    var decode = 0.0, resize = 0.0, normalize = 0.0, encode = 0.0, write = 0.0, wait = 0.0

    var json: [String: Double] {
        func rounded(_ value: Double) -> Double { (value * 1000).rounded() / 1000 }
        return ["decode": rounded(decode), "resize": rounded(resize), "normalize": rounded(normalize),
                "encode": rounded(encode), "write": rounded(write), "wait_for_decode": rounded(wait)]
    }
}

/// The rows of the chunk being filled: one image of one input size per row.
private struct ChunkRows {
    var entries: [[String: Any]] = []
    var cls: [Float] = [], registers: [Float] = [], meanPatch: [Float] = [], patches: [Float] = []
    var hidden: [Int: [Float]] = [:], norms: [Int: [Float]] = [:]
    var pooledCLS: [Int: [Float]] = [:], pooledMean: [Int: [Float]] = [:]
    var grid = (height: 0, width: 0), tokens = 0, dim = 0, registerCount = 0

    var count: Int { entries.count }
}

/// `vitreous encode --dataset`: encodes one shard of the inputs into chunks and an index (see
/// ``DatasetFiles``), resuming what an earlier run of the same command committed.
struct DatasetRun {
    let encoder: ViTEncoder
    let policy: ResizePolicy
    let readOptions: ImageReadOptions
    let maxTokens: Int
    let batchSize: Int
    let chunkSize: Int
    let patches: Bool
    let layers: [Int]
    let shard: Shard
    let parameters: DatasetParameters
    let decodeThreads: Int
    let folder: URL
    /// Encode again the inputs an earlier run recorded as failed (else they stay as recorded).
    var retryFailed = false
    /// Layers whose pooled features (CLS, mean patch token) each row also stores.
    var pooledLayers: [Int] = []

    struct Outcome {
        var encoded = 0, failures: [ImageRun.Failure] = [], resumedFrom = 0, seconds = 0.0
        /// Inputs of this shard that earlier runs recorded as failed and this run left as they are.
        var failedBefore: [String] = []
        var stages = StageTimes()
        var stoppedBy: Int32?
    }

    /// The queue depth: four batches (at least 16 images) ahead of the encoder.
    var queueDepth: Int { max(16, 4 * batchSize) }

    func run(_ all: [InputImage], stop: StopRequest, showProgress: Bool) throws -> Outcome {
        let started = Date()
        var index = try ShardIndex(folder: folder, shard: shard.index)
        let mine = shard.select(all)
        let todo = mine.filter { !index.isDone($0.path, retryFailed: retryFailed) }
        var outcome = Outcome(resumedFrom: mine.count - todo.count)
        outcome.failedBefore = mine.filter { index.failed.contains($0.path) && !retryFailed }.map(\.path)
        let (policy, readOptions, maxTokens, patch) = (policy, readOptions, maxTokens, encoder.config.patchSize)
        let queue = PrefetchQueue(todo, threads: decodeThreads, depth: queueDepth) { input in
            let decodeStart = Date()
            let decoded = try ImageFile.read(input.path, options: readOptions)
            let decodeSeconds = Date().timeIntervalSince(decodeStart)
            try checkTokenLimit(input.path, decoded, policy: policy, patch: patch, maxTokens: maxTokens)
            return ((decoded.width, decoded.height), try policy.prepare(decoded), decodeSeconds)
        }
        defer { queue.cancel() }
        let progress = ProgressBar(total: todo.count, label: "images", enabled: showProgress)
        var rows = ChunkRows()
        var failedLines: [[String: Any]] = []
        var batch: [(PrefetchedImage, Image)] = []

        func commitChunk() throws {
            guard !rows.entries.isEmpty || !failedLines.isEmpty else { return }
            let writeStart = Date()
            var lines = failedLines
            if !rows.entries.isEmpty {
                let name = DatasetFiles.chunk(shard: shard.index, chunk: index.takeChunkNumber())
                try write(rows, to: folder.appendingPathComponent(name))
                try syncToDisk(folder.path)
                lines = rows.entries.enumerated().map { row, entry in
                    entry.merging(["file": name, "row": row]) { $1 }
                } + lines
            }
            try index.append(lines)
            outcome.stages.write += Date().timeIntervalSince(writeStart)
            rows = ChunkRows()
            failedLines = []
        }

        func encodeBatch() throws {
            guard let first = batch.first?.1 else { return }
            let images = batch
            batch = []
            let normalizeStart = Date()
            let features: FeatureBatch
            let pooled: PooledLayers?
            do {
                let tensor = try Preprocessor(resize: .exact(width: first.width, height: first.height))
                    .tensor(images.map(\.1), on: encoder.device)
                let encodeStart = Date()
                outcome.stages.normalize += encodeStart.timeIntervalSince(normalizeStart)
                let options = EncoderOptions(hiddenStates: !layers.isEmpty || !pooledLayers.isEmpty,
                                             tokenNorms: !layers.isEmpty)
                let output = try encoder.encode(tensor, options: options)
                features = try FeatureBatch(output, layers: layers)
                pooled = pooledLayers.isEmpty ? nil : try PooledLayers(output, layers: pooledLayers)
                outcome.stages.encode += Date().timeIntervalSince(encodeStart)
            } catch {
                for (item, _) in images {
                    outcome.failures.append(ImageRun.Failure(path: item.input.path, error: error))
                    failedLines.append(entry(item, error: outcome.failures[outcome.failures.count - 1].message))
                }
                progress.advance(by: images.count)
                return
            }
            if rows.count > 0 && rows.grid != features.grid { try commitChunk() }  // one grid per chunk
            for (item, (prefetched, _)) in images.enumerated() {
                append(features, item: item, entry: entry(prefetched, error: nil), to: &rows)
                if let pooled { appendPooled(pooled, item: item, to: &rows) }
            }
            outcome.encoded += images.count
            progress.advance(by: images.count)
        }

        // Batches sit on a fixed grid of the shard's positions (the g-th holds positions gB..<(g+1)B, split
        // where the input size changes), and chunks are committed only between them: a resumed run forms the
        // same batches as an uninterrupted one, and the encoder's results depend on the batch's composition.
        var pending = [Int](repeating: 0, count: (mine.count + batchSize - 1) / batchSize)
        for (position, input) in mine.enumerated() where !index.isDone(input.path, retryFailed: retryFailed) {
            pending[position / batchSize] += 1
        }
        var position = 0
        for count in pending where count > 0 {
            if rows.count > 0 && rows.count + count > chunkSize { try commitChunk() }
            for _ in 0..<count {
                let waitStart = Date()
                let item = queue.take(position)
                position += 1
                outcome.stages.wait += Date().timeIntervalSince(waitStart)
                outcome.stages.decode += item.decodeSeconds
                outcome.stages.resize += item.resizeSeconds
                switch item.outcome {
                case .failure(let error):
                    let failure = ImageRun.Failure(path: item.input.path, error: error)
                    outcome.failures.append(failure)
                    failedLines.append(entry(item, error: failure.message))
                    progress.advance()
                case .success((_, let image)):
                    if let first = batch.first?.1, first.width != image.width || first.height != image.height {
                        try encodeBatch()
                    }
                    batch.append((item, image))
                }
            }
            try encodeBatch()
            if rows.count >= chunkSize { try commitChunk() }
            if let signal = stop.received {
                outcome.stoppedBy = signal
                break
            }
        }
        try encodeBatch()
        try commitChunk()
        if outcome.stoppedBy == nil { outcome.stoppedBy = stop.received }
        outcome.seconds = Date().timeIntervalSince(started)
        return outcome
    }

    /// The index line of `item` (without `file` and `row`, which the commit adds).
    private func entry(_ item: PrefetchedImage, error: String?) -> [String: Any] {
        var line: [String: Any] = ["source": item.input.path, "path": item.input.relative]
        if let error { line["error"] = error }
        if case .success(let (original, _)) = item.outcome {
            line["width"] = original.width
            line["height"] = original.height
            line["crop"] = cropBox(policy, width: original.width, height: original.height)
        }
        return line
    }

    private func append(_ features: FeatureBatch, item: Int, entry: [String: Any], to rows: inout ChunkRows) {
        let dim = features.dim, patchCount = features.grid.height * features.grid.width
        rows.grid = features.grid
        rows.tokens = features.tokens
        rows.dim = dim
        rows.registerCount = features.registers
        rows.entries.append(entry)
        rows.cls += features.cls[(item * dim)..<((item + 1) * dim)]
        let registerSize = features.registers * dim
        rows.registers += features.registerValues[(item * registerSize)..<((item + 1) * registerSize)]
        let patchValues = features.patches[(item * patchCount * dim)..<((item + 1) * patchCount * dim)]
        // The mean in double, summed in patch order: the same bits whatever the batch or chunk.
        var sums = [Double](repeating: 0, count: dim)
        for (offset, value) in patchValues.enumerated() { sums[offset % dim] += Double(value) }
        rows.meanPatch += sums.map { Float($0 / Double(patchCount)) }
        if patches { rows.patches += patchValues }
        for (layer, values, norms) in features.hidden {
            let size = features.tokens * dim
            rows.hidden[layer, default: []] += values[(item * size)..<((item + 1) * size)]
            rows.norms[layer, default: []] += norms[(item * features.tokens)..<((item + 1) * features.tokens)]
        }
    }

    private func appendPooled(_ pooled: PooledLayers, item: Int, to rows: inout ChunkRows) {
        let dim = pooled.dimension
        for (position, layer) in pooledLayers.enumerated() {
            rows.pooledCLS[layer, default: []] += pooled.cls[position][(item * dim)..<((item + 1) * dim)]
            rows.pooledMean[layer, default: []] += pooled.meanPatch[position][(item * dim)..<((item + 1) * dim)]
        }
    }

    /// One chunk file, whole or not at all: a temporary file, synced, renamed into place.
    private func write(_ rows: ChunkRows, to url: URL) throws {
        var metadata = try parameters.chunkMetadata
        metadata["rows"] = String(rows.count)
        metadata["grid"] = "\(rows.grid.height)x\(rows.grid.width)"
        var writer = SafetensorsWriter(metadata: metadata)
        let count = rows.count, dim = rows.dim
        try writer.add("cls", rows.cls, shape: [count, dim])
        if rows.registerCount > 0 { try writer.add("registers", rows.registers, shape: [count, rows.registerCount, dim]) }
        try writer.add("mean_patch", rows.meanPatch, shape: [count, dim])
        if patches { try writer.add("patches", rows.patches, shape: [count, rows.grid.height, rows.grid.width, dim]) }
        for layer in layers {
            try writer.add("hidden.\(layer)", rows.hidden[layer] ?? [], shape: [count, rows.tokens, dim])
            try writer.add("norms.\(layer)", rows.norms[layer] ?? [], shape: [count, rows.tokens])
        }
        for layer in pooledLayers {
            try writer.add("pooled_cls.\(layer)", rows.pooledCLS[layer] ?? [], shape: [count, dim])
            try writer.add("pooled_mean_patch.\(layer)", rows.pooledMean[layer] ?? [], shape: [count, dim])
        }
        try writer.write(to: url, sync: true)
    }
}
