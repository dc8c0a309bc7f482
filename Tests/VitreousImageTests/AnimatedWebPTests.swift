import Foundation
import Testing
import VitreousImage
import VitreousModel

/// An animated WebP reads as its first frame on the canvas, byte for byte what Pillow's
/// `Image.open(f).convert("RGB")` gives (Fixtures/make-animated-webp.py; lossless, so exact).
struct AnimatedWebPTests {
    struct Expected: Decodable {
        struct Pixels: Decodable { let width: Int, height: Int, rgb: String }
        let frame0: Pixels, frame1: Pixels
    }

    @Test("an animated WebP decodes to Pillow's frame 0, not frame 1")
    func firstFrame() throws {
        let folder = PillowFixtures.folder.appendingPathComponent("animated")
        let expected = try JSONDecoder().decode(
            Expected.self, from: Data(contentsOf: folder.appendingPathComponent("expected.json")))
        let image = try ImageFile.read(folder.appendingPathComponent("animated.webp").path)
        #expect(image.width == expected.frame0.width && image.height == expected.frame0.height)
        let hex = try PillowFixtures.hex(image)
        #expect(hex == expected.frame0.rgb)
        #expect(hex != expected.frame1.rgb)
    }

    @Test("a cut animated WebP is a one-line error naming the file")
    func truncated() throws {
        let path = PillowFixtures.folder.appendingPathComponent("animated/animated.webp").path
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect {
            _ = try WebP.decode(data.prefix(data.count / 2), name: "cut-animated.webp")
        } throws: { error in
            let text = "\(error)"
            return text.contains("cut-animated.webp") && !text.contains("\n")
        }
    }
}
