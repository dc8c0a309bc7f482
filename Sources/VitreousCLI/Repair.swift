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

    @Flag(name: .long, help: "Use a --neurons file even if it was made for other weights.")
    var force = false

    @Option(name: .long, help: ArgumentHelp("Find register neurons on the images of this folder first.",
                                            valueName: "folder"))
    var findNeurons: String?

    @Option(name: .long, help: """
        Neuron search: the layer whose patch norms decide which patches are artifacts, numbered as --layers \
        (L = output of block L, 1…depth; default: depth).
        """)
    var detectLayer: Int?

    @Option(name: .long, help: """
        Neuron search: candidate neurons come from blocks 1…this, numbered as --layers (default: depth / 2).
        """)
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
        let found = try inputs.collect()
        let folder = try outputFolder(out)
        let (inputImages, skipped) = try imagesToRun(found.images, options: inputs) {
            [folder.appendingPathComponent("\($0.name).repair.png")]
        }
        let encoder = try modelOptions.loadEncoder()
        let depth = encoder.config.depth
        for (flag, value) in [("--detect-layer", detectLayer), ("--top-layer", topLayer)] {
            if let value, !(1...depth).contains(value) {
                throw CLIError("\(flag) \(value): the model's layers are 1…\(depth) (L = output of block L)")
            }
        }
        let run = try modelOptions.imageRun(encoder, inputs: inputs, options: EncoderOptions())
        let detector: ArtifactDetector = threshold.map { .absolute(threshold: $0) } ?? .default
        var registers: TestTimeRegisters?
        if let findNeurons {
            registers = try search(folder: findNeurons, run: run, detector: detector, out: folder)
        } else if let neurons {
            do {
                registers = try NeuronsFile.read(neurons, weights: try encoder.weights.host(), force: force)
            } catch let error as NeuronsFileError {
                throw CLIError("--neurons \(error)")
            }
        }
        if method == .ttr && registers == nil {
            throw CLIError("--method ttr needs --neurons FILE or --find-neurons FOLDER")
        }
        var repairer = ImageRepairer(encoder: encoder, method: method, detector: detector, registers: registers)
        if direction {
            let start = Date()
            repairer.directions = try SingularDefect.directions(of: try encoder.weights.host())
            if !inputs.json {
                print(String(format: "defect directions of %d blocks from the weights in %.1f s", encoder.config.depth,
                             Date().timeIntervalSince(start)))
            }
        }
        var records: [ImageRepairer.Record] = []
        var failures: [ImageRun.Failure] = []
        let start = Date()
        let progress = ProgressBar(total: inputImages.count, label: "images")
        for input in inputImages {
            do {
                let image = try run.prepare(input)
                let (record, panel) = try repairer.repair(image, name: input.path)
                try figures.write(panel, folder, "\(input.name).repair")
                records.append(record)
            } catch {
                failures.append(ImageRun.Failure(path: input.path, error: error))
            }
            progress.advance()
        }
        let encoderJSON = JSONEncoder()
        encoderJSON.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoderJSON.encode(records), to: folder.appendingPathComponent("repair-report.json"))
        let summary = records.map(\.summary).joined(separator: "\n")
        if report { try AtomicFile.write(Data((summary + "\n").utf8), to: folder.appendingPathComponent("repair-report.txt")) }
        var result = ImageRun.Summary(processed: records.count, failures: failures, seconds: Date().timeIntervalSince(start))
        (result.skippedExisting, result.notImages) = (skipped, found.notImages)
        try result.finish(json: inputs.json, text: summary,
                          fields: ["command": "repair", "method": method.rawValue, "out": folder.path])
    }

    /// Finds register neurons on a folder of images and saves them as neurons.json. Images that cannot be
    /// read are listed and skipped, as every command does.
    func search(folder: String, run: ImageRun, detector: ArtifactDetector, out: URL) throws -> TestTimeRegisters {
        let encoder = run.encoder
        let depth = encoder.config.depth
        // --detect-layer and --top-layer count layers as --layers does; the search takes 0-based blocks.
        let search = RegisterNeuronSearch(detectLayer: (detectLayer ?? depth) - 1, topLayer: (topLayer ?? depth / 2) - 1,
                                          topK: topK, detector: detector)
        let found = try InputSet([folder], recursive: inputs.recursive)
        var images: [Tensor] = []
        var failures: [ImageRun.Failure] = []
        for input in found.images {
            do {
                let image = try run.prepare(input)
                images.append(try Preprocessor(resize: .exact(width: image.width, height: image.height))
                    .tensor([image], on: encoder.device))
            } catch {
                failures.append(ImageRun.Failure(path: input.path, error: error))
            }
        }
        for failure in failures {
            FileHandle.standardError.write(Data("error: \(failure.message) (skipped by the neuron search)\n".utf8))
        }
        guard !images.isEmpty else { throw CLIError("--find-neurons \(folder): no readable images") }
        let progress = ProgressBar(total: images.count, label: "images searched")
        let result = try search.run(encoder: encoder, images: images) { _ in progress.advance() }
        let registers = result.registers
        let url = out.appendingPathComponent("neurons.json")
        try NeuronsFile.write(registers, weights: try encoder.weights.host(), to: url)
        if !inputs.json {
            print("register neurons from \(result.imagesUsed) of \(images.count) images (block, numbered as --layers: neuron score):")
            for score in result.scores { print(String(format: "  %d: %d  %.3f", score.layer + 1, score.neuron, score.score)) }
            print("  → \(url.path)")
        }
        return registers
    }
}
