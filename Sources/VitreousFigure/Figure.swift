import Foundation
import VitreousImage

/// The colours a colour bar runs through, from its low end to its high end.
public enum ColorBarColors: Sendable, Equatable {
    /// A perceptual colour map (viridis).
    case map(ColorMap)
    /// Black to pure red, green or blue (`channel` 0, 1, 2): one channel of an RGB map such as PCA's.
    case channel(Int)

    /// The colour at `t` in 0…1.
    public func color(_ t: Float) -> FigureColor {
        switch self {
        case .map(let map):
            let (r, g, b) = map.color(t)
            return FigureColor(Double(r), Double(g), Double(b))
        case .channel(let channel):
            let v = Double(min(max(t.isNaN ? 0 : t, 0), 1))
            return FigureColor(channel == 0 ? v : 0, channel == 1 ? v : 0, channel == 2 ? v : 0)
        }
    }
}

/// A colour bar: the scale a map was drawn with, its numeric range and what the values are (quantity and unit).
public struct ColorBar: Sendable, Equatable {
    /// The colours from the low end to the high end.
    public var colors: ColorBarColors
    /// The values at the bar's low (bottom) and high (top) ends: the range the map's colours span.
    public var range: ClosedRange<Float>
    /// The quantity and its unit, written along the bar.
    public var label: String

    /// A colour bar over `range`, labelled `label`.
    public init(colors: ColorBarColors = .map(.viridis), range: ClosedRange<Float>, label: String) {
        self.colors = colors
        self.range = range
        self.label = label
    }
}

/// One image of a figure with its caption; `box` outlines a rectangle on it (in the image's pixels), such
/// as the crop the encoder saw.
public struct FigurePanel: Sendable {
    /// The picture, scaled to the figure's panel size.
    public var image: Image
    /// The text under the panel.
    public var caption: String
    /// Interpolate when scaling (photographs); false keeps each pixel a crisp block (patch-grid maps).
    public var smooth: Bool
    /// A rectangle to outline in red, in the image's pixels.
    public var box: ImageRect?

    /// A panel of `image` captioned `caption`.
    public init(image: Image, caption: String, smooth: Bool = true, box: ImageRect? = nil) {
        self.image = image
        self.caption = caption
        self.smooth = smooth
        self.box = box
    }
}

/// A labelled figure: a title, panels in a grid with their captions, colour bars with their ranges and
/// units on the right, and notes (such as how the colour scale was chosen) at the bottom. Written as PNG,
/// PDF or SVG through cairo.
public struct Figure: Sendable {
    /// The bold line at the top: what the figure shows (image, layer, head).
    public var title: String
    /// The images, row by row.
    public var panels: [FigurePanel]
    /// Panels per row.
    public var columns: Int
    /// The scales, right of the panels.
    public var colorBars: [ColorBar]
    /// Grey lines at the bottom (how the colour scale was chosen, what was fitted on what).
    public var notes: [String]
    /// The longest side a panel is shown at, in points.
    public var panelSize: Int

    /// A figure; `columns` defaults to all panels in one row.
    public init(title: String, panels: [FigurePanel], columns: Int? = nil, colorBars: [ColorBar] = [],
                notes: [String] = [], panelSize: Int = 320) {
        self.title = title
        self.panels = panels
        self.columns = max(1, columns ?? panels.count)
        self.colorBars = colorBars
        self.notes = notes
        self.panelSize = panelSize
    }

    /// Where everything goes, in points (pixels of the PNG): tests read the colour bars' pixels through it.
    public struct Layout: Sendable, Equatable {
        /// The figure's size.
        public var width: Int, height: Int
        /// Where each panel's image is drawn.
        public var panels: [ImageRect]
        /// The gradient of each colour bar: its top row has the colour of the range's upper bound, its bottom
        /// row that of the lower bound.
        public var colorBars: [ImageRect]
    }

    static let margin = 14.0, gap = 12.0, titleSize = 15.0, captionSize = 12.0, noteSize = 10.5
    static let barWidth = 16.0, tickSize = 10.5

    /// The layout of the figure.
    public func layout() throws -> Layout { layout(measure: try CairoCanvas(width: 1, height: 1)) }

    /// The figure as an RGB image (what the PNG holds).
    public func render() throws -> Image { try renderImage() }

    /// Writes the figure to `path` in `format`.
    public func write(to path: String, format: FigureFormat = .png) throws { try writeFile(to: path, format: format) }

    private func displaySize(_ image: Image) -> (Double, Double) {
        let scale = Double(panelSize) / Double(max(image.width, image.height))
        return ((Double(image.width) * scale).rounded(), (Double(image.height) * scale).rounded())
    }

    private func tickLabels(_ bar: ColorBar) -> [(value: Double, text: String)] {
        let low = Double(bar.range.lowerBound), high = Double(bar.range.upperBound)
        var labels = [(low, formatTick(low)), (high, formatTick(high))]
        for tick in niceTicks(low, high, count: 4) where abs(tick - low) > (high - low) * 0.12
            && abs(high - tick) > (high - low) * 0.12 {
            labels.append((tick, formatTick(tick)))
        }
        return labels
    }

    func layout(measure: CairoCanvas) -> Layout {
        let m = Self.margin, gap = Self.gap
        let sizes = panels.map { displaySize($0.image) }
        let cellWidth = sizes.map(\.0).max() ?? Double(panelSize), cellHeight = sizes.map(\.1).max() ?? Double(panelSize)
        let columns = min(self.columns, max(panels.count, 1))
        let rows = (panels.count + columns - 1) / columns
        let captionHeight = panels.contains { !$0.caption.isEmpty } ? Self.captionSize + 10 : 0
        let top = m + (title.isEmpty ? 0 : Self.titleSize + 12)
        var rects: [ImageRect] = []
        for (index, size) in sizes.enumerated() {
            let column = Double(index % columns), row = Double(index / columns)
            let x = m + column * (cellWidth + gap) + ((cellWidth - size.0) / 2).rounded()
            let y = top + row * (cellHeight + captionHeight + gap) + ((cellHeight - size.1) / 2).rounded()
            rects.append(ImageRect(x: x, y: y, width: size.0, height: size.1))
        }
        let areaWidth = Double(columns) * cellWidth + Double(columns - 1) * gap
        let areaHeight = Double(rows) * (cellHeight + captionHeight) + Double(max(rows - 1, 0)) * gap
        var x = m + areaWidth + gap * 1.5
        var bars: [ImageRect] = []
        let barHeight = max(120, areaHeight - captionHeight).rounded()
        for bar in colorBars {
            bars.append(ImageRect(x: x.rounded(), y: top, width: Self.barWidth, height: barHeight))
            let widest = tickLabels(bar).map { measure.textWidth($0.text, size: Self.tickSize) }.max() ?? 0
            x += Self.barWidth + 6 + widest + 6 + Self.captionSize + 6 + gap
        }
        let notesHeight = Double(notes.count) * (Self.noteSize + 5)
        let contentWidth = colorBars.isEmpty ? m + areaWidth : x - gap
        let titleWidth = measure.textWidth(title, size: Self.titleSize, bold: true) + 2 * m
        let noteWidth = (notes.map { measure.textWidth($0, size: Self.noteSize) }.max() ?? 0) + 2 * m
        let width = max(contentWidth + m, titleWidth, noteWidth)
        let height = top + max(areaHeight, barHeight) + (notes.isEmpty ? 0 : 8 + notesHeight) + m
        return Layout(width: Int(width.rounded(.up)), height: Int(height.rounded(.up)), panels: rects, colorBars: bars)
    }
}

extension Figure: CanvasDrawing {
    func size(measure: CairoCanvas) -> (width: Int, height: Int) {
        let layout = layout(measure: measure)
        return (layout.width, layout.height)
    }

    func draw(on canvas: CairoCanvas) throws {
        let layout = layout(measure: canvas)
        canvas.fill(ImageRect(x: 0, y: 0, width: Double(layout.width), height: Double(layout.height)), .white)
        if !title.isEmpty {
            canvas.text(title, x: Self.margin, y: Self.margin + Self.titleSize, size: Self.titleSize, bold: true)
        }
        for (panel, rect) in zip(panels, layout.panels) {
            try canvas.draw(panel.image, in: rect, smooth: panel.smooth)
            if let box = panel.box {
                let sx = rect.width / Double(panel.image.width), sy = rect.height / Double(panel.image.height)
                canvas.stroke(ImageRect(x: rect.x + box.x * sx, y: rect.y + box.y * sy,
                                         width: box.width * sx, height: box.height * sy),
                              FigureColor(1, 0.15, 0.1), lineWidth: 2)
            }
            canvas.text(panel.caption, x: rect.x + rect.width / 2, y: rect.y + rect.height + Self.captionSize + 4,
                        size: Self.captionSize, align: .center)
        }
        for (bar, rect) in zip(colorBars, layout.colorBars) { try drawBar(bar, in: rect, on: canvas) }
        var y = Double(layout.height) - Self.margin - Double(notes.count - 1) * (Self.noteSize + 5)
        for note in notes {
            canvas.text(note, x: Self.margin, y: y, size: Self.noteSize, color: .grey)
            y += Self.noteSize + 5
        }
    }

    private func drawBar(_ bar: ColorBar, in rect: ImageRect, on canvas: CairoCanvas) throws {
        let rows = Int(rect.height)
        var pixels: [Float] = []
        for row in 0..<rows {
            let color = bar.colors.color(Float(rows - 1 - row) / Float(max(rows - 1, 1)))
            pixels += [Float(color.red), Float(color.green), Float(color.blue)]
        }
        try canvas.draw(try Image(width: 1, height: rows, channels: 3, pixels: pixels), in: rect, smooth: false)
        canvas.stroke(ImageRect(x: rect.x - 0.5, y: rect.y - 0.5, width: rect.width + 1, height: rect.height + 1),
                      .grey)
        let low = Double(bar.range.lowerBound), high = Double(bar.range.upperBound)
        let span = high > low ? high - low : 1
        var widest = 0.0
        for label in tickLabels(bar) {
            let y = rect.y + rect.height - 1 - (label.value - low) / span * (rect.height - 1)
            canvas.line([(rect.x + rect.width, y), (rect.x + rect.width + 4, y)], .black)
            canvas.text(label.text, x: rect.x + rect.width + 6, y: y + Self.tickSize * 0.35, size: Self.tickSize)
            widest = max(widest, canvas.textWidth(label.text, size: Self.tickSize))
        }
        canvas.text(bar.label, x: rect.x + rect.width + 6 + widest + 6 + Self.captionSize, y: rect.y + rect.height / 2,
                    size: Self.captionSize, align: .center, rotated: true)
    }
}

/// About `count` round tick values (1, 2 or 5 times a power of ten apart) inside low…high.
func niceTicks(_ low: Double, _ high: Double, count: Int) -> [Double] {
    guard high > low, low.isFinite, high.isFinite, count > 0 else { return [] }
    let raw = (high - low) / Double(count)
    let power = pow(10, (log10(raw)).rounded(.down))
    let step = [1.0, 2, 5, 10].map { $0 * power }.first { $0 >= raw } ?? 10 * power
    var ticks: [Double] = []
    var tick = (low / step).rounded(.up) * step
    while tick <= high + step * 1e-9 {
        ticks.append(abs(tick) < step * 1e-9 ? 0 : tick)
        tick += step
    }
    return ticks
}

/// A tick value with up to four significant digits and no trailing zeros.
func formatTick(_ value: Double) -> String {
    if value != 0 && (abs(value) >= 1e5 || abs(value) < 1e-3) { return String(format: "%.3g", value) }
    var text = String(format: abs(value) >= 100 ? "%.1f" : abs(value) >= 1 ? "%.3f" : "%.4f", value)
    if text.contains(".") {
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
    }
    return text == "-0" ? "0" : text
}
