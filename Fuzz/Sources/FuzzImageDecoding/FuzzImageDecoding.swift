import Foundation
import VitreousImage

/// One execution of the JPEG and WebP harnesses: the bytes decoded from memory as `ImageFile.read` decodes a
/// file's contents (the format told by content), once as torchvision reads it and once turned upright by its
/// EXIF orientation. The pixel limit is lowered so that one execution allocates at most a few tens of
/// megabytes: the limit check itself is the same code at any value.
public func fuzzImageDecoding(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    let bytes = Data(bytes: data, count: size)
    for upright in [false, true] {
        let options = ImageReadOptions(applyEXIFOrientation: upright, maximumPixels: 1 << 20)
        guard let image = try? ImageFile.decode(bytes, name: "fuzz", options: options) else { return 0 }
        precondition(image.width > 0 && image.height > 0 && image.width * image.height <= 1 << 20, "size")
        precondition(image.bytes.count == image.width * image.height * 3, "sample count")
    }
    return 0
}
