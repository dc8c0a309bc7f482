import Foundation
import Testing
import VitreousImage
import VitreousModel

/// Runs the built `vitreous` executable (SwiftPM builds it before the tests: this target depends on it).
struct CLI {
    let folder: URL

    static var executable: URL {
        Bundle.main.bundleURL.appendingPathComponent("vitreous")
    }

    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// Runs `vitreous arguments…` in `folder` on the CPU backend (fast and deterministic here).
    func run(_ arguments: String...) throws -> Result { try run(arguments) }

    static func withFolder<R>(_ body: (CLI) throws -> R) throws -> R {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vitreous-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        return try body(CLI(folder: folder))
    }

    /// A small random model (D 64, 2 blocks) in `folder`.
    func writeModel(_ name: String = "model.safetensors", registers: Int = 0) throws -> String {
        let config = ViTConfig(hiddenSize: 64, depth: 2, heads: 1, mlpHiddenSize: 128, registerCount: registers,
                               positionGrid: 4)
        let url = folder.appendingPathComponent(name)
        try ViTHostWeights.random(config: config, seed: 3).write(to: url, layout: .huggingFace)
        return url.path
    }

    /// A textured RGB PNG of the given size in `folder`.
    func writeImage(_ name: String, width: Int = 60, height: Int = 48) throws -> String {
        let pixels = (0..<(width * height * 3)).map { Float(($0 * 7919) % 256) / 255 }
        let path = folder.appendingPathComponent(name).path
        try FileManager.default.createDirectory(at: URL(fileURLWithPath: path).deletingLastPathComponent(),
                                                withIntermediateDirectories: true)
        try PNG.write(try Image(width: width, height: height, channels: 3, pixels: pixels), to: path)
        return path
    }
}

@Suite("vitreous command line", .serialized)
struct CLITests {
    @Test("VITREOUS_CPU_ISA and VITREOUS_CPU_SPIN_US: a bad value is a one-line error (exit 1, not a trap); a level is reported")
    func instructionSetVariable() throws {
        try CLI.withFolder { cli in
            let bad = try cli.run(["demo", "--out", "demo"], environment: ["VITREOUS_CPU_ISA": "sse9"])
            #expect(bad.status == 1, "\(bad.stderr)")
            #expect(bad.stderr.contains("VITREOUS_CPU_ISA=sse9"), "\(bad.stderr)")
            let badSpin = try cli.run(["demo", "--out", "demo"], environment: ["VITREOUS_CPU_SPIN_US": "fast"])
            #expect(badSpin.status == 1, "\(badSpin.stderr)")
            #expect(badSpin.stderr.contains("VITREOUS_CPU_SPIN_US=fast"), "\(badSpin.stderr)")
            let forced = try cli.run(["devices"], environment: ["VITREOUS_CPU_ISA": "baseline"])
            #expect(forced.status == 0 && forced.stdout.contains("CPU kernels: baseline"), "\(forced.stdout)")
        }
    }

    @Test("demo writes its model, image, features and maps, and they read back")
    func demo() throws {
        try CLI.withFolder { cli in
            let result = try cli.run("demo", "--out", "demo")
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout.contains("What to look at"))
            let out = cli.folder.appendingPathComponent("demo")
            let model = try SafetensorsFile(out.appendingPathComponent("model.safetensors"))
            #expect(model.contains("blocks.0.attn.qkv.weight"))
            let image = try PNG.read(out.appendingPathComponent("image.png").path)
            #expect(image.width == 224 && image.height == 224)
            let features = try SafetensorsFile(out.appendingPathComponent("features.safetensors"))
            #expect(try features.info("patches").shape == [16, 16, 64])
            for name in ["norms.layer-0.png", "norms.layer-6.png", "attention.head-0.png", "attention.mean.png"] {
                try expectFigure(out.appendingPathComponent(name).path, minimumWidth: 320)
            }
            try expectFigure(out.appendingPathComponent("repair.png").path, minimumWidth: 5 * 224)
        }
    }

    @Test("demo --json prints one JSON object on stdout naming the files it wrote; progress goes to stderr")
    func demoJSON() throws {
        try CLI.withFolder { cli in
            let result = try cli.run("demo", "--out", "demo", "--json")
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stderr.contains("1. model with a planted artifact mechanism"), "\(result.stderr)")
            let object = try #require(
                try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], "\(result.stdout)")
            #expect(object["command"] as? String == "demo")
            let out = cli.folder.appendingPathComponent("demo")
            let files = try #require(object["files"] as? [String])
            let listed = try FileManager.default.subpathsOfDirectory(atPath: out.path).filter {
                var folder: ObjCBool = false
                return FileManager.default.fileExists(atPath: out.appendingPathComponent($0).path, isDirectory: &folder)
                    && !folder.boolValue
            }
            #expect(files == listed.sorted())
            for name in ["model.safetensors", "image.png", "features.safetensors", "norms.layer-6.png",
                         "attention.mean.png", "neurons.json", "repair.png", "search/image-20.png"] {
                #expect(files.contains(name), "\(name) not in \(files)")
            }
            let steps = try #require(object["steps"] as? [[String: Any]])
            #expect(steps.count == 7)
            #expect(steps.first?["path"] as? String == out.appendingPathComponent("model.safetensors").path)
            let norms = try #require(object["max_patch_norm_per_layer"] as? [Double])
            #expect(norms.count == 7)
            // The planted neuron fires in block 2: the last layer's flat patches are far above the embeddings'.
            #expect(norms[6] > 4 * norms[0], "\(norms)")
            let repair = try #require(object["repair"] as? [String: Double])
            #expect(try #require(repair["max_patch_norm_after"]) < repair["max_patch_norm_before"] ?? 0)
            #expect((object["encode_ms"] as? Double ?? -1) > 0)
        }
    }

    @Test("encode writes features per image in both formats; a bad image in a folder does not stop the others")
    func encodeFolder() throws {
        try CLI.withFolder { cli in
            let model = try cli.writeModel(registers: 4)
            try FileManager.default.createDirectory(at: cli.folder.appendingPathComponent("images"),
                                                    withIntermediateDirectories: true)
            _ = try cli.writeImage("images/a.png")
            _ = try cli.writeImage("images/b.png", width: 84, height: 56)
            try Data("not an image".utf8).write(to: cli.folder.appendingPathComponent("images/broken.png"))
            let result = try cli.run("encode", "images", "--model", model, "--size", "auto", "--out", "features",
                                     "--layers", "0,2", "--json")
            #expect(result.status != 0, "one image is broken")
            #expect(result.stderr.contains("images/broken.png: not a PNG, JPEG or WebP image"), "\(result.stderr)")
            #expect(result.stdout.contains("\"images\":2"), "\(result.stdout)")
            let a = try SafetensorsFile(cli.folder.appendingPathComponent("features/a.safetensors"))
            #expect(try a.info("patches").shape == [3, 4, 64])
            #expect(try a.info("registers").shape == [4, 64])
            #expect(try a.info("hidden.2").shape == [1 + 4 + 12, 64])
            let b = try SafetensorsFile(cli.folder.appendingPathComponent("features/b.safetensors"))
            #expect(try b.info("patches").shape == [4, 6, 64])

            let npy = try cli.run("encode", "images/a.png", "--model", model, "--size", "56x42", "--format", "npy",
                                  "--out", "npy")
            #expect(npy.status == 0, "\(npy.stderr)")
            let cls = try NPYArray(contentsOf: cli.folder.appendingPathComponent("npy/a/cls.npy"))
            #expect(cls.shape == [64])
        }
    }

    @Test("attention and norms draw PNG maps")
    func maps() throws {
        try CLI.withFolder { cli in
            let model = try cli.writeModel()
            let image = try cli.writeImage("cat.png")
            let attention = try cli.run("attention", image, "--model", model, "--size", "42", "--out", "maps")
            #expect(attention.status == 0, "\(attention.stderr)")
            // The overlay is drawn on the 60×48 original, not the 42×42 crop: the figure is wider than either.
            try expectFigure(cli.folder.appendingPathComponent("maps/cat.attention.mean.png").path, minimumWidth: 480)
            let norms = try cli.run("norms", image, "--model", model, "--size", "42", "--out", "norms")
            #expect(norms.status == 0, "\(norms.stderr)")
            #expect(norms.stdout.contains("max/median"))
            try expectFigure(cli.folder.appendingPathComponent("norms/cat.norms.layer-2.png").path, minimumWidth: 320)
        }
    }

    @Test("repair: ttr with the demo's neurons, inpainting, and a clear error without neurons")
    func repair() throws {
        try CLI.withFolder { cli in
            #expect(try cli.run("demo", "--out", "demo").status == 0)
            let ttr = try cli.run("repair", "demo/image.png", "--model", "demo/model.safetensors", "--size", "224x224",
                                  "--method", "ttr", "--neurons", "demo/neurons.json", "--out", "ttr", "--report",
                                  "--direction")
            #expect(ttr.status == 0, "\(ttr.stderr)")
            #expect(ttr.stdout.contains("artifacts from block 2"), "\(ttr.stdout)")
            #expect(ttr.stdout.contains("block 5 defect direction"), "\(ttr.stdout)")
            let report = try Data(contentsOf: cli.folder.appendingPathComponent("ttr/repair-report.json"))
            let records = try #require(try JSONSerialization.jsonObject(with: report) as? [[String: Any]])
            // The last block's largest patch norm, without and with the test-time register.
            let before = try #require((records.first?["layers"] as? [[String: Any]])?.last?["maxNorm"] as? Double)
            let after = try #require((records.first?["layersAfter"] as? [[String: Any]])?.last?["maxNorm"] as? Double)
            #expect(before > 200 && after < 50, "\(before) → \(after)")
            #expect(FileManager.default.fileExists(atPath: cli.folder.appendingPathComponent("ttr/repair-report.txt").path))
            try expectFigure(cli.folder.appendingPathComponent("ttr/image.repair.png").path, minimumWidth: 5 * 224)

            let inpaint = try cli.run("repair", "demo/image.png", "--model", "demo/model.safetensors", "--size",
                                      "224x224", "--method", "inpaint", "--out", "inpaint")
            #expect(inpaint.status == 0, "\(inpaint.stderr)")
            let missing = try cli.run("repair", "demo/image.png", "--model", "demo/model.safetensors", "--method", "ttr")
            #expect(missing.status != 0 && missing.stderr.contains("--neurons FILE or --find-neurons FOLDER"))
        }
    }

    @Test("bad input: one line on stderr naming the file and the problem, nonzero exit, no trap")
    func badInputs() throws {
        try CLI.withFolder { cli in
            let model = try cli.writeModel()
            let image = try cli.writeImage("ok.png")
            try FileManager.default.createDirectory(at: cli.folder.appendingPathComponent("empty"),
                                                    withIntermediateDirectories: true)
            try Data("plain text".utf8).write(to: cli.folder.appendingPathComponent("fake.safetensors"))
            let pngBytes = try Data(contentsOf: URL(fileURLWithPath: image))
            try pngBytes.prefix(pngBytes.count / 2).write(to: cli.folder.appendingPathComponent("half.png"))
            try Data("GIF89a".utf8).write(to: cli.folder.appendingPathComponent("pic.gif"))
            let cases: [([String], String)] = [
                (["encode", "missing.png", "--model", model], "missing.png: no such file or folder"),
                (["encode", "empty", "--model", model], "empty: no PNG, JPEG or WebP images"),
                (["encode", "pic.gif", "--model", model], "pic.gif: not a PNG, JPEG or WebP image"),
                (["encode", "half.png", "--model", model], "half.png: cannot decode PNG"),
                (["encode", image, "--model", "fake.safetensors"], "fake.safetensors"),
                (["encode", image, "--model", "nowhere.safetensors"], "nowhere.safetensors: no such file"),
                (["encode", image, "--model", model, "--layers", "1,1"], "layer 1 is listed twice"),
                (["encode", image, "--model", model, "--layers", "1,"], "--layers 1,"),
                (["encode", image, "--model", model, "--size", "100"], "--size 100"),
                (["encode", image, "--model", model, "--device", "tpu"], "--device tpu"),
                (["encode", image, "--model", model, "--layers", "9"], "--layers 9"),
            ]
            for (arguments, expected) in cases {
                let result = try cli.run(arguments)
                let context = arguments.joined(separator: " ")
                #expect(result.status != 0 && result.status < 128, "\(context): exit \(result.status)")
                #expect(result.stderr.contains(expected), "\(context): stderr was \(result.stderr)")
                #expect(!result.stderr.contains("Fatal error"), "\(context) trapped")
            }
        }
    }
}

extension CLI {
    /// Runs `vitreous arguments…` with `extra` added to the environment.
    func run(_ arguments: [String], environment extra: [String: String] = [:]) throws -> Result {
        // Read both pipes before waiting: a full pipe would block the child.
        let process = Process()
        process.executableURL = Self.executable
        process.arguments = arguments
        process.currentDirectoryURL = folder
        var environment = ProcessInfo.processInfo.environment
        environment["VITREOUS_DEVICE"] = environment["VITREOUS_DEVICE"] ?? "cpu"
        environment.merge(extra) { $1 }
        process.environment = environment
        let (out, err) = (Pipe(), Pipe())
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                      stderr: String(decoding: stderr, as: UTF8.self))
    }
}
