import ArgumentParser
import Foundation
import VitreousFigure
import VitreousImage
import VitreousModel
import VitreousRepair
import VitreousTensor

struct Repair: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Find artifact tokens and repair them: detection, test-time registers or inpainting.",
        discussion: """
            Methods:
              detect   flag high-norm patches in every layer; clean the CLS attention by masking them.
              inpaint  detect, then replace the flagged output patch tokens by their unflagged neighbours' mean.
              ttr      test-time registers: one extra token takes the register neurons' activations, so the
                       artifacts form there (needs --neurons FILE or --find-neurons FOLDER).
            Writes IMAGE.repair.png (input | norms before | after | CLS attention before | after, each panel captioned, with a colour bar per quantity), \
            repair-report.json (per-layer detection and before/after metrics per image) and prints a summary; \
            --report also writes it to repair-report.txt. --find-neurons writes neurons.json for reuse.
            """)

    enum Method: String, ExpressibleByArgument, CaseIterable { case detect, inpaint, ttr }

    @OptionGroup var inputs: InputOptions
    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var figures: FigureOptions

    @Option(name: .long, help: "detect, inpaint or ttr.")
    var method: Method = .detect

    @Option(name: .long, help: ArgumentHelp("Register neurons (JSON from --find-neurons) for ttr.", valueName: "file"))
    var neurons: String?

    @Option(name: .long, help: ArgumentHelp("Find register neurons on the PNG images of this folder first.",
                                            valueName: "folder"))
    var findNeurons: String?

    @Option(name: .long, help: "Neuron search: block (0-based) whose output decides the artifacts (default: last).")
    var detectLayer: Int?

    @Option(name: .long, help: "Neuron search: highest block whose neurons are candidates (default: half the depth).")
    var topLayer: Int?

    @Option(name: .long, help: "Neuron search: how many neurons to keep.")
    var topK = 10

    @Option(name: .long, help: "Flag patches above this norm instead of the automatic (robust) threshold.")
    var threshold: Float?

    @Option(name: .long, help: "Output folder.")
    var out = "repair"

    @Flag(name: .long, help: "Also write the summary to repair-report.txt.")
    var report = false

    @Flag(name: .long, help: """
        Compute each block's defect direction from the weights (SINDER-style; seconds for ViT-L) and report         how the flagged tokens align with it.
        """)
    var direction = false

    func run() throws {
        let paths = try inputs.paths()
        let encoder = try modelOptions.loadEncoder()
        let policy = try modelOptions.resizePolicy(patch: encoder.config.patchSize)
        let folder = try outputFolder(out)
        let detector: ArtifactDetector = threshold.map { .absolute(threshold: $0) } ?? .default
        var registers: TestTimeRegisters?
        if let findNeurons {
            registers = try search(folder: findNeurons, encoder: encoder, policy: policy, detector: detector, out: folder)
        } else if let neurons {
            do {
                registers = try JSONDecoder().decode(TestTimeRegisters.self,
                                                     from: try Data(contentsOf: URL(fileURLWithPath: neurons)))
            } catch {
                throw CLIError("\(neurons): not a register-neuron file (\(error))")
            }
        }
        if method == .ttr && registers == nil {
            throw CLIError("--method ttr needs --neurons FILE or --find-neurons FOLDER")
        }
        var repairer = ImageRepairer(encoder: encoder, method: method, detector: detector, registers: registers)
        if direction {
            let start = Date()
            repairer.directions = try SingularDefect.directions(of: try encoder.weights.host())
            print(String(format: "defect directions of %d blocks from the weights in %.1f s", encoder.config.depth,
                         Date().timeIntervalSince(start)))
        }
        var records: [ImageRepairer.Record] = []
        var failures: [ImageRun.Failure] = []
        let progress = ProgressBar(total: paths.count, label: "images")
        for path in paths {
            do {
                let image = try policy.apply(to: try PNG.read(path).rgb())
                let (record, panel) = try repairer.repair(image, name: path)
                try figures.write(panel, folder, "\(stem(path)).repair")
                records.append(record)
            } catch {
                failures.append(ImageRun.Failure(path: path, error: error))
            }
            progress.advance()
        }
        let encoderJSON = JSONEncoder()
        encoderJSON.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoderJSON.encode(records), to: folder.appendingPathComponent("repair-report.json"))
        let summary = records.map(\.summary).joined(separator: "\n")
        print(summary)
        if report { try AtomicFile.write(Data((summary + "\n").utf8), to: folder.appendingPathComponent("repair-report.txt")) }
        try ImageRun.Summary(processed: records.count, failures: failures, seconds: 0).report()
    }

    /// Finds register neurons on a folder of images and saves them as neurons.json.
    func search(folder: String, encoder: ViTEncoder, policy: ResizePolicy, detector: ArtifactDetector,
                out: URL) throws -> TestTimeRegisters {
        let depth = encoder.config.depth
        let search = RegisterNeuronSearch(detectLayer: detectLayer ?? depth - 1, topLayer: topLayer ?? depth / 2,
                                          topK: topK, detector: detector)
        let images = try imagePaths(folder).map { path in
            try Preprocessor(resize: policy).tensor([try PNG.read(path)], on: encoder.device)
        }
        let progress = ProgressBar(total: images.count, label: "images searched")
        let result = try search.run(encoder: encoder, images: images) { _ in progress.advance() }
        let encoderJSON = JSONEncoder()
        encoderJSON.outputFormatting = [.prettyPrinted, .sortedKeys]
        let registers = result.registers
        try AtomicFile.write(try encoderJSON.encode(registers), to: out.appendingPathComponent("neurons.json"))
        print("register neurons from \(result.imagesUsed) of \(images.count) images (block: neuron score):")
        for score in result.scores { print(String(format: "  %d: %d  %.3f", score.layer, score.neuron, score.score)) }
        print("  → \(out.appendingPathComponent("neurons.json").path)")
        return registers
    }
}
