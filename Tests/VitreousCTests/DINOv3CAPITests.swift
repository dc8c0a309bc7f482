import CVitreous
import Foundation
import Testing
import VitreousImage
import VitreousModel
import VitreousTensor

/// The C API on a DINOv3 checkpoint: the family is detected from the keys, so loading needs no new entry point.
@Suite("C API on DINOv3", .serialized)
struct DINOv3CAPITests {
    @Test("a DINOv3 checkpoint loads through vitreous_model_load and encodes as the Swift encoder does")
    func loadAndEncode() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("VitreousModelTests/Fixtures/dinov3/swiglu/hf")
        let url = folder.appendingPathComponent("model.safetensors")
        let model = try CModel(path: url.path, device: 0)
        var info = vitreous_model_info()
        #expect(vitreous_model_get_info(model.handle, &info) == VITREOUS_OK)
        // D, depth, heads, patch, registers (storage tokens), MLP, native size (config.json's image_size), device.
        #expect(fields(info) == [64, 3, 2, 16, 4, 176, 64, 0])

        let (width, height) = (80, 48)
        let pixels = (0..<(width * height * 3)).map { UInt8(($0 * 7919) % 256) }
        let result = try model.encode(rgb8: pixels, width: Int32(width), height: Int32(height))
        let cls = try result.read(64) { vitreous_result_cls(result.handle, $0, $1) }
        let image = try RGB8Image(width: width, height: height, bytes: pixels).image
        let encoder = try ViTEncoder(contentsOf: url, on: .cpu)
        let swift = try encoder.encode(try Preprocessor(resize: .exact(width: width, height: height)).tensor([image]))
        #expect(relativeError(cls, try swift.cls.toArray()) <= 1e-6)
    }

    @Test("VITREOUS_RESIZE_CENTER_CROP N and EXACT mean DINOv3's whole-image bilinear resize, as the CLI's --size")
    func resizeModes() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("VitreousModelTests/Fixtures/dinov3/gelu/hf/model.safetensors")
        let model = try CModel(path: url.path, device: 0)
        let encoder = try ViTEncoder(contentsOf: url, on: .cpu)
        let image = try cImage(SharedFixtures.image("photo-baseline.jpg"))
        for (resize, width, height) in [(VITREOUS_RESIZE_CENTER_CROP, Int32(64), Int32(0)),
                                        (VITREOUS_RESIZE_EXACT, Int32(80), Int32(48))] {
            let options = try COptions(resize: resize, width: width, height: height)
            let result = try model.encodeBatch(image.bytes, batch: 1, width: Int32(image.width),
                                               height: Int32(image.height), options: options)
            let side = (Int(width), height == 0 ? Int(width) : Int(height))
            let tokens = try result.read((1 + 4 + side.0 / 16 * side.1 / 16) * 64) {
                vitreous_result_tokens(result.handle, $0, $1)
            }
            let policy = ResizePolicy.stretchBilinear(width: side.0, height: side.1)
            let swift = try encoder.encode(try Preprocessor(resize: policy).tensor([image.image])).tokens.toArray()
            #expect(relativeError(tokens, swift) <= 1e-6, "resize mode \(resize)")
        }
    }
}
