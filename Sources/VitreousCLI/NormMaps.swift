import ArgumentParser
import Foundation
import VitreousFigure
import VitreousImage
import VitreousModel
import VitreousRepair
import VitreousTensor

struct NormMaps: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "norms",
        abstract: "Token norms per layer over an image or a folder: a summary table and figure, and per-image maps.",
        discussion: """
            Prints one table over all the images: per layer (0 = embeddings, L = output of the L-th block), the \
            median and maximum patch-token L2 norm and the share of patches the artifact detector flags. Writes \
            summary.png (maximum and median norm against depth: the figure of "Vision Transformers Need \
            Registers"; a maximum that leaves the median behind is the artifact signature) and summary.csv; \
            --json prints the table as JSON instead.
            For a single image, or with --per-image, also writes IMAGE.norms.layer-L.png per chosen layer \
            (each patch's norm as a viridis cell, with a colour bar; one shared scale over every layer and \
            image unless --scale per-map) and prints a histogram of the last chosen layer's patch norms.
            """)

    @OptionGroup var inputs: InputOptions

    @OptionGroup var modelOptions: ModelOptions

    @OptionGroup var figures: FigureOptions

    @OptionGroup var scaleOptions: ScaleOptions

    @Option(name: .long, help: "Output folder.")
    var out = "norms"

    @Option(name: .long, help: ArgumentHelp("Layers to map: comma-separated indices or all.", valueName: "layers"))
    var layers = "all"

    @Flag(name: .long, help: "For a folder, also draw every image's maps and print its histogram.")
    var perImage = false

    func run() throws {
        let found = try inputs.collect()
        let folder = try outputFolder(out)
        let encoder = try modelOptions.loadEncoder()
        let selected = try layerSelection(layers, depth: encoder.config.depth)
        let patch = encoder.config.patchSize
        let drawsMaps = found.images.count == 1 || perImage
        let (paths, skipped) = try imagesToRun(found.images, options: inputs) { image in
            drawsMaps ? selected.map {
                folder.appendingPathComponent("\(image.name).norms.layer-\($0).\(figures.figureFormat.fileExtension)")
            } : []
        }
        // The summary covers the whole run: an old one is replaced only when asked (--skip-existing too, since
        // the images it skips were counted in the old one, not the new).
        let summaryFiles = ["summary.csv", "summary.\(figures.figureFormat.fileExtension)"].map(folder.appendingPathComponent)
        if !inputs.overwrite && !inputs.skipExisting,
           let existing = summaryFiles.first(where: { FileManager.default.fileExists(atPath: $0.path) }) {
            throw CLIError("\(existing.path) exists; use --overwrite to replace it")
        }
        let run = try modelOptions.imageRun(encoder, inputs: inputs, options: EncoderOptions(tokenNorms: true))
        var collected: [(input: PreparedImage, norms: [[Float]], output: EncoderOutput)] = []
        var summary = run.run(paths) { images, output in
            guard let norms = output.tokenNorms else { return }
            for (item, image) in images.enumerated() {
                collected.append((image, try selected.map { try patchNorms(norms[$0], item: item, output: output) },
                                  output))
            }
        }
        (summary.skippedExisting, summary.notImages) = (skipped, found.notImages)
        let table = try NormSummary(layers: selected, images: collected.map(\.norms))
        let mode = scaleOptions.scale ?? .shared
        let what = "\(counted(selected.count, "layer")) × \(counted(collected.count, "image"))"
        if drawsMaps {
            for entry in collected {
                let name = (entry.input.path as NSString).lastPathComponent
                for (index, layer) in selected.enumerated() {
                    let values = entry.norms[index]
                    let range = mode == .shared ? table.range : valueRange(values)
                    let figure = try normFigure(values, output: entry.output, patch: patch, range: range, image: name,
                                                layer: layer, note: scaleNote(mode, range: range, over: what))
                    try figures.write(figure, folder, "\(entry.input.name).norms.layer-\(layer)")
                }
                if !inputs.json {
                    print("\(entry.input.path), layer \(selected.last ?? 0):")
                    print(histogram(entry.norms.last ?? []))
                }
            }
        }
        var fields: [String: Any] = ["command": "norms", "out": folder.path]
        if !collected.isEmpty {
            try AtomicFile.write(Data(table.csv.utf8), to: folder.appendingPathComponent("summary.csv"))
            try figures.write(table.plot(title: "Patch-token norms per layer over \(counted(collected.count, "image"))",
                                         model: modelOptions.model), folder, "summary")
            // The table goes into the one JSON object the run prints, so stdout stays a single document.
            fields["summary"] = try JSONSerialization.jsonObject(with: try JSONEncoder().encode(table))
            if !inputs.json { print(table.text) }
        }
        try summary.finish(json: inputs.json, text: collected.isEmpty ? "no image was encoded"
                               : "wrote summary.csv and summary.\(figures.figureFormat.fileExtension) to \(folder.path)",
                           fields: fields)
    }
}

/// Per layer over a set of images: the median and maximum patch-token norm and the share of flagged patches.
struct NormSummary: Codable {
    struct Layer: Codable {
        let layer: Int
        let median: Float
        let max: Float
        let min: Float
        let flaggedShare: Float
        let flaggedPatches: Int
        let patches: Int
    }

    let images: Int
    let detector: String
    let layers: [Layer]
    /// The range over every layer and image: the shared colour scale of the per-image maps.
    let sharedRange: [Float]

    var range: ClosedRange<Float> { sharedRange[0]...sharedRange[1] }

    /// `images[i][l]`: image i's patch norms at `layers[l]`.
    init(layers: [Int], images: [[[Float]]], detector: ArtifactDetector = .default) throws {
        self.images = images.count
        self.detector = detector.description
        self.layers = try layers.enumerated().map { index, layer in
            let all = images.flatMap { $0[index] }.sorted()
            let flagged = try images.reduce(0) { $0 + (try detector.detect(norms: $1[index]).flagged.count) }
            // The package's one median (the mean of the middle two on even counts), as the detector reports use.
            return Layer(layer: layer, median: all.isEmpty ? 0 : Float(VitreousTensor.median(all.map(Double.init))),
                         max: all.last ?? 0,
                         min: all.first ?? 0, flaggedShare: Float(flagged) / Float(Swift.max(all.count, 1)),
                         flaggedPatches: flagged, patches: all.count)
        }
        let range = valueRange(images.lazy.flatMap { $0.joined() })
        sharedRange = [range.lowerBound, range.upperBound]
    }

    var text: String {
        var lines = ["layer    median       max  max/median  flagged  (\(counted(images, "image")), \(detector))"]
        for entry in layers {
            lines.append(String(format: "%5d  %8.2f  %8.2f  %10.1f  %6.2f %%", entry.layer, entry.median, entry.max,
                                entry.median > 0 ? entry.max / entry.median : 0, entry.flaggedShare * 100))
        }
        return lines.joined(separator: "\n")
    }

    var csv: String {
        (["layer,median_norm,max_norm,min_norm,flagged_share,flagged_patches,patches,images"] + layers.map {
            "\($0.layer),\($0.median),\($0.max),\($0.min),\($0.flaggedShare),\($0.flaggedPatches),\($0.patches),\(images)"
        }).joined(separator: "\n") + "\n"
    }

    func plot(title: String, model: String) -> LinePlot {
        LinePlot(title: title, xLabel: "layer (0 = embeddings, L = output of block L)",
                 yLabel: "patch-token L2 norm", x: layers.map { Double($0.layer) },
                 series: [.init(name: "maximum over all patches", values: layers.map { Double($0.max) },
                                color: LinePlot.palette[1]),
                          .init(name: "median", values: layers.map { Double($0.median) }, color: LinePlot.palette[0],
                                dashed: true)],
                 logarithmicY: true,
                 notes: ["model \((model as NSString).lastPathComponent); flagged by \(detector)"])
    }
}

/// One layer's patch-norm map of one image as a labelled figure: crisp patch cells, a colour bar over `range`.
func normFigure(_ values: [Float], output: EncoderOutput, patch: Int, range: ClosedRange<Float>, image name: String,
                layer: Int, note: String) throws -> Figure {
    Figure(title: "\(name) — patch-token norms, \(layer == 0 ? "embeddings (layer 0)" : "layer \(layer) (block \(layer) output)")",
           panels: [FigurePanel(image: try normMap(values, output: output, patch: patch, range: range),
                                caption: "\(output.gridHeight)×\(output.gridWidth) patches of the model's input",
                                smooth: false)],
           colorBars: [ColorBar(range: range, label: "patch-token L2 norm")],
           notes: [note])
}
