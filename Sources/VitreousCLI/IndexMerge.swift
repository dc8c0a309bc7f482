import ArgumentParser
import Foundation
import VitreousModel

/// `vitreous index`: works on the index files of a dataset folder.
struct IndexCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "index", abstract: "Work on the index of a dataset folder (vitreous encode --dataset).",
        subcommands: [IndexMerge.self])
}

/// `vitreous index merge DIR`: one `DIR/index.jsonl` from every shard's index, checked.
struct IndexMerge: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Merge the shards' index-<shard>.jsonl files of a dataset folder into index.jsonl.",
        discussion: """
            Checks that every shard run.json names has an index and no index of another shard count is there, \
            that no input is listed twice (a later line of the same shard replaces a failure: --retry-failed), \
            and that every chunk an index line names exists, belongs to that shard and was made with run.json's \
            model, preprocessing, outputs and shard count; then writes DIR/index.jsonl (sorted by source path, atomically). \
            A shard still running may have a last line not yet complete: it is left out, with a warning.
            """)

    @Argument(help: "The dataset folder (the --out of vitreous encode --dataset).")
    var folder: String

    @Flag(name: .long, help: "Merge even when shards are missing (their inputs are then absent).")
    var allowMissing = false

    @Flag(name: .long, help: "Print one JSON object on stdout at the end (counts).")
    var json = false

    func run() throws {
        let url = URL(fileURLWithPath: folder)
        let runFile = url.appendingPathComponent("run.json")
        guard let runData = FileManager.default.contents(atPath: runFile.path),
              let run = try? JSONSerialization.jsonObject(with: runData) as? [String: Any],
              let shards = run["shards"] as? Int, shards >= 1 else {
            throw CLIError("\(runFile.path): missing or not a run description; is \(folder) a dataset folder?")
        }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []
        if let stray = names.sorted().first(where: { (DatasetFiles.indexShard($0) ?? 0) >= shards }) {
            throw CLIError("\(folder): \(stray) is beyond the \(shards) shards run.json names: it comes from a run "
                + "with another shard count; merge only shards of one run")
        }
        var entries: [[String: Any]] = []
        // Per source: where its line is in `entries`, which shard's index holds it, and whether it is a failure.
        var seen: [String: (position: Int, index: String, failed: Bool)] = [:]
        var checkedChunks = Set<String>()
        var missing: [Int] = []
        for shard in 0..<shards {
            let name = DatasetFiles.index(shard: shard)
            guard let data = FileManager.default.contents(atPath: url.appendingPathComponent(name).path) else {
                missing.append(shard)
                continue
            }
            let lines = data.split(separator: 0x0A, omittingEmptySubsequences: true)
            for (number, line) in lines.enumerated() {
                guard let entry = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any],
                      let source = entry["source"] as? String else {
                    if number == lines.count - 1 && data.last != 0x0A {
                        FileHandle.standardError.write(Data("warning: \(name): last line incomplete (shard still running?); left out\n".utf8))
                        continue
                    }
                    throw CLIError("\(url.appendingPathComponent(name).path):\(number + 1): not an index line")
                }
                if let file = entry["file"] as? String, !checkedChunks.contains(file) {
                    try checkChunk(file, index: name, line: number + 1, shard: shard, run: run, folder: url)
                    checkedChunks.insert(file)
                }
                let failed = entry["file"] == nil
                if let other = seen[source] {
                    // A later line of the same shard supersedes a failure (--retry-failed); anything else overlaps.
                    guard other.index == name, other.failed else {
                        throw CLIError("\(source) is listed twice (\(other.index) and \(name)): overlapping shards, "
                            + "or shards run with different inputs; merge only shards of one run")
                    }
                    entries[other.position] = entry
                    seen[source] = (other.position, name, failed)
                    continue
                }
                seen[source] = (entries.count, name, failed)
                entries.append(entry)
            }
        }
        if !missing.isEmpty && !allowMissing {
            throw CLIError("\(folder): shard\(missing.count == 1 ? "" : "s") "
                + missing.prefix(10).map(String.init).joined(separator: ", ") + (missing.count > 10 ? "…" : "")
                + " of \(shards) \(missing.count == 1 ? "has" : "have") no index yet (not run?); --allow-missing merges anyway")
        }
        entries.sort { ($0["source"] as? String ?? "") < ($1["source"] as? String ?? "") }
        var data = Data()
        for entry in entries { data.append(try DatasetFiles.jsonLine(entry)) }
        try AtomicFile.write(data, to: url.appendingPathComponent("index.jsonl"))
        let failed = entries.filter { $0["error"] != nil }.count
        if json {
            let object: [String: Any] = ["inputs": entries.count, "failed": failed, "shards": shards, "missing_shards": missing]
            try printJSON(object)
        } else {
            print("merged \(entries.count) inputs (\(failed) failed) of \(shards - missing.count)/\(shards) shards → "
                + url.appendingPathComponent("index.jsonl").path)
        }
    }

    /// Throws unless chunk `file`, named on line `line` of shard `shard`'s index, exists, belongs to that shard
    /// and was made with the model, preprocessing, outputs and shard count of `run` (run.json).
    private func checkChunk(_ file: String, index: String, line: Int, shard: Int, run: [String: Any],
                            folder: URL) throws {
        let chunkURL = folder.appendingPathComponent(file)
        guard FileManager.default.fileExists(atPath: chunkURL.path) else {
            throw CLIError("\(index):\(line): chunk \(file) is missing")
        }
        guard DatasetFiles.chunkNumber(file, shard: shard) != nil else {
            throw CLIError("\(index):\(line): chunk \(file) is not one of shard \(shard)'s: overlapping shards; "
                + "merge only shards of one run")
        }
        let metadata: [String: String]
        do {
            metadata = try SafetensorsFile(chunkURL).metadata
        } catch {
            throw CLIError("\(chunkURL.path): \(error)")
        }
        var stored: [String: Any] = [:]
        for key in DatasetParameters.chunkKeys {
            guard let text = metadata[key] else { continue }  // chunks of older releases lack "shards"
            stored[key] = try? JSONSerialization.jsonObject(with: Data(text.utf8), options: .fragmentsAllowed)
        }
        let differing = DatasetParameters.differing(run, stored, keys: Set(stored.keys))
        guard differing.isEmpty else {
            let what = differing.map { $0 == "shards" ? "shard count" : $0 }.joined(separator: ", ")
            throw CLIError("\(chunkURL.path): made by a run with another \(what) than run.json's; merge only "
                + "shards of one run")
        }
    }
}
