/// An 8-bit RGB image as decoders produce it: `height × width × 3` bytes, row-major, top row first, the
/// layout of Pillow's `Image.convert("RGB")`. Resizing and cropping on it reproduce Pillow bit for bit
/// (see ``PillowResize``), which a float ``Image`` cannot.
public struct RGB8Image: Sendable, Equatable {
    /// Columns of pixels.
    public let width: Int
    /// Rows of pixels.
    public let height: Int
    /// `width · height · 3` samples.
    public var bytes: [UInt8]

    /// An image from its samples.
    /// - Throws: ``ImageError/invalidImage(_:)`` when the sizes and sample count disagree.
    public init(width: Int, height: Int, bytes: [UInt8]) throws {
        guard width > 0, height > 0, bytes.count == width * height * 3 else {
            throw ImageError.invalidImage("\(bytes.count) bytes for an RGB image of \(width)×\(height)")
        }
        self.init(unchecked: width, height, bytes)
    }

    init(unchecked width: Int, _ height: Int, _ bytes: [UInt8]) {
        self.width = width
        self.height = height
        self.bytes = bytes
    }

    /// The samples as floats in 0…1 (`byte / 255` in float32, as torchvision's `ToTensor`).
    public var image: Image { Image(unchecked: width, height, 3, bytes.map { Float($0) / 255 }) }

    /// The rectangle of `width × height` pixels whose top-left corner is (`x`, `y`) (Pillow's `crop`).
    public func cropped(x: Int, y: Int, width: Int, height: Int) throws -> RGB8Image {
        guard x >= 0, y >= 0, width > 0, height > 0, x + width <= self.width, y + height <= self.height else {
            throw ImageError.invalidImage("crop \(width)×\(height) at (\(x), \(y)) is outside \(self.width)×\(self.height)")
        }
        if x == 0, y == 0, width == self.width, height == self.height { return self }
        var out = [UInt8]()
        out.reserveCapacity(width * height * 3)
        for row in y..<(y + height) {
            let start = (row * self.width + x) * 3
            out += bytes[start..<(start + width * 3)]
        }
        return RGB8Image(unchecked: width, height, out)
    }
}

extension Image {
    /// The image as 8-bit RGB: gray repeated, alpha dropped, samples clamped to 0…1 and rounded. Exact for
    /// images that came from 8-bit files.
    public var rgb8: RGB8Image {
        let rgb = self.rgb()
        return RGB8Image(unchecked: width, height, rgb.eightBitSamples)
    }
}
