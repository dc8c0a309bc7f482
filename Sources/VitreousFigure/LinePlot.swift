import Foundation
import VitreousImage

/// A line chart with labelled axes, ticks, a legend and notes: the per-layer summaries (for instance the
/// maximum and median patch-token norm against depth, the figure of "Vision Transformers Need Registers").
public struct LinePlot: Sendable {
    /// One line: a value per x position (NaN leaves a gap).
    public struct Series: Sendable {
        /// The legend's text for the line.
        public var name: String
        /// One value per entry of the plot's ``LinePlot/x``.
        public var values: [Double]
        /// The line's colour (``LinePlot/palette`` has distinguishable ones).
        public var color: FigureColor
        /// Draw the line dashed, for a second reading in black and white.
        public var dashed: Bool

        /// A line named `name` through `values`.
        public init(name: String, values: [Double], color: FigureColor, dashed: Bool = false) {
            self.name = name
            self.values = values
            self.color = color
            self.dashed = dashed
        }
    }

    /// The bold line at the top.
    public var title: String
    /// The axes' labels: quantity and unit.
    public var xLabel: String, yLabel: String
    /// The x positions the series' values belong to.
    public var x: [Double]
    /// The lines, drawn in order and listed in the legend.
    public var series: [Series]
    /// A logarithmic y axis (values must be positive).
    public var logarithmicY: Bool
    /// Grey lines at the bottom.
    public var notes: [String]
    /// The plot's size in points.
    public var width: Int, height: Int

    /// A plot of `series` over `x`.
    public init(title: String, xLabel: String, yLabel: String, x: [Double], series: [Series],
                logarithmicY: Bool = false, notes: [String] = [], width: Int = 640, height: Int = 400) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.x = x
        self.series = series
        self.logarithmicY = logarithmicY
        self.notes = notes
        self.width = width
        self.height = height
    }

    /// Colours for lines, distinguishable by colour-blind readers (Okabe and Ito).
    public static let palette = [FigureColor(0, 0.447, 0.698), FigureColor(0.835, 0.369, 0),
                                 FigureColor(0, 0.620, 0.451), FigureColor(0.8, 0.475, 0.655)]

    /// The plot area in points, and the y range it spans (in data units).
    public func plotArea() -> (rect: ImageRect, yRange: ClosedRange<Double>) {
        let left = 74.0, right = 20.0, top = title.isEmpty ? 20.0 : 44.0
        let bottom = 52.0 + Double(notes.count) * 15
        let rect = ImageRect(x: left, y: top, width: Double(width) - left - right,
                              height: Double(height) - top - bottom)
        let values = series.flatMap(\.values).filter { $0.isFinite && (!logarithmicY || $0 > 0) }
        var low = values.min() ?? 0, high = values.max() ?? 1
        if logarithmicY {
            (low, high) = (log10(low), log10(high))
            if high - low < 0.5 { (low, high) = (low - 0.25, high + 0.25) }
            return (rect, low.rounded(.down)...max(high.rounded(.up), low.rounded(.down) + 1))
        }
        low = min(low, 0)
        if high <= low { high = low + 1 }
        return (rect, low...(high + (high - low) * 0.05))
    }

    /// The plot as an RGB image (what the PNG holds).
    public func render() throws -> Image { try renderImage() }

    /// Writes the plot to `path` in `format`.
    public func write(to path: String, format: FigureFormat = .png) throws { try writeFile(to: path, format: format) }
}

extension LinePlot: CanvasDrawing {
    func size(measure: CairoCanvas) -> (width: Int, height: Int) { (width, height) }

    func draw(on canvas: CairoCanvas) throws {
        canvas.fill(ImageRect(x: 0, y: 0, width: Double(width), height: Double(height)), .white)
        let (area, yRange) = plotArea()
        // A little room at both ends, so the first and last points are not drawn on the frame; a single x in the middle.
        let first = x.min() ?? 0, last = x.max() ?? 1
        let pad = last > first ? (last - first) * 0.03 : 0.5
        let xLow = first - pad, xHigh = last + pad
        func px(_ value: Double) -> Double { area.x + (value - xLow) / (xHigh - xLow) * area.width }
        func py(_ value: Double) -> Double {
            let v = logarithmicY ? log10(value) : value
            return area.y + area.height - (v - yRange.lowerBound) / (yRange.upperBound - yRange.lowerBound) * area.height
        }
        if !title.isEmpty { canvas.text(title, x: 14, y: 26, size: 15, bold: true) }
        // Grid and y ticks.
        let yTicks: [Double] = logarithmicY
            ? Array(Int(yRange.lowerBound)...Int(yRange.upperBound)).map { pow(10, Double($0)) }
            : niceTicks(yRange.lowerBound, yRange.upperBound, count: 5)
        for tick in yTicks {
            let y = py(tick)
            canvas.line([(area.x, y), (area.x + area.width, y)], .lightGrey)
            canvas.text(formatTick(tick), x: area.x - 6, y: y + 4, size: 10.5, align: .right)
        }
        let xTicks = x.count <= 16 ? x : niceTicks(first, last, count: 8)
        for tick in xTicks {
            let xp = px(tick)
            canvas.line([(xp, area.y + area.height), (xp, area.y + area.height + 4)], .black)
            canvas.text(formatTick(tick), x: xp, y: area.y + area.height + 16, size: 10.5, align: .center)
        }
        canvas.stroke(area, .black)
        canvas.text(xLabel, x: area.x + area.width / 2, y: area.y + area.height + 34, size: 12, align: .center)
        canvas.text(yLabel, x: 20, y: area.y + area.height / 2, size: 12, align: .center, rotated: true)
        // Lines, with a dot per value so single points show.
        for line in series {
            var run: [(Double, Double)] = []
            for (xv, yv) in zip(x, line.values) {
                guard yv.isFinite, !logarithmicY || yv > 0 else {
                    canvas.line(run, line.color, lineWidth: 2, dash: line.dashed)
                    run = []
                    continue
                }
                run.append((px(xv), py(yv)))
                canvas.circle(x: px(xv), y: py(yv), radius: 2.5, line.color)
            }
            canvas.line(run, line.color, lineWidth: 2, dash: line.dashed)
        }
        // Legend, top left inside the plot.
        var ly = area.y + 16
        for line in series {
            canvas.line([(area.x + 10, ly - 4), (area.x + 34, ly - 4)], line.color, lineWidth: 2, dash: line.dashed)
            canvas.text(line.name, x: area.x + 40, y: ly, size: 11)
            ly += 16
        }
        var ny = Double(height) - 14 - Double(notes.count - 1) * 15
        for note in notes {
            canvas.text(note, x: 14, y: ny, size: 10.5, color: .grey)
            ny += 15
        }
    }
}
