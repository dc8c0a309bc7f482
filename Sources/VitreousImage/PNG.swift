import CPNG
import CVitreousPNG
import Foundation

/// PNG files: read through libpng's low-level API (CVitreousPNG), as Pillow reads them; written through its
/// simplified `png_image` API.
public enum PNG {
    /// Images above this many pixels are refused instead of decoded (a 100-megapixel RGB image is
    /// already 1.2 GB of floats).
    public static let maximumPixels = 100_000_000

    // png.h builds these from flag macros, which Swift does not import.
    private static let formatRGB = UInt32(PNG_FORMAT_FLAG_COLOR)
    private static let formatRGBA = UInt32(PNG_FORMAT_FLAG_COLOR | PNG_FORMAT_FLAG_ALPHA)

    /// Reads any PNG — gray, gray+alpha, RGB, RGBA, palette, 8 or 16 bits — as an RGB image.
    ///
    /// The pixels are Pillow's `Image.open(f).convert("RGB")`, as ``decodeRGB8(_:name:maximumPixels:)``
    /// describes: alpha dropped without compositing, 16-bit samples cut to their high byte (16-bit gray
    /// clipped to 255), gamma and colour profiles ignored.
    public static func read(_ path: String) throws -> Image {
        guard FileManager.default.fileExists(atPath: path) else { throw ImageError.fileNotFound(path) }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ImageError.decodeFailed(path: path, reason: "cannot read the file (\(error.localizedDescription))")
        }
        return try decode(data, name: path)
    }

    /// Decodes PNG bytes (`name` is used in error messages).
    ///
    /// `maximumPixels` bounds the buffers allocated from the header's dimensions before any pixel data is
    /// checked: a few hundred bytes can claim a 100-megapixel image. Lower it when the bytes come from an
    /// untrusted source and the images are known to be small.
    public static func decode(_ data: Data, name: String = "image",
                              maximumPixels: Int = PNG.maximumPixels) throws -> Image {
        try decodeRGB8(data, name: name, maximumPixels: maximumPixels).image
    }

    /// Decodes PNG bytes to 8-bit RGB, the samples Pillow's `Image.open(f).convert("RGB")` gives.
    ///
    /// That is: 16-bit RGB, RGBA and gray+alpha samples keep their high byte, 16-bit gray is clipped to 255
    /// (Pillow opens it as mode `I;16`), palettes and 1, 2 and 4-bit gray are expanded, alpha and tRNS are
    /// dropped without compositing, and gamma (gAMA, sRGB, cHRM) and colour profiles (iCCP) are ignored.
    public static func decodeRGB8(_ data: Data, name: String = "image",
                                  maximumPixels: Int = PNG.maximumPixels) throws -> RGB8Image {
        let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        guard data.count >= 8, Array(data.prefix(8)) == signature else { throw ImageError.notPNG(name) }
        return try data.withUnsafeBytes { raw -> RGB8Image in
            let bytes = raw.bindMemory(to: UInt8.self)
            var message = [CChar](repeating: 0, count: 256)
            func failure() -> ImageError {
                let reason = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                return .decodeFailed(path: name, reason: reason.isEmpty ? "libpng reported an error" : reason)
            }
            var (w, h): (UInt32, UInt32) = (0, 0)
            guard vpng_size(bytes.baseAddress, bytes.count, &w, &h, &message, message.count) == 0 else {
                throw failure()
            }
            let (width, height) = (Int(w), Int(h))
            guard width > 0, height > 0 else {
                throw ImageError.decodeFailed(path: name, reason: "the image has no pixels")
            }
            guard width * height <= maximumPixels else {
                throw ImageError.tooLarge(path: name, width: width, height: height)
            }
            var rgb = [UInt8](repeating: 0, count: width * height * 3)
            let status = rgb.withUnsafeMutableBufferPointer { out in
                vpng_decode_rgb8(bytes.baseAddress, bytes.count, out.baseAddress, out.count,
                                 &message, message.count)
            }
            guard status == 0 else { throw failure() }
            return RGB8Image(unchecked: width, height, rgb)
        }
    }

    /// Writes an 8-bit gray, RGB or RGBA PNG (by the image's channel count). Samples are clamped to 0…1
    /// and rounded. The file appears whole or not at all: it is written under a temporary name in the
    /// same folder, then renamed.
    public static func write(_ image: Image, to path: String) throws {
        let formats: [Int: UInt32] = [1: 0, 3: formatRGB, 4: formatRGBA]
        guard let format = formats[image.channels] else {
            throw ImageError.writeFailed(path: path, reason: "\(image.channels) channels")
        }
        let bytes = image.eightBitSamples
        let url = URL(fileURLWithPath: path)
        let temporary = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp")
        var png = png_image()
        png.version = UInt32(PNG_IMAGE_VERSION)
        png.width = UInt32(image.width)
        png.height = UInt32(image.height)
        png.format = format
        let ok = bytes.withUnsafeBytes {
            png_image_write_to_file(&png, temporary.path, 0, $0.baseAddress, 0, nil)
        }
        guard ok != 0 else {
            let reason = message(of: &png)
            try? FileManager.default.removeItem(at: temporary)
            throw ImageError.writeFailed(path: path, reason: reason)
        }
        guard rename(temporary.path, url.path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: temporary)
            throw ImageError.writeFailed(path: path, reason: reason)
        }
    }

    private static func message(of image: inout png_image) -> String {
        let text = withUnsafeBytes(of: &image.message) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        return text.isEmpty ? "libpng reported an error" : text
    }
}
