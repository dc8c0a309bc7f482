import ArgumentParser
import Foundation
import VitreousFigure
import VitreousImage
import VitreousModel
import VitreousRepair
import VitreousTensor

struct PCAMaps: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pca",
        abstract: "Colour each patch by the first three principal components of the features, fitted over all images.",
        discussion: """
            The picture of DINOv2's demos: the output patch features of every image given are pooled, their \
            first three principal components found (double-precision covariance, LAPACK dsyevr) and shown as \
            red, green and blue, each scaled over all the images so that one colour means one kind of feature \
            in all of them. Writes IMAGE.pca.png per image (the map at the original image's resolution; when \
            --size crops, outside the crop is faded), pca-grid.png (all maps, labelled), and pca-basis.json; \
            --basis FILE projects onto a saved basis instead of fitting, so new images get the same colours.
            --foreground first splits off the background as DINOv2's demo does: the first component, scaled \
            to 0…1 and oriented so the image border scores high, above the threshold is background (black); \
            the colours then come from a second PCA of the foreground patches alone.
            """)

    @OptionGroup var inputs: InputOptions

    @OptionGroup var modelOptions: ModelOptions

    @OptionGroup var figures: FigureOptions

    @Option(name: .long, help: "Output folder.")
    var out = "pca"

    @Option(name: .long, help: ArgumentHelp("Project onto this saved basis (a pca-basis.json) instead of fitting one.",
                                            valueName: "file"))
    var basis: String?

    @Flag(name: .long, help: "Black out the background, split off by thresholding the first component.")
    var foreground = false

    @Option(name: .long, help: "Background threshold on the scaled first component (DINOv2's demo: 0.35).")
    var foregroundThreshold: Float = 0.35

    @Option(name: .long, help: "Columns of the grid figure (default: √images, at most 4).")
    var columns: Int?

    func run() throws {
        // Every image takes part in the fit, so none is skipped for existing outputs; --overwrite is not needed
        // either: the outputs of a new fit replace the old ones as a set.
        let found = try inputs.collect()
        let paths = found.images
        var saved: PatchFeaturePCA?
        if let basis {
            do {
                saved = try JSONDecoder().decode(PatchFeaturePCA.self, from: try Data(contentsOf: URL(fileURLWithPath: basis)))
            } catch {
                throw CLIError("\(basis): not a PCA basis file (\(error))")
            }
        }
        let encoder = try modelOptions.loadEncoder()
        let dimension = encoder.config.hiddenSize
        if let saved, saved.basis.dimension != dimension {
            throw CLIError("\(basis ?? ""): the basis is for \(saved.basis.dimension)-dimensional features, the model has \(dimension)")
        }
        let folder = try outputFolder(out)
        let run = try modelOptions.imageRun(encoder, inputs: inputs, options: EncoderOptions())
        let policy = run.policy
        var collected: [(path: String, name: String, tokens: [Float], grid: PatchGrid)] = []
        let summary = run.run(paths) { images, output in
            let patches = try output.patches.toArray()
            let grid = try PatchGrid(height: output.gridHeight, width: output.gridWidth)
            for item in images.indices {
                let start = item * grid.count * dimension
                collected.append((images[item].path, images[item].name, Array(patches[start..<(start + grid.count * dimension)]), grid))
            }
        }
        guard !collected.isEmpty else {
            try summary.finish(json: inputs.json, text: "no image was encoded", fields: ["command": "pca"])
            return
        }
        let pca: PatchFeaturePCA
        if let saved {
            pca = saved
        } else {
            do {
                pca = try PatchFeaturePCA.fit(images: collected.map { ($0.tokens, $0.grid) }, dimension: dimension,
                                              foregroundThreshold: foreground ? foregroundThreshold : nil)
            } catch {
                throw CLIError("pca: \(error)")
            }
            let json = JSONEncoder()
            json.outputFormatting = [.sortedKeys]
            try AtomicFile.write(try json.encode(pca), to: folder.appendingPathComponent("pca-basis.json"))
        }
        let colours = pca.foreground?.basis ?? pca.basis
        let shares = colours.explainedVarianceRatio.map { String(format: "%.1f %%", $0 * 100) }
        if !inputs.json { print("principal components 1–3 explain \(shares.joined(separator: ", ")) of the "
            + (pca.foreground == nil ? "variance" : "foreground's variance")
            + (saved == nil ? " (fitted on \(counted(pca.imageCount, "image")), \(pca.patchCount) patches)"
                : " (basis \(basis ?? ""), fitted on \(counted(pca.imageCount, "image")))")) }
        var panels: [FigurePanel] = []
        var failures = summary.failures
        let progress = ProgressBar(total: collected.count, label: "maps")
        for entry in collected {
            do {
                let map = try pca.map(entry.tokens, grid: entry.grid)
                let original = try ImageFile.read(entry.path, options: inputs.readOptions).image
                let region = policy.sourceRegion(width: original.width, height: original.height)
                let cells = try Image(width: entry.grid.width, height: entry.grid.height, channels: 3, pixels: map.rgb)
                let picture = try ColorMap.overlay(cells, on: original, region: region, opacity: 1, crisp: true)
                try PNG.write(picture, to: try outputURL(folder, "\(entry.name).pca.png").path)
                let share = Float(map.foreground.filter { $0 }.count) / Float(entry.grid.count)
                let name = (entry.path as NSString).lastPathComponent
                let caption = pca.foreground == nil ? name : String(format: "%@ (%.0f %% foreground)", name, share * 100)
                panels.append(FigurePanel(image: picture, caption: caption, smooth: false, box: cropBox(region, of: original)))
            } catch {
                failures.append(ImageRun.Failure(path: entry.path, error: error))
            }
            progress.advance()
        }
        let bars = (0..<3).map { k in
            ColorBar(colors: .channel(k), range: colours.low[k]...max(colours.high[k], colours.low[k] + 1e-6),
                     label: "PC\(k + 1) → \(["red", "green", "blue"][k]) (\(shares[k]))")
        }
        var notes = [(saved == nil ? "fitted jointly on " : "basis from \((basis ?? "") as NSString).lastPathComponent), fitted on ")
            + "\(counted(pca.imageCount, "image")) (\(pca.patchCount) patches); each channel spans its component's "
            + "range over them (projection, feature units)"]
        if let split = pca.foreground {
            notes.append(String(format: "black: background (first component scaled 0…1 and oriented so the border scores high, "
                                + "above %.2f); colours from a PCA of the foreground patches", split.threshold))
        }
        var gridPath: String?
        if !panels.isEmpty {
            let figure = Figure(title: "First three principal components of the patch features — "
                                    + (modelOptions.model as NSString).lastPathComponent,
                                panels: panels, columns: columns ?? min(4, Int(Double(panels.count).squareRoot().rounded(.up))), colorBars: bars, notes: notes,
                                panelSize: 280)
            gridPath = try figures.write(figure, folder, "pca-grid")
        }
        let result = ImageRun.Summary(processed: panels.count, failures: failures, seconds: summary.seconds,
                                      notImages: found.notImages)
        try result.finish(json: inputs.json,
                          text: "wrote \(counted(panels.count, "PCA map"))" + (gridPath.map { " and \($0)" } ?? ""),
                          fields: ["command": "pca", "out": folder.path,
                                   "explained_variance_ratio": colours.explainedVarianceRatio])
    }
}
