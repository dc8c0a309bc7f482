/// A decoded image: `height × width` pixels of `channels` float samples in 0…1, row-major, channels
/// innermost (HWC), top row first. Colour samples are sRGB-encoded, as in the file.
public struct Image: Sendable, Equatable {
    /// Columns of pixels.
    public let width: Int
    /// Rows of pixels.
    public let height: Int
    /// 1 (gray), 3 (RGB) or 4 (RGBA).
    public let channels: Int
    /// `height · width · channels` samples, HWC.
    public var pixels: [Float]

    /// An image from its samples.
    /// - Throws: ``ImageError/invalidImage(_:)`` when the sizes and sample count disagree.
    public init(width: Int, height: Int, channels: Int, pixels: [Float]) throws {
        guard width > 0, height > 0, [1, 3, 4].contains(channels) else {
            throw ImageError.invalidImage("\(width)×\(height) with \(channels) channels is not an image")
        }
        guard pixels.count == width * height * channels else {
            throw ImageError.invalidImage("\(pixels.count) samples for \(width)×\(height)×\(channels)")
        }
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    /// A solid image.
    public static func filled(width: Int, height: Int, color: [Float]) throws -> Image {
        try Image(width: width, height: height, channels: color.count,
                  pixels: (0..<(width * height)).flatMap { _ in color })
    }

    /// The sample of channel `c` at column `x`, row `y`.
    public subscript(x: Int, y: Int, c: Int) -> Float {
        get { pixels[(y * width + x) * channels + c] }
        set { pixels[(y * width + x) * channels + c] = newValue }
    }

    /// The samples as 8-bit values, clamped to 0…1 and rounded: what an 8-bit PNG of the image holds.
    public var eightBitSamples: [UInt8] { pixels.map { UInt8((min(max($0, 0), 1) * 255).rounded()) } }

    /// The same image as RGB: gray is repeated, alpha is dropped (as PIL's `convert("RGB")`).
    public func rgb() -> Image {
        if channels == 3 { return self }
        var out = [Float](repeating: 0, count: width * height * 3)
        for p in 0..<(width * height) {
            for c in 0..<3 { out[p * 3 + c] = pixels[p * channels + (channels == 1 ? 0 : c)] }
        }
        return Image(unchecked: width, height, 3, out)
    }

    /// The rectangle of `width × height` pixels whose top-left corner is (`x`, `y`).
    public func cropped(x: Int, y: Int, width: Int, height: Int) throws -> Image {
        guard x >= 0, y >= 0, width > 0, height > 0, x + width <= self.width, y + height <= self.height else {
            throw ImageError.invalidImage("crop \(width)×\(height) at (\(x), \(y)) is outside \(self.width)×\(self.height)")
        }
        var out: [Float] = []
        out.reserveCapacity(width * height * channels)
        for row in y..<(y + height) {
            let start = (row * self.width + x) * channels
            out += pixels[start..<(start + width * channels)]
        }
        return Image(unchecked: width, height, channels, out)
    }

    init(unchecked width: Int, _ height: Int, _ channels: Int, _ pixels: [Float]) {
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }
}

/// What can go wrong reading, writing or transforming images. Messages name the file and the problem.
public enum ImageError: Error, Equatable, Sendable, CustomStringConvertible {
    /// No file at the path.
    case fileNotFound(String)
    /// A PNG was asked for and the file is not one.
    case notPNG(String)
    /// The decoder rejected the file's content.
    case decodeFailed(path: String, reason: String)
    /// The file could not be written.
    case writeFailed(path: String, reason: String)
    /// The header claims more pixels than ``ImageReadOptions/maximumPixels``.
    case tooLarge(path: String, width: Int, height: Int)
    /// Sizes and samples of an image disagree.
    case invalidImage(String)
    /// A resize or crop size that cannot be used (zero, negative or too large).
    case invalidSize(String)
    /// The file is empty or in no format Vitreous reads (told by its content, not its name).
    case unknownFormat(path: String, reason: String)
    /// A JPEG or WebP file that its decoder rejects.
    case corrupt(path: String, format: String, reason: String)
    /// The file exists but cannot be read.
    case unreadable(path: String, reason: String)

    public var description: String {
        switch self {
        case .fileNotFound(let path): return "\(path): no such file"
        case .notPNG(let path): return "\(path): not a PNG file"
        case .decodeFailed(let path, let reason): return "\(path): cannot decode PNG: \(reason)"
        case .writeFailed(let path, let reason): return "\(path): cannot write PNG: \(reason)"
        case .tooLarge(let path, let width, let height):
            return "\(path): \(width)×\(height) is larger than the \(PNG.maximumPixels / 1_000_000) megapixels Vitreous reads"
        case .invalidImage(let message): return "invalid image: \(message)"
        case .invalidSize(let message): return "invalid size: \(message)"
        case .unknownFormat(let path, let reason): return "\(path): \(reason)"
        case .corrupt(let path, let format, let reason): return "\(path): cannot decode \(format): \(reason)"
        case .unreadable(let path, let reason): return "\(path): cannot read the file (\(reason))"
        }
    }
}
