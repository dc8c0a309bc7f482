import Foundation
import Testing
import VitreousImage

/// 16-bit, interlaced, gamma-tagged and low-bit PNGs decode byte for byte as Pillow's
/// `Image.open(f).convert("RGB")` (Fixtures/make-png16.py, which checks that its files tell Pillow's rules
/// from libpng's simplified API's: the high byte, not rounded scaling, and gray clipped to 255).
struct PNG16Tests {
    struct Expected: Decodable {
        struct File: Decodable { let width: Int, height: Int, rgb: String }
        let files: [String: File]
    }

    static let folder = PillowFixtures.folder.appendingPathComponent("png16")
    static let expected = try? JSONDecoder().decode(
        Expected.self, from: Data(contentsOf: folder.appendingPathComponent("expected.json")))
    static var names: [String] { expected.map { $0.files.keys.sorted() } ?? [] }

    @Test("the 16-bit fixtures are present")
    func present() throws {
        let expected = try #require(Self.expected, "Fixtures/png16/expected.json is missing or unreadable")
        #expect(expected.files.count >= 14)
    }

    @Test("decoded pixels are Pillow's, bit for bit", arguments: PNG16Tests.names)
    func decodes(name: String) throws {
        let file = try #require(Self.expected?.files[name])
        let image = try ImageFile.read(Self.folder.appendingPathComponent(name).path)
        #expect(image.width == file.width && image.height == file.height, "\(name)")
        let want = try #require(hexBytes(file.rgb))
        let first = zip(image.bytes, want).enumerated().first { $0.element.0 != $0.element.1 }
        #expect(image.bytes.count == want.count && first == nil,
                "\(name): byte \(first?.offset ?? -1) is \(first?.element.0 ?? 0), Pillow's \(first?.element.1 ?? 0)")
    }

    @Test("a cut 16-bit PNG is a one-line error naming the file")
    func truncated() throws {
        let data = try Data(contentsOf: Self.folder.appendingPathComponent("rgba16.png"))
        #expect {
            _ = try PNG.decode(data.prefix(data.count - 40), name: "cut-rgba16.png")
        } throws: { error in
            let text = "\(error)"
            return text.hasPrefix("cut-rgba16.png: cannot decode PNG: ") && !text.contains("\n")
        }
    }

    private func hexBytes(_ hex: String) -> [UInt8]? {
        let digits = Array(hex.utf8)
        guard digits.count % 2 == 0 else { return nil }
        return stride(from: 0, to: digits.count, by: 2).compactMap {
            UInt8(String(decoding: digits[$0..<$0 + 2], as: UTF8.self), radix: 16)
        }
    }
}
