import Foundation

/// A minimal PNG encoder for tests: any colour type and bit depth, stored (uncompressed) deflate blocks,
/// so files of every kind can be made without another library and their pixels known exactly.
enum TestPNG {
    enum ColorType: UInt8 { case gray = 0, rgb = 2, palette = 3, grayAlpha = 4, rgba = 6 }

    /// `rows` are the raw scanline bytes (without filter bytes) of each image row.
    static func encode(width: Int, height: Int, bitDepth: UInt8, colorType: ColorType, rows: [[UInt8]],
                       palette: [UInt8]? = nil) -> Data {
        var data = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        var header = Data()
        header.append(bigEndian: UInt32(width))
        header.append(bigEndian: UInt32(height))
        header.append(contentsOf: [bitDepth, colorType.rawValue, 0, 0, 0])
        data.append(chunk: "IHDR", header)
        if let palette { data.append(chunk: "PLTE", Data(palette)) }
        var raw = Data()
        for row in rows { raw.append(0); raw.append(contentsOf: row) }
        data.append(chunk: "IDAT", zlibStored(raw))
        data.append(chunk: "IEND", Data())
        return data
    }

    private static func zlibStored(_ bytes: Data) -> Data {
        var out = Data([0x78, 0x01])
        var offset = 0
        repeat {
            let length = min(65_535, bytes.count - offset)
            out.append(offset + length == bytes.count ? 1 : 0)
            out.append(contentsOf: [UInt8(length & 0xff), UInt8(length >> 8), UInt8(~length & 0xff), UInt8((~length >> 8) & 0xff)])
            out.append(bytes.subdata(in: offset..<(offset + length)))
            offset += length
        } while offset < bytes.count
        var a: UInt32 = 1, b: UInt32 = 0
        for byte in bytes {
            a = (a + UInt32(byte)) % 65_521
            b = (b + a) % 65_521
        }
        out.append(bigEndian: (b << 16) | a)
        return out
    }

    static func crc32(_ bytes: Data) -> UInt32 {
        var crc: UInt32 = 0xffff_ffff
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }
}

extension Data {
    mutating func append(bigEndian value: UInt32) {
        append(contentsOf: [UInt8(value >> 24), UInt8((value >> 16) & 0xff), UInt8((value >> 8) & 0xff), UInt8(value & 0xff)])
    }

    mutating func append(chunk type: String, _ body: Data) {
        append(bigEndian: UInt32(body.count))
        let typed = Data(type.utf8) + body
        append(typed)
        append(bigEndian: TestPNG.crc32(typed))
    }
}
