import CTurboJPEG
import Foundation

/// JPEG files through libjpeg-turbo's TurboJPEG API, decoded as Pillow decodes them: accurate integer IDCT
/// (ISLOW), fancy upsampling, gray repeated into RGB, CMYK and YCCK inverted (Adobe's convention, which
/// Pillow assumes) and converted with Pillow's `cmyk2rgb`.
public enum JPEG {
    /// A TurboJPEG decompressor, destroyed with its owner.
    final class Decompressor {
        let handle: tjhandle

        init(name: String) throws {
            guard let handle = tjInitDecompress() else {
                throw ImageError.corrupt(path: name, format: "JPEG", reason: "cannot start libjpeg-turbo")
            }
            self.handle = handle
        }

        deinit { tjDestroy(handle) }

        var message: String {
            guard let text = tjGetErrorStr2(handle) else { return "libjpeg-turbo reported an error" }
            return String(cString: text)
        }

        /// Warnings libjpeg recovers from (stray bytes between markers) decode as Pillow decodes them;
        /// a truncated file is an error, as Pillow's "image file is truncated".
        var failed: Bool {
            tjGetErrorCode(handle) != Int32(TJERR_WARNING.rawValue) || message.contains("Premature end")
        }
    }

    /// Decodes JPEG bytes; refuses images above `maximumPixels` from the header, before decoding.
    public static func decode(_ data: Data, name: String = "image",
                              maximumPixels: Int = PNG.maximumPixels) throws -> RGB8Image {
        let decompressor = try Decompressor(name: name)
        func fail(_ reason: String) -> ImageError { .corrupt(path: name, format: "JPEG", reason: reason) }
        return try data.withUnsafeBytes { raw -> RGB8Image in
            guard let base = raw.bindMemory(to: UInt8.self).baseAddress, raw.count <= Int(UInt32.max) else {
                throw fail("the file is too large")
            }
            var width: Int32 = 0, height: Int32 = 0, subsampling: Int32 = 0, colorspace: Int32 = 0
            guard tjDecompressHeader3(decompressor.handle, base, UInt(raw.count), &width, &height,
                                      &subsampling, &colorspace) == 0 else {
                throw fail(decompressor.message)
            }
            guard width > 0, height > 0 else { throw fail("the image has no pixels") }
            guard Int(width) * Int(height) <= maximumPixels else {
                throw ImageError.tooLarge(path: name, width: Int(width), height: Int(height))
            }
            let pixels = Int(width) * Int(height)
            let cmyk = colorspace == Int32(TJCS_CMYK.rawValue) || colorspace == Int32(TJCS_YCCK.rawValue)
            let gray = colorspace == Int32(TJCS_GRAY.rawValue)
            let format = cmyk ? TJPF_CMYK : gray ? TJPF_GRAY : TJPF_RGB
            let channels = cmyk ? 4 : gray ? 1 : 3
            var decoded = [UInt8](repeating: 0, count: pixels * channels)
            let status = decoded.withUnsafeMutableBufferPointer {
                tjDecompress2(decompressor.handle, base, UInt(raw.count), $0.baseAddress, width, 0, height,
                              Int32(format.rawValue), TJFLAG_ACCURATEDCT)
            }
            if status != 0 && decompressor.failed { throw fail(decompressor.message) }
            if channels == 3 { return RGB8Image(unchecked: Int(width), Int(height), decoded) }
            var rgb = [UInt8](repeating: 0, count: pixels * 3)
            for p in 0..<pixels {
                if gray {
                    rgb[p * 3] = decoded[p]; rgb[p * 3 + 1] = decoded[p]; rgb[p * 3 + 2] = decoded[p]
                } else {
                    // Pillow reads Adobe CMYK as "CMYK;I" (inverted), then cmyk2rgb: n·(1 − c) in 8 bits.
                    let inverseK = Int(decoded[p * 4 + 3])  // 255 − (255 − k)
                    for c in 0..<3 {
                        let ink = 255 - Int(decoded[p * 4 + c])
                        let product = ink * inverseK + 128
                        rgb[p * 3 + c] = UInt8(clamping: inverseK - (((product >> 8) + product) >> 8))
                    }
                }
            }
            return RGB8Image(unchecked: Int(width), Int(height), rgb)
        }
    }
}
