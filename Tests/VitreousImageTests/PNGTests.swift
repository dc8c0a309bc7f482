import Foundation
import Testing
@testable import VitreousImage

@Suite("PNG")
struct PNGTests {
    let folder: URL = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("vitreous-png-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }()

    private func expectRGB(_ image: Image, _ expected: [[UInt8]], _ context: String) {
        #expect(image.channels == 3, "\(context)")
        let bytes = image.pixels.map { UInt8(($0 * 255).rounded()) }
        #expect(bytes == expected.flatMap { $0 }, "\(context)")
    }

    @Test("every colour type and bit depth decodes to RGB")
    func decodesEveryKind() throws {
        // 2×1 images: pixel values chosen so every channel differs.
        let cases: [(String, Data, [[UInt8]])] = [
            ("gray 8", TestPNG.encode(width: 2, height: 1, bitDepth: 8, colorType: .gray, rows: [[10, 200]]),
             [[10, 10, 10], [200, 200, 200]]),
            // 10 and 300: 16-bit gray is clipped to 255, as Pillow converts its mode I;16 (not cut to the high byte).
            ("gray 16", TestPNG.encode(width: 2, height: 1, bitDepth: 16, colorType: .gray, rows: [[0, 10, 1, 44]]),
             [[10, 10, 10], [255, 255, 255]]),
            ("gray+alpha 8", TestPNG.encode(width: 2, height: 1, bitDepth: 8, colorType: .grayAlpha,
                                            rows: [[30, 255, 90, 255]]),
             [[30, 30, 30], [90, 90, 90]]),
            ("rgb 8", TestPNG.encode(width: 2, height: 1, bitDepth: 8, colorType: .rgb, rows: [[1, 2, 3, 250, 128, 0]]),
             [[1, 2, 3], [250, 128, 0]]),
            ("rgb 16", TestPNG.encode(width: 2, height: 1, bitDepth: 16, colorType: .rgb,
                                      rows: [[1, 1, 2, 2, 3, 3, 250, 250, 128, 128, 0, 0]]),  // v·257: exact 8-bit values
             [[1, 2, 3], [250, 128, 0]]),
            ("rgba 8", TestPNG.encode(width: 2, height: 1, bitDepth: 8, colorType: .rgba,
                                      rows: [[1, 2, 3, 255, 250, 128, 0, 255]]),
             [[1, 2, 3], [250, 128, 0]]),
            ("palette 8", TestPNG.encode(width: 2, height: 1, bitDepth: 8, colorType: .palette, rows: [[1, 0]],
                                         palette: [9, 8, 7, 40, 50, 60]),
             [[40, 50, 60], [9, 8, 7]]),
        ]
        for (name, data, expected) in cases {
            expectRGB(try PNG.decode(data, name: name), expected, name)
        }
    }

    @Test("alpha is dropped, not composited (as PIL's convert(\"RGB\"))")
    func alphaDropped() throws {
        let data = TestPNG.encode(width: 1, height: 1, bitDepth: 8, colorType: .rgba, rows: [[200, 100, 50, 128]])
        let image = try PNG.decode(data)
        // libpng's 8-bit RGBA output is not premultiplied: the colour survives unchanged.
        expectRGB(image, [[200, 100, 50]], "rgba with alpha 128")
    }

    @Test("gray, RGB and RGBA round trip through the writer", arguments: [1, 3, 4])
    func roundTrip(channels: Int) throws {
        let (width, height) = (5, 3)
        let pixels = (0..<(width * height * channels)).map { Float(($0 * 37) % 256) / 255 }
        let image = try Image(width: width, height: height, channels: channels, pixels: pixels)
        let path = folder.appendingPathComponent("round-\(channels).png").path
        try PNG.write(image, to: path)
        let back = try PNG.read(path)
        #expect(back.width == width && back.height == height)
        #expect(back == image.rgb())
    }

    @Test("bad files give one clear error each")
    func badFiles() throws {
        let missing = folder.appendingPathComponent("missing.png").path
        #expect(throws: ImageError.fileNotFound(missing)) { try PNG.read(missing) }
        let text = folder.appendingPathComponent("text.png")
        try Data("hello, not a png".utf8).write(to: text)
        #expect(throws: ImageError.notPNG(text.path)) { try PNG.read(text.path) }
        let good = TestPNG.encode(width: 8, height: 8, bitDepth: 8, colorType: .rgb,
                                  rows: Array(repeating: [UInt8](repeating: 7, count: 24), count: 8))
        let truncated = folder.appendingPathComponent("truncated.png")
        try good.prefix(good.count - 30).write(to: truncated)
        do {
            _ = try PNG.read(truncated.path)
            Issue.record("a truncated PNG decoded")
        } catch let error as ImageError {
            #expect(String(describing: error).hasPrefix("\(truncated.path): cannot decode PNG"), "\(error)")
        }
        let giant = TestPNG.encode(width: 100_000, height: 100_000, bitDepth: 8, colorType: .gray, rows: [])
        #expect(throws: ImageError.tooLarge(path: "giant", width: 100_000, height: 100_000)) {
            try PNG.decode(giant, name: "giant")
        }
        // A caller's lower limit holds before any buffer is sized by the header.
        let big = TestPNG.encode(width: 2_000, height: 1_000, bitDepth: 1, colorType: .gray, rows: [])
        #expect(throws: ImageError.tooLarge(path: "big", width: 2_000, height: 1_000)) {
            try PNG.decode(big, name: "big", maximumPixels: 1 << 20)
        }
        let image = try Image.filled(width: 2, height: 2, color: [0.5, 0.5, 0.5])
        let unwritable = folder.appendingPathComponent("no/such/folder/out.png").path
        #expect(throws: ImageError.self) { try PNG.write(image, to: unwritable) }
        #expect(!FileManager.default.fileExists(atPath: unwritable))
    }
}
