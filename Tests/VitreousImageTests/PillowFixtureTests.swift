import Foundation
import Testing
import VitreousImage
import VitreousModel
import VitreousRepair
import VitreousTensor

/// The files and expectations Fixtures/make-fixtures.py wrote with Pillow (and transformers), read through
/// `#filePath` rather than SwiftPM resources.
enum PillowFixtures {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    struct Expected: Decodable {
        struct Pixels: Decodable {
            let width: Int, height: Int, rgb: String
        }
        struct File: Decodable {
            let width: Int, height: Int, rgb: String
            let upright: Pixels
            let cases: [String: Pixels]
        }
        let pillow: String
        let files: [String: File]
    }

    static let expected: Expected? = try? JSONDecoder().decode(
        Expected.self, from: Data(contentsOf: folder.appendingPathComponent("expected.json")))

    static var names: [String] { expected.map { Array($0.files.keys).sorted() } ?? [] }

    static func path(_ name: String) -> String { folder.appendingPathComponent("images/\(name)").path }

    static func hex(_ image: RGB8Image) throws -> String {
        try SHA256.hex(image.bytes)
    }

    /// The preprocessing cases of the script, by name.
    static func transform(_ name: String, _ image: RGB8Image) throws -> RGB8Image {
        switch name {
        case "torchvision224": return try ResizePolicy.centerCrop(size: 224).apply(to: image)
        case "transformers224": return try ResizePolicy.centerCrop(size: 224, rounding: .transformers).apply(to: image)
        case "auto": return try ResizePolicy.nearestMultiple(of: 14).apply(to: image)
        case "exact112x84": return try ResizePolicy.exact(width: 112, height: 84).apply(to: image)
        case "bilinear99x45": return try image.resized(width: 99, height: 45, filter: .bilinear)
        case "squash": return try image.resized(width: max(1, image.width - 7), height: max(1, image.height / 6))
        default: throw ImageError.invalidSize("no case \(name)")
        }
    }
}

@Suite("Decoding and preprocessing identical to Pillow")
struct PillowFixtureTests {
    @Test("the fixtures are present and cover every format")
    func fixturesPresent() throws {
        let expected = try #require(PillowFixtures.expected, "Fixtures/expected.json is missing or unreadable")
        let formats = Set(try PillowFixtures.names.map { name in
            try #require(ImageFormat(signature: Data(contentsOf: URL(fileURLWithPath: PillowFixtures.path(name)))))
        })
        #expect(formats == Set(ImageFormat.allCases))
        #expect(expected.files.count >= 15)
    }

    @Test("decoded pixels are Pillow's convert(\"RGB\"), bit for bit", arguments: PillowFixtures.names)
    func decodes(name: String) throws {
        let file = try #require(PillowFixtures.expected?.files[name])
        let image = try ImageFile.read(PillowFixtures.path(name))
        #expect(image.width == file.width && image.height == file.height, "\(name)")
        #expect(try PillowFixtures.hex(image) == file.rgb, "\(name): decoded pixels differ from Pillow's")
        let upright = try ImageFile.read(PillowFixtures.path(name), options: ImageReadOptions(applyEXIFOrientation: true))
        #expect(upright.width == file.upright.width && upright.height == file.upright.height, "\(name) upright")
        #expect(try PillowFixtures.hex(upright) == file.upright.rgb, "\(name): exif_transpose differs")
    }

    @Test("resized and cropped pixels are Pillow's and torchvision's, bit for bit", arguments: PillowFixtures.names)
    func preprocesses(name: String) throws {
        let file = try #require(PillowFixtures.expected?.files[name])
        let image = try ImageFile.read(PillowFixtures.path(name))
        for (caseName, pixels) in file.cases.sorted(by: { $0.key < $1.key }) {
            let out = try PillowFixtures.transform(caseName, image)
            #expect(out.width == pixels.width && out.height == pixels.height, "\(name) \(caseName)")
            #expect(try PillowFixtures.hex(out) == pixels.rgb, "\(name) \(caseName): pixels differ from Pillow's")
        }
    }

    @Test("final features agree with transformers fed Pillow's tensors (≤ 1e-4)", arguments: Device.all)
    func features(device: Device) throws {
        let provenance = PillowFixtures.folder.appendingPathComponent("features/provenance.json")
        let meta = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: provenance)) as? [String: Any])
        let names = try #require(meta["files"] as? [String])
        #expect(!names.isEmpty)
        let model = PillowFixtures.folder.appendingPathComponent("../../VitreousModelTests/Fixtures/tiny/hf/model.safetensors")
        let config = ViTConfig(hiddenSize: 64, depth: 3, heads: 2, mlpHiddenSize: 256, registerCount: 0, positionGrid: 4)
        let encoder = try ViTEncoder(contentsOf: model.standardizedFileURL, on: device, config: config)
        for name in names {
            let image = try ImageFile.read(PillowFixtures.path(name))
            let input = try Preprocessor(resize: .centerCrop(size: 224)).tensor([image.image], on: device)
            let tokens = try encoder.encode(input).tokens.toArray()
            let reference = try NPYArray(contentsOf: PillowFixtures.folder.appendingPathComponent("features/\(name).npy"))
            #expect(reference.shape == [257, 64], "\(name)")
            let worst = zip(tokens, reference.doubles).map { abs(Double($0) - $1) }.max() ?? .infinity
            #expect(tokens.count == reference.doubles.count && worst <= 1e-4, "\(name) on \(device): max |Δ| \(worst)")
        }
    }

    @Test("bad files give one line naming the file and the problem")
    func badFiles() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vitreous-bad-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let jpeg = try Data(contentsOf: URL(fileURLWithPath: PillowFixtures.path("photo-baseline.jpg")))
        let webp = try Data(contentsOf: URL(fileURLWithPath: PillowFixtures.path("photo-lossy.webp")))
        let cases: [(String, Data, String)] = [
            ("empty.jpg", Data(), "the file is empty"),
            ("text.jpg", Data("not an image".utf8), "not a PNG, JPEG or WebP image"),
            ("cut.jpg", jpeg.prefix(jpeg.count / 2), "cannot decode JPEG"),
            ("header.jpg", jpeg.prefix(40), "cannot decode JPEG"),
            ("cut.webp", webp.prefix(webp.count / 2), "cannot decode WebP"),
            ("header.webp", webp.prefix(20), "cannot decode WebP"),
            ("jpeg-named.png", jpeg, ""),  // content decides, not the name: decodes
        ]
        for (name, data, message) in cases {
            let path = folder.appendingPathComponent(name).path
            try data.write(to: URL(fileURLWithPath: path))
            do {
                _ = try ImageFile.read(path)
                #expect(message.isEmpty, "\(name) decoded")
            } catch {
                let text = "\(error)"
                #expect(!message.isEmpty && text.hasPrefix("\(path): ") && text.contains(message) && !text.contains("\n"),
                        "\(name): \(text)")
            }
        }
    }

    @Test("the pixel limit is checked from the header, before decoding")
    func pixelLimit() throws {
        for name in ["photo-baseline.jpg", "photo-lossy.webp", "small.png"] {
            let data = try Data(contentsOf: URL(fileURLWithPath: PillowFixtures.path(name)))
            #expect(throws: ImageError.self) {
                _ = try ImageFile.decode(data, name: name, options: ImageReadOptions(maximumPixels: 1000))
            }
        }
    }
}
