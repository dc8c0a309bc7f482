import ArgumentParser
import Foundation
import VitreousImage
import VitreousModel
import VitreousTensor

struct AttentionMaps: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attention",
        abstract: "Draw the last block's CLS attention over the patches, per head and averaged, on each image.",
        discussion: """
            Writes IMAGE.attention.head-H.png for each head and IMAGE.attention.mean.png: viridis heatmaps \
            (yellow = most attention) blended over the resized input. High-norm artifact tokens show up as \
            isolated hot cells, usually on background.
            """)

    @OptionGroup var inputs: InputOptions

    @OptionGroup var modelOptions: ModelOptions

    @Option(name: .long, help: "Output folder.")
    var out = "attention"

    @Option(name: .long, help: "Heatmap opacity over the image, 0…1.")
    var opacity: Float = 0.6

    func run() throws {
        let found = try inputs.collect()
        let folder = try outputFolder(out)
        let (paths, skipped) = try imagesToRun(found.images, options: inputs) {
            [folder.appendingPathComponent("\($0.name).attention.mean.png")]
        }
        let encoder = try modelOptions.loadEncoder()
        let run = try modelOptions.imageRun(encoder, inputs: inputs, options: EncoderOptions(clsAttention: true))
        var summary = run.run(paths) { images, output in
            guard let attention = output.clsAttention else { return }
            let maps = try AttentionGrid(attention, output: output)
            for (item, image) in images.enumerated() {
                let name = image.name
                for head in 0..<maps.heads {
                    try maps.overlay(item: item, head: head, on: image.image, opacity: opacity)
                        .write(folder, "\(name).attention.head-\(head).png")
                }
                try maps.overlay(item: item, head: nil, on: image.image, opacity: opacity)
                    .write(folder, "\(name).attention.mean.png")
                let top = maps.peak(item: item)
                if !inputs.json { print("\(image.path): mean CLS attention peaks at patch (row \(top.row), column \(top.column)) "
                    + String(format: "with %.1f %% of the patch mass", top.share * 100)) }
            }
        }
        (summary.skippedExisting, summary.notImages) = (skipped, found.notImages)
        try summary.finish(json: inputs.json, text: "wrote attention maps of \(summary.processed) images to \(folder.path)",
                           fields: ["command": "attention", "out": folder.path])
    }
}

/// The CLS attention of a batch read back once, restricted to the patch tokens.
struct AttentionGrid {
    let heads: Int
    let tokens: Int
    let grid: (height: Int, width: Int)
    let firstPatch: Int
    let values: [Float]

    init(_ attention: Tensor, output: EncoderOutput) throws {
        heads = attention.shape[1]
        tokens = attention.shape[2]
        grid = (output.gridHeight, output.gridWidth)
        firstPatch = output.firstPatch
        values = try attention.toArray()
    }

    /// Attention over the patches for one head, or the mean over heads when `head` is nil.
    func patchMap(item: Int, head: Int?) -> [Float] {
        let count = grid.height * grid.width
        let chosen = head.map { [$0] } ?? Array(0..<heads)
        var map = [Float](repeating: 0, count: count)
        for h in chosen {
            let row = (item * heads + h) * tokens + firstPatch
            for p in 0..<count { map[p] += values[row + p] / Float(chosen.count) }
        }
        return map
    }

    func overlay(item: Int, head: Int?, on image: Image, opacity: Float) throws -> Image {
        let heat = try ColorMap.viridis.image(patchMap(item: item, head: head), width: grid.width, height: grid.height)
        return try ColorMap.overlay(heat, on: image, opacity: opacity)
    }

    /// The patch with the most mean attention, and its share of the attention the patches get.
    func peak(item: Int) -> (row: Int, column: Int, share: Float) {
        let map = patchMap(item: item, head: nil)
        let total = map.reduce(0, +)
        let best = map.indices.max { map[$0] < map[$1] } ?? 0
        return (best / grid.width, best % grid.width, total > 0 ? map[best] / total : 0)
    }
}

struct NormMaps: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "norms",
        abstract: "Map the token norms of every layer and print a histogram: artifact tokens stand out here.",
        discussion: """
            Writes IMAGE.norms.layer-L.png for each chosen layer (layer 0 = embeddings, layer L = output of the L-th block): \
            each patch's L2 norm as a viridis cell, scaled per layer. Prints a text histogram of the last chosen \
            layer's patch norms; a separate cluster far to the right is the artifact signature.
            """)

    @OptionGroup var inputs: InputOptions

    @OptionGroup var modelOptions: ModelOptions

    @Option(name: .long, help: "Output folder.")
    var out = "norms"

    @Option(name: .long, help: ArgumentHelp("Layers to map: comma-separated indices or all.", valueName: "layers"))
    var layers = "all"

    func run() throws {
        let found = try inputs.collect()
        let folder = try outputFolder(out)
        let encoder = try modelOptions.loadEncoder()
        let selected = try layerSelection(layers, depth: encoder.config.depth)
        let (paths, skipped) = try imagesToRun(found.images, options: inputs) { image in
            selected.map { folder.appendingPathComponent("\(image.name).norms.layer-\($0).png") }
        }
        let run = try modelOptions.imageRun(encoder, inputs: inputs, options: EncoderOptions(tokenNorms: true))
        var summary = run.run(paths) { images, output in
            guard let norms = output.tokenNorms else { return }
            for (item, image) in images.enumerated() {
                var last: [Float] = []
                for layer in selected {
                    last = try patchNorms(norms[layer], item: item, output: output)
                    try normMap(last, output: output, patch: encoder.config.patchSize)
                        .write(folder, "\(image.name).norms.layer-\(layer).png")
                }
                if !inputs.json {
                    print("\(image.path), layer \(selected.last ?? 0):")
                    print(histogram(last))
                }
            }
        }
        (summary.skippedExisting, summary.notImages) = (skipped, found.notImages)
        try summary.finish(json: inputs.json, text: "wrote norm maps of \(summary.processed) images to \(folder.path)",
                           fields: ["command": "norms", "out": folder.path])
    }
}

/// The patch tokens' norms of one image from a layer's token norms.
func patchNorms(_ norms: TokenNorms, item: Int, output: EncoderOutput) throws -> [Float] {
    let values = try norms.norms.toArray()
    let tokens = norms.norms.shape[1], count = output.gridHeight * output.gridWidth
    let start = item * tokens + output.firstPatch
    return Array(values[start..<(start + count)])
}

/// A norm grid as an image at input scale, one crisp cell per patch.
func normMap(_ values: [Float], output: EncoderOutput, patch: Int) throws -> Image {
    try ColorMap.viridis.image(values, width: output.gridWidth, height: output.gridHeight).upscaled(by: patch)
}

/// A text histogram of `values` in `bins` bins, with max, median and their ratio.
func histogram(_ values: [Float], bins: Int = 12, width: Int = 40) -> String {
    let finite = values.filter(\.isFinite).sorted()
    guard let low = finite.first, let high = finite.last else { return "  (no finite values)" }
    let span = high > low ? high - low : 1
    var counts = [Int](repeating: 0, count: bins)
    for v in finite { counts[min(bins - 1, Int((v - low) / span * Float(bins)))] += 1 }
    let most = counts.max() ?? 1
    var lines = counts.enumerated().map { index, count -> String in
        let from = low + span * Float(index) / Float(bins)
        let bar = String(repeating: "#", count: count == 0 ? 0 : max(1, width * count / most))
        return String(format: "  %9.2f │%@ %d", from, bar, count)
    }
    let median = Float(VitreousTensor.median(finite.map(Double.init)))
    lines.append(String(format: "  max %.2f, median %.2f, max/median %.1f", high, median, median > 0 ? high / median : 0))
    return lines.joined(separator: "\n")
}

extension Image {
    /// Writes the image as `name` in `folder`.
    func write(_ folder: URL, _ name: String) throws {
        try PNG.write(self, to: try outputURL(folder, name).path)
    }
}
