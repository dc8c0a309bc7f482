import CWebP
import Foundation

/// WebP files (lossy and lossless, with or without alpha, still or animated) through libwebp, with its
/// default fancy upsampling as Pillow uses it. Alpha is dropped without compositing, as `convert("RGB")`
/// does. An animated file gives its first frame on the canvas, as Pillow's `Image.open` does.
public enum WebP {
    /// Decodes WebP bytes; refuses images above `maximumPixels` from the header, before decoding.
    public static func decode(_ data: Data, name: String = "image",
                              maximumPixels: Int = PNG.maximumPixels) throws -> RGB8Image {
        func fail(_ reason: String) -> ImageError { .corrupt(path: name, format: "WebP", reason: reason) }
        return try data.withUnsafeBytes { raw -> RGB8Image in
            guard let base = raw.bindMemory(to: UInt8.self).baseAddress else { throw fail("the file is empty") }
            var features = WebPBitstreamFeatures()
            let status = WebPGetFeatures(base, raw.count, &features)
            guard status == VP8_STATUS_OK else { throw fail(describe(status)) }
            if features.has_animation != 0 {
                return try firstFrame(base, raw.count, name: name, maximumPixels: maximumPixels)
            }
            let (width, height) = (Int(features.width), Int(features.height))
            guard width > 0, height > 0 else { throw fail("the image has no pixels") }
            guard width * height <= maximumPixels else {
                throw ImageError.tooLarge(path: name, width: width, height: height)
            }
            var rgba = [UInt8](repeating: 0, count: width * height * 4)
            // RGBA, as Pillow's decoder asks for, then the alpha dropped: the colour samples are libwebp's.
            let decoded = rgba.withUnsafeMutableBufferPointer {
                WebPDecodeRGBAInto(base, raw.count, $0.baseAddress, $0.count, Int32(width * 4))
            }
            guard decoded != nil else { throw fail("the image data is corrupt or truncated") }
            return rgba.withUnsafeBufferPointer { dropAlpha($0, width, height) }
        }
    }

    /// Frame 0 of an animated WebP composited on its canvas by libwebpdemux's animation decoder (the decoder
    /// Pillow reads every WebP with), RGBA with the alpha then dropped.
    private static func firstFrame(_ base: UnsafePointer<UInt8>, _ count: Int, name: String,
                                   maximumPixels: Int) throws -> RGB8Image {
        func fail(_ reason: String) -> ImageError { .corrupt(path: name, format: "WebP", reason: reason) }
        var options = WebPAnimDecoderOptions()
        guard WebPAnimDecoderOptionsInit(&options) != 0 else { throw fail("libwebpdemux version mismatch") }
        options.color_mode = MODE_RGBA
        options.use_threads = 0
        var data = WebPData(bytes: base, size: count)
        guard let decoder = WebPAnimDecoderNew(&data, &options) else {
            throw fail("the animation is corrupt or truncated")
        }
        defer { WebPAnimDecoderDelete(decoder) }
        var info = WebPAnimInfo()
        guard WebPAnimDecoderGetInfo(decoder, &info) != 0 else { throw fail("the animation header is corrupt") }
        let (width, height) = (Int(info.canvas_width), Int(info.canvas_height))
        guard width > 0, height > 0, info.frame_count > 0 else { throw fail("the animation has no frames") }
        guard width * height <= maximumPixels else {
            throw ImageError.tooLarge(path: name, width: width, height: height)
        }
        var frame: UnsafeMutablePointer<UInt8>?
        var timestamp: Int32 = 0
        guard WebPAnimDecoderGetNext(decoder, &frame, &timestamp) != 0, let rgba = frame else {
            throw fail("the first frame is corrupt or truncated")
        }
        return dropAlpha(UnsafeBufferPointer(start: rgba, count: width * height * 4), width, height)
    }

    /// The RGB samples of `width × height` RGBA pixels (alpha dropped, not composited).
    private static func dropAlpha(_ rgba: UnsafeBufferPointer<UInt8>, _ width: Int, _ height: Int) -> RGB8Image {
        var rgb = [UInt8](repeating: 0, count: width * height * 3)
        for p in 0..<(width * height) {
            rgb[p * 3] = rgba[p * 4]; rgb[p * 3 + 1] = rgba[p * 4 + 1]; rgb[p * 3 + 2] = rgba[p * 4 + 2]
        }
        return RGB8Image(unchecked: width, height, rgb)
    }

    private static func describe(_ status: VP8StatusCode) -> String {
        switch status {
        case VP8_STATUS_NOT_ENOUGH_DATA: return "the file is truncated"
        case VP8_STATUS_UNSUPPORTED_FEATURE: return "the file uses an unsupported WebP feature"
        case VP8_STATUS_OUT_OF_MEMORY: return "out of memory"
        default: return "the header is corrupt"
        }
    }
}
