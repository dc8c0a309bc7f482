import Foundation
import Testing
import CVitreous
import VitreousModel

/// One misuse of the C API and the status it must give.
struct Misuse: CustomStringConvertible, Sendable {
    let description: String
    let expected: vitreous_status
    let call: @Sendable (Fixture) -> vitreous_status
}

/// Live handles and buffers shared by the misuse table, plus a freed model and a freed result.
final class Fixture: @unchecked Sendable {  // immutable after init; handles are numbers
    let model: OpaquePointer?
    let result: OpaquePointer?
    let plain: OpaquePointer?  // encoded without norms or attention
    let freedModel: OpaquePointer?
    let freedResult: OpaquePointer?
    let pixels: [UInt8]
    let folder: URL

    init() throws {
        var model: OpaquePointer?, result: OpaquePointer?, plain: OpaquePointer?
        var freedModel: OpaquePointer?, freedResult: OpaquePointer?
        let image = try demoImage()
        pixels = image.pixels
        guard vitreous_model_create_demo(0, &model) == VITREOUS_OK, vitreous_model_create_demo(0, &freedModel) == VITREOUS_OK,
              vitreous_encode_rgb8(model, pixels, pixels.count, 224, 224, 0, 3, &result) == VITREOUS_OK,
              vitreous_encode_rgb8(model, pixels, pixels.count, 224, 224, 0, 0, &plain) == VITREOUS_OK,
              vitreous_encode_rgb8(model, pixels, pixels.count, 224, 224, 0, 3, &freedResult) == VITREOUS_OK,
              vitreous_model_free(freedModel) == VITREOUS_OK, vitreous_result_free(freedResult) == VITREOUS_OK else {
            throw TestFailure("fixture: \(Outcome(VITREOUS_ERROR_INTERNAL))")
        }
        (self.model, self.result, self.plain, self.freedModel, self.freedResult) =
            (model, result, plain, freedModel, freedResult)
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("vitreous-c-bad-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try Data("this is not a safetensors file".utf8).write(to: folder.appendingPathComponent("garbage.safetensors"))
        var header = Data([16, 0, 0, 0, 0, 0, 0, 0])
        header.append(Data("{\"a\":1}        ".utf8))
        try header.write(to: folder.appendingPathComponent("no-tensors.safetensors"))
    }

    deinit {
        _ = vitreous_result_free(result)
        _ = vitreous_result_free(plain)
        _ = vitreous_model_free(model)
        try? FileManager.default.removeItem(at: folder)
    }

    func path(_ name: String) -> String { folder.appendingPathComponent(name).path }
}

let fixture = Result { try Fixture() }

/// Output scratch space large enough for any call on the demo model, per call so that tests may run at once.
func withScratch(_ body: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<UInt8>) -> vitreous_status)
    -> vitreous_status {
    var floats = [Float](repeating: 0, count: 257 * 64)
    var bytes = [UInt8](repeating: 0, count: 256)
    return floats.withUnsafeMutableBufferPointer { f in
        bytes.withUnsafeMutableBufferPointer { b in body(f.baseAddress!, b.baseAddress!) }
    }
}

/// A pointer that was never a handle.
var bogus: OpaquePointer? { OpaquePointer(bitPattern: 0xDEAD_BEE0) }
let misuses: [Misuse] = [
    // NULL where a pointer is required.
    Misuse(description: "device_count(NULL)", expected: VITREOUS_ERROR_NULL_POINTER) { _ in vitreous_device_count(nil) },
    Misuse(description: "default_device(NULL)", expected: VITREOUS_ERROR_NULL_POINTER) { _ in vitreous_default_device(nil) },
    Misuse(description: "device_name(0, NULL, 64)", expected: VITREOUS_ERROR_NULL_POINTER) { _ in vitreous_device_name(0, nil, 64) },
    Misuse(description: "model_load(NULL path)", expected: VITREOUS_ERROR_NULL_POINTER) { _ in
        var m: OpaquePointer?
        return vitreous_model_load(nil, 0, &m)
    },
    Misuse(description: "model_load(out NULL)", expected: VITREOUS_ERROR_NULL_POINTER) { f in
        vitreous_model_load(f.path("garbage.safetensors"), 0, nil)
    },
    Misuse(description: "model_create_demo(out NULL)", expected: VITREOUS_ERROR_NULL_POINTER) { _ in vitreous_model_create_demo(0, nil) },
    Misuse(description: "model_info(NULL model)", expected: VITREOUS_ERROR_NULL_POINTER) { _ in
        var info = vitreous_model_info()
        return vitreous_model_get_info(nil, &info)
    },
    Misuse(description: "model_info(info NULL)", expected: VITREOUS_ERROR_NULL_POINTER) { f in vitreous_model_get_info(f.model, nil) },
    Misuse(description: "encode_rgb8(NULL model)", expected: VITREOUS_ERROR_NULL_POINTER) { f in
        var r: OpaquePointer?
        return vitreous_encode_rgb8(nil, f.pixels, f.pixels.count, 224, 224, 0, 0, &r)
    },
    Misuse(description: "encode_rgb8(NULL pixels)", expected: VITREOUS_ERROR_NULL_POINTER) { f in
        var r: OpaquePointer?
        return vitreous_encode_rgb8(f.model, nil, 150_528, 224, 224, 0, 0, &r)
    },
    Misuse(description: "encode_rgb8(result NULL)", expected: VITREOUS_ERROR_NULL_POINTER) { f in
        vitreous_encode_rgb8(f.model, f.pixels, f.pixels.count, 224, 224, 0, 0, nil)
    },
    Misuse(description: "encode_float(NULL values)", expected: VITREOUS_ERROR_NULL_POINTER) { f in
        var r: OpaquePointer?
        return vitreous_encode_float(f.model, nil, 150_528, 224, 224, 0, 0, &r)
    },
    Misuse(description: "result_cls(NULL out)", expected: VITREOUS_ERROR_NULL_POINTER) { f in vitreous_result_cls(f.result, nil, 64) },
    Misuse(description: "result_patches(NULL result)", expected: VITREOUS_ERROR_NULL_POINTER) { _ in
        withScratch { out, _ in vitreous_result_patches(nil, out, 16_448) }
    },
    Misuse(description: "result_info(info NULL)", expected: VITREOUS_ERROR_NULL_POINTER) { f in vitreous_result_get_info(f.result, nil) },
    Misuse(description: "detect_artifacts(flagged_count NULL)", expected: VITREOUS_ERROR_NULL_POINTER) { f in
        withScratch { _, mask in vitreous_detect_artifacts(f.result, -1, mask, 256, nil) }
    },
    Misuse(description: "detect_artifacts(NULL mask, capacity 256)", expected: VITREOUS_ERROR_NULL_POINTER) { f in
        var n: Int32 = 0
        return vitreous_detect_artifacts(f.result, -1, nil, 256, &n)
    },
    Misuse(description: "repair_inpaint(NULL patches)", expected: VITREOUS_ERROR_NULL_POINTER) { f in
        vitreous_repair_inpaint(f.result, nil, 16_384, nil)
    },
    Misuse(description: "demo_image_rgb8(width NULL)", expected: VITREOUS_ERROR_NULL_POINTER) { _ in
        var h: Int32 = 0
        return vitreous_demo_image_rgb8(nil, 0, nil, &h)
    },

    // Buffers too small, sizes that are not sizes.
    Misuse(description: "result_cls(count 63)", expected: VITREOUS_ERROR_BUFFER_SIZE) { f in
        withScratch { out, _ in vitreous_result_cls(f.result, out, 63) }
    },
    Misuse(description: "result_patches(count 64)", expected: VITREOUS_ERROR_BUFFER_SIZE) { f in
        withScratch { out, _ in vitreous_result_patches(f.result, out, 64) }
    },
    Misuse(description: "result_tokens(count -1 as size_t max)", expected: VITREOUS_ERROR_BUFFER_SIZE) { f in
        withScratch { out, _ in vitreous_result_tokens(f.result, out, -1) }
    },
    Misuse(description: "result_token_norms(count 256)", expected: VITREOUS_ERROR_BUFFER_SIZE) { f in
        withScratch { out, _ in vitreous_result_token_norms(f.result, 0, out, 256) }
    },
    Misuse(description: "result_cls_attention(count 257)", expected: VITREOUS_ERROR_BUFFER_SIZE) { f in
        withScratch { out, _ in vitreous_result_cls_attention(f.result, out, 257) }
    },
    Misuse(description: "detect_artifacts(mask capacity 255)", expected: VITREOUS_ERROR_BUFFER_SIZE) { f in
        var n: Int32 = 0
        return withScratch { _, mask in vitreous_detect_artifacts(f.result, -1, mask, 255, &n) }
    },
    Misuse(description: "repair_inpaint(count 100)", expected: VITREOUS_ERROR_BUFFER_SIZE) { f in
        withScratch { out, _ in vitreous_repair_inpaint(f.result, out, 100, nil) }
    },
    Misuse(description: "device_name(capacity 2)", expected: VITREOUS_ERROR_BUFFER_SIZE) { _ in
        var name = [CChar](repeating: 0, count: 2)
        return vitreous_device_name(0, &name, 2)
    },
    Misuse(description: "demo_image_rgb8(capacity 100)", expected: VITREOUS_ERROR_BUFFER_SIZE) { _ in
        var (w, h): (Int32, Int32) = (0, 0)
        var pixels = [UInt8](repeating: 0, count: 100)
        return vitreous_demo_image_rgb8(&pixels, 100, &w, &h)
    },
    Misuse(description: "encode_rgb8(size one byte short)", expected: VITREOUS_ERROR_BUFFER_SIZE) { f in
        var r: OpaquePointer?
        return vitreous_encode_rgb8(f.model, f.pixels, f.pixels.count - 1, 224, 224, 0, 0, &r)
    },
    Misuse(description: "encode_float(count for 223 rows)", expected: VITREOUS_ERROR_BUFFER_SIZE) { f in
        var r: OpaquePointer?
        let values = [Float](repeating: 0.5, count: 224 * 223 * 3)
        return vitreous_encode_float(f.model, values, values.count, 224, 224, 0, 0, &r)
    },

    // Arguments out of range.
    Misuse(description: "encode_rgb8(width 0)", expected: VITREOUS_ERROR_INVALID_ARGUMENT) { f in
        var r: OpaquePointer?
        return vitreous_encode_rgb8(f.model, f.pixels, f.pixels.count, 0, 224, 0, 0, &r)
    },
    Misuse(description: "encode_rgb8(height -224)", expected: VITREOUS_ERROR_INVALID_ARGUMENT) { f in
        var r: OpaquePointer?
        return vitreous_encode_rgb8(f.model, f.pixels, f.pixels.count, 224, -224, 0, 0, &r)
    },
    Misuse(description: "encode_rgb8(Int32.max × Int32.max)", expected: VITREOUS_ERROR_INVALID_ARGUMENT) { f in
        var r: OpaquePointer?
        return vitreous_encode_rgb8(f.model, f.pixels, f.pixels.count, .max, .max, 0, 0, &r)
    },
    Misuse(description: "encode_rgb8(stride below width × 3)", expected: VITREOUS_ERROR_INVALID_ARGUMENT) { f in
        var r: OpaquePointer?
        return vitreous_encode_rgb8(f.model, f.pixels, f.pixels.count, 224, 224, 100, 0, &r)
    },
    Misuse(description: "encode_rgb8(stride overflowing)", expected: VITREOUS_ERROR_INVALID_ARGUMENT) { f in
        var r: OpaquePointer?
        return vitreous_encode_rgb8(f.model, f.pixels, f.pixels.count, 224, 224, Int.max / 2, 0, &r)
    },
    Misuse(description: "encode_rgb8(unknown flag bits)", expected: VITREOUS_ERROR_INVALID_ARGUMENT) { f in
        var r: OpaquePointer?
        return vitreous_encode_rgb8(f.model, f.pixels, f.pixels.count, 224, 224, 0, 0x80, &r)
    },
    Misuse(description: "encode_rgb8(10×10 image, smaller than a patch)", expected: VITREOUS_ERROR_INVALID_ARGUMENT) { f in
        var r: OpaquePointer?
        return vitreous_encode_rgb8(f.model, f.pixels, 300, 10, 10, 0, 0, &r)
    },
    Misuse(description: "encode_float(layout 7)", expected: VITREOUS_ERROR_INVALID_ARGUMENT) { f in
        var r: OpaquePointer?
        let values = [Float](repeating: 0.5, count: 224 * 224 * 3)
        return vitreous_encode_float(f.model, values, values.count, 224, 224, 7, 0, &r)
    },
    Misuse(description: "encode_float(a NaN)", expected: VITREOUS_ERROR_INVALID_ARGUMENT) { f in
        var r: OpaquePointer?
        var values = [Float](repeating: 0.5, count: 224 * 224 * 3)
        values[1000] = .nan
        return vitreous_encode_float(f.model, values, values.count, 224, 224, 0, 0, &r)
    },
    Misuse(description: "encode_float(normalised planes with RESIZE)", expected: VITREOUS_ERROR_INVALID_ARGUMENT) { f in
        var r: OpaquePointer?
        let values = [Float](repeating: 0, count: 224 * 224 * 3)
        return vitreous_encode_float(f.model, values, values.count, 224, 224, 1, 4, &r)
    },
    Misuse(description: "result_token_norms(layer 7 of 0...6)", expected: VITREOUS_ERROR_INVALID_ARGUMENT) { f in
        withScratch { out, _ in vitreous_result_token_norms(f.result, 7, out, 257) }
    },
    Misuse(description: "result_token_norms(layer -2)", expected: VITREOUS_ERROR_INVALID_ARGUMENT) { f in
        withScratch { out, _ in vitreous_result_token_norms(f.result, -2, out, 257) }
    },
    Misuse(description: "result_token_norms without VITREOUS_ENCODE_TOKEN_NORMS", expected: VITREOUS_ERROR_INVALID_ARGUMENT) { f in
        withScratch { out, _ in vitreous_result_token_norms(f.plain, 0, out, 257) }
    },
    Misuse(description: "result_cls_attention without VITREOUS_ENCODE_CLS_ATTENTION", expected: VITREOUS_ERROR_INVALID_ARGUMENT) { f in
        withScratch { out, _ in vitreous_result_cls_attention(f.plain, out, 1028) }
    },
    Misuse(description: "detect_artifacts without token norms", expected: VITREOUS_ERROR_INVALID_ARGUMENT) { f in
        var n: Int32 = 0
        return vitreous_detect_artifacts(f.plain, -1, nil, 0, &n)
    },
    Misuse(description: "repair_inpaint without token norms", expected: VITREOUS_ERROR_INVALID_ARGUMENT) { f in
        withScratch { out, _ in vitreous_repair_inpaint(f.plain, out, 16_384, nil) }
    },
    Misuse(description: "model_load(empty path)", expected: VITREOUS_ERROR_INVALID_ARGUMENT) { _ in
        var m: OpaquePointer?
        return vitreous_model_load("", 0, &m)
    },

    // Handles: freed, freed twice, of the other kind, made up.
    Misuse(description: "model_info(freed model)", expected: VITREOUS_ERROR_INVALID_HANDLE) { f in
        var info = vitreous_model_info()
        return vitreous_model_get_info(f.freedModel, &info)
    },
    Misuse(description: "encode_rgb8(freed model)", expected: VITREOUS_ERROR_INVALID_HANDLE) { f in
        var r: OpaquePointer?
        return vitreous_encode_rgb8(f.freedModel, f.pixels, f.pixels.count, 224, 224, 0, 0, &r)
    },
    Misuse(description: "model_free twice", expected: VITREOUS_ERROR_INVALID_HANDLE) { f in vitreous_model_free(f.freedModel) },
    Misuse(description: "result_cls(freed result)", expected: VITREOUS_ERROR_INVALID_HANDLE) { f in
        withScratch { out, _ in vitreous_result_cls(f.freedResult, out, 64) }
    },
    Misuse(description: "result_free twice", expected: VITREOUS_ERROR_INVALID_HANDLE) { f in vitreous_result_free(f.freedResult) },
    Misuse(description: "result_free(a model)", expected: VITREOUS_ERROR_INVALID_HANDLE) { f in vitreous_result_free(f.model) },
    Misuse(description: "model_free(a result)", expected: VITREOUS_ERROR_INVALID_HANDLE) { f in vitreous_model_free(f.result) },
    Misuse(description: "encode_rgb8(a result as the model)", expected: VITREOUS_ERROR_INVALID_HANDLE) { f in
        var r: OpaquePointer?
        return vitreous_encode_rgb8(f.result, f.pixels, f.pixels.count, 224, 224, 0, 0, &r)
    },
    Misuse(description: "result_cls(made-up pointer)", expected: VITREOUS_ERROR_INVALID_HANDLE) { _ in
        withScratch { out, _ in vitreous_result_cls(bogus, out, 64) }
    },
    Misuse(description: "model_free(made-up pointer)", expected: VITREOUS_ERROR_INVALID_HANDLE) { _ in vitreous_model_free(bogus) },

    // Devices.
    Misuse(description: "model_create_demo(device 99)", expected: VITREOUS_ERROR_UNKNOWN_DEVICE) { _ in
        var m: OpaquePointer?
        return vitreous_model_create_demo(99, &m)
    },
    Misuse(description: "model_create_demo(device -2)", expected: VITREOUS_ERROR_UNKNOWN_DEVICE) { _ in
        var m: OpaquePointer?
        return vitreous_model_create_demo(-2, &m)
    },
    Misuse(description: "model_load(device 1000)", expected: VITREOUS_ERROR_UNKNOWN_DEVICE) { f in
        var m: OpaquePointer?
        return vitreous_model_load(f.path("garbage.safetensors"), 1000, &m)
    },
    Misuse(description: "device_name(Int32.min)", expected: VITREOUS_ERROR_UNKNOWN_DEVICE) { _ in
        var name = [CChar](repeating: 0, count: 256)
        return vitreous_device_name(.min, &name, 256)
    },

    // Files.
    Misuse(description: "model_load(missing file)", expected: VITREOUS_ERROR_IO) { f in
        var m: OpaquePointer?
        return vitreous_model_load(f.path("missing.safetensors"), 0, &m)
    },
    Misuse(description: "model_load(a folder)", expected: VITREOUS_ERROR_IO) { f in
        var m: OpaquePointer?
        return vitreous_model_load(f.folder.path, 0, &m)
    },
    Misuse(description: "model_load(garbage file)", expected: VITREOUS_ERROR_MODEL) { f in
        var m: OpaquePointer?
        return vitreous_model_load(f.path("garbage.safetensors"), 0, &m)
    },
    Misuse(description: "model_load(safetensors without tensors)", expected: VITREOUS_ERROR_MODEL) { f in
        var m: OpaquePointer?
        return vitreous_model_load(f.path("no-tensors.safetensors"), 0, &m)
    },
]

@Suite("C API misuse")
struct BadInputTests {
    @Test("each misuse gives its status and a message naming the function", arguments: misuses + batchMisuses + analysisMisuses)
    func misuse(_ misuse: Misuse) throws {
        let fixture = try fixture.get()
        let outcome = Outcome(misuse.call(fixture))
        #expect(outcome.status == misuse.expected, "\(misuse): \(outcome)")
        #expect(outcome.message.hasPrefix("vitreous_"), "\(misuse): \(outcome)")
        #expect(!outcome.message.isEmpty)
    }

    @Test("failed calls set their output handle to NULL and leave no handle behind")
    func outputsCleared() throws {
        var model = OpaquePointer(bitPattern: 0x1234)
        #expect(Outcome(vitreous_model_create_demo(99, &model)).status == VITREOUS_ERROR_UNKNOWN_DEVICE)
        #expect(model == nil)
        var result = OpaquePointer(bitPattern: 0x1234)
        let fixture = try fixture.get()
        #expect(Outcome(vitreous_encode_rgb8(fixture.model, fixture.pixels, 10, 224, 224, 0, 0, &result)).status
                == VITREOUS_ERROR_BUFFER_SIZE)
        #expect(result == nil)
    }

    @Test("a success clears the message; status names are those of the header")
    func messagesAndNames() {
        var count: Int32 = 0
        _ = vitreous_device_count(nil)
        #expect(!Outcome(VITREOUS_ERROR_INTERNAL).message.isEmpty)
        #expect(Outcome(vitreous_device_count(&count)).message.isEmpty)
        #expect(name(of: VITREOUS_ERROR_BUFFER_SIZE) == "VITREOUS_ERROR_BUFFER_SIZE")
        #expect(name(of: VITREOUS_OK) == "VITREOUS_OK")
        #expect(name(of: vitreous_status(rawValue: 12)) == "VITREOUS_ERROR_UNKNOWN")
        #expect(name(of: vitreous_status(rawValue: .max)) == "VITREOUS_ERROR_UNKNOWN")
    }

    @Test("the header declares exactly the functions the library exports, with the status numbers used here")
    func headerMatches() throws {
        let header = try String(contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../include/vitreous.h").standardizedFileURL, encoding: .utf8)
        let declared = Set(header.matches(of: /\b(vitreous_[a-z0-9_]+)\(/).map { String($0.output.1) })
        let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Sources/VitreousC").standardizedFileURL
        var exported = Set<String>()
        for file in try FileManager.default.contentsOfDirectory(atPath: sources.path) where file.hasSuffix(".swift") {
            let text = try String(contentsOf: sources.appendingPathComponent(file), encoding: .utf8)
            exported.formUnion(text.matches(of: /@_cdecl\("([a-z0-9_]+)"\)/).map { String($0.output.1) })
        }
        #expect(declared == exported)
        let version = String(cString: vitreous_version())
        #expect(header.contains("#define VITREOUS_VERSION_STRING \"\(version)\""), "\(version)")
        for number in 0...11 {
            let name = name(of: vitreous_status(rawValue: .init(number)))
            #expect(name != "VITREOUS_ERROR_UNKNOWN" && header.contains("\(name) = \(number),")
                    || name == "VITREOUS_ERROR_INTERNAL" && header.contains("\(name) = \(number)\n"), "\(name)")
        }
    }
}
