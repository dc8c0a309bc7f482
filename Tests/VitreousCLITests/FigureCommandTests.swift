import Foundation
import Testing
import VitreousFigure
import VitreousImage
import VitreousModel

/// Decodes a figure PNG and checks its size (at least `minimumWidth × minimumHeight`) and that it is not constant.
@discardableResult
func expectFigure(_ path: String, minimumWidth: Int, minimumHeight: Int = 120, sourceLocation: SourceLocation = #_sourceLocation) throws -> Image {
    let image = try PNG.read(path)
    #expect(image.width >= minimumWidth && image.height >= minimumHeight, "\(path): \(image.width)×\(image.height)",
            sourceLocation: sourceLocation)
    let colours = Set(stride(from: 0, to: image.pixels.count, by: image.channels).map {
        image.pixels[$0..<($0 + image.channels)].map { Int($0 * 255) }
    })
    #expect(colours.count > 20, "\(path) has \(colours.count) colours", sourceLocation: sourceLocation)
    return image
}

/// Decodes every PNG in `folder` as a figure (see ``expectFigure``); returns how many there were.
@discardableResult
func expectFigures(in folder: URL, minimumWidth: Int, minimumHeight: Int = 120,
                   sourceLocation: SourceLocation = #_sourceLocation) throws -> Int {
    let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".png") }
    for name in names {
        try expectFigure(folder.appendingPathComponent(name).path, minimumWidth: minimumWidth,
                         minimumHeight: minimumHeight, sourceLocation: sourceLocation)
    }
    return names.count
}

@Suite("figures from the command line", .serialized)
struct FigureCommandTests {
    @Test("norms over a folder: one table, summary.csv and summary.png; JSON ranges match the maps' scale")
    func normsFolder() throws {
        try CLI.withFolder { cli in
            let model = try cli.writeModel(registers: 4)
            try FileManager.default.createDirectory(at: cli.folder.appendingPathComponent("images"),
                                                    withIntermediateDirectories: true)
            for (index, width) in [56, 70, 84].enumerated() { _ = try cli.writeImage("images/\(index).png", width: width) }
            let table = try cli.run("norms", "images", "--model", model, "--size", "56", "--out", "norms")
            #expect(table.status == 0, "\(table.stderr)")
            #expect(table.stdout.contains("layer    median       max  max/median  flagged  (3 images"), "\(table.stdout)")
            #expect(!table.stdout.contains("│"), "no histogram per image without --per-image")
            try expectFigure(cli.folder.appendingPathComponent("norms/summary.png").path, minimumWidth: 640)
            let csv = try String(contentsOf: cli.folder.appendingPathComponent("norms/summary.csv"), encoding: .utf8)
            #expect(csv.split(separator: "\n").count == 4, "header and layers 0…2")
            #expect(!FileManager.default.fileExists(atPath: cli.folder.appendingPathComponent("norms/0.norms.layer-0.png").path))

            let json = try cli.run("norms", "images", "--model", model, "--size", "56", "--out", "per-image",
                                   "--per-image", "--json")
            #expect(json.status == 0, "\(json.stderr)")
            // One JSON object: the run's counts and failures, with the table under "summary".
            let run = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
            let summary = try #require(run["summary"] as? [String: Any])
            let layers = try #require(summary["layers"] as? [[String: Any]])
            let range = try #require(summary["sharedRange"] as? [Double])
            #expect(layers.count == 3 && summary["images"] as? Int == 3 && run["images"] as? Int == 3)
            // The shared colour scale is exactly the data's range over every layer and image.
            #expect(range[0] == layers.compactMap { $0["min"] as? Double }.min())
            #expect(range[1] == layers.compactMap { $0["max"] as? Double }.max())
            // 3 images × 3 layers and the summary, every one a real figure.
            #expect(try expectFigures(in: cli.folder.appendingPathComponent("per-image"), minimumWidth: 320) == 10)
            let svg = try cli.run("norms", "images/0.png", "--model", model, "--size", "56", "--out", "svg",
                                  "--figure-format", "svg", "--scale", "per-map")
            #expect(svg.status == 0, "\(svg.stderr)")
            let text = try String(contentsOf: cli.folder.appendingPathComponent("svg/0.norms.layer-1.svg"), encoding: .utf8)
            #expect(text.contains("<svg"))
            #expect(FileManager.default.fileExists(atPath: cli.folder.appendingPathComponent("svg/summary.svg").path))
        }
    }

    @Test("pca: a map per image at its resolution, a grid, a reusable basis; --foreground; register models")
    func pca() throws {
        try CLI.withFolder { cli in
            let model = try cli.writeModel(registers: 4)
            let a = try cli.writeImage("a.png", width: 60, height: 48), b = try cli.writeImage("b.png", width: 90, height: 70)
            let fit = try cli.run("pca", a, b, "--model", model, "--size", "42", "--out", "pca")
            #expect(fit.status == 0, "\(fit.stderr)")
            #expect(fit.stdout.contains("fitted on 2 images, 18 patches"), "\(fit.stdout)")
            let mapA = try expectFigure(cli.folder.appendingPathComponent("pca/a.pca.png").path, minimumWidth: 60,
                                          minimumHeight: 48)
            #expect(mapA.width == 60 && mapA.height == 48, "at the original's resolution")
            #expect(try PNG.read(cli.folder.appendingPathComponent("pca/b.pca.png").path).width == 90)
            try expectFigure(cli.folder.appendingPathComponent("pca/pca-grid.png").path, minimumWidth: 560)
            #expect(try expectFigures(in: cli.folder.appendingPathComponent("pca"), minimumWidth: 60, minimumHeight: 48) == 3)

            // A saved basis gives a new run the same colours.
            let reuse = try cli.run("pca", b, "--model", model, "--size", "42", "--out", "again",
                                    "--basis", "pca/pca-basis.json")
            #expect(reuse.status == 0, "\(reuse.stderr)")
            #expect(try PNG.read(cli.folder.appendingPathComponent("again/b.pca.png").path)
                == PNG.read(cli.folder.appendingPathComponent("pca/b.pca.png").path))
            #expect(!FileManager.default.fileExists(atPath: cli.folder.appendingPathComponent("again/pca-basis.json").path))

            let fg = try cli.run("pca", a, b, "--model", model, "--size", "auto", "--out", "fg", "--foreground",
                                 "--figure-format", "pdf")
            #expect(fg.status == 0, "\(fg.stderr)")
            #expect(try Data(contentsOf: cli.folder.appendingPathComponent("fg/pca-grid.pdf")).prefix(4) == Data("%PDF".utf8))

            let narrow = ViTConfig(hiddenSize: 32, depth: 1, heads: 1, mlpHiddenSize: 64, positionGrid: 4)
            let other = cli.folder.appendingPathComponent("narrow.safetensors")
            try ViTHostWeights.random(config: narrow, seed: 1).write(to: other, layout: .huggingFace)
            let wrong = try cli.run("pca", a, "--model", other.path, "--basis", "pca/pca-basis.json")
            #expect(wrong.status != 0 && wrong.stderr.contains("64-dimensional features, the model has 32"), "\(wrong.stderr)")
            let bad = try cli.run("pca", a, "--model", model, "--basis", "a.png")
            #expect(bad.status != 0 && bad.stderr.contains("a.png: not a PCA basis file"), "\(bad.stderr)")
        }
    }

    @Test("attention with --scale shared and a crop: one range over heads and images; the crop box is red")
    func attentionShared() throws {
        try CLI.withFolder { cli in
            let model = try cli.writeModel()
            let image = try cli.writeImage("wide.png", width: 84, height: 42)
            let result = try cli.run("attention", image, "--model", model, "--size", "42", "--out", "maps",
                                     "--scale", "shared")
            #expect(result.status == 0, "\(result.stderr)")
            #expect(try expectFigures(in: cli.folder.appendingPathComponent("maps"), minimumWidth: 480) == 2, "1 head + mean")
            let figure = try PNG.read(cli.folder.appendingPathComponent("maps/wide.attention.head-0.png").path)
            let reds = stride(from: 0, to: figure.pixels.count, by: 3).filter {
                figure.pixels[$0] > 0.9 && figure.pixels[$0 + 1] < 0.3 && figure.pixels[$0 + 2] < 0.3
            }.count
            #expect(reds > 400, "the crop box outline: \(reds) red pixels")
        }
    }
}
