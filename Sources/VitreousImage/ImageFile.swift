import Foundation

/// The image formats Vitreous reads, told apart by their first bytes (never by the file's extension).
public enum ImageFormat: String, Sendable, CaseIterable {
    /// PNG, through libpng.
    case png = "PNG"
    /// JPEG, through libjpeg-turbo.
    case jpeg = "JPEG"
    /// WebP, lossy or lossless, through libwebp.
    case webp = "WebP"

    /// The format whose signature `bytes` starts with, or nil.
    public init?(signature bytes: some Collection<UInt8>) {
        let head = Array(bytes.prefix(16))
        if head.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) {
            self = .png
        } else if head.starts(with: [0xFF, 0xD8, 0xFF]) {
            self = .jpeg
        } else if head.count >= 12, head[0..<4].elementsEqual("RIFF".utf8), head[8..<12].elementsEqual("WEBP".utf8) {
            self = .webp
        } else {
            return nil
        }
    }
}

/// Options for reading images from files.
public struct ImageReadOptions: Sendable, Equatable {
    /// Apply the EXIF orientation tag (as Pillow's `ImageOps.exif_transpose`). Off by default because
    /// torchvision's and transformers' loaders (`Image.open(f).convert("RGB")`) do not apply it.
    public var applyEXIFOrientation: Bool
    /// Images whose header claims more pixels are refused before any pixel is decoded.
    public var maximumPixels: Int

    /// Options with the defaults: no EXIF rotation, at most `PNG.maximumPixels` pixels.
    public init(applyEXIFOrientation: Bool = false, maximumPixels: Int = PNG.maximumPixels) {
        self.applyEXIFOrientation = applyEXIFOrientation
        self.maximumPixels = maximumPixels
    }
}

/// Reads PNG, JPEG and WebP files as 8-bit RGB, the pixels Pillow's `Image.open(f).convert("RGB")` gives.
public enum ImageFile {
    /// Reads and decodes the file at `path`.
    public static func read(_ path: String, options: ImageReadOptions = ImageReadOptions()) throws -> RGB8Image {
        guard FileManager.default.fileExists(atPath: path) else { throw ImageError.fileNotFound(path) }
        // An empty regular file is refused before reading: Foundation reads a zero-sized file in chunks (it may
        // be a /proc-like file) and leaks the first chunk's buffer when nothing comes back.
        if let attributes = try? FileManager.default.attributesOfItem(atPath: path),
           attributes[.type] as? FileAttributeType == .typeRegular, (attributes[.size] as? NSNumber)?.intValue == 0 {
            throw ImageError.unknownFormat(path: path, reason: "the file is empty")
        }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ImageError.unreadable(path: path, reason: error.localizedDescription)
        }
        return try decode(data, name: path, options: options)
    }

    /// Decodes image bytes in any supported format (`name` is used in error messages).
    public static func decode(_ data: Data, name: String = "image",
                              options: ImageReadOptions = ImageReadOptions()) throws -> RGB8Image {
        guard !data.isEmpty else { throw ImageError.unknownFormat(path: name, reason: "the file is empty") }
        guard let format = ImageFormat(signature: data) else {
            throw ImageError.unknownFormat(path: name, reason: "not a PNG, JPEG or WebP image")
        }
        let image: RGB8Image
        switch format {
        case .png: image = try PNG.decodeRGB8(data, name: name, maximumPixels: options.maximumPixels)
        case .jpeg: image = try JPEG.decode(data, name: name, maximumPixels: options.maximumPixels)
        case .webp: image = try WebP.decode(data, name: name, maximumPixels: options.maximumPixels)
        }
        guard options.applyEXIFOrientation else { return image }
        return image.oriented(EXIFOrientation.read(data, format: format))
    }
}
