import ArgumentParser
import Foundation
import VitreousFigure
import VitreousImage
import VitreousModel
import VitreousTensor

struct AttentionMaps: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attention",
        abstract: "Draw the last block's CLS attention over the patches, per head and averaged, on each image.",
        discussion: """
            Writes IMAGE.attention.head-H.png for each head and IMAGE.attention.mean.png: viridis heatmaps \
            (yellow = most attention) blended over the original image at its own resolution, with a colour \
            bar, a title and, when --size crops, the crop box drawn. High-norm artifact tokens show up as \
            isolated hot cells, usually on background.
            """)

    @OptionGroup var inputs: InputOptions

    @OptionGroup var modelOptions: ModelOptions

    @OptionGroup var figures: FigureOptions

    @OptionGroup var scaleOptions: ScaleOptions

    @Option(name: .long, help: "Output folder.")
    var out = "attention"

    @Option(name: .long, help: "Heatmap opacity over the image, 0…1.")
    var opacity: Float = 0.6

    func run() throws {
        let found = try inputs.collect()
        let folder = try outputFolder(out)
        let (paths, skipped) = try imagesToRun(found.images, options: inputs) {
            [folder.appendingPathComponent("\($0.name).attention.mean.\(figures.figureFormat.fileExtension)")]
        }
        let encoder = try modelOptions.loadEncoder()
        let run = try modelOptions.imageRun(encoder, inputs: inputs, options: EncoderOptions(clsAttention: true))
        let policy = run.policy
        // Maps first (small), figures after: a shared scale needs every map's range before the first is drawn.
        var collected: [(input: InputImage, maps: [[Float]], grid: (height: Int, width: Int))] = []
        var summary = run.run(paths) { images, output in
            guard let attention = output.clsAttention else { return }
            let maps = try AttentionGrid(attention, output: output)
            for (item, image) in images.enumerated() {
                collected.append((InputImage(path: image.path, name: image.name),
                                  (0..<maps.heads).map { maps.patchMap(item: item, head: $0) }
                                      + [maps.patchMap(item: item, head: nil)], maps.grid))
                let top = maps.peak(item: item)
                if !inputs.json { print("\(image.path): mean CLS attention peaks at patch (row \(top.row), column \(top.column)) "
                    + String(format: "with %.1f %% of the patch mass", top.share * 100)) }
            }
        }
        let mode = scaleOptions.scale ?? .perMap
        let shared = valueRange(collected.lazy.flatMap { $0.maps.joined() })
        var failures = summary.failures
        var drawn = 0
        for entry in collected {
            do {
                let original = try ImageFile.read(entry.input.path, options: inputs.readOptions).image
                let region = policy.sourceRegion(width: original.width, height: original.height)
                for (index, map) in entry.maps.enumerated() {
                    let head = index < entry.maps.count - 1 ? index : nil
                    let range = mode == .shared ? shared : valueRange(map)
                    let figure = try attentionFigure(
                        map, grid: entry.grid, original: original, region: region, policy: policy, range: range,
                        title: "\((entry.input.path as NSString).lastPathComponent) — CLS attention, "
                            + "\(head.map { "head \($0)" } ?? "mean of \(entry.maps.count - 1) heads"), last block",
                        note: scaleNote(mode, range: range, over: "\(entry.maps.count) maps × \(counted(collected.count, "image"))"),
                        opacity: opacity)
                    try figures.write(figure, folder, "\(entry.input.name).attention.\(head.map { "head-\($0)" } ?? "mean")")
                }
                drawn += 1
            } catch {
                failures.append(ImageRun.Failure(path: entry.input.path, error: error))
            }
        }
        summary = ImageRun.Summary(processed: drawn, failures: failures, seconds: summary.seconds,
                                   skippedExisting: skipped, notImages: found.notImages)
        try summary.finish(json: inputs.json, text: "wrote attention maps of \(drawn) images to \(folder.path)",
                           fields: ["command": "attention", "out": folder.path])
    }
}

/// A CLS attention map blended over the original image (at its resolution, the crop outlined) as a labelled figure.
func attentionFigure(_ map: [Float], grid: (height: Int, width: Int), original: Image, region: ImageRect,
                     policy: ResizePolicy, range: ClosedRange<Float>, title: String, note: String,
                     opacity: Float) throws -> Figure {
    let heat = try ColorMap.viridis.image(map, width: grid.width, height: grid.height, range: range)
    return Figure(title: title,
                  panels: [FigurePanel(image: try ColorMap.overlay(heat, on: original, region: region, opacity: opacity),
                                       caption: originalCaption(original, region: region, policy: policy),
                                       box: cropBox(region, of: original))],
                  colorBars: [ColorBar(range: range, label: "CLS attention weight (softmax share)")],
                  notes: [note], panelSize: 480)
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

    /// The patch with the most mean attention, and its share of the attention the patches get.
    func peak(item: Int) -> (row: Int, column: Int, share: Float) {
        let map = patchMap(item: item, head: nil)
        let total = map.reduce(0, +)
        let best = map.indices.max { map[$0] < map[$1] } ?? 0
        return (best / grid.width, best % grid.width, total > 0 ? map[best] / total : 0)
    }
}

/// The patch tokens' norms of one image from a layer's token norms.
func patchNorms(_ norms: TokenNorms, item: Int, output: EncoderOutput) throws -> [Float] {
    let values = try norms.norms.toArray()
    let tokens = norms.norms.shape[1], count = output.gridHeight * output.gridWidth
    let start = item * tokens + output.firstPatch
    return Array(values[start..<(start + count)])
}

/// A norm grid as an image at input scale, one crisp cell per patch, coloured over `range` (default: its own).
func normMap(_ values: [Float], output: EncoderOutput, patch: Int, range: ClosedRange<Float>? = nil) throws -> Image {
    try ColorMap.viridis.image(values, width: output.gridWidth, height: output.gridHeight, range: range)
        .upscaled(by: patch)
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
