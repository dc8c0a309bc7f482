import Foundation

/// The EXIF orientation tag (0x0112): how a camera's pixels must be turned to stand upright.
public enum EXIFOrientation: Int, Sendable, CaseIterable {
    /// 1: stored upright.
    case up = 1
    /// 2: mirrored left to right.
    case mirrored = 2
    /// 3: turned by 180°.
    case upsideDown = 3
    /// 4: mirrored top to bottom.
    case upsideDownMirrored = 4
    /// 5: mirrored about the top-left to bottom-right diagonal.
    case transposed = 5
    /// 6: to be turned 90° clockwise to stand upright.
    case rotatedClockwise = 6
    /// 7: mirrored about the top-right to bottom-left diagonal.
    case transverse = 7
    /// 8: to be turned 90° counter-clockwise to stand upright.
    case rotatedCounterClockwise = 8

    /// The orientation a file's EXIF data records; ``up`` when it records none or cannot be read.
    public static func read(_ data: Data, format: ImageFormat) -> EXIFOrientation {
        let bytes = [UInt8](data)
        guard let tiff = exifBlock(bytes, format: format), let value = orientationTag(tiff) else { return .up }
        return EXIFOrientation(rawValue: value) ?? .up
    }

    private static func exifBlock(_ b: [UInt8], format: ImageFormat) -> ArraySlice<UInt8>? {
        func trimmed(_ block: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
            block.starts(with: Array("Exif\0\0".utf8)) ? block.dropFirst(6) : block
        }
        switch format {
        case .jpeg:
            var at = 2
            while at + 4 <= b.count, b[at] == 0xFF {
                let marker = b[at + 1]
                if marker == 0xDA || marker == 0xD9 { return nil }  // start of scan: no more metadata
                let length = Int(b[at + 2]) << 8 | Int(b[at + 3])
                guard length >= 2, at + 2 + length <= b.count else { return nil }
                let body = b[(at + 4)..<(at + 2 + length)]
                if marker == 0xE1, body.starts(with: Array("Exif\0\0".utf8)) { return body.dropFirst(6) }
                at += 2 + length
            }
            return nil
        case .webp:
            var at = 12
            while at + 8 <= b.count {
                let size = Int(b[at + 4]) | Int(b[at + 5]) << 8 | Int(b[at + 6]) << 16 | Int(b[at + 7]) << 24
                guard size >= 0, at + 8 + size <= b.count else { return nil }
                if b[at..<(at + 4)].elementsEqual("EXIF".utf8) { return trimmed(b[(at + 8)..<(at + 8 + size)]) }
                at += 8 + size + (size & 1)
            }
            return nil
        case .png:
            var at = 8
            while at + 12 <= b.count {
                let size = Int(b[at]) << 24 | Int(b[at + 1]) << 16 | Int(b[at + 2]) << 8 | Int(b[at + 3])
                guard at + 12 + size <= b.count else { return nil }
                if b[(at + 4)..<(at + 8)].elementsEqual("eXIf".utf8) { return trimmed(b[(at + 8)..<(at + 8 + size)]) }
                if b[(at + 4)..<(at + 8)].elementsEqual("IDAT".utf8) { return nil }
                at += 12 + size
            }
            return nil
        }
    }

    /// The orientation entry of IFD0 of a TIFF block.
    private static func orientationTag(_ tiff: ArraySlice<UInt8>) -> Int? {
        let t = Array(tiff)
        guard t.count >= 8 else { return nil }
        let little: Bool
        if t[0] == 0x49 && t[1] == 0x49 { little = true } else if t[0] == 0x4D && t[1] == 0x4D { little = false } else { return nil }
        func u16(_ i: Int) -> Int? {
            guard i >= 0, i + 2 <= t.count else { return nil }
            return little ? Int(t[i]) | Int(t[i + 1]) << 8 : Int(t[i]) << 8 | Int(t[i + 1])
        }
        func u32(_ i: Int) -> Int? {
            guard let a = u16(i), let b = u16(i + 2) else { return nil }
            return little ? a | b << 16 : a << 16 | b
        }
        guard let ifd = u32(4), let entries = u16(ifd) else { return nil }
        for entry in 0..<entries {
            let at = ifd + 2 + entry * 12
            guard let tag = u16(at) else { return nil }
            if tag == 0x0112 { return u16(at + 8) }
        }
        return nil
    }
}

extension RGB8Image {
    /// The image turned upright for `orientation`, as Pillow's `ImageOps.exif_transpose` turns it.
    public func oriented(_ orientation: EXIFOrientation) -> RGB8Image {
        if orientation == .up { return self }
        let swaps = orientation.rawValue >= 5
        let (outWidth, outHeight) = swaps ? (height, width) : (width, height)
        var out = [UInt8](repeating: 0, count: bytes.count)
        for y in 0..<outHeight {
            for x in 0..<outWidth {
                let (sx, sy): (Int, Int)
                switch orientation {
                case .up: (sx, sy) = (x, y)
                case .mirrored: (sx, sy) = (width - 1 - x, y)
                case .upsideDown: (sx, sy) = (width - 1 - x, height - 1 - y)
                case .upsideDownMirrored: (sx, sy) = (x, height - 1 - y)
                case .transposed: (sx, sy) = (y, x)
                case .rotatedClockwise: (sx, sy) = (y, height - 1 - x)
                case .transverse: (sx, sy) = (width - 1 - y, height - 1 - x)
                case .rotatedCounterClockwise: (sx, sy) = (width - 1 - y, x)
                }
                let source = (sy * width + sx) * 3, target = (y * outWidth + x) * 3
                out[target] = bytes[source]; out[target + 1] = bytes[source + 1]; out[target + 2] = bytes[source + 2]
            }
        }
        return RGB8Image(unchecked: outWidth, outHeight, out)
    }
}
