import ArgumentParser
import Foundation
import VitreousDemo
import VitreousFigure
import VitreousImage
import VitreousModel
import VitreousRepair
import VitreousTensor

struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show Vitreous end to end on a built-in synthetic model and image; needs no files or network.",
        discussion: """
            The model is a small DINOv2-style ViT (D 64, 6 blocks, 4 heads) with seeded random weights and a \
            planted artifact mechanism: a "register neuron" in block 2 fires on content-free (flat) patches \
            and writes a large vector into them, as the MLPs of large DINOv2 models do on background. The \
            image is textured noise with four flat patches. The demo writes the model and image, encodes the \
            image, and draws token-norm and attention maps in which the four artifact tokens stand out.
            """)

    @Option(name: .long, help: "Output folder.")
    var out = "vitreous-demo"

    @Option(name: .long, help: "cpu, opencl, opencl:N (default: VITREOUS_DEVICE, else automatic).")
    var device: String?

    @Flag(name: .long, help: "Print one JSON object on stdout at the end (the steps, the files written, the encode time); progress goes to stderr.")
    var json = false

    @OptionGroup var logging: LoggingOptions

    func run() throws {
        setUpLogging(verbose: logging.verbose)
        let begun = Date()
        let device = try chosenDevice(self.device)
        let folder = try outputFolder(out)
        let step = Steps(json: json)

        // 1. The model, written in the original DINOv2 key layout and read back like any checkpoint.
        let modelURL = folder.appendingPathComponent("model.safetensors")
        try PlantedArtifacts.weights(variant: .planted, seed: 0)
            .write(to: modelURL, layout: .original, metadata: ["description": "Vitreous demo: planted artifact model"])
        step.done("model with a planted artifact mechanism", modelURL.path)

        // 2. The image: textured noise with flat background patches, in pixel space.
        let imageURL = folder.appendingPathComponent("image.png")
        try PNG.write(try demoImage(seed: PlantedArtifacts.demoImageSeed), to: imageURL.path)
        step.done("224×224 test image, flat patches at \(cellList(PlantedArtifacts.Layout.isolated.backgroundCells))",
                  imageURL.path)

        // 3. Encode it, asking for every layer's token norms and the last block's CLS attention.
        let encoder = try ViTEncoder(contentsOf: modelURL, on: device)
        // Everything below works on the image as read back from its 8-bit file: what the commands see.
        let image = try PNG.read(imageURL.path)
        let input = try Preprocessor(resize: .exact(width: 224, height: 224)).tensor([image], on: device)
        let start = Date()
        let output = try encoder.encode(input, options: EncoderOptions(hiddenStates: true, tokenNorms: true,
                                                                       clsAttention: true))
        _ = try output.tokens.toArray()
        let milliseconds = Date().timeIntervalSince(start) * 1000
        let features = folder.appendingPathComponent("features.safetensors")
        try FeatureBatch(output, layers: Array(0...encoder.config.depth))
            .write(item: 0, name: "features", to: folder, format: .safetensors)
        step.fields["encode_ms"] = (milliseconds * 1000).rounded() / 1000
        step.fields["device"] = device.description
        step.done(String(format: "encoded on %@ in %.1f ms: CLS, patches, every layer's hidden states and norms",
                         device.description, milliseconds), features.path)

        // 4. Token-norm maps per layer and the CLS attention.
        guard let norms = output.tokenNorms, let attention = output.clsAttention else {
            throw CLIError("demo: the encoder returned no token norms or CLS attention")
        }
        let layerNorms = try norms.indices.map { try patchNorms(norms[$0], item: 0, output: output) }
        let shared = valueRange(layerNorms.joined())
        for (layer, values) in layerNorms.enumerated() {
            try normFigure(values, output: output, patch: 14, range: shared, image: "image.png", layer: layer,
                           note: scaleNote(.shared, range: shared,
                                           over: "\(counted(norms.count, "layer")) × \(counted(1, "image"))"))
                .write(to: folder.appendingPathComponent("norms.layer-\(layer).png").path)
        }
        let maxima = layerNorms.map { String(format: "%.0f", $0.max() ?? 0) }
        step.fields["max_patch_norm_per_layer"] = layerNorms.map { Double($0.max() ?? 0) }
        step.done("token-norm maps, max patch norm per layer: \(maxima.joined(separator: ", "))",
                  folder.appendingPathComponent("norms.layer-*.png").path)
        let grid = try AttentionGrid(attention, output: output)
        let whole = ImageRect(x: 0, y: 0, width: Double(image.width), height: Double(image.height))
        for head in [0, nil] as [Int?] {
            let map = grid.patchMap(item: 0, head: head)
            let range = valueRange(map)
            try attentionFigure(map, grid: grid.grid, original: image, region: whole, policy: .exact(width: 224, height: 224),
                                range: range,
                                title: "image.png — CLS attention, \(head.map { "head \($0)" } ?? "mean of \(grid.heads) heads"), last block",
                                note: scaleNote(.perMap, range: range, over: ""), opacity: 0.7)
                .write(to: folder.appendingPathComponent("attention.\(head.map { "head-\($0)" } ?? "mean").png").path)
        }
        let peak = grid.peak(item: 0)
        step.fields["attention_peak"] = ["row": peak.row, "column": peak.column]
        step.done(String(format: "CLS attention, head 0 and mean over heads (mean peaks at row %d, column %d)",
                         peak.row, peak.column), folder.appendingPathComponent("attention.*.png").path)

        // 5. Repair: find the register neurons on a few other images, then give them a test-time register.
        let searchFolder = folder.appendingPathComponent("search")
        try FileManager.default.createDirectory(at: searchFolder, withIntermediateDirectories: true)
        var searchImages: [Tensor] = []
        for seed in 20..<24 {
            let path = searchFolder.appendingPathComponent("image-\(seed).png").path
            try PNG.write(try demoImage(seed: UInt64(seed)), to: path)
            searchImages.append(try Preprocessor(resize: .exact(width: 224, height: 224)).tensor([try PNG.read(path)],
                                                                                                   on: device))
        }
        let depth = encoder.config.depth
        let found = try RegisterNeuronSearch(detectLayer: depth - 1, topLayer: depth / 2 - 1, topK: 1)
            .run(encoder: encoder, images: searchImages)
        let registers = found.registers
        let neuronsURL = folder.appendingPathComponent("neurons.json")
        try NeuronsFile.write(registers, weights: try encoder.weights.host(), to: neuronsURL)
        step.fields["register_neurons"] = found.scores.map {
            ["layer": $0.layer, "neuron": $0.neuron, "score": Double($0.score)] as [String: Any]
        }
        let best = found.scores.map { "block \($0.layer), unit \($0.neuron) (score \(String(format: "%.2f", $0.score)))" }
        step.done("register neuron found on 4 other images: \(best.joined(separator: ", "))", neuronsURL.path)
        let (record, panel) = try ImageRepairer(encoder: encoder, method: .ttr, detector: .default, registers: registers)
            .repair(image, name: imageURL.path)
        try panel.write(to: folder.appendingPathComponent("repair.png").path)
        step.fields["repair"] = [
            "max_patch_norm_before": Double(record.layers.last?.maxNorm ?? 0),
            "max_patch_norm_after": Double(record.layersAfter?.last?.maxNorm ?? 0),
            "artifact_attention_before": Double(record.metrics.before.attentionMean?.artifactMass ?? 0),
            "artifact_attention_after": Double(record.metrics.after.attentionMean?.artifactMass ?? 0),
        ]
        step.done(String(format: "test-time register: last block's max patch norm %.0f → %.0f, CLS attention on artifacts %.3f → %.3f",
                         record.layers.last?.maxNorm ?? 0, record.layersAfter?.last?.maxNorm ?? 0,
                         record.metrics.before.attentionMean?.artifactMass ?? 0,
                         record.metrics.after.attentionMean?.artifactMass ?? 0),
                  folder.appendingPathComponent("repair.png").path)

        if json {
            step.fields["command"] = "demo"
            step.fields["out"] = folder.path
            step.fields["seconds"] = (Date().timeIntervalSince(begun) * 1000).rounded() / 1000
            step.fields["steps"] = step.records
            step.fields["files"] = try writtenFiles(folder)
            try printJSON(step.fields)
            return
        }
        print("\nPatch-norm histogram of the last layer:")
        print(histogram(try patchNorms(norms[norms.count - 1], item: 0, output: output)))
        print("""

            What to look at:
              norms.layer-0.png … norms.layer-2.png  embeddings and the first two blocks: no artifacts yet, the
                                                     flat patches have the lowest norms.
              norms.layer-3.png … norms.layer-6.png  four bright cells: the register neuron of the third block
                                                     fired on the flat patches; their norm is ~8× the others
                                                     (the histogram's lone bar on the right).
              attention.head-0.png                   the CLS token's head 0 attends almost only to those four cells.
              repair.png                             input | norms before | after | attention before | after the
                                                     test-time register took the neuron's activations: the four
                                                     cells are ordinary again and attention goes to the register.
            """)
        print(advice(folder: out))
    }

    /// The commands that reproduce the demo's maps and repair from its files. `--size auto` keeps the 224×224
    /// image as it is; the default `--size 224` would resize it to 256 and crop the centre (DINOv2's evaluation
    /// transform), moving the flat patches off the 14-pixel grid so that no artifact forms. `--top-k 1` is
    /// the demo's search; the other search defaults are the command's.
    func advice(folder: String) -> String {
        let image = "\(folder)/image.png", model = "--model \(folder)/model.safetensors --size auto"
        return """

            The same with the command line (--size auto keeps the 224×224 image as it is; the default \
            --size 224 resizes to 256 and crops, which moves the flat patches off the 14-pixel grid):
              vitreous norms \(image) \(model) --out \(folder)/cli-norms
              vitreous attention \(image) \(model) --opacity 0.7 --out \(folder)/cli-attention
              vitreous repair \(image) \(model) --method ttr --find-neurons \(folder)/search --top-k 1 --out \(folder)/cli-repair
            Then on a real model: vitreous norms IMAGE --model dinov2-folder/
            """
    }

    /// The files under `folder`, relative to it and sorted: what the demo wrote.
    func writtenFiles(_ folder: URL) throws -> [String] {
        let base = folder.standardizedFileURL.path
        let enumerator = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: [.isRegularFileKey])
        var files: [String] = []
        while let url = enumerator?.nextObject() as? URL {
            guard try url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile == true else { continue }
            let path = url.standardizedFileURL.path
            files.append(path.hasPrefix(base + "/") ? String(path.dropFirst(base.count + 1)) : path)
        }
        return files.sorted()
    }

    /// The demo image (see ``PlantedArtifacts/demoImage(seed:)``).
    func demoImage(seed: UInt64) throws -> Image { try PlantedArtifacts.demoImage(seed: seed) }

    func cellList(_ cells: [(row: Int, column: Int)]) -> String {
        cells.map { "(\($0.row), \($0.column))" }.joined(separator: " ")
    }
}

/// Numbered progress lines of the demo: on stdout, or with `--json` on stderr while the steps and the
/// `fields` gathered on the way make the JSON object.
private final class Steps {
    let json: Bool
    private(set) var records: [[String: Any]] = []
    var fields: [String: Any] = [:]
    init(json: Bool) { self.json = json }

    func done(_ what: String, _ path: String) {
        records.append(["step": what, "path": path])
        let line = "\(records.count). \(what)\n   → \(path)\n"
        if json { FileHandle.standardError.write(Data(line.utf8)) } else { print(line, terminator: "") }
    }
}
