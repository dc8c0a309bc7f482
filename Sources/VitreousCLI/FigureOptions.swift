import ArgumentParser
import Foundation
import VitreousFigure
import VitreousImage

extension FigureFormat: ExpressibleByArgument {}

/// How maps of one quantity are coloured: one range for all of them (comparable), or each its own.
enum ScaleMode: String, ExpressibleByArgument, CaseIterable {
    case shared
    case perMap = "per-map"
}

/// The options of every command that draws figures.
struct FigureOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Figure file format: png, pdf or svg (PDF and SVG keep text and lines vector).",
                                            valueName: "format"))
    var figureFormat: FigureFormat = .png

    /// Writes `figure` as `name` plus the format's extension in `folder`; returns the path.
    @discardableResult
    func write(_ figure: Figure, _ folder: URL, _ name: String) throws -> String {
        let path = try outputURL(folder, "\(name).\(figureFormat.fileExtension)").path
        try figure.write(to: path, format: figureFormat)
        return path
    }

    @discardableResult
    func write(_ plot: LinePlot, _ folder: URL, _ name: String) throws -> String {
        let path = try outputURL(folder, "\(name).\(figureFormat.fileExtension)").path
        try plot.write(to: path, format: figureFormat)
        return path
    }
}

/// The colour-scale option of the commands that draw maps of one quantity (norms, attention).
struct ScaleOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("""
        Colour scale: shared (one range over every map drawn: layers, heads and images compare) or per-map \
        (each map its own min…max). Default: shared for norms, per-map for attention. Each figure says which.
        """, valueName: "mode"))
    var scale: ScaleMode?
}

/// The finite values' min…max, widened to a nonzero span so a colour scale can use it.
func valueRange<S: Sequence>(_ values: S) -> ClosedRange<Float> where S.Element == Float {
    var low = Float.infinity, high = -Float.infinity
    for v in values where v.isFinite {
        low = min(low, v)
        high = max(high, v)
    }
    guard low <= high else { return 0...1 }
    return low...(high > low ? high : low + max(abs(low) * 1e-3, 1e-6))
}

/// The note a figure carries about its colour scale.
func scaleNote(_ mode: ScaleMode, range: ClosedRange<Float>, over what: String) -> String {
    switch mode {
    case .shared:
        return "colour scale shared across \(what): \(formatValue(range.lowerBound)) … \(formatValue(range.upperBound))"
    case .perMap:
        return "colour scale: this map's own min … max (--scale shared compares maps)"
    }
}

/// A count with its noun, pluralised: "1 image", "3 layers".
func counted(_ count: Int, _ noun: String) -> String { "\(count) \(noun)\(count == 1 ? "" : "s")" }

func formatValue(_ value: Float) -> String {
    abs(value) >= 100 ? String(format: "%.1f", value) : abs(value) >= 0.01 || value == 0
        ? String(format: "%.3f", value) : String(format: "%.3g", value)
}

/// The rectangle a figure panel outlines: the crop the encoder saw, when it saw only part of the image.
func cropBox(_ region: ImageRect, of image: Image) -> ImageRect? {
    region.coversWhole(width: image.width, height: image.height)
        ? nil : ImageRect(x: region.x, y: region.y, width: region.width, height: region.height)
}

/// A panel caption for an overlay on the original image: its size and the crop, when there is one.
func originalCaption(_ image: Image, region: ImageRect, policy: ResizePolicy) -> String {
    var caption = "original \(image.width)×\(image.height)"
    if case .centerCrop(let size, _) = policy, !region.coversWhole(width: image.width, height: image.height) {
        caption += String(format: ", red box: the %d×%d crop the model saw", size, size)
    }
    return caption
}
