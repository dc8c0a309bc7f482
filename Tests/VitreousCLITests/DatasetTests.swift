import Foundation
import Testing
import VitreousImage
import VitreousModel

/// A dataset folder read back through the index: every input's entry, and each encoded input's tensors.
private struct DatasetContents {
    var entries: [String: [String: Any]] = [:]
    var lineCount = 0
    var features: [String: [String: [Float]]] = [:]

    init(_ folder: URL) throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        var chunks: [String: SafetensorsFile] = [:]
        for name in names.sorted() where name.hasPrefix("index-") && name.hasSuffix(".jsonl") {
            let text = try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
            #expect(text.isEmpty || text.hasSuffix("\n"), "\(name) ends in a cut line")
            for line in text.split(separator: "\n") {
                let entry = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                let source = try #require(entry["source"] as? String)
                lineCount += 1
                entries[source] = entry
                guard let file = entry["file"] as? String, let row = entry["row"] as? Int else { continue }
                if chunks[file] == nil { chunks[file] = try SafetensorsFile(folder.appendingPathComponent(file)) }
                let chunk = try #require(chunks[file])
                var tensors: [String: [Float]] = [:]
                for key in chunk.names {
                    let shape = try chunk.info(key).shape, size = shape.dropFirst().reduce(1, *)
                    tensors[key] = Array(try chunk.floats(key)[(row * size)..<((row + 1) * size)])
                }
                features[source] = tensors
            }
        }
        // Every chunk on disk is named by the index: a crash leaves none behind unreferenced.
        let referenced = Set(entries.values.compactMap { $0["file"] as? String })
        #expect(Set(names.filter { $0.hasSuffix(".safetensors") }) == referenced)
        #expect(names.allSatisfy { !$0.hasPrefix(".") }, "temporary files left: \(names)")
    }
}

@Suite("vitreous encode --dataset", .serialized)
struct DatasetTests {
    /// `count` distinct textured PNGs of a few sizes under `images/` (sub/ holds every third).
    private func imageFolder(_ cli: CLI, count: Int) throws {
        for index in 0..<count {
            let width = 30 + (index % 4) * 7, height = 28 + (index % 3) * 5
            let pixels = (0..<(width * height * 3)).map { Float(($0 * 7919 + index * 104_729) % 256) / 255 }
            let relative = index % 3 == 0 ? "images/sub/\(String(format: "%03d", index)).png"
                                          : "images/\(String(format: "%03d", index)).png"
            let url = cli.folder.appendingPathComponent(relative)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try PNG.write(try Image(width: width, height: height, channels: 3, pixels: pixels), to: url.path)
        }
    }

    private func encode(_ cli: CLI, _ model: String, out: String, _ extra: [String] = [],
                        environment: [String: String] = [:]) throws -> CLI.Result {
        try cli.run(["encode", "images", "--model", model, "--out", out, "--dataset", "--size", "28", "--batch", "2",
                     "--chunk-size", "5", "--json"] + extra, environment: environment)
    }

    /// Starts a dataset encode of `images` into `out`, sends `signal` once its first chunk is committed (a fixed
    /// delay raced a fast CPU, which finished every image before the signal came) and waits for it to end.
    private func encodeUntilFirstChunk(_ cli: CLI, _ model: String, out: String,
                                       then signal: Int32) throws -> (process: Process, index: URL) {
        let process = Process()
        process.executableURL = CLI.executable
        process.arguments = ["encode", "images", "--model", model, "--out", out, "--dataset", "--size", "28",
                             "--batch", "2", "--chunk-size", "5", "--decode-threads", "1"]
        process.currentDirectoryURL = cli.folder
        process.environment = ProcessInfo.processInfo.environment.merging(["VITREOUS_DEVICE": "cpu"]) { $1 }
        process.standardError = FileHandle.nullDevice
        try process.run()
        let index = cli.folder.appendingPathComponent("\(out)/index-00000.jsonl")
        while process.isRunning && ((try? Data(contentsOf: index))?.count ?? 0) == 0 { usleep(1000) }
        kill(process.processIdentifier, signal)
        process.waitUntilExit()
        return (process, index)
    }

    @Test("layout: chunks, index and run.json; features equal the per-image files; the README reader reads them")
    func layout() throws {
        try CLI.withFolder { cli in
            let model = try cli.writeModel(registers: 2)
            try imageFolder(cli, count: 7)
            let result = try encode(cli, model, out: "ds", ["--patches", "--layers", "1"])
            #expect(result.status == 0, "\(result.stderr)")
            let json = try cli.json(result)
            let stages = try #require(json["stages_seconds"] as? [String: Double])
            #expect(Set(stages.keys) == ["decode", "resize", "normalize", "encode", "write", "wait_for_decode"])
            let contents = try DatasetContents(cli.folder.appendingPathComponent("ds"))
            #expect(contents.lineCount == 7 && contents.features.count == 7)

            let perImage = try cli.run(["encode", "images", "--model", model, "--out", "single", "--size", "28", "--batch", "2",
                                        "--layers", "1"])
            #expect(perImage.status == 0, "\(perImage.stderr)")
            for (source, tensors) in contents.features {
                let entry = try #require(contents.entries[source])
                let relative = try #require(entry["path"] as? String)
                #expect(source == "images/" + relative)
                #expect(entry["width"] as? Int == 30 + (Int(relative.suffix(7).prefix(3)) ?? 0) % 4 * 7)
                #expect((entry["crop"] as? [Double])?.count == 4)
                let single = try SafetensorsFile(cli.folder.appendingPathComponent(
                    "single/" + (relative as NSString).deletingPathExtension + ".safetensors"))
                #expect(tensors["cls"] == (try single.floats("cls")))
                #expect(tensors["registers"] == (try single.floats("registers")))
                #expect(tensors["patches"] == (try single.floats("patches")))
                #expect(tensors["hidden.1"] == (try single.floats("hidden.1")))
                let patches = try single.floats("patches"), dim = 64
                let mean = (0..<dim).map { d in
                    Float(stride(from: d, to: patches.count, by: dim).reduce(0.0) { $0 + Double(patches[$1]) }
                          / Double(patches.count / dim))
                }
                #expect(tensors["mean_patch"] == mean)
            }
            let chunk = try SafetensorsFile(cli.folder.appendingPathComponent("ds/features-00000-00000.safetensors"))
            #expect(chunk.metadata["vitreous_version"] != nil && chunk.metadata["grid"] == "2x2")
            #expect(chunk.metadata["model"]?.contains("sha256") == true)
            #expect(chunk.metadata["preprocessing"]?.contains("\"size\":\"28\"") == true)
            #expect(try chunk.info("patches").shape == [4, 2, 2, 64])  // whole batches of 2 up to --chunk-size 5
            let run = try #require(try JSONSerialization.jsonObject(
                with: Data(contentsOf: cli.folder.appendingPathComponent("ds/run.json"))) as? [String: Any])
            #expect(run["shards"] as? Int == 1 && run["format"] as? String == "vitreous-dataset/1")

            try runReadmeReader(cli, folder: "ds", expected: contents)
        }
    }

    /// Runs the README's Python reader (numpy + json) on the folder: same inputs, same CLS bits.
    private func runReadmeReader(_ cli: CLI, folder: String, expected: DatasetContents) throws {
        let readme = try String(contentsOf: SharedFixtures.tests.deletingLastPathComponent()
            .appendingPathComponent("README.md"), encoding: .utf8)
        let section = try #require(readme.range(of: "## Encoding a dataset"))
        let start = try #require(readme.range(of: "```python\n", range: section.upperBound..<readme.endIndex))
        let end = try #require(readme.range(of: "```", range: start.upperBound..<readme.endIndex))
        let reader = String(readme[start.upperBound..<end.lowerBound])
        #expect(reader.split(separator: "\n").count <= 15, "the README promises a 15-line reader")
        let documentation = try String(contentsOf: SharedFixtures.tests.deletingLastPathComponent()
            .appendingPathComponent("Documentation/dataset-format.md"), encoding: .utf8)
        #expect(documentation.contains(reader), "Documentation/dataset-format.md shows another reader")
        try cli.write(reader + """
            import sys
            entries, cls = load_dataset(sys.argv[1])
            print(json.dumps({"sources": [e["source"] for e in entries], "cls": cls.view("<u4").tolist()}))
            """, to: "reader.py")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "reader.py", folder]
        process.currentDirectoryURL = cli.folder
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let printed = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let sources = try #require(printed["sources"] as? [String])
        #expect(sources == expected.features.keys.sorted())
        let bits = try #require(printed["cls"] as? [[UInt32]])
        for (source, row) in zip(sources, bits) {
            #expect(row == expected.features[source]?["cls"]?.map(\.bitPattern))
        }
    }

    @Test("--pooled-layers: per-layer CLS and mean patch equal numpy's pooling of hidden.L; other layers refused on resume")
    func pooledLayers() throws {
        try CLI.withFolder { cli in
            let model = try cli.writeModel(registers: 2)
            try imageFolder(cli, count: 7)
            let result = try encode(cli, model, out: "ds", ["--layers", "all", "--pooled-layers", "all"])
            #expect(result.status == 0, "\(result.stderr)")
            let run = try #require(try JSONSerialization.jsonObject(
                with: Data(contentsOf: cli.folder.appendingPathComponent("ds/run.json"))) as? [String: Any])
            #expect((run["outputs"] as? [String: Any])?["pooled_layers"] as? [Int] == [0, 1, 2])
            // The README reader loads the new arrays by name; numpy pools the stored hidden states (T = 1 + 2 + 4).
            let readme = try String(contentsOf: SharedFixtures.tests.deletingLastPathComponent()
                .appendingPathComponent("Documentation/dataset-format.md"), encoding: .utf8)
            let start = try #require(readme.range(of: "```python\nimport glob"))
            let end = try #require(readme.range(of: "```", range: start.upperBound..<readme.endIndex))
            try cli.write(String(readme[readme.index(start.lowerBound, offsetBy: 10)..<end.lowerBound]) + """
                worst = 0.0
                for layer in range(3):
                    _, hidden = load_dataset("ds", f"hidden.{layer}")
                    _, cls = load_dataset("ds", f"pooled_cls.{layer}")
                    _, mean = load_dataset("ds", f"pooled_mean_patch.{layer}")
                    assert cls.shape == (7, 64) and (cls == hidden[:, 0]).all(), layer
                    reference = hidden[:, 3:].astype(np.float64).mean(axis=1)
                    worst = max(worst, float(np.abs(mean - reference).max() / np.abs(reference).max()))
                print(worst)
                """, to: "pooled.py")
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", "pooled.py"]
            process.currentDirectoryURL = cli.folder
            let out = Pipe()
            process.standardOutput = out
            try process.run()
            let printed = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            #expect(process.terminationStatus == 0)
            // Summed in float over 4 patches: a few float32 roundings of the largest value.
            let worst = try #require(Double(printed.trimmingCharacters(in: .whitespacesAndNewlines)))
            #expect(worst < 1e-6, "relative error \(worst)")

            let other = try encode(cli, model, out: "ds", ["--layers", "all", "--pooled-layers", "1"])
            #expect(other.status == 1 && other.stderr.contains("different outputs"), "\(other.stderr)")
            #expect(!other.stderr.dropLast().contains("\n"), "\(other.stderr)")
            let refused = try cli.run(["encode", "images", "--model", model, "--out", "x", "--pooled-layers", "1"])
            #expect(refused.status != 0 && refused.stderr.contains("--pooled-layers needs --dataset"))
        }
    }

    @Test("SIGKILL in the middle, then the same command: every input once, features bit-identical")
    func killAndResume() throws {
        try CLI.withFolder { cli in
            let model = try cli.writeModel()
            try imageFolder(cli, count: 120)
            let whole = try encode(cli, model, out: "whole")
            #expect(whole.status == 0, "\(whole.stderr)")

            let (process, index) = try encodeUntilFirstChunk(cli, model, out: "killed", then: SIGKILL)
            #expect(process.terminationReason == .uncaughtSignal, "the run ended before it was killed")
            let partial = try String(contentsOf: index, encoding: .utf8).split(separator: "\n").count
            #expect(partial < 120)

            let resumed = try encode(cli, model, out: "killed")
            #expect(resumed.status == 0, "\(resumed.stderr)")
            #expect(try cli.json(resumed)["already_done"] as? Int ?? -1 >= partial)
            let reference = try DatasetContents(cli.folder.appendingPathComponent("whole"))
            let contents = try DatasetContents(cli.folder.appendingPathComponent("killed"))
            #expect(contents.lineCount == 120 && contents.entries.count == 120)
            #expect(Set(contents.features.keys) == Set(reference.features.keys))
            for (source, tensors) in reference.features {
                #expect(contents.features[source] == tensors, "\(source) differs after resuming")
            }
            // Nothing left to do: a third run encodes nothing.
            let again = try encode(cli, model, out: "killed")
            #expect(try cli.json(again)["images"] as? Int == 0)
        }
    }

    @Test("SIGTERM stops after the batch, commits it and exits 143")
    func terminate() throws {
        try CLI.withFolder { cli in
            let model = try cli.writeModel()
            try imageFolder(cli, count: 240)
            let (process, _) = try encodeUntilFirstChunk(cli, model, out: "ds", then: SIGTERM)
            #expect(process.terminationStatus == 143, "the run ended before the signal came")
            let contents = try DatasetContents(cli.folder.appendingPathComponent("ds"))
            #expect(contents.lineCount > 0 && contents.lineCount < 240, "\(contents.lineCount) lines")
        }
    }

    @Test("three shards cover the inputs exactly once; --shard auto reads Slurm and Kubernetes variables; merge")
    func shards() throws {
        try CLI.withFolder { cli in
            let model = try cli.writeModel()
            try imageFolder(cli, count: 11)
            let first = try encode(cli, model, out: "ds", ["--shard", "0/3"])
            let second = try encode(cli, model, out: "ds", ["--shard", "auto"], environment: [
                "SLURM_ARRAY_TASK_ID": "8", "SLURM_ARRAY_TASK_MIN": "7", "SLURM_ARRAY_TASK_COUNT": "3"])
            let third = try encode(cli, model, out: "ds", ["--shard", "auto"], environment: [
                "SLURM_ARRAY_TASK_ID": "", "JOB_COMPLETION_INDEX": "2", "JOB_COMPLETIONS": "3"])
            for result in [first, second, third] { #expect(result.status == 0, "\(result.stderr)") }
            #expect(try cli.json(second)["shard"] as? String == "1/3")
            #expect(try cli.json(third)["shard"] as? String == "2/3")
            let contents = try DatasetContents(cli.folder.appendingPathComponent("ds"))
            #expect(contents.lineCount == 11 && contents.entries.count == 11)
            #expect(cli.exists("ds/index-00002.jsonl") && cli.exists("ds/features-00001-00000.safetensors"))

            let merged = try cli.run("index", "merge", "ds")
            #expect(merged.status == 0, "\(merged.stderr)")
            let lines = try String(contentsOf: cli.folder.appendingPathComponent("ds/index.jsonl"), encoding: .utf8)
                .split(separator: "\n")
            #expect(lines.count == 11)

            let wrongCount = try encode(cli, model, out: "ds", ["--shard", "0/4"])
            #expect(wrongCount.status == 1 && wrongCount.stderr.contains("shards"), "\(wrongCount.stderr)")
            let badShard = try encode(cli, model, out: "other", ["--shard", "3/3"])
            #expect(badShard.status == 1 && badShard.stderr.contains("3/3"), "\(badShard.stderr)")
        }
    }

    @Test("a corrupt file in the middle is recorded with its error and the run goes on; changed preprocessing refused")
    func corruptAndChanged() throws {
        try CLI.withFolder { cli in
            let model = try cli.writeModel()
            try imageFolder(cli, count: 6)
            try cli.write("not really a JPEG", to: "images/002b.jpg")
            let result = try encode(cli, model, out: "ds")
            #expect(result.status == 1 && result.stderr.contains("images/002b.jpg"), "\(result.stderr)")
            let contents = try DatasetContents(cli.folder.appendingPathComponent("ds"))
            #expect(contents.lineCount == 7 && contents.features.count == 6)
            let broken = try #require(contents.entries["images/002b.jpg"])
            #expect(broken["file"] == nil && (broken["error"] as? String)?.isEmpty == false)

            let changed = try cli.run(["encode", "images", "--model", model, "--out", "ds", "--dataset", "--size", "42"])
            #expect(changed.status == 1 && changed.stderr.contains("preprocessing"), "\(changed.stderr)")
            let otherModel = try cli.writeModel("other.safetensors", registers: 1)
            let swapped = try encode(cli, otherModel, out: "ds")
            #expect(swapped.status == 1 && swapped.stderr.contains("model"), "\(swapped.stderr)")
        }
    }

    @Test("failed inputs stay as recorded on a rerun and are encoded again with --retry-failed; merge takes the retry")
    func retryFailed() throws {
        try CLI.withFolder { cli in
            let model = try cli.writeModel()
            try imageFolder(cli, count: 4)
            try cli.write("not really a JPEG", to: "images/001b.jpg")
            let first = try encode(cli, model, out: "ds")
            #expect(first.status == 1 && first.stderr.contains("images/001b.jpg"), "\(first.stderr)")
            // Repaired: a PNG under the same name (files are told by content).
            let fixed = cli.folder.appendingPathComponent("images/001b.jpg")
            try PNG.write(try Image(width: 30, height: 28, channels: 3, pixels: [Float](repeating: 0.5, count: 30 * 28 * 3)),
                          to: fixed.path)

            let rerun = try encode(cli, model, out: "ds")
            #expect(rerun.status == 0 && rerun.stderr.contains("--retry-failed"), "\(rerun.stderr)")
            #expect(try cli.json(rerun)["failed_before"] as? [String] == ["images/001b.jpg"])
            #expect(try cli.json(rerun)["images"] as? Int == 0)
            #expect(try DatasetContents(cli.folder.appendingPathComponent("ds")).features.count == 4)

            let retried = try encode(cli, model, out: "ds", ["--retry-failed"])
            #expect(retried.status == 0, "\(retried.stderr)")
            #expect(try cli.json(retried)["images"] as? Int == 1)
            #expect((try cli.json(retried)["failed_before"] as? [String])?.isEmpty == true)
            let contents = try DatasetContents(cli.folder.appendingPathComponent("ds"))
            #expect(contents.features.count == 5 && contents.lineCount == 6)
            #expect(contents.entries["images/001b.jpg"]?["error"] == nil)
            let again = try encode(cli, model, out: "ds", ["--retry-failed"])
            #expect(try cli.json(again)["images"] as? Int == 0)

            let merged = try cli.run("index", "merge", "ds", "--json")
            #expect(merged.status == 0, "\(merged.stderr)")
            let counts = try cli.json(merged)
            #expect(counts["inputs"] as? Int == 5 && counts["failed"] as? Int == 0)
            #expect(try cli.run(["encode", "images", "--model", model, "--out", "x", "--retry-failed"]).status != 0)
        }
    }

    /// Copies shard `shard`'s index and chunks from dataset folder `from` into `to`, replacing what `to` has
    /// of that shard: what gathering shards from several runs into one folder does.
    private func copyShard(_ cli: CLI, _ shard: Int, from: String, to: String, asShard target: Int? = nil) throws {
        let manager = FileManager.default
        let source = cli.folder.appendingPathComponent(from), destination = cli.folder.appendingPathComponent(to)
        let own = String(format: "-%05d", shard)
        for name in try manager.contentsOfDirectory(atPath: destination.path)
        where name.hasPrefix("index" + String(format: "-%05d", target ?? shard)) {
            try manager.removeItem(at: destination.appendingPathComponent(name))
        }
        for name in try manager.contentsOfDirectory(atPath: source.path)
        where name.hasPrefix("index" + own) || name.hasPrefix("features" + own) {
            let renamed = target.map { name.replacingOccurrences(of: "index" + own, with: String(format: "index-%05d", $0)) }
                ?? name
            let url = destination.appendingPathComponent(renamed)
            if manager.fileExists(atPath: url.path) { try manager.removeItem(at: url) }
            try manager.copyItem(at: source.appendingPathComponent(name), to: url)
        }
    }

    @Test("merge refuses shards of mismatched runs: another model, preprocessing or shard count, overlapping shards")
    func mergeMismatched() throws {
        try CLI.withFolder { cli in
            let model = try cli.writeModel()
            let otherModel = try cli.writeModel("other.safetensors", registers: 1)
            try imageFolder(cli, count: 6)
            for (out, weights, extra) in [("ds", model, ["--shard", "0/2"]), ("ds", model, ["--shard", "1/2"]),
                                          ("model", otherModel, ["--shard", "1/2"]),
                                          ("size", model, ["--shard", "1/2", "--size", "42"]),
                                          ("three", model, ["--shard", "1/3"]), ("three", model, ["--shard", "2/3"])] {
                let result = try encode(cli, weights, out: out, extra)
                #expect(result.status == 0, "\(out): \(result.stderr)")
            }
            #expect(try cli.run("index", "merge", "ds").status == 0)
            let cases: [(String, (String) throws -> Void, String)] = [
                ("model", { try copyShard(cli, 1, from: "model", to: $0) }, "another model"),
                ("preprocessing", { try copyShard(cli, 1, from: "size", to: $0) }, "another preprocessing"),
                ("shard count", { try copyShard(cli, 1, from: "three", to: $0) }, "another shard count"),
                ("extra index", { try copyShard(cli, 2, from: "three", to: $0) }, "index-00002.jsonl is beyond the 2 shards"),
                ("overlap", { try copyShard(cli, 0, from: "ds", to: $0, asShard: 1) }, "overlapping shards"),
            ]
            for (name, damage, message) in cases {
                let folder = "case-\(name.replacingOccurrences(of: " ", with: "-"))"
                try FileManager.default.copyItem(at: cli.folder.appendingPathComponent("ds"),
                                                 to: cli.folder.appendingPathComponent(folder))
                try damage(folder)
                let merged = try cli.run("index", "merge", folder)
                #expect(merged.status == 1 && merged.stderr.contains(message), "\(name): \(merged.stderr)")
                #expect(!merged.stderr.dropLast().contains("\n"), "\(name): \(merged.stderr)")
            }
        }
    }
}
