import CCairo
import Foundation
import VitreousImage

/// The file formats a figure can be written in: a raster PNG, or vector PDF and SVG for papers (images
/// inside stay at their own resolution; text and lines stay sharp).
public enum FigureFormat: String, Sendable, CaseIterable {
    /// Raster PNG, vector PDF, vector SVG.
    case png, pdf, svg

    /// The file extension, without the dot.
    public var fileExtension: String { rawValue }
}

/// What can go wrong drawing or writing a figure. Messages name the file and cairo's reason.
public enum FigureError: Error, Equatable, Sendable, CustomStringConvertible {
    /// cairo could not draw (a figure too large, a surface it could not make).
    case drawingFailed(String)
    /// The file could not be written (a missing folder, no permission, a full disk).
    case writeFailed(path: String, reason: String)

    /// One line naming the file, when there is one, and the reason.

    public var description: String {
        switch self {
        case .drawingFailed(let reason): return "cannot draw the figure: \(reason)"
        case .writeFailed(let path, let reason): return "\(path): cannot write the figure: \(reason)"
        }
    }
}

/// An RGB colour with components in 0…1.
public struct FigureColor: Sendable, Equatable {
    /// The components, each in 0…1.
    public var red: Double, green: Double, blue: Double

    /// A colour from its red, green and blue components.
    public init(_ red: Double, _ green: Double, _ blue: Double) {
        self.red = red
        self.green = green
        self.blue = blue
    }

    static let black = FigureColor(0, 0, 0)
    static let white = FigureColor(1, 1, 1)
    static let grey = FigureColor(0.35, 0.35, 0.35)
    static let lightGrey = FigureColor(0.85, 0.85, 0.85)
}

/// A cairo surface (an image in memory, or a PDF or SVG file) and its drawing context.
final class CairoCanvas {
    private let surface: OpaquePointer
    private let context: OpaquePointer
    let width: Int, height: Int
    private let path: String?

    /// A canvas of `width × height` points: in memory for PNG (and measuring), else the PDF or SVG file at `path`.
    init(width: Int, height: Int, format: FigureFormat = .png, path: String? = nil) throws {
        guard width > 0, height > 0, width * height <= PNG.maximumPixels else {
            throw FigureError.drawingFailed("a \(width)×\(height) figure is too large")
        }
        let created: OpaquePointer?
        switch (format, path) {
        case (.pdf, let path?): created = cairo_pdf_surface_create(path, Double(width), Double(height))
        case (.svg, let path?): created = cairo_svg_surface_create(path, Double(width), Double(height))
        default: created = cairo_image_surface_create(CAIRO_FORMAT_RGB24, Int32(width), Int32(height))
        }
        guard let created else { throw FigureError.drawingFailed("cairo made no surface") }
        let status = cairo_surface_status(created)
        guard status == CAIRO_STATUS_SUCCESS, let context = cairo_create(created) else {
            cairo_surface_destroy(created)
            let reason = String(cString: cairo_status_to_string(status))
            if let path { throw FigureError.writeFailed(path: path, reason: reason) }
            throw FigureError.drawingFailed(reason)
        }
        self.surface = created
        self.context = context
        self.width = width
        self.height = height
        self.path = format == .png ? nil : path
    }

    deinit {
        cairo_destroy(context)
        cairo_surface_destroy(surface)
    }

    func fill(_ rect: ImageRect, _ color: FigureColor) {
        setColor(color)
        cairo_rectangle(context, rect.x, rect.y, rect.width, rect.height)
        cairo_fill(context)
    }

    func stroke(_ rect: ImageRect, _ color: FigureColor, lineWidth: Double = 1) {
        setColor(color)
        cairo_set_line_width(context, lineWidth)
        cairo_rectangle(context, rect.x, rect.y, rect.width, rect.height)
        cairo_stroke(context)
    }

    /// A polyline through `points`; `dash` draws it dashed.
    func line(_ points: [(Double, Double)], _ color: FigureColor, lineWidth: Double = 1, dash: Bool = false) {
        guard let first = points.first else { return }
        setColor(color)
        cairo_set_line_width(context, lineWidth)
        var pattern: [Double] = dash ? [6, 4] : []
        cairo_set_dash(context, &pattern, Int32(pattern.count), 0)
        cairo_move_to(context, first.0, first.1)
        for point in points.dropFirst() { cairo_line_to(context, point.0, point.1) }
        cairo_stroke(context)
        cairo_set_dash(context, nil, 0, 0)
    }

    func circle(x: Double, y: Double, radius: Double, _ color: FigureColor) {
        setColor(color)
        cairo_new_sub_path(context)
        cairo_arc(context, x, y, radius, 0, 2 * Double.pi)
        cairo_fill(context)
    }

    enum Alignment { case left, center, right }

    /// The width of `text` at `size` points.
    func textWidth(_ text: String, size: Double, bold: Bool = false) -> Double {
        selectFont(size: size, bold: bold)
        var extents = cairo_text_extents_t()
        cairo_text_extents(context, text, &extents)
        return extents.x_advance
    }

    /// `text` with its baseline at `y`, aligned on `x`; `rotated` turns it a quarter left (reading upwards).
    func text(_ text: String, x: Double, y: Double, size: Double, bold: Bool = false,
              align: Alignment = .left, color: FigureColor = .black, rotated: Bool = false) {
        let width = textWidth(text, size: size, bold: bold)
        let shift = align == .left ? 0 : align == .center ? width / 2 : width
        setColor(color)
        cairo_save(context)
        cairo_translate(context, x, y)
        if rotated { cairo_rotate(context, -Double.pi / 2) }
        cairo_move_to(context, -shift, 0)
        cairo_show_text(context, text)
        cairo_restore(context)
    }

    /// `image` scaled into `rect`; `smooth` interpolates, otherwise each pixel stays a crisp block.
    func draw(_ image: Image, in rect: ImageRect, smooth: Bool) throws {
        let source = try Self.surface(of: image)
        defer { cairo_surface_destroy(source) }
        cairo_save(context)
        cairo_translate(context, rect.x, rect.y)
        cairo_scale(context, rect.width / Double(image.width), rect.height / Double(image.height))
        cairo_set_source_surface(context, source, 0, 0)
        cairo_pattern_set_filter(cairo_get_source(context), smooth ? CAIRO_FILTER_GOOD : CAIRO_FILTER_NEAREST)
        cairo_rectangle(context, 0, 0, Double(image.width), Double(image.height))
        cairo_fill(context)
        cairo_restore(context)
    }

    /// Ends drawing: the pixels for an in-memory canvas; for a PDF or SVG canvas the file is complete and
    /// nil is returned.
    func finish() throws -> Image? {
        guard path == nil else {
            cairo_surface_finish(surface)
            try check()
            return nil
        }
        try check()
        cairo_surface_flush(surface)
        guard let data = cairo_image_surface_get_data(surface) else { throw FigureError.drawingFailed("no pixels") }
        let stride = Int(cairo_image_surface_get_stride(surface))
        var pixels = [Float](repeating: 0, count: width * height * 3)
        data.withMemoryRebound(to: UInt8.self, capacity: stride * height) { bytes in
            for y in 0..<height {
                let row = UnsafeRawPointer(bytes + y * stride).assumingMemoryBound(to: UInt32.self)
                for x in 0..<width {
                    let value = row[x], target = (y * width + x) * 3
                    pixels[target] = Float((value >> 16) & 0xFF) / 255
                    pixels[target + 1] = Float((value >> 8) & 0xFF) / 255
                    pixels[target + 2] = Float(value & 0xFF) / 255
                }
            }
        }
        return try Image(width: width, height: height, channels: 3, pixels: pixels)
    }

    private func check() throws {
        let status = cairo_status(context) == CAIRO_STATUS_SUCCESS ? cairo_surface_status(surface) : cairo_status(context)
        guard status == CAIRO_STATUS_SUCCESS else {
            let reason = String(cString: cairo_status_to_string(status))
            if let path { throw FigureError.writeFailed(path: path, reason: reason) }
            throw FigureError.drawingFailed(reason)
        }
    }

    private func setColor(_ color: FigureColor) {
        cairo_set_source_rgb(context, color.red, color.green, color.blue)
    }

    private func selectFont(size: Double, bold: Bool) {
        cairo_select_font_face(context, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL,
                               bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL)
        cairo_set_font_size(context, size)
    }

    /// An RGB24 cairo image holding `image`'s pixels (8 bits per sample, as a PNG of it would).
    private static func surface(of image: Image) throws -> OpaquePointer {
        let rgb = image.rgb()
        guard let surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, Int32(rgb.width), Int32(rgb.height)),
              cairo_surface_status(surface) == CAIRO_STATUS_SUCCESS, let data = cairo_image_surface_get_data(surface)
        else { throw FigureError.drawingFailed("cannot hold a \(rgb.width)×\(rgb.height) image") }
        cairo_surface_flush(surface)
        let stride = Int(cairo_image_surface_get_stride(surface))
        let samples = rgb.eightBitSamples
        data.withMemoryRebound(to: UInt8.self, capacity: stride * rgb.height) { bytes in
            for y in 0..<rgb.height {
                let row = UnsafeMutableRawPointer(bytes + y * stride).assumingMemoryBound(to: UInt32.self)
                for x in 0..<rgb.width {
                    let s = (y * rgb.width + x) * 3
                    row[x] = UInt32(samples[s]) << 16 | UInt32(samples[s + 1]) << 8 | UInt32(samples[s + 2])
                }
            }
        }
        cairo_surface_mark_dirty(surface)
        return surface
    }
}

/// Something drawn on a canvas of a size it knows: the grid figures and the line plots.
protocol CanvasDrawing {
    /// The canvas size in points; `measure` is a scratch canvas for text widths.
    func size(measure: CairoCanvas) -> (width: Int, height: Int)
    func draw(on canvas: CairoCanvas) throws
}

extension CanvasDrawing {
    func renderImage() throws -> Image {
        let size = self.size(measure: try CairoCanvas(width: 1, height: 1))
        let canvas = try CairoCanvas(width: size.width, height: size.height)
        try draw(on: canvas)
        guard let image = try canvas.finish() else { throw FigureError.drawingFailed("no pixels") }
        return image
    }

    func writeFile(to path: String, format: FigureFormat) throws {
        if format == .png {
            do {
                try PNG.write(try renderImage(), to: path)
            } catch let error as ImageError {
                throw FigureError.writeFailed(path: path, reason: "\(error)")
            }
            return
        }
        let size = self.size(measure: try CairoCanvas(width: 1, height: 1))
        // cairo writes the file as it goes; a temporary name keeps a half-written figure from showing up.
        let temporary = path + ".partial"
        let canvas = try CairoCanvas(width: size.width, height: size.height, format: format, path: temporary)
        try draw(on: canvas)
        _ = try canvas.finish()
        do {
            if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
            try FileManager.default.moveItem(atPath: temporary, toPath: path)
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw FigureError.writeFailed(path: path, reason: error.localizedDescription)
        }
    }
}
