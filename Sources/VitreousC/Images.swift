import Foundation
import VitreousImage

// Image files decoded as the CLI decodes them (PNG, JPEG, WebP; Pillow's `convert("RGB")` pixels). See
// include/vitreous.h for the contract of each function.

/// What an image handle stands for: decoded 8-bit RGB pixels.
final class ImageObject: Sendable {
    let image: RGB8Image
    init(_ image: RGB8Image) { self.image = image }
}

/// The `VITREOUS_IMAGE_*` flags of the loading calls.
func readOptions(_ flags: UInt32, _ function: String) throws -> ImageReadOptions {
    guard flags & ~1 == 0 else {
        throw CAPIError(.invalidArgument, "\(function): unknown flag bits 0x\(String(flags & ~1, radix: 16))")
    }
    return ImageReadOptions(applyEXIFOrientation: flags & 1 != 0)
}

/// The status an image that cannot be read maps to: a missing or unreadable file is IO, the rest IMAGE.
func imageError(_ error: any Error) -> any Error {
    switch error {
    case ImageError.fileNotFound, ImageError.unreadable: return CAPIError(.io, "\(error)")
    default: return error
    }
}

/// `vitreous_status vitreous_image_load(const char *path, uint32_t flags, vitreous_image **image)`.
@_cdecl("vitreous_image_load")
public func vitreous_image_load(_ path: UnsafePointer<CChar>?, _ flags: UInt32,
                                _ image: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    let function = "vitreous_image_load"
    image?.pointee = nil
    return entry(function) {
        let path = String(cString: try required(path, function, "path"))
        let image = try required(image, function, "image")
        let options = try readOptions(flags, function)
        guard !path.isEmpty else { throw CAPIError(.invalidArgument, "\(function): path is empty") }
        do {
            image.pointee = HandleRegistry.shared.insert(ImageObject(try ImageFile.read(path, options: options)))
        } catch {
            throw imageError(error)
        }
    }
}

/// `vitreous_status vitreous_image_decode(const void *data, size_t size, uint32_t flags, vitreous_image **image)`.
@_cdecl("vitreous_image_decode")
public func vitreous_image_decode(_ data: UnsafeRawPointer?, _ size: Int, _ flags: UInt32,
                                  _ image: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    let function = "vitreous_image_decode"
    image?.pointee = nil
    return entry(function) {
        let data = try required(data, function, "data")
        let image = try required(image, function, "image")
        let options = try readOptions(flags, function)
        try checkCapacity(size, needed: 1, function, "data (bytes)")
        let bytes = Data(bytes: data, count: size)
        image.pointee = HandleRegistry.shared.insert(ImageObject(try ImageFile.decode(bytes, name: "image in memory",
                                                                                      options: options)))
    }
}

/// `vitreous_status vitreous_image_get_size(const vitreous_image *, int32_t *width, int32_t *height)`.
@_cdecl("vitreous_image_get_size")
public func vitreous_image_get_size(_ image: OpaquePointer?, _ width: UnsafeMutablePointer<Int32>?,
                                    _ height: UnsafeMutablePointer<Int32>?) -> Int32 {
    let function = "vitreous_image_get_size"
    return entry(function) {
        let object: ImageObject = try HandleRegistry.shared.object(image, "image", function)
        let width = try required(width, function, "width")
        let height = try required(height, function, "height")
        (width.pointee, height.pointee) = (Int32(object.image.width), Int32(object.image.height))
    }
}

/// `vitreous_status vitreous_image_pixels(const vitreous_image *, uint8_t *pixels, size_t capacity)`.
@_cdecl("vitreous_image_pixels")
public func vitreous_image_pixels(_ image: OpaquePointer?, _ pixels: UnsafeMutablePointer<UInt8>?,
                                  _ capacity: Int) -> Int32 {
    let function = "vitreous_image_pixels"
    return entry(function) {
        let object: ImageObject = try HandleRegistry.shared.object(image, "image", function)
        try copyOut(object.image.bytes, to: pixels, count: capacity, function, "pixels")
    }
}

/// `vitreous_status vitreous_image_free(vitreous_image *image)`.
@_cdecl("vitreous_image_free")
public func vitreous_image_free(_ image: OpaquePointer?) -> Int32 {
    entry("vitreous_image_free") {
        guard image != nil else { return }  // free(NULL) is a no-op, as in C
        try HandleRegistry.shared.remove(image, kind: "image", "vitreous_image_free")
    }
}
