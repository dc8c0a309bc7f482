import CVitreous
import Foundation
import Testing
import VitreousDemo
import VitreousImage
import VitreousModel
import VitreousRepair
import VitreousTensor

/// The C entry points called from Swift, compared with the Swift API they wrap, on every backend present.
@Suite("C API", .serialized)
struct CAPITests {
    @Test("devices: the CPU first, then every OpenCL device, each with a name")
    func devices() throws {
        var count: Int32 = 0
        #expect(Outcome(vitreous_device_count(&count)).status == VITREOUS_OK)
        #expect(Int(count) == Device.all.count)
        if runningInCI { #expect(count >= 2, "CI needs an OpenCL device (PoCL): \(Device.openCLProblem ?? "")") }
        var buffer = [CChar](repeating: 0x7F, count: 256)
        for index in -1..<count {
            let outcome = Outcome(vitreous_device_name(index, &buffer, buffer.count))
            #expect(outcome.status == VITREOUS_OK && outcome.message.isEmpty, "\(outcome)")
            let name = buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            #expect(index == 0 ? name == "cpu" : !name.isEmpty, "\(index): \(name)")
        }
        var fallback: Int32 = -5
        #expect(Outcome(vitreous_default_device(&fallback)).status == VITREOUS_OK)
        let expected: Int32
        switch Device.default {
        case .cpu: expected = 0
        case .openCL(let n): expected = Int32(n) + 1
        }
        #expect(fallback == expected)
        #expect(String(cString: try #require(vitreous_version())) == "0.1.0")
    }

    @Test("the demo model and image encode as ViTEncoder does, on every backend", arguments: deviceIndices)
    func demoMatchesSwift(deviceIndex: Int32) throws {
        let model = try CModel(demoOn: deviceIndex)
        var info = vitreous_model_info()
        #expect(vitreous_model_get_info(model.handle, &info) == VITREOUS_OK)
        #expect(fields(info) == [64, 6, 4, 14, 0, 256, 224, Int(deviceIndex)])

        let image = try demoImage()
        let result = try model.encode(rgb8: image.pixels, width: image.width, height: image.height)
        let fields = fields(try result.info())
        #expect(fields == [64, 16, 16, 257, 1, 7, 4, 1])
        let (d, gh, gw, t, layers, heads) = (fields[0], fields[1], fields[2], fields[3], fields[5], fields[6])

        // The same through the Swift API, preprocessed as the demo does it (the PNG's bytes / 255).
        let device = device(ofIndex: deviceIndex)
        let encoder = ViTEncoder(weights: try PlantedArtifacts.weights(variant: .planted, seed: 0).tensors(on: device))
        let pixels = try Image(checked: image.pixels.map { Float($0) / 255 }, side: Int(image.width))
        let input = try Preprocessor(resize: .exact(width: 224, height: 224)).tensor([pixels], on: device)
        let swift = try encoder.encode(input, options: EncoderOptions(tokenNorms: true, clsAttention: true))

        let bound = 1e-6  // the same kernels on the same input: equal up to reduction order
        #expect(relativeError(try result.read(d) { vitreous_result_cls(result.handle, $0, $1) },
                              try swift.cls.toArray()) <= bound)
        #expect(relativeError(try result.read(gh * gw * d) { vitreous_result_patches(result.handle, $0, $1) },
                              try swift.patches.toArray()) <= bound)
        #expect(relativeError(try result.read(t * d) { vitreous_result_tokens(result.handle, $0, $1) },
                              try swift.tokens.toArray()) <= bound)
        #expect(relativeError(try result.read(heads * t) { vitreous_result_cls_attention(result.handle, $0, $1) },
                              try #require(swift.clsAttention).toArray()) <= bound)
        let swiftNorms = try #require(swift.tokenNorms)
        for layer in 0..<layers {
            let norms = try result.read(t) { vitreous_result_token_norms(result.handle, Int32(layer), $0, $1) }
            #expect(relativeError(norms, try swiftNorms[layer].norms.toArray()) <= bound, "layer \(layer)")
        }
        let last = try result.read(t) { vitreous_result_token_norms(result.handle, -1, $0, $1) }
        #expect(relativeError(last, try swiftNorms[layers - 1].norms.toArray()) <= bound)

        // Detection: the four flat cells of the demo image, and nothing before block 2 plants them.
        var mask = [UInt8](repeating: 9, count: gh * gw)
        var flagged: Int32 = -1
        #expect(Outcome(vitreous_detect_artifacts(result.handle, -1, &mask, mask.count, &flagged)).status == VITREOUS_OK)
        let planted = PlantedArtifacts.Layout.isolated.backgroundCells.map { $0.row * gw + $0.column }.sorted()
        #expect(flagged == 4)
        #expect(mask.indices.filter { mask[$0] == 1 } == planted)
        #expect(mask.allSatisfy { $0 <= 1 })
        #expect(Outcome(vitreous_detect_artifacts(result.handle, 0, nil, 0, &flagged)).status == VITREOUS_OK)
        #expect(flagged == 0)

        // Inpainting: as `vitreous repair --method inpaint` does it.
        var repaired = [Float](repeating: .nan, count: gh * gw * d)
        #expect(Outcome(vitreous_repair_inpaint(result.handle, &repaired, repaired.count, &flagged)).status == VITREOUS_OK)
        #expect(flagged == 4)
        let expected = try Inpainting.apply(.neighbourMean, tokens: try swift.patches.toArray(),
                                            grid: try PatchGrid(height: gh, width: gw), dimension: d,
                                            flagged: planted).tokens
        #expect(relativeError(repaired, expected) <= bound)
    }

    @Test("a checkpoint loaded from a file gives the demo model's output; float input matches 8-bit input")
    func loadAndFloatInput() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vitreous-c-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("model.safetensors")
        try PlantedArtifacts.weights(variant: .planted, seed: 0).write(to: url, layout: .original)
        // Heads are not in the tensor shapes: without this file they would be inferred as D / 64 = 1.
        try Data(#"{"num_attention_heads": 4}"#.utf8).write(to: folder.appendingPathComponent("config.json"))

        let loaded = try CModel(path: url.path, device: 0)
        var info = vitreous_model_info()
        #expect(vitreous_model_get_info(loaded.handle, &info) == VITREOUS_OK)
        #expect(fields(info) == [64, 6, 4, 14, 0, 256, 224, 0])
        let demo = try CModel(demoOn: 0)
        let image = try demoImage()
        let a = try loaded.encode(rgb8: image.pixels, width: image.width, height: image.height)
        let b = try demo.encode(rgb8: image.pixels, width: image.width, height: image.height)
        let cls = { (r: CResult) in try r.read(64) { vitreous_result_cls(r.handle, $0, $1) } }
        #expect(relativeError(try cls(a), try cls(b)) == 0)

        // HWC floats in [0, 1] are preprocessed exactly as bytes / 255.
        let floats = try demo.encode(floats: image.pixels.map { Float($0) / 255 }, width: image.width,
                                     height: image.height, layout: 0)
        #expect(try cls(floats) == cls(b))

        // Normalised planes go to the encoder as they are.
        let planes = PlantedArtifacts.image(layout: .isolated, seed: 7)
        let normalised = try demo.encode(floats: planes, width: 224, height: 224, layout: 1)
        let encoder = ViTEncoder(weights: try PlantedArtifacts.weights(variant: .planted, seed: 0).tensors(on: .cpu))
        let swift = try encoder.encode(try Tensor(planes, shape: [1, 3, 224, 224], on: .cpu))
        #expect(relativeError(try cls(normalised), try swift.cls.toArray()) <= 1e-6)
    }

    @Test("stride, resizing and flags")
    func strideAndResize() throws {
        let model = try CModel(demoOn: 0)
        let image = try demoImage()
        let packed = try model.encode(rgb8: image.pixels, width: 224, height: 224, flags: 0)
        // Rows 700 bytes apart (28 bytes of padding each), the last row unpadded.
        var padded = [UInt8](repeating: 255, count: 223 * 700 + 672)
        for y in 0..<224 { padded[(y * 700)..<(y * 700 + 672)] = image.pixels[(y * 672)..<((y + 1) * 672)] }
        let strided = try model.encode(rgb8: padded, width: 224, height: 224, stride: 700, flags: 0)
        let cls = { (r: CResult) in try r.read(64) { vitreous_result_cls(r.handle, $0, $1) } }
        #expect(try cls(strided) == cls(packed))
        #expect(fields(try packed.info())[5...7] == [0, 4, 0])

        // 230×220 is no multiple of 14: rejected as is, 224×224 (a 16×16 grid) with VITREOUS_ENCODE_RESIZE.
        let odd = [UInt8](repeating: 100, count: 230 * 220 * 3)
        var result: OpaquePointer?
        let rejected = Outcome(vitreous_encode_rgb8(model.handle, odd, odd.count, 230, 220, 0, 0, &result))
        #expect(rejected.status == VITREOUS_ERROR_INVALID_ARGUMENT && rejected.message.contains("VITREOUS_ENCODE_RESIZE"))
        let resized = try model.encode(rgb8: odd, width: 230, height: 220, flags: 4)
        #expect(fields(try resized.info())[1...2] == [16, 16])
    }

    @Test("messages are per thread, and a model encodes on several threads at once")
    func threads() throws {
        let model = try CModel(demoOn: 0)
        let image = try demoImage()
        let failed = Outcome(vitreous_result_free(OpaquePointer(bitPattern: 0x10)))
        #expect(failed.status == VITREOUS_ERROR_INVALID_HANDLE && failed.message.hasPrefix("vitreous_result_free"), "\(failed)")

        let otherThreadMessage = Locked<String?>(nil)
        let clsValues = Locked<[[Float]]>([])
        let thread = Thread {
            let message = vitreous_last_error().map { String(cString: $0) } ?? "<NULL>"
            otherThreadMessage.withLock { $0 = message }
        }
        thread.start()
        DispatchQueue.concurrentPerform(iterations: 3) { _ in
            var result: OpaquePointer?
            var values = [Float](repeating: 0, count: 64)
            if vitreous_encode_rgb8(model.handle, image.pixels, image.pixels.count, 224, 224, 0, 0, &result) == VITREOUS_OK,
               vitreous_result_cls(result, &values, 64) == VITREOUS_OK {
                clsValues.withLock { $0.append(values) }
            }
            _ = vitreous_result_free(result)
        }
        while otherThreadMessage.withLock({ $0 == nil }) { usleep(1000) }
        #expect(otherThreadMessage.withLock { $0 } == "", "a new thread has no message")
        let values = clsValues.withLock { $0 }
        #expect(values.count == 3 && values.allSatisfy { $0 == values[0] })
    }
}

extension Image {
    /// An RGB square from samples already in [0, 1].
    init(checked pixels: [Float], side: Int) throws {
        try self.init(width: side, height: side, channels: 3, pixels: pixels)
    }
}
