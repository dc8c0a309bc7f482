import Foundation
import Testing
import VitreousImage
@testable import VitreousFigure

/// The colour of pixel (x, y) of an RGB image, 8-bit.
func pixel(_ image: Image, _ x: Int, _ y: Int) -> [Int] {
    (0..<3).map { Int((image[x, y, $0] * 255).rounded()) }
}

func eightBit(_ color: FigureColor) -> [Int] {
    [color.red, color.green, color.blue].map { Int(($0 * 255).rounded()) }
}

/// Distinct pixel values of an image: a rendered figure that is all one colour has 1.
func distinctColors(_ image: Image) -> Int {
    Set(stride(from: 0, to: image.pixels.count, by: 3).map { image.pixels[$0..<($0 + 3)].map { Int($0 * 255) } }).count
}

@Suite("figures drawn with cairo")
struct FigureTests {
    static func gradient(width: Int, height: Int) throws -> Image {
        try ColorMap.viridis.image((0..<(width * height)).map(Float.init), width: width, height: height)
    }

    static func figure() throws -> Figure {
        Figure(title: "cat.png — layer 3 patch-token norms",
               panels: [FigurePanel(image: try gradient(width: 16, height: 12), caption: "layer 3", smooth: false),
                        FigurePanel(image: try gradient(width: 16, height: 12), caption: "layer 4", smooth: false,
                                    box: ImageRect(x: 2, y: 2, width: 8, height: 6))],
               colorBars: [ColorBar(range: 3.5...17.25, label: "patch-token L2 norm")],
               notes: ["colour scale shared across 2 layers × 1 image"], panelSize: 160)
    }

    @Test("a figure renders at its layout's size, is not constant, and its colour bar ends have the map's end colours")
    func colourBar() throws {
        let figure = try Self.figure()
        let layout = try figure.layout()
        let image = try figure.render()
        #expect(image.width == layout.width && image.height == layout.height)
        #expect(layout.width > 2 * 160 && layout.height > 120)
        #expect(distinctColors(image) > 50)
        let bar = try #require(layout.colorBars.first)
        let x = Int(bar.x + bar.width / 2)
        let top = pixel(image, x, Int(bar.y)), bottom = pixel(image, x, Int(bar.y + bar.height) - 1)
        let high = eightBit(ColorBarColors.map(.viridis).color(1)), low = eightBit(ColorBarColors.map(.viridis).color(0))
        #expect(zip(top, high).allSatisfy { abs($0 - $1) <= 1 }, "top \(top) vs \(high)")
        #expect(zip(bottom, low).allSatisfy { abs($0 - $1) <= 1 }, "bottom \(bottom) vs \(low)")
        // The panels hold the maps' pixels (crisp cells: the first cell's colour at the panel's corner).
        let panel = layout.panels[0]
        #expect(pixel(image, Int(panel.x) + 2, Int(panel.y) + 2) == eightBit(ColorBarColors.map(.viridis).color(0)))
        // The crop box outline is drawn in red on the second panel.
        let box = layout.panels[1]
        let scale = box.width / 16
        let red = pixel(image, Int(box.x + 2 * scale + 4 * scale), Int(box.y + 2 * scale))
        #expect(red[0] > 200 && red[1] < 100 && red[2] < 100, "\(red)")
    }

    @Test("PNG, PDF and SVG files: the PNG decodes to the rendered pixels, the others are PDF and SVG")
    func formats() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vitreous-figure-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let figure = try Self.figure()
        let png = folder.appendingPathComponent("f.png").path
        try figure.write(to: png, format: .png)
        #expect(try PNG.read(png) == figure.render())
        let pdf = folder.appendingPathComponent("f.pdf"), svg = folder.appendingPathComponent("f.svg")
        try figure.write(to: pdf.path, format: .pdf)
        try figure.write(to: svg.path, format: .svg)
        let pdfBytes = try Data(contentsOf: pdf)
        #expect(pdfBytes.prefix(5) == Data("%PDF-".utf8))
        #expect(String(decoding: pdfBytes.suffix(8), as: UTF8.self).contains("%%EOF"), "a finished PDF")
        #expect(String(decoding: pdfBytes, as: UTF8.self).contains("/Image"), "the panels are embedded as images")
        let svgText = try String(contentsOf: svg, encoding: .utf8)
        #expect(svgText.contains("<svg") && svgText.contains("</svg>"))
        #expect(!FileManager.default.fileExists(atPath: pdf.path + ".partial"))
        #expect(throws: FigureError.self) { try figure.write(to: "/nonexistent-folder/f.pdf", format: .pdf) }
        #expect(throws: FigureError.self) { try figure.write(to: "/nonexistent-folder/f.png", format: .png) }
    }

    @Test("a line plot draws its series in their colours, on linear and logarithmic axes")
    func linePlot() throws {
        for log in [false, true] {
            let plot = LinePlot(title: "norms", xLabel: "layer", yLabel: "norm", x: [0, 1, 2, 3, 4],
                                series: [.init(name: "max", values: [5, 8, 120, 300, 310], color: LinePlot.palette[1]),
                                         .init(name: "median", values: [4, 5, 6, .nan, 7], color: LinePlot.palette[0],
                                               dashed: true)],
                                logarithmicY: log, notes: ["3 images"])
            let image = try plot.render()
            #expect(image.width == 640 && image.height == 400)
            #expect(distinctColors(image) > 20)
            let orange = eightBit(LinePlot.palette[1])
            let found = stride(from: 0, to: image.pixels.count, by: 3).contains { index in
                (0..<3).allSatisfy { abs(Int((image.pixels[index + $0] * 255).rounded()) - orange[$0]) <= 2 }
            }
            #expect(found, "the max series is drawn")
            let (_, range) = plot.plotArea()
            #expect(log ? range.upperBound >= 2.49 : range.upperBound >= 310)
        }
    }

    @Test("ticks are round numbers inside the range; labels are short")
    func ticks() {
        #expect(niceTicks(0, 10, count: 5) == [0, 2, 4, 6, 8, 10])
        #expect(niceTicks(3.5, 17.25, count: 4) == [5, 10, 15])
        #expect(niceTicks(1, 1, count: 4).isEmpty)
        #expect(formatTick(17.25) == "17.25" && formatTick(250) == "250" && formatTick(0.00012) == "0.00012")
        #expect(formatTick(-0.0) == "0" && formatTick(1234.56) == "1234.6")
    }
}
