import CVitreous
import Foundation
import Testing
import VitreousDemo
import VitreousImage
import VitreousModel
import VitreousRepair
import VitreousTensor

/// The shared fixtures of other suites: the tiny seeded model and Pillow's images with transformers' features.
enum SharedFixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("..")
        .standardizedFileURL
    static let tinyModel = root.appendingPathComponent("VitreousModelTests/Fixtures/tiny/hf").path
    static func image(_ name: String) -> String {
        root.appendingPathComponent("VitreousImageTests/Fixtures/images/\(name)").path
    }
    static func features(_ name: String) -> URL {
        root.appendingPathComponent("VitreousImageTests/Fixtures/features/\(name).npy")
    }
}

/// An options handle, freed when the value goes.
final class COptions: @unchecked Sendable {
    let handle: OpaquePointer?

    init(flags: UInt32 = 0, resize: Int32 = VITREOUS_RESIZE_NONE, width: Int32 = 0, height: Int32 = 0,
         layers: [Int32] = [], registers: OpaquePointer? = nil) throws {
        var handle: OpaquePointer?
        guard vitreous_options_create(&handle) == VITREOUS_OK else { throw TestFailure("options_create") }
        self.handle = handle
        for (what, status) in [("flags", vitreous_options_set_flags(handle, flags)),
                               ("resize", vitreous_options_set_resize(handle, resize, width, height)),
                               ("layers", vitreous_options_set_layers(handle, layers, layers.count)),
                               ("registers", vitreous_options_set_registers(handle, registers))] where status != VITREOUS_OK {
            throw TestFailure("options \(what): \(Outcome(status))")
        }
    }

    deinit { _ = vitreous_options_free(handle) }
}

/// A decoded image through the C API.
func cImage(_ path: String, flags: UInt32 = 0) throws -> RGB8Image {
    var handle: OpaquePointer?
    let outcome = Outcome(vitreous_image_load(path, flags, &handle))
    guard outcome.status == VITREOUS_OK else { throw TestFailure("image_load: \(outcome)") }
    defer { _ = vitreous_image_free(handle) }
    var (width, height): (Int32, Int32) = (0, 0)
    guard vitreous_image_get_size(handle, &width, &height) == VITREOUS_OK else { throw TestFailure("image_get_size") }
    var bytes = [UInt8](repeating: 0, count: Int(width * height * 3))
    guard vitreous_image_pixels(handle, &bytes, bytes.count) == VITREOUS_OK else { throw TestFailure("image_pixels") }
    return try RGB8Image(width: Int(width), height: Int(height), bytes: bytes)
}

extension CModel {
    func encodeBatch(_ pixels: [UInt8], batch: Int32, width: Int32, height: Int32, options: COptions?) throws -> CResult {
        var result: OpaquePointer?
        let outcome = Outcome(vitreous_encode_batch_rgb8(handle, pixels, pixels.count, batch, width, height,
                                                         options?.handle, &result))
        guard outcome.status == VITREOUS_OK, result != nil else { throw TestFailure("encode_batch_rgb8: \(outcome)") }
        return CResult(result)
    }
}

extension CResult {
    func batchInfo() throws -> [Int] {
        var info = vitreous_batch_info()
        guard vitreous_result_get_batch_info(handle, &info) == VITREOUS_OK else { throw TestFailure("batch_info") }
        return fields(info)
    }
}

@Suite("C API: batches, resizing, images, hidden states, test-time registers", .serialized)
struct BatchTests {
    @Test("files decode as ImageFile does, from a path and from memory, EXIF applied on request")
    func images() throws {
        for name in ["photo-baseline.jpg", "photo-lossy.webp", "small-palette.png", "photo-exif6.jpg"] {
            let path = SharedFixtures.image(name)
            #expect(try cImage(path) == ImageFile.read(path), "\(name)")
            #expect(try cImage(path, flags: VITREOUS_IMAGE_EXIF_ORIENTATION)
                    == ImageFile.read(path, options: ImageReadOptions(applyEXIFOrientation: true)), "\(name)")
            let data = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
            var handle: OpaquePointer?
            #expect(vitreous_image_decode(data, data.count, 0, &handle) == VITREOUS_OK)
            var (width, height): (Int32, Int32) = (0, 0)
            #expect(vitreous_image_get_size(handle, &width, &height) == VITREOUS_OK)
            var bytes = [UInt8](repeating: 0, count: Int(width * height * 3))
            #expect(vitreous_image_pixels(handle, &bytes, bytes.count) == VITREOUS_OK)
            #expect(bytes == (try ImageFile.read(path)).bytes, "\(name) from memory")
            #expect(vitreous_image_free(handle) == VITREOUS_OK)
        }
    }

    @Test("the centre crop gives the CLI's features and transformers' (≤ 1e-4), on every backend",
          arguments: deviceIndices)
    func centerCrop(deviceIndex: Int32) throws {
        let model = try CModel(path: SharedFixtures.tinyModel, device: deviceIndex)
        let encoder = try ViTEncoder(contentsOf: URL(fileURLWithPath: SharedFixtures.tinyModel + "/model.safetensors"),
                                     on: device(ofIndex: deviceIndex))
        for name in ["photo-baseline.jpg", "wide.jpg"] {
            let image = try cImage(SharedFixtures.image(name))
            let options = try COptions(resize: VITREOUS_RESIZE_CENTER_CROP, width: 224)
            let result = try model.encodeBatch(image.bytes, batch: 1, width: Int32(image.width),
                                               height: Int32(image.height), options: options)
            let tokens = try result.read(257 * 64) { vitreous_result_tokens(result.handle, $0, $1) }
            // The CLI's path: ResizePolicy on the decoded bytes, then the encoder.
            let prepared = try ResizePolicy.centerCrop(size: 224).apply(to: try ImageFile.read(SharedFixtures.image(name)))
            let swift = try encoder.encode(try Preprocessor(resize: .exact(width: 224, height: 224))
                .tensor([prepared.image], on: encoder.device)).tokens.toArray()
            #expect(relativeError(tokens, swift) <= 1e-6, "\(name)")
            let reference = try NPYArray(contentsOf: SharedFixtures.features(name)).doubles
            let worst = zip(tokens, reference).map { abs(Double($0) - $1) }.max() ?? .infinity
            #expect(worst <= 1e-4, "\(name) on device \(deviceIndex): max |Δ| \(worst) from transformers")
        }
    }

    @Test("a batch equals its images encoded one by one; hidden states as ViTEncoder's", arguments: deviceIndices)
    func batchMatchesSingles(deviceIndex: Int32) throws {
        let model = try CModel(demoOn: deviceIndex)
        let (width, height): (Int32, Int32) = (70, 42)
        var generator = SplitMix64(seed: 19)
        let pixels = (0..<(3 * Int(width * height) * 3)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        let options = try COptions(flags: 3, resize: VITREOUS_RESIZE_EXACT, width: 56, height: 28, layers: [0, 2, 6])
        let batch = try model.encodeBatch(pixels, batch: 3, width: width, height: height, options: options)
        #expect(try batch.batchInfo() == [3, 0, 0, 3])
        let info = fields(try batch.info())
        #expect(info == [64, 2, 4, 9, 1, 7, 4, 1])
        let tokens = try batch.read(3 * 9 * 64) { vitreous_result_tokens(batch.handle, $0, $1) }
        let norms = try batch.read(3 * 9) { vitreous_result_token_norms(batch.handle, 2, $0, $1) }
        let attention = try batch.read(3 * 4 * 9) { vitreous_result_cls_attention(batch.handle, $0, $1) }
        let hidden = try batch.read(3 * 9 * 64) { vitreous_result_hidden_state(batch.handle, 2, $0, $1) }
        // Pooled per image: token 0, and the mean of the 2 × 4 patches (tokens 1…8), summed here in Double.
        let pooledCLS = try batch.read(3 * 64) { vitreous_result_pooled_state(batch.handle, 2, VITREOUS_POOLING_CLS, $0, $1) }
        let pooledMean = try batch.read(3 * 64) {
            vitreous_result_pooled_state(batch.handle, 2, VITREOUS_POOLING_MEAN_PATCH, $0, $1)
        }
        let expectedCLS: [Float] = (0..<(3 * 64)).map { (i: Int) -> Float in hidden[(i / 64) * 576 + i % 64] }
        var expectedMean = [Float](repeating: 0, count: 3 * 64)
        for i in 0..<(3 * 64) {
            var sum = 0.0
            for token in 1..<9 { sum += Double(hidden[(i / 64) * 576 + token * 64 + i % 64]) }
            expectedMean[i] = Float(sum / 8)
        }
        #expect(pooledCLS == expectedCLS)
        #expect(relativeError(pooledMean, expectedMean) <= 1e-6)
        let encoder = ViTEncoder(weights: try PlantedArtifacts.weights(variant: .planted, seed: 0)
            .tensors(on: device(ofIndex: deviceIndex)))
        let plane = Int(width * height) * 3
        // A batch is not computed in the same blocks as one image (GEMM and attention split differently), so
        // batch against single is float32 rounding apart: 1e-5. The Swift API on the same input is 1e-6.
        let batchBound = 1e-5
        for index in 0..<3 {
            let single = try model.encodeBatch(Array(pixels[(index * plane)..<((index + 1) * plane)]), batch: 1,
                                               width: width, height: height, options: options)
            let one = try single.read(9 * 64) { vitreous_result_tokens(single.handle, $0, $1) }
            #expect(relativeError(Array(tokens[(index * 576)..<((index + 1) * 576)]), one) <= batchBound)
            let oneNorms = try single.read(9) { vitreous_result_token_norms(single.handle, 2, $0, $1) }
            #expect(relativeError(Array(norms[(index * 9)..<((index + 1) * 9)]), oneNorms) <= batchBound)
            let oneAttention = try single.read(36) { vitreous_result_cls_attention(single.handle, $0, $1) }
            #expect(relativeError(Array(attention[(index * 36)..<((index + 1) * 36)]), oneAttention) <= batchBound)
            // The same image through the Swift API: block 2's output before the final norm.
            let image = try RGB8Image(width: Int(width), height: Int(height),
                                      bytes: Array(pixels[(index * plane)..<((index + 1) * plane)]))
            let input = try Preprocessor(resize: .exact(width: 56, height: 28)).tensor([image.image], on: encoder.device)
            let swift = try encoder.encode(input, options: EncoderOptions(hiddenStates: true))
            #expect(relativeError(Array(hidden[(index * 576)..<((index + 1) * 576)]),
                                  try swift.hiddenStates![2].toArray()) <= batchBound)
        }
        // A layer that was not kept, and one beyond the model.
        var out = [Float](repeating: 0, count: 3 * 9 * 64)
        #expect(Outcome(vitreous_result_hidden_state(batch.handle, 1, &out, out.count)).status == VITREOUS_ERROR_INVALID_ARGUMENT)
        let deep = try COptions(layers: [7])
        var result: OpaquePointer?
        let refused = Outcome(vitreous_encode_batch_rgb8(model.handle, pixels, pixels.count, 1, 56, 28, deep.handle, &result))
        #expect(refused.status == VITREOUS_ERROR_INVALID_ARGUMENT && refused.message.contains("layer 7"), "\(refused)")
    }

    @Test("auto resize equals VITREOUS_ENCODE_RESIZE; float HWC equals 8-bit; detectors per image", arguments: deviceIndices)
    func resizeModesAndDetectors(deviceIndex: Int32) throws {
        let model = try CModel(demoOn: deviceIndex)
        let image = try demoImage()
        let legacy = try model.encode(rgb8: image.pixels, width: 224, height: 224, flags: 1 | 4)
        let auto = try model.encodeBatch(image.pixels + image.pixels, batch: 2, width: 224, height: 224,
                                         options: try COptions(flags: 1, resize: VITREOUS_RESIZE_AUTO))
        let one = try legacy.read(257 * 64) { vitreous_result_tokens(legacy.handle, $0, $1) }
        let two = try auto.read(2 * 257 * 64) { vitreous_result_tokens(auto.handle, $0, $1) }
        #expect(relativeError(Array(two[16_448...]), one) <= 1e-5)  // a batch of 2 against one image
        var floatResult: OpaquePointer?
        let floats = (image.pixels + image.pixels).map { Float($0) / 255 }
        #expect(vitreous_encode_batch_float(model.handle, floats, floats.count, 2, 224, 224, VITREOUS_LAYOUT_HWC_RGB, nil,
                                            &floatResult) == VITREOUS_OK)
        let viaFloat = CResult(floatResult)
        #expect(relativeError(try viaFloat.read(2 * 257 * 64) { vitreous_result_tokens(viaFloat.handle, $0, $1) }, two) <= 1e-6)

        // The default detector matches the single-image call; an absolute threshold matches ArtifactDetector's.
        let norms = try auto.read(2 * 257) { vitreous_result_token_norms(auto.handle, -1, $0, $1) }
        for (method, parameter, detector) in [(VITREOUS_DETECTOR_ROBUST, Float(0), ArtifactDetector.default),
                                              (VITREOUS_DETECTOR_ABSOLUTE, 40, .absolute(threshold: 40)),
                                              (VITREOUS_DETECTOR_MEAN_STD, 2.5, .meanStd(k: 2.5)),
                                              (VITREOUS_DETECTOR_OTSU, 0, .otsuLog())] {
            var mask = [UInt8](repeating: 9, count: 256)
            var count: Int32 = -1
            let outcome = Outcome(vitreous_detect_artifacts_image(auto.handle, 1, -1, Int32(method), parameter, &mask,
                                                                  256, &count))
            #expect(outcome.status == VITREOUS_OK, "\(outcome)")
            let expected = try detector.detect(norms: Array(norms[(257 + 1)...])).flagged
            #expect(Int(count) == expected.count && mask.indices.filter { mask[$0] == 1 } == expected, "\(detector)")
        }
        var legacyCount: Int32 = 0, imageCount: Int32 = 0
        #expect(vitreous_detect_artifacts(legacy.handle, -1, nil, 0, &legacyCount) == VITREOUS_OK)
        #expect(vitreous_detect_artifacts_image(auto.handle, 1, -1, VITREOUS_DETECTOR_ROBUST, 0, nil, 0, &imageCount)
                == VITREOUS_OK)
        #expect(legacyCount == 4 && imageCount == 4)
        var repaired = [Float](repeating: .nan, count: 16_384), legacyRepaired = [Float](repeating: .nan, count: 16_384)
        #expect(vitreous_repair_inpaint_image(auto.handle, 1, VITREOUS_DETECTOR_ROBUST, 0, &repaired, 16_384, nil) == VITREOUS_OK)
        #expect(vitreous_repair_inpaint(legacy.handle, &legacyRepaired, 16_384, nil) == VITREOUS_OK)
        #expect(relativeError(repaired, legacyRepaired) <= 1e-5)  // image 1 of a batch against one image
    }

    @Test("register neurons: found, saved, loaded, and encoding with them as ViTEncoder does", arguments: deviceIndices)
    func testTimeRegisters(deviceIndex: Int32) throws {
        let model = try CModel(demoOn: deviceIndex)
        let image = try demoImage()
        var found: OpaquePointer?
        let search = Outcome(vitreous_registers_find(model.handle, image.pixels, image.pixels.count, 1, 224, 224, nil,
                                                     0, 0, 1, VITREOUS_DETECTOR_ROBUST, 0, &found))
        #expect(search.status == VITREOUS_OK, "\(search)")
        defer { _ = vitreous_registers_free(found) }
        var count: Int32 = 0
        #expect(vitreous_registers_get_neurons(found, nil, nil, 0, &count) == VITREOUS_OK && count == 1)
        var layers = [Int32](repeating: 0, count: 1), neurons = [Int32](repeating: 0, count: 1)
        #expect(vitreous_registers_get_neurons(found, &layers, &neurons, 1, &count) == VITREOUS_OK)
        // The demo model's planted register neuron (see PlantedArtifacts), block 2 counted from 1 by the API.
        let planted = PlantedArtifacts.registerNeuron
        #expect(layers == [Int32(planted.layer + 1)] && neurons == [Int32(planted.unit)], "\(layers) \(neurons)")

        let file = FileManager.default.temporaryDirectory.appendingPathComponent("vitreous-neurons-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: file) }
        #expect(vitreous_registers_save(found, model.handle, file.path) == VITREOUS_OK)
        var loaded: OpaquePointer?
        #expect(Outcome(vitreous_registers_load(model.handle, file.path, 0, &loaded)).status == VITREOUS_OK)
        defer { _ = vitreous_registers_free(loaded) }
        let options = try COptions(flags: 1, registers: loaded)
        let result = try model.encodeBatch(image.pixels, batch: 1, width: 224, height: 224, options: options)
        #expect(try result.batchInfo() == [1, 0, 1, 0])
        #expect(fields(try result.info())[3] == 258)
        let tokens = try result.read(258 * 64) { vitreous_result_tokens(result.handle, $0, $1) }
        let encoder = ViTEncoder(weights: try PlantedArtifacts.weights(variant: .planted, seed: 0)
            .tensors(on: device(ofIndex: deviceIndex)))
        let registers = TestTimeRegisters(neurons: [planted.layer: [planted.unit]])
        let swift = try encoder.encode(try Preprocessor(resize: .exact(width: 224, height: 224))
            .tensor([try RGB8Image(width: 224, height: 224, bytes: image.pixels).image], on: encoder.device),
            options: EncoderOptions(testTimeRegisters: registers))
        #expect(relativeError(tokens, try swift.tokens.toArray()) <= 1e-6)
        // With the registers the artifacts leave the patches.
        var flagged: Int32 = -1
        #expect(vitreous_detect_artifacts(result.handle, -1, nil, 0, &flagged) == VITREOUS_OK)
        #expect(flagged == 0)

        // Another model's weights are refused unless forced.
        let other = try CModel(path: SharedFixtures.tinyModel, device: deviceIndex)
        var refused: OpaquePointer?
        let wrong = Outcome(vitreous_registers_load(other.handle, file.path, 0, &refused))
        #expect(wrong.status == VITREOUS_ERROR_INVALID_ARGUMENT && refused == nil, "\(wrong)")
    }
}
