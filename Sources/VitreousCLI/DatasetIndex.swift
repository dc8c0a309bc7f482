import Foundation

/// A shard's `index-<shard>.jsonl` as a run finds it, made consistent for appending: a last line cut off by
/// a crash is removed, as are chunks the index never named (a crash between a chunk's rename and its index
/// lines) and temporary files. The inputs listed are committed; a rerun skips them, and with `--retry-failed`
/// encodes again those whose last line is a failure (the new line supersedes it).
struct ShardIndex {
    let url: URL
    /// `source` of every input the index lists (encoded or failed).
    private(set) var committed: Set<String> = []
    /// `source` of every input whose last line records a failure.
    private(set) var failed: Set<String> = []
    /// The number the next chunk of this shard takes.
    private(set) var nextChunk = 0
    private(set) var encodedCount = 0

    /// Whether a run skips `source`: listed, and not a failure that `retryFailed` asks to encode again.
    func isDone(_ source: String, retryFailed: Bool) -> Bool {
        committed.contains(source) && !(retryFailed && failed.contains(source))
    }

    init(folder: URL, shard: Int) throws {
        url = folder.appendingPathComponent(DatasetFiles.index(shard: shard))
        var referenced = Set<String>()
        if let data = FileManager.default.contents(atPath: url.path) {
            let complete = data.lastIndex(of: 0x0A).map { data.prefix(through: $0) } ?? Data()
            if complete.count < data.count { try Self.cutOff(url, at: complete.count) }
            for (number, line) in complete.split(separator: 0x0A).enumerated() {
                guard let entry = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any],
                      let source = entry["source"] as? String else {
                    throw CLIError("\(url.path):\(number + 1): not an index line; the folder was edited by hand?")
                }
                committed.insert(source)
                if let file = entry["file"] as? String {
                    referenced.insert(file)
                    encodedCount += 1
                    failed.remove(source)
                    if let chunk = DatasetFiles.chunkNumber(file, shard: shard) { nextChunk = max(nextChunk, chunk + 1) }
                } else {
                    failed.insert(source)
                }
            }
        }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        let ownTemporary = "." + String(format: "features-%05d-", shard)
        for name in names {
            let orphan = DatasetFiles.chunkNumber(name, shard: shard) != nil && !referenced.contains(name)
            if orphan || (name.hasPrefix(ownTemporary) && InterruptCleanup.isTemporaryName(name)) {
                try? FileManager.default.removeItem(at: folder.appendingPathComponent(name))
            }
        }
    }

    private static func cutOff(_ url: URL, at length: Int) throws {
        guard truncate(url.path, off_t(length)) == 0 else {
            throw CLIError("\(url.path): cannot cut off its incomplete last line (\(String(cString: strerror(errno))))")
        }
    }

    /// Appends `lines` (one JSON object each) and syncs them to disk.
    mutating func append(_ lines: [[String: Any]]) throws {
        guard !lines.isEmpty else { return }
        var data = Data()
        for line in lines { data.append(try DatasetFiles.jsonLine(line)) }
        let descriptor = open(url.path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw CLIError("\(url.path): cannot open (\(String(cString: strerror(errno))))") }
        defer { close(descriptor) }
        let written = data.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        guard written == data.count, fsync(descriptor) == 0 else {
            throw CLIError("\(url.path): cannot append (\(String(cString: strerror(errno))))")
        }
        for line in lines {
            guard let source = line["source"] as? String else { continue }
            committed.insert(source)
            if line["file"] != nil {
                encodedCount += 1
                failed.remove(source)
            } else {
                failed.insert(source)
            }
        }
    }

    mutating func takeChunkNumber() -> Int {
        defer { nextChunk += 1 }
        return nextChunk
    }
}
