import ArgumentParser
import Foundation
import VitreousImage
import VitreousModel
import VitreousTensor

struct Encode: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compute CLS, register and patch features of images.",
        discussion: """
            Writes one file per image into the output folder: IMAGE.safetensors holding `cls` [D], \
            `registers` [R, D] (models with registers), `patches` [gh, gw, D], and for each --layers entry \
            `hidden.L` [T, D] and `norms.L` [T]; or with --format npy a folder IMAGE/ of .npy files with the \
            same names. Layer 0 is the embedding output and layer L (1…depth) the output of the L-th block, before the final norm.

            With --dataset (off by default; --shard turns it on) it writes a dataset instead: chunks \
            features-<shard>-<chunk>.safetensors of --chunk-size images (`cls` [N, D], `registers` [N, R, D], \
            `mean_patch` [N, D], with --patches `patches` [N, gh, gw, D], with --layers `hidden.L` and `norms.L`), \
            one index-<shard>.jsonl line per input, and run.json; rerunning the same command resumes it. See \
            the README, "Encoding a dataset".
            """)

    @OptionGroup var inputs: InputOptions

    @OptionGroup var modelOptions: ModelOptions

    @Option(name: .long, help: "Output folder.")
    var out = "features"

    @Option(name: .long, help: "Images per forward pass (images of one size are batched).")
    var batch = 1

    @Option(name: .long,
            help: ArgumentHelp("Also save hidden states and token norms of these layers (comma-separated, or all).",
                               valueName: "layers"))
    var layers: String?

    @Option(name: .long, help: "safetensors or npy.")
    var format: FeatureFormat = .safetensors

    @OptionGroup var dataset: DatasetOptions

    func validate() throws {
        guard batch >= 1 else { throw ValidationError("--batch must be at least 1") }
    }

    func run() throws {
        if dataset.enabled { return try runDataset() }
        let found = try inputs.collect()
        let folder = try outputFolder(out)
        let (images, skipped) = try imagesToRun(found.images, options: inputs) { image in
            [folder.appendingPathComponent(image.name + (format == .safetensors ? ".safetensors" : ""))]
        }
        let encoder = try modelOptions.loadEncoder()
        let selected = try layerSelection(layers, depth: encoder.config.depth)
        let run = try modelOptions.imageRun(encoder, inputs: inputs, batch: batch,
                                            options: EncoderOptions(hiddenStates: !selected.isEmpty,
                                                                    tokenNorms: !selected.isEmpty))
        var summary = run.run(images) { images, output in
            let features = try FeatureBatch(output, layers: selected)
            for (index, image) in images.enumerated() {
                try features.write(item: index, name: image.name, to: folder, format: format)
            }
        }
        summary.skippedExisting = skipped
        summary.notImages = found.notImages
        let rate = summary.seconds > 0 ? (Double(summary.processed) / summary.seconds * 100).rounded() / 100 : 0
        try summary.finish(
            json: inputs.json,
            text: String(format: "encoded %d images in %.2f s on %@ → %@", summary.processed, summary.seconds,
                         encoder.device.description, folder.path),
            fields: ["command": "encode", "images_per_second": rate, "device": encoder.device.description,
                     "model": modelOptions.model, "out": folder.path])
    }
}

enum FeatureFormat: String, ExpressibleByArgument, CaseIterable {
    case safetensors, npy
}

/// Parses `--layers`: comma-separated layers in 0...depth (0 the embeddings, L the output of the L-th
/// block), each at most once, or `all`.
func layerSelection(_ text: String?, depth: Int, option: String = "--layers") throws -> [Int] {
    guard let text, !text.isEmpty else { return [] }
    if text.lowercased() == "all" { return Array(0...depth) }
    var seen = Set<Int>()
    return try text.split(separator: ",", omittingEmptySubsequences: false).map { part in
        guard let layer = Int(part.trimmingCharacters(in: .whitespaces)), (0...depth).contains(layer) else {
            throw CLIError("\(option) \(text): '\(part)' is not a layer in 0...\(depth) "
                + "(0 = embeddings, L = output of block L)")
        }
        guard seen.insert(layer).inserted else { throw CLIError("\(option) \(text): layer \(layer) is listed twice") }
        return layer
    }
}

/// One batch's outputs read back to the host once, then cut per image.
struct FeatureBatch {
    let dim: Int
    let tokens: Int
    let grid: (height: Int, width: Int)
    let registers: Int
    let cls: [Float], registerValues: [Float], patches: [Float]
    let hidden: [(layer: Int, values: [Float], norms: [Float])]

    init(_ output: EncoderOutput, layers: [Int]) throws {
        dim = output.cls.shape[1]
        tokens = output.tokens.shape[1]
        grid = (output.gridHeight, output.gridWidth)
        registers = output.registers?.shape[1] ?? 0
        cls = try output.cls.toArray()
        registerValues = try output.registers?.toArray() ?? []
        patches = try output.patches.toArray()
        let states = output.hiddenStates ?? [], norms = output.tokenNorms ?? []
        hidden = try layers.map { ($0, try states[$0].toArray(), try norms[$0].norms.toArray()) }
    }

    func write(item: Int, name: String, to folder: URL, format: FeatureFormat) throws {
        let patchCount = grid.height * grid.width
        var arrays: [(String, [Float], [Int])] = [
            ("cls", Array(cls[(item * dim)..<((item + 1) * dim)]), [dim]),
            ("patches", Array(patches[(item * patchCount * dim)..<((item + 1) * patchCount * dim)]),
             [grid.height, grid.width, dim]),
        ]
        if registers > 0 {
            arrays.append(("registers", Array(registerValues[(item * registers * dim)..<((item + 1) * registers * dim)]),
                           [registers, dim]))
        }
        for (layer, values, norms) in hidden {
            arrays.append(("hidden.\(layer)", Array(values[(item * tokens * dim)..<((item + 1) * tokens * dim)]), [tokens, dim]))
            arrays.append(("norms.\(layer)", Array(norms[(item * tokens)..<((item + 1) * tokens)]), [tokens]))
        }
        switch format {
        case .safetensors:
            var writer = SafetensorsWriter(metadata: ["producer": "vitreous encode"])
            for (key, values, shape) in arrays { try writer.add(key, values, shape: shape) }
            try writer.write(to: try outputURL(folder, name + ".safetensors"))
        case .npy:
            let sub = try outputURL(folder, name)
            try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true)
            for (key, values, shape) in arrays {
                try NPYArray(values, shape: shape).write(to: sub.appendingPathComponent(key + ".npy"))
            }
        }
    }
}
