import CVitreous
import Foundation

/// Runs `body` with a fresh options handle; `freed` passes one already freed. The handle is freed afterwards on
/// another thread, so that this thread's message stays the one of the call under test.
func withOptions(freed: Bool = false, _ body: (OpaquePointer?) -> vitreous_status) -> vitreous_status {
    var options: OpaquePointer?
    _ = vitreous_options_create(&options)
    if freed { _ = vitreous_options_free(options) }
    let status = body(options)
    if !freed {
        let handle = UInt(bitPattern: options.map { Int(bitPattern: UnsafeRawPointer($0)) } ?? 0)
        let done = DispatchSemaphore(value: 0)
        Thread { _ = vitreous_options_free(OpaquePointer(bitPattern: handle)); done.signal() }.start()
        done.wait()
    }
    return status
}

/// The misuses of the batch, options, registers and image calls (the table's second part).
let batchMisuses: [Misuse] = [
    Misuse(description: "options_create(NULL)", expected: VITREOUS_ERROR_NULL_POINTER) { _ in vitreous_options_create(nil) },
    Misuse(description: "options_set_flags(NULL)", expected: VITREOUS_ERROR_NULL_POINTER) { _ in vitreous_options_set_flags(nil, 1) },
    Misuse(description: "options_set_flags(freed)", expected: VITREOUS_ERROR_INVALID_HANDLE) { _ in
        withOptions(freed: true) { vitreous_options_set_flags($0, 1) }
    },
    Misuse(description: "options_set_flags(a model)", expected: VITREOUS_ERROR_INVALID_HANDLE) { f in
        vitreous_options_set_flags(f.model, 1)
    },
    Misuse(description: "options_set_flags(RESIZE)", expected: VITREOUS_ERROR_INVALID_ARGUMENT) { _ in
        withOptions { vitreous_options_set_flags($0, VITREOUS_ENCODE_RESIZE) }
    },
    Misuse(description: "options_set_flags(0x80)", expected: VITREOUS_ERROR_INVALID_ARGUMENT) { _ in
        withOptions { vitreous_options_set_flags($0, 0x80) }
    },
    Misuse(description: "options_set_resize(mode 9)", expected: VITREOUS_ERROR_INVALID_ARGUMENT) { _ in
        withOptions { vitreous_options_set_resize($0, 9, 224, 224) }
    },
    Misuse(description: "options_set_resize(crop -224)", expected: VITREOUS_ERROR_INVALID_ARGUMENT) { _ in
        withOptions { vitreous_options_set_resize($0, VITREOUS_RESIZE_CENTER_CROP, -224, 0) }
    },
    Misuse(description: "options_set_resize(crop 224×112)", expected: VITREOUS_ERROR_INVALID_ARGUMENT) { _ in
        withOptions { vitreous_options_set_resize($0, VITREOUS_RESIZE_CENTER_CROP, 224, 112) }
    },
    Misuse(description: "options_set_resize(auto with a size)", expected: VITREOUS_ERROR_INVALID_ARGUMENT) { _ in
        withOptions { vitreous_options_set_resize($0, VITREOUS_RESIZE_AUTO, 224, 0) }
    },
    Misuse(description: "options_set_resize(exact 0×14)", expected: VITREOUS_ERROR_INVALID_ARGUMENT) { _ in
        withOptions { vitreous_options_set_resize($0, VITREOUS_RESIZE_EXACT, 0, 14) }
    },
    Misuse(description: "options_set_layers(NULL, 2)", expected: VITREOUS_ERROR_NULL_POINTER) { _ in
        withOptions { vitreous_options_set_layers($0, nil, 2) }
    },
    Misuse(description: "options_set_layers([1, 1])", expected: VITREOUS_ERROR_INVALID_ARGUMENT) { _ in
        withOptions { vitreous_options_set_layers($0, [1, 1], 2) }
    },
    Misuse(description: "options_set_layers([-1])", expected: VITREOUS_ERROR_INVALID_ARGUMENT) { _ in
        withOptions { vitreous_options_set_layers($0, [-1], 1) }
    },
    Misuse(description: "options_set_layers(count SIZE_MAX)", expected: VITREOUS_ERROR_BUFFER_SIZE) { _ in
        withOptions { vitreous_options_set_layers($0, [1], Int(bitPattern: UInt.max)) }
    },
    Misuse(description: "options_set_registers(a result)", expected: VITREOUS_ERROR_INVALID_HANDLE) { f in
        withOptions { vitreous_options_set_registers($0, f.result) }
    },
    Misuse(description: "options_free(twice)", expected: VITREOUS_ERROR_INVALID_HANDLE) { _ in
        withOptions(freed: true) { vitreous_options_free($0) }
    },
    Misuse(description: "encode_batch_rgb8(batch 0)", expected: VITREOUS_ERROR_INVALID_ARGUMENT) { f in
        var r: OpaquePointer?
        return vitreous_encode_batch_rgb8(f.model, f.pixels, f.pixels.count, 0, 224, 224, nil, &r)
    },
    Misuse(description: "encode_batch_rgb8(batch 2, one image of bytes)", expected: VITREOUS_ERROR_BUFFER_SIZE) { f in
        var r: OpaquePointer?
        return vitreous_encode_batch_rgb8(f.model, f.pixels, f.pixels.count, 2, 224, 224, nil, &r)
    },
    Misuse(description: "encode_batch_rgb8(batch Int32.max)", expected: VITREOUS_ERROR_INVALID_ARGUMENT) { f in
        var r: OpaquePointer?
        return vitreous_encode_batch_rgb8(f.model, f.pixels, f.pixels.count, .max, 224, 224, nil, &r)
    },
    Misuse(description: "encode_batch_rgb8(NULL pixels)", expected: VITREOUS_ERROR_NULL_POINTER) { f in
        var r: OpaquePointer?
        return vitreous_encode_batch_rgb8(f.model, nil, 150_528, 1, 224, 224, nil, &r)
    },
    Misuse(description: "encode_batch_rgb8(result NULL)", expected: VITREOUS_ERROR_NULL_POINTER) { f in
        vitreous_encode_batch_rgb8(f.model, f.pixels, f.pixels.count, 1, 224, 224, nil, nil)
    },
    Misuse(description: "encode_batch_rgb8(freed options)", expected: VITREOUS_ERROR_INVALID_HANDLE) { f in
        withOptions(freed: true) { options in
            var r: OpaquePointer?
            return vitreous_encode_batch_rgb8(f.model, f.pixels, f.pixels.count, 1, 224, 224, options, &r)
        }
    },
    Misuse(description: "encode_batch_rgb8(options as model)", expected: VITREOUS_ERROR_INVALID_HANDLE) { f in
        withOptions { options in
            var r: OpaquePointer?
            return vitreous_encode_batch_rgb8(options, f.pixels, f.pixels.count, 1, 224, 224, nil, &r)
        }
    },
    Misuse(description: "encode_batch_rgb8(112×224 unresized)", expected: VITREOUS_ERROR_INVALID_ARGUMENT) { f in
        var r: OpaquePointer?
        return vitreous_encode_batch_rgb8(f.model, f.pixels, f.pixels.count, 1, 150, 224, nil, &r)
    },
    Misuse(description: "encode_batch_rgb8(crop 100, not a multiple of 14)", expected: VITREOUS_ERROR_INVALID_ARGUMENT) { f in
        withOptions { options in
            _ = vitreous_options_set_resize(options, VITREOUS_RESIZE_CENTER_CROP, 100, 0)
            var r: OpaquePointer?
            return vitreous_encode_batch_rgb8(f.model, f.pixels, f.pixels.count, 1, 224, 224, options, &r)
        }
    },
    Misuse(description: "encode_batch_float(NaN)", expected: VITREOUS_ERROR_INVALID_ARGUMENT) { f in
        var values = [Float](repeating: 0, count: 14 * 14 * 3)
        values[5] = .nan
        var r: OpaquePointer?
        return vitreous_encode_batch_float(f.model, values, values.count, 1, 14, 14, 1, nil, &r)
    },
    Misuse(description: "encode_batch_float(layout 7)", expected: VITREOUS_ERROR_INVALID_ARGUMENT) { f in
        let values = [Float](repeating: 0, count: 14 * 14 * 3)
        var r: OpaquePointer?
        return vitreous_encode_batch_float(f.model, values, values.count, 1, 14, 14, 7, nil, &r)
    },
    Misuse(description: "encode_batch_float(normalised with a resize)", expected: VITREOUS_ERROR_INVALID_ARGUMENT) { f in
        withOptions { options in
            _ = vitreous_options_set_resize(options, VITREOUS_RESIZE_AUTO, 0, 0)
            let values = [Float](repeating: 0, count: 14 * 14 * 3)
            var r: OpaquePointer?
            return vitreous_encode_batch_float(f.model, values, values.count, 1, 14, 14, 1, options, &r)
        }
    },
    Misuse(description: "result_get_batch_info(info NULL)", expected: VITREOUS_ERROR_NULL_POINTER) { f in
        vitreous_result_get_batch_info(f.result, nil)
    },
    Misuse(description: "result_get_batch_info(freed)", expected: VITREOUS_ERROR_INVALID_HANDLE) { f in
        var info = vitreous_batch_info()
        return vitreous_result_get_batch_info(f.freedResult, &info)
    },
    Misuse(description: "result_pooled_state(not kept)", expected: VITREOUS_ERROR_INVALID_ARGUMENT) { f in
        withScratch { out, _ in vitreous_result_pooled_state(f.result, 1, VITREOUS_POOLING_CLS, out, 64) }
    },
    Misuse(description: "result_hidden_state(not kept)", expected: VITREOUS_ERROR_INVALID_ARGUMENT) { f in
        withScratch { out, _ in vitreous_result_hidden_state(f.result, 1, out, 257 * 64) }
    },
    Misuse(description: "detect_artifacts_image(image 1 of 1)", expected: VITREOUS_ERROR_INVALID_ARGUMENT) { f in
        var n: Int32 = 0
        return vitreous_detect_artifacts_image(f.result, 1, -1, 0, 0, nil, 0, &n)
    },
    Misuse(description: "detect_artifacts_image(method 4)", expected: VITREOUS_ERROR_INVALID_ARGUMENT) { f in
        var n: Int32 = 0
        return vitreous_detect_artifacts_image(f.result, 0, -1, 4, 0, nil, 0, &n)
    },
    Misuse(description: "detect_artifacts_image(absolute without threshold)", expected: VITREOUS_ERROR_INVALID_ARGUMENT) { f in
        var n: Int32 = 0
        return vitreous_detect_artifacts_image(f.result, 0, -1, VITREOUS_DETECTOR_ABSOLUTE, 0, nil, 0, &n)
    },
    Misuse(description: "detect_artifacts_image(infinite parameter)", expected: VITREOUS_ERROR_INVALID_ARGUMENT) { f in
        var n: Int32 = 0
        return vitreous_detect_artifacts_image(f.result, 0, -1, VITREOUS_DETECTOR_MEAN_STD, .infinity, nil, 0, &n)
    },
    Misuse(description: "detect_artifacts_image(no norms)", expected: VITREOUS_ERROR_INVALID_ARGUMENT) { f in
        var n: Int32 = 0
        return vitreous_detect_artifacts_image(f.plain, 0, -1, 0, 0, nil, 0, &n)
    },
    Misuse(description: "repair_inpaint_image(image -1)", expected: VITREOUS_ERROR_INVALID_ARGUMENT) { f in
        withScratch { out, _ in vitreous_repair_inpaint_image(f.result, -1, 0, 0, out, 16_384, nil) }
    },
    Misuse(description: "repair_inpaint_image(count 10)", expected: VITREOUS_ERROR_BUFFER_SIZE) { f in
        withScratch { out, _ in vitreous_repair_inpaint_image(f.result, 0, 0, 0, out, 10, nil) }
    },
    Misuse(description: "registers_load(missing file)", expected: VITREOUS_ERROR_IO) { f in
        var r: OpaquePointer?
        return vitreous_registers_load(f.model, f.path("missing.json"), 0, &r)
    },
    Misuse(description: "registers_load(not a neurons file)", expected: VITREOUS_ERROR_INVALID_ARGUMENT) { f in
        var r: OpaquePointer?
        return vitreous_registers_load(f.model, f.path("garbage.safetensors"), 0, &r)
    },
    Misuse(description: "registers_load(NULL path)", expected: VITREOUS_ERROR_NULL_POINTER) { f in
        var r: OpaquePointer?
        return vitreous_registers_load(f.model, nil, 0, &r)
    },
    Misuse(description: "registers_save(a result as registers)", expected: VITREOUS_ERROR_INVALID_HANDLE) { f in
        vitreous_registers_save(f.result, f.model, f.path("out.json"))
    },
    Misuse(description: "registers_find(top_k 0)", expected: VITREOUS_ERROR_INVALID_ARGUMENT) { f in
        var r: OpaquePointer?
        return vitreous_registers_find(f.model, f.pixels, f.pixels.count, 1, 224, 224, nil, 0, 0, 0, 0, 0, &r)
    },
    Misuse(description: "registers_find(detect_layer 7 of 6)", expected: VITREOUS_ERROR_INVALID_ARGUMENT) { f in
        var r: OpaquePointer?
        return vitreous_registers_find(f.model, f.pixels, f.pixels.count, 1, 224, 224, nil, 7, 0, 1, 0, 0, &r)
    },
    Misuse(description: "registers_find(no artifacts: absolute 1e30)", expected: VITREOUS_ERROR_INVALID_ARGUMENT) { f in
        var r: OpaquePointer?
        return vitreous_registers_find(f.model, f.pixels, f.pixels.count, 1, 224, 224, nil, 0, 0, 1,
                                       VITREOUS_DETECTOR_ABSOLUTE, 1e30, &r)
    },
    Misuse(description: "registers_get_neurons(bogus)", expected: VITREOUS_ERROR_INVALID_HANDLE) { _ in
        var n: Int32 = 0
        return vitreous_registers_get_neurons(bogus, nil, nil, 0, &n)
    },
    Misuse(description: "registers_free(bogus)", expected: VITREOUS_ERROR_INVALID_HANDLE) { _ in vitreous_registers_free(bogus) },
    Misuse(description: "image_load(missing file)", expected: VITREOUS_ERROR_IO) { f in
        var i: OpaquePointer?
        return vitreous_image_load(f.path("missing.png"), 0, &i)
    },
    Misuse(description: "image_load(not an image)", expected: VITREOUS_ERROR_IMAGE) { f in
        var i: OpaquePointer?
        return vitreous_image_load(f.path("garbage.safetensors"), 0, &i)
    },
    Misuse(description: "image_load(flags 2)", expected: VITREOUS_ERROR_INVALID_ARGUMENT) { f in
        var i: OpaquePointer?
        return vitreous_image_load(f.path("missing.png"), 2, &i)
    },
    Misuse(description: "image_load(empty path)", expected: VITREOUS_ERROR_INVALID_ARGUMENT) { _ in
        var i: OpaquePointer?
        return vitreous_image_load("", 0, &i)
    },
    Misuse(description: "image_decode(size 0)", expected: VITREOUS_ERROR_BUFFER_SIZE) { f in
        var i: OpaquePointer?
        return vitreous_image_decode(f.pixels, 0, 0, &i)
    },
    Misuse(description: "image_decode(pixels, not a file)", expected: VITREOUS_ERROR_IMAGE) { f in
        var i: OpaquePointer?
        return vitreous_image_decode(f.pixels, f.pixels.count, 0, &i)
    },
    Misuse(description: "image_decode(truncated PNG)", expected: VITREOUS_ERROR_IMAGE) { _ in
        let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13]
        var i: OpaquePointer?
        return vitreous_image_decode(png, png.count, 0, &i)
    },
    Misuse(description: "image_get_size(a model)", expected: VITREOUS_ERROR_INVALID_HANDLE) { f in
        var (w, h): (Int32, Int32) = (0, 0)
        return vitreous_image_get_size(f.model, &w, &h)
    },
    Misuse(description: "image_pixels(bogus)", expected: VITREOUS_ERROR_INVALID_HANDLE) { _ in
        var byte: UInt8 = 0
        return vitreous_image_pixels(bogus, &byte, 1)
    },
    Misuse(description: "image_free(a result)", expected: VITREOUS_ERROR_INVALID_HANDLE) { f in vitreous_image_free(f.result) },
]
