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

    @Flag(name: .long, help: "Print a one-line JSON summary on stdout at the end.")
    var json = false

    func validate() throws {
        guard batch >= 1 else { throw ValidationError("--batch must be at least 1") }
    }

    func run() throws {
        let paths = try inputs.paths()
        let encoder = try modelOptions.loadEncoder()
        let selected = try layerSelection(layers, depth: encoder.config.depth)
        let folder = try outputFolder(out)
        let run = ImageRun(encoder: encoder, policy: try modelOptions.resizePolicy(patch: encoder.config.patchSize),
                           batchSize: batch, options: EncoderOptions(hiddenStates: !selected.isEmpty,
                                                                     tokenNorms: !selected.isEmpty))
        let summary = run.run(paths) { images, output in
            let features = try FeatureBatch(output, layers: selected)
            for (index, image) in images.enumerated() {
                try features.write(item: index, name: stem(image.path), to: folder, format: format)
            }
        }
        if json {
            let line: [String: Any] = [
                "images": summary.processed, "failed": summary.failures.count,
                "seconds": (summary.seconds * 1000).rounded() / 1000,
                "images_per_second": summary.seconds > 0 ? (Double(summary.processed) / summary.seconds * 100).rounded() / 100 : 0,
                "device": encoder.device.description, "model": modelOptions.model, "out": folder.path,
            ]
            let data = try JSONSerialization.data(withJSONObject: line, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(String(format: "encoded %d images in %.2f s on %@ → %@", summary.processed, summary.seconds,
                         encoder.device.description, folder.path))
        }
        try summary.report()
    }
}

enum FeatureFormat: String, ExpressibleByArgument, CaseIterable {
    case safetensors, npy
}

/// Parses `--layers`: comma-separated indices in 0...depth, or `all`.
func layerSelection(_ text: String?, depth: Int) throws -> [Int] {
    guard let text, !text.isEmpty else { return [] }
    if text.lowercased() == "all" { return Array(0...depth) }
    return try text.split(separator: ",").map { part in
        guard let layer = Int(part.trimmingCharacters(in: .whitespaces)), (0...depth).contains(layer) else {
            throw CLIError("--layers \(text): '\(part)' is not a layer in 0...\(depth)")
        }
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
            try writer.write(to: folder.appendingPathComponent(name + ".safetensors"))
        case .npy:
            let sub = folder.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true)
            for (key, values, shape) in arrays {
                try NPYArray(values, shape: shape).write(to: sub.appendingPathComponent(key + ".npy"))
            }
        }
    }
}
