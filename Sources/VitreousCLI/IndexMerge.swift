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
            Checks that every shard run.json names has an index, that no input is listed twice and that every \
            chunk an index line names exists; then writes DIR/index.jsonl (sorted by source path, atomically). \
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
        var entries: [[String: Any]] = []
        var seen: [String: String] = [:]
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
                if let other = seen[source] {
                    throw CLIError("\(source) is listed twice (\(other) and \(name)); were shards run with different inputs?")
                }
                seen[source] = name
                if let file = entry["file"] as? String,
                   !FileManager.default.fileExists(atPath: url.appendingPathComponent(file).path) {
                    throw CLIError("\(name):\(number + 1): chunk \(file) is missing")
                }
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
            print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
        } else {
            print("merged \(entries.count) inputs (\(failed) failed) of \(shards - missing.count)/\(shards) shards → "
                + url.appendingPathComponent("index.jsonl").path)
        }
    }
}
