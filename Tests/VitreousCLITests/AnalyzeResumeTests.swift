import Foundation
import Testing
import VitreousImage
import VitreousModel

/// `vitreous analyze` checkpoints and resumes: killed or interrupted after its first checkpoint, the same
/// command finishes with the numbers of an uninterrupted run; another run's checkpoint is refused.
@Suite("vitreous analyze resume", .serialized)
struct AnalyzeResumeTests {
    static let count = 40

    /// Two classes of `count / 2` distinct 56×56 images (4×4 patches each) with masks of the same names.
    private func writeClasses(_ cli: CLI) throws {
        for index in 0..<Self.count {
            let (name, i) = (index % 2 == 0 ? "a" : "b", index / 2)
            let pixels = (0..<(56 * 56 * 3)).map { Float((($0 + 37 * i) * (7919 + 104 * (index % 2)) + 11 * i) % 256) / 255 }
            let path = cli.folder.appendingPathComponent(String(format: "classes/%@/%02d.png", name, i)).path
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                    withIntermediateDirectories: true)
            try PNG.write(try Image(width: 56, height: 56, channels: 3, pixels: pixels), to: path)
            let mask = (0..<(56 * 56)).map { Float(($0 % 56) < 20 + i ? 1 : 0) }
            let maskPath = cli.folder.appendingPathComponent(String(format: "masks/%@/%02d.png", name, i)).path
            try FileManager.default.createDirectory(atPath: (maskPath as NSString).deletingLastPathComponent,
                                                    withIntermediateDirectories: true)
            try PNG.write(try Image(width: 56, height: 56, channels: 1, pixels: mask), to: maskPath)
        }
    }

    /// Every measure; checkpoints every 4 inputs while CKA minibatches are 6, so a checkpoint holds a
    /// partial minibatch.
    private func arguments(_ model: String, out: String) -> [String] {
        ["analyze", "classes", "--model", model, "--size", "56", "--masks", "masks", "--k", "3", "--cka-minibatch", "6",
         "--batch", "2", "--chunk-size", "4", "--out", out, "--json"]
    }

    /// Starts `analyze` into `out`, sends `signal` once its first checkpoint is written and waits for it;
    /// returns the process and what it wrote on stderr.
    private func analyzeUntilFirstCheckpoint(_ cli: CLI, _ model: String, out: String,
                                             then signal: Int32) throws -> (process: Process, stderr: String) {
        let process = Process()
        process.executableURL = CLI.executable
        process.arguments = arguments(model, out: out)
        process.currentDirectoryURL = cli.folder
        process.environment = ProcessInfo.processInfo.environment.merging(["VITREOUS_DEVICE": "cpu"]) { $1 }
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let checkpoint = cli.folder.appendingPathComponent("\(out)/checkpoint.plist")
        while process.isRunning && !FileManager.default.fileExists(atPath: checkpoint.path) { usleep(500) }
        kill(process.processIdentifier, signal)
        let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process, text)
    }

    /// The files of a finished analysis that must not depend on how the run was cut: analysis.json and the CSVs.
    private func results(_ cli: CLI, _ out: String) throws -> [String: Data] {
        let folder = cli.folder.appendingPathComponent(out)
        var files: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: folder.path)
        where name == "analysis.json" || name.hasSuffix(".csv") {
            files[name] = try Data(contentsOf: folder.appendingPathComponent(name))
        }
        return files
    }

    /// The chunk files under `out/pooled` and their tensors.
    private func chunks(_ cli: CLI, _ out: String) throws -> [String: [String: [Float]]] {
        let folder = cli.folder.appendingPathComponent("\(out)/pooled")
        var chunks: [String: [String: [Float]]] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: folder.path) where name.hasSuffix(".safetensors") {
            let file = try SafetensorsFile(folder.appendingPathComponent(name))
            chunks[name] = Dictionary(uniqueKeysWithValues: try file.names.map { ($0, try file.floats($0)) })
        }
        return chunks
    }

    /// The lines of `folder/index-00000.jsonl`, parsed.
    private func indexLines(_ cli: CLI, _ folder: String) throws -> [[String: Any]] {
        let text = try String(contentsOf: cli.folder.appendingPathComponent("\(folder)/index-00000.jsonl"), encoding: .utf8)
        return try text.split(separator: "\n").map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        }
    }

    /// Per tensor, the rows of every chunk in chunk order.
    private func rows(_ cli: CLI, _ out: String) throws -> [String: [Float]] {
        var rows: [String: [Float]] = [:]
        for (_, tensors) in try chunks(cli, out).sorted(by: { $0.key < $1.key }) {
            for (name, values) in tensors { rows[name, default: []] += values }
        }
        return rows
    }

    @Test("SIGKILL or Ctrl-C after the first checkpoint, then the same command: analysis.json and the CSVs equal an uninterrupted run's")
    func killAndResume() throws {
        try CLI.withFolder { cli in
            let model = try cli.writeModel()
            try writeClasses(cli)
            // A broken file before the first checkpoint: the resumed run must still report it (and exit 1).
            try Data("not a PNG".utf8).write(to: cli.folder.appendingPathComponent("classes/a/000.png"))
            let whole = try cli.run(arguments(model, out: "whole"))
            #expect(whole.status == 1 && whole.stderr.contains("classes/a/000.png"), "\(whole.stderr)")
            let reference = try results(cli, "whole")
            #expect(reference["analysis.json"] != nil && reference.count >= 6, "\(reference.keys.sorted())")

            for (signal, out) in [(SIGKILL, "killed"), (SIGINT, "interrupted")] {
                let (process, _) = try analyzeUntilFirstCheckpoint(cli, model, out: out, then: signal)
                if signal == SIGKILL {
                    #expect(process.terminationReason == .uncaughtSignal, "the run ended before it was killed")
                    // As if it died between a chunk's index lines and its checkpoint, the last line cut in half.
                    let index = try FileHandle(forWritingTo: cli.folder.appendingPathComponent("\(out)/pooled/index-00000.jsonl"))
                    try index.seekToEnd()
                    try index.write(contentsOf: Data(#"{"file":"features-00000-00007.safetensors","path":"b/019.png","row":0,"source":"x"}"#.utf8 + [0x0A]))
                    try index.write(contentsOf: Data(#"{"file":"features-00000-00007.saf"#.utf8))
                    try index.close()
                } else {
                    #expect(process.terminationStatus == 130, "the run ended before the signal came")
                }
                let resumed = try cli.run(arguments(model, out: out))
                #expect(resumed.status == 1 && resumed.stderr.contains("classes/a/000.png"), "\(resumed.stderr)")
                let from = try cli.json(resumed)["resumed_from"] as? Int ?? 0
                #expect(from > 2 && from < Self.count, "resumed from \(from)")
                #expect((try cli.json(resumed)["failed"] as? [Any])?.count == 1)
                let files = try results(cli, out)
                #expect(Set(files.keys) == Set(reference.keys))
                for (name, data) in reference {
                    #expect(files[name] == data, "\(name) differs after \(signal == SIGKILL ? "SIGKILL" : "SIGINT") and resume")
                }
                // Ctrl-C adds a checkpoint where it stopped, so only a SIGKILLed run cuts its chunks where the
                // uninterrupted one did; the rows, in order, are the same either way.
                if signal == SIGKILL {
                    #expect(try chunks(cli, out) == (try chunks(cli, "whole")), "the feature chunks differ")
                    // Lines appended after the last checkpoint (a chunk the resume removed) are dropped, not doubled.
                    #expect(try Data(contentsOf: cli.folder.appendingPathComponent("\(out)/pooled/index-00000.jsonl"))
                                == (try Data(contentsOf: cli.folder.appendingPathComponent("whole/pooled/index-00000.jsonl"))),
                            "the index differs after SIGKILL and resume")
                }
                #expect(try indexLines(cli, "\(out)/pooled").map { $0["source"] as? String ?? "" }
                            == (try indexLines(cli, "whole/pooled").map { $0["source"] as? String ?? "" }), "the indexed inputs differ")
                #expect(try rows(cli, out) == (try rows(cli, "whole")), "the pooled features differ")
            }
            // A finished run's checkpoint covers every input: the same command only recomputes the results.
            let again = try cli.run(arguments(model, out: "whole"))
            #expect(try cli.json(again)["resumed_from"] as? Int == Self.count + 1)
            #expect(try results(cli, "whole") == reference)
        }
    }

    @Test("Ctrl-C says how to resume")
    func interruptMessage() throws {
        try CLI.withFolder { cli in
            let model = try cli.writeModel()
            try writeClasses(cli)
            let (process, text) = try analyzeUntilFirstCheckpoint(cli, model, out: "out", then: SIGINT)
            #expect(process.terminationStatus == 130)
            #expect(text.contains("inputs analysed and checkpointed in") && text.contains("rerun the same command to resume"),
                    "\(text)")
        }
    }

    @Test("a checkpoint of other options or another model is refused in one line; --restart discards it")
    func refused() throws {
        try CLI.withFolder { cli in
            let model = try cli.writeModel()
            let other = try cli.writeModel("other.safetensors", registers: 1)
            try writeClasses(cli)
            #expect(try cli.run(arguments(model, out: "out")).status == 0)
            let options = try cli.run(arguments(model, out: "out") + ["--batch", "4"])
            #expect(options.status == 1)
            #expect(options.stderr.contains("checkpoint.plist: a checkpoint of another analysis (different batch); "
                + "rerun with the same options, or add --restart to discard it"), "\(options.stderr)")
            let otherModel = try cli.run(arguments(other, out: "out"))
            #expect(otherModel.status == 1)
            #expect(otherModel.stderr.contains("(different config, model_sha256)"), "\(otherModel.stderr)")
            let inputs = try cli.run(arguments(model, out: "out").map { $0 == "classes" ? "classes/a" : $0 } + ["--metrics", "cka"])
            #expect(inputs.status == 1 && inputs.stderr.contains("(different inputs, labels, metrics)"), "\(inputs.stderr)")
            let restarted = try cli.run(arguments(model, out: "out") + ["--batch", "4", "--restart"])
            #expect(restarted.status == 0, "\(restarted.stderr)")
            #expect(try cli.json(restarted)["resumed_from"] as? Int == 0)
        }
    }

    @Test("memory is flat by construction: the pooled features are chunk files of --chunk-size rows, equal to encode --dataset's")
    func chunkLayout() throws {
        try CLI.withFolder { cli in
            let model = try cli.writeModel()
            try writeClasses(cli)
            let result = try cli.run(arguments(model, out: "out"))
            #expect(result.status == 0, "\(result.stderr)")
            let stored = try chunks(cli, "out")
            #expect(stored.keys.sorted() == (0..<(Self.count / 4)).map { String(format: "features-00000-%05d.safetensors", $0) })
            let layers = 0...2, d = 64
            for tensors in stored.values {
                #expect(Set(tensors.keys) == Set(layers.flatMap { ["pooled_cls.\($0)", "pooled_mean_patch.\($0)"] }))
                #expect(tensors.values.allSatisfy { $0.count == 4 * d })
            }
            // The dataset run's pooled features (tested against numpy there) of the same inputs, row for row.
            let dataset = try cli.run("encode", "classes", "--model", model, "--out", "ds", "--dataset", "--size", "56",
                                      "--batch", "2", "--chunk-size", "1000", "--pooled-layers", "all")
            #expect(dataset.status == 0, "\(dataset.stderr)")
            let reference = try SafetensorsFile(cli.folder.appendingPathComponent("ds/features-00000-00000.safetensors"))
            for layer in layers {
                for name in ["pooled_cls.\(layer)", "pooled_mean_patch.\(layer)"] {
                    let ours = (0..<(Self.count / 4)).flatMap { stored[String(format: "features-00000-%05d.safetensors", $0)]?[name] ?? [] }
                    let theirs = try reference.floats(name)
                    #expect(ours.count == theirs.count)
                    let worst = zip(ours, theirs).map { abs($0 - $1) / max(abs($1), 1) }.max() ?? .infinity
                    #expect(worst <= 1e-5, "\(name): relative difference \(worst)")
                }
            }
            // The index reads as a dataset run's: each encoded input once, and its (file, row) holds the features
            // the dataset run's index gives for the same source.
            let ours = try indexLines(cli, "out/pooled"), theirs = try indexLines(cli, "ds").filter { $0["file"] != nil }
            let sources = ours.compactMap { $0["source"] as? String }
            #expect(sources.count == Self.count && Set(sources).count == sources.count
                        && Set(sources) == Set(theirs.compactMap { $0["source"] as? String }))
            let place = Dictionary(uniqueKeysWithValues: theirs.map { ($0["source"] as? String ?? "", $0["row"] as? Int ?? -1) })
            let datasetCLS = try reference.floats("pooled_cls.2")
            for line in ours {
                let (file, row) = (line["file"] as? String ?? "", line["row"] as? Int ?? -1)
                let features = try #require(stored[file]?["pooled_cls.2"], "\(file) is not a chunk")
                let theirRow = try #require(place[line["source"] as? String ?? ""])
                let a = Array(features[(row * d)..<((row + 1) * d)]), b = Array(datasetCLS[(theirRow * d)..<((theirRow + 1) * d)])
                #expect(zip(a, b).allSatisfy { abs($0 - $1) <= 1e-5 * max(abs($1), 1) }, "\(line)")
                #expect((line["source"] as? String ?? "").hasSuffix("classes/" + (line["path"] as? String ?? "?")), "\(line)")
            }
        }
    }
}
