import Foundation
import Testing
import VitreousImage
import VitreousModel

@Suite("command line rough edges", .serialized)
struct RoughEdgeTests {
    @Test("--version prints the release the C header states")
    func version() throws {
        try CLI.withFolder { cli in
            let result = try cli.run(["--version"])
            let header = try String(contentsOf: SharedFixtures.tests.deletingLastPathComponent()
                .appendingPathComponent("include/vitreous.h"), encoding: .utf8)
            let stated = try #require(header.split(separator: "\n").first { $0.contains("#define VITREOUS_VERSION_STRING") })
            #expect(result.status == 0)
            #expect(stated.contains("\"\(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines))\""), "\(result.stdout)")
        }
    }

    @Test("devices --json is one JSON object naming the default")
    func devicesJSON() throws {
        try CLI.withFolder { cli in
            let result = try cli.run(["devices", "--json"])
            #expect(result.status == 0, "\(result.stderr)")
            let object = try cli.json(result)
            #expect(object["default"] is String && object["opencl"] is [Any], "\(object)")
        }
    }

    @Test("VITREOUS_DEVICE=bogus is an error, as --device bogus is")
    func bogusDevice() throws {
        try CLI.withFolder { cli in
            let model = try cli.writeModel()
            let image = try cli.writeImage("a.png")
            let result = try cli.run(["encode", image, "--model", model], environment: ["VITREOUS_DEVICE": "bogus"])
            #expect(result.status == 1 && result.stderr.contains("VITREOUS_DEVICE=bogus"), "\(result.stderr)")
            #expect(!cli.exists("features/a.safetensors"))
        }
    }

    @Test("the backend notice appears only with --verbose; compiler chatter never reaches stderr")
    func quietByDefault() throws {
        try CLI.withFolder { cli in
            let model = try cli.writeModel()
            let image = try cli.writeImage("a.png")
            let quiet = try cli.run(["encode", image, "--model", model, "--out", "q"], environment: ["VITREOUS_DEVICE": ""])
            #expect(quiet.status == 0, "\(quiet.stderr)")
            #expect(!quiet.stderr.contains("using the CPU backend") && !quiet.stderr.contains("notice"), "\(quiet.stderr)")
            let verbose = try cli.run(["encode", image, "--model", model, "--out", "v", "--verbose"],
                                      environment: ["VITREOUS_DEVICE": ""])
            #expect(verbose.status == 0, "\(verbose.stderr)")
            #expect(verbose.stderr.contains("loaded") && verbose.stderr.contains("encoded and written"), "\(verbose.stderr)")
            let devices = try cli.run(["devices"])
            if devices.stdout.contains("opencl:0") {
                let built = try cli.run(["encode", image, "--model", model, "--out", "cl", "--device", "opencl:0", "--verbose"],
                                        environment: ["VITREOUS_KERNEL_CACHE": "off"])
                #expect(built.status == 0, "\(built.stderr)")
                #expect(built.stderr.contains("built OpenCL program"), "\(built.stderr)")
                #expect(!built.stderr.contains("warning generated"), "\(built.stderr)")
            }
        }
    }

    @Test("--model: a Hugging Face folder works; config.json and missing files are one-line errors")
    func modelLocations() throws {
        try CLI.withFolder { cli in
            let image = try cli.writeImage("a.png", width: 56, height: 56)
            let folder = SharedFixtures.hfModel.path
            let ok = try cli.run(["encode", image, "--model", folder, "--size", "auto", "--out", "hf"])
            #expect(ok.status == 0, "\(ok.stderr)")
            let config = try cli.run(["encode", image, "--model", folder + "/config.json"])
            #expect(config.status == 1 && config.stderr.contains("not a safetensors file"), "\(config.stderr)")
            let empty = try cli.run(["encode", image, "--model", cli.folder.path])
            #expect(empty.status == 1 && empty.stderr.contains("has no model.safetensors"), "\(empty.stderr)")
        }
    }

    @Test("--size auto refuses images above --max-tokens (default stated in --help)")
    func maxTokens() throws {
        try CLI.withFolder { cli in
            let model = try cli.writeModel()
            let image = try cli.writeImage("big.png", width: 700, height: 300)
            let result = try cli.run(["encode", image, "--model", model, "--size", "auto", "--max-tokens", "100"])
            #expect(result.status == 1 && result.stderr.contains("above --max-tokens 100"), "\(result.stderr)")
            let help = try cli.run(["encode", "--help"])
            #expect(help.stdout.contains("--max-tokens") && help.stdout.contains("4096"))
            let words = help.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
            #expect(words.contains("--crop") && words.contains("torchvision (the default"), "\(help.stdout)")
        }
    }

    @Test("layers: duplicates and out-of-range values are refused before the model runs, one convention")
    func layers() throws {
        try CLI.withFolder { cli in
            let model = try cli.writeModel()  // 2 blocks: layers 0…2
            let image = try cli.writeImage("a.png")
            for (arguments, message) in [
                (["encode", image, "--model", model, "--layers", "2,2"], "layer 2 is listed twice"),
                (["norms", image, "--model", model, "--layers", "3"], "not a layer in 0...2"),
                (["repair", image, "--model", model, "--find-neurons", ".", "--detect-layer", "0"], "1…2"),
                (["repair", image, "--model", model, "--find-neurons", ".", "--top-layer", "3"], "1…2"),
            ] {
                let result = try cli.run(arguments)
                #expect(result.status == 1 && result.stderr.contains(message), "\(arguments): \(result.stderr)")
            }
            let written = (try? FileManager.default.contentsOfDirectory(atPath: cli.folder
                .appendingPathComponent("features").path)) ?? []
            #expect(written.isEmpty, "\(written)")
        }
    }

    @Test("neurons files: one-line errors, a model fingerprint, refused for another model unless --force")
    func neuronsFiles() throws {
        try CLI.withFolder { cli in
            #expect(try cli.run(["demo", "--out", "demo"]).status == 0)
            // Another model of the demo's shape (6 blocks): the neurons' blocks exist, their weights differ.
            let config = ViTConfig(hiddenSize: 64, depth: 6, heads: 4, mlpHiddenSize: 256, registerCount: 0, positionGrid: 16)
            let other = cli.folder.appendingPathComponent("other.safetensors").path
            try ViTHostWeights.random(config: config, seed: 5).write(to: URL(fileURLWithPath: other), layout: .huggingFace)
            let small = try cli.writeModel()
            let tooShallow = try cli.run(["repair", "demo/image.png", "--model", small, "--method", "ttr",
                                          "--neurons", "demo/neurons.json"])
            #expect(tooShallow.status == 1 && tooShallow.stderr.contains("names block 3, but the model has blocks 1…2"),
                    "\(tooShallow.stderr)")
            let missing = try cli.run(["repair", "demo/image.png", "--model", "demo/model.safetensors", "--method", "ttr",
                                       "--neurons", "missing.json"])
            #expect(missing.status == 1 && missing.stderr.contains("--neurons missing.json: no such file"), "\(missing.stderr)")
            #expect(!missing.stderr.contains("Domain="), "no NSError dump")
            let data = try Data(contentsOf: cli.folder.appendingPathComponent("demo/neurons.json"))
            let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            #expect((object["weights_fingerprint"] as? String)?.count == 64)
            let wrong = try cli.run(["repair", "demo/image.png", "--model", other, "--method", "ttr",
                                     "--neurons", "demo/neurons.json", "--size", "auto"])
            #expect(wrong.status == 1 && wrong.stderr.contains("made for other weights"), "\(wrong.stderr)")
            let forced = try cli.run(["repair", "demo/image.png", "--model", other, "--method", "ttr",
                                      "--neurons", "demo/neurons.json", "--size", "auto", "--force", "--out", "forced"])
            #expect(forced.status == 0, "\(forced.stderr)")
        }
    }

    @Test("repair --find-neurons skips a bad image and lists it")
    func findNeuronsSkipsBadImages() throws {
        try CLI.withFolder { cli in
            #expect(try cli.run(["demo", "--out", "demo"]).status == 0)
            try cli.write("broken", to: "demo/search/broken.png")
            let result = try cli.run(["repair", "demo/image.png", "--model", "demo/model.safetensors", "--size", "auto",
                                      "--method", "ttr", "--find-neurons", "demo/search", "--top-k", "1", "--out", "r"])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stderr.contains("demo/search/broken.png: not a PNG, JPEG or WebP image"), "\(result.stderr)")
        }
    }

    @Test("Ctrl-C leaves no temporary files behind")
    func interrupt() throws {
        try CLI.withFolder { cli in
            let model = try cli.writeModel()
            for index in 0..<60 { _ = try cli.writeImage("in/\(String(format: "%02d", index)).png", width: 200, height: 150) }
            let process = Process()
            process.executableURL = CLI.executable
            process.arguments = ["encode", "in", "--model", model, "--out", "out", "--layers", "all"]
            process.currentDirectoryURL = cli.folder
            process.environment = ProcessInfo.processInfo.environment.merging(["VITREOUS_DEVICE": "cpu"]) { $1 }
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            let out = cli.folder.appendingPathComponent("out")
            let deadline = Date().addingTimeInterval(60)
            while Date() < deadline, ((try? FileManager.default.contentsOfDirectory(atPath: out.path)) ?? []).count < 2 {
                usleep(2_000)
            }
            process.interrupt()
            process.waitUntilExit()
            let left = (try? FileManager.default.contentsOfDirectory(atPath: out.path)) ?? []
            #expect(process.terminationStatus == 130 || process.terminationStatus == 0, "exit \(process.terminationStatus)")
            #expect(!left.contains { $0.hasPrefix(".") }, "temporary files left: \(left.filter { $0.hasPrefix(".") })")
            #expect(left.allSatisfy { $0.hasSuffix(".safetensors") })
        }
    }

    @Test("every command the demo suggests reproduces what the demo shows")
    func demoAdvice() throws {
        try CLI.withFolder { cli in
            let demo = try cli.run(["demo", "--out", "demo"])
            #expect(demo.status == 0, "\(demo.stderr)")
            let commands = demo.stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { $0.hasPrefix("vitreous ") && $0.contains("--model demo/") }
            #expect(commands.count == 3, "\(demo.stdout)")
            for command in commands {
                let result = try cli.run(Array(command.split(separator: " ").dropFirst().map(String.init)))
                #expect(result.status == 0, "\(command): \(result.stderr)")
            }
            func pixels(_ relative: String) throws -> [Float] { try PNG.read(cli.folder.appendingPathComponent(relative).path).pixels }
            for layer in [0, 3, 6] {
                #expect(try pixels("demo/cli-norms/image.norms.layer-\(layer).png") == pixels("demo/norms.layer-\(layer).png"),
                        "layer \(layer)")
            }
            #expect(try pixels("demo/cli-attention/image.attention.mean.png") == pixels("demo/attention.mean.png"))
            #expect(try pixels("demo/cli-attention/image.attention.head-0.png") == pixels("demo/attention.head-0.png"))
            let found = try JSONSerialization.jsonObject(with: Data(contentsOf: cli.folder.appendingPathComponent("demo/cli-repair/neurons.json"))) as? [String: Any]
            let shown = try JSONSerialization.jsonObject(with: Data(contentsOf: cli.folder.appendingPathComponent("demo/neurons.json"))) as? [String: Any]
            #expect(found?["neurons"] as? [String: [Int]] == shown?["neurons"] as? [String: [Int]], "\(String(describing: found))")
            #expect(try pixels("demo/cli-repair/image.repair.png") == pixels("demo/repair.png"))
        }
    }
}
