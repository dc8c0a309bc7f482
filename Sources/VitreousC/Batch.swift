import Foundation
import VitreousAnalysis
import VitreousImage
import VitreousModel
import VitreousTensor

// Encoding a batch of images of one size with an options handle, and reading what only batch results hold.
// See include/vitreous.h for the contract of each function.

/// Checks `batch` and the sizes of a batch of `channels`-sample pixels; returns the samples per image.
func checkedBatch(_ batch: Int32, _ width: Int32, _ height: Int32, _ function: String) throws -> Int {
    guard batch > 0 else { throw CAPIError(.invalidArgument, "\(function): batch \(batch); it must be at least 1") }
    let perImage = try checkedPixelCount(width, height, function) * 3
    let (total, overflow) = perImage.multipliedReportingOverflow(by: Int(batch))
    guard !overflow, total <= 16 * PNG.maximumPixels else {
        throw CAPIError(.invalidArgument, "\(function): \(batch) images of \(width)×\(height) are too many pixels")
    }
    return perImage
}

/// `batch` packed RGB8 images of `width × height` read from `size` bytes at `pixels`, after checking the sizes.
func packedImages(_ pixels: UnsafePointer<UInt8>, _ size: Int, _ batch: Int32, _ width: Int32, _ height: Int32,
                  _ function: String) throws -> [RGB8Image] {
    let perImage = try checkedBatch(batch, width, height, function)
    try checkCapacity(size, needed: perImage * Int(batch), function, "pixels (bytes)")
    return try (0..<Int(batch)).map { index in
        try RGB8Image(width: Int(width), height: Int(height),
                      bytes: Array(UnsafeBufferPointer(start: pixels + index * perImage, count: perImage)))
    }
}

/// Throws unless `width × height` is a whole number of patches; `remedy` says how the caller can resize instead.
func requirePatchMultiple(_ width: Int, _ height: Int, patch: Int, remedy: String, _ function: String) throws {
    guard width % patch == 0, height % patch == 0 else {
        throw CAPIError(.invalidArgument, "\(function): \(width)×\(height) is not a multiple of the patch size \(patch); "
            + remedy)
    }
}

/// What a batch call says when its images are not a whole number of patches and no resize was chosen.
let batchResizeRemedy = "choose a resize with vitreous_options_set_resize"

/// The images as the encoder sees them, `[B, 3, H, W]`: each resized by `policy` exactly as the CLI resizes a
/// decoded file, or used at its size when `policy` is nil.
func batchTensor(_ images: [RGB8Image], policy: ResizePolicy?, patch: Int, on device: Device,
                 _ function: String) throws -> Tensor {
    let prepared: [Image] = try images.map { image in
        guard let policy else {
            try requirePatchMultiple(image.width, image.height, patch: patch, remedy: batchResizeRemedy, function)
            return image.image
        }
        return try policy.prepare(image)
    }
    let first = prepared[0]
    return try Preprocessor(resize: .exact(width: first.width, height: first.height)).tensor(prepared, on: device)
}

/// Runs the encoder with `settings` and registers the result.
func encodeBatch(_ tensor: Tensor, model: ModelObject, settings: EncodeSettings, _ function: String) throws -> OpaquePointer? {
    let options = try settings.encoderOptions(depth: model.encoder.config.depth, function)
    let output = try model.encoder.encode(tensor, options: options)
    return HandleRegistry.shared.insert(try ResultObject(output, heads: model.encoder.config.heads,
                                                         hiddenLayers: settings.layers))
}

/// `vitreous_status vitreous_encode_batch_rgb8(const vitreous_model *, const uint8_t *pixels, size_t size,
/// int32_t batch, int32_t width, int32_t height, const vitreous_options *, vitreous_result **result)`.
@_cdecl("vitreous_encode_batch_rgb8")
public func vitreous_encode_batch_rgb8(_ model: OpaquePointer?, _ pixels: UnsafePointer<UInt8>?, _ size: Int,
                                       _ batch: Int32, _ width: Int32, _ height: Int32, _ options: OpaquePointer?,
                                       _ result: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    let function = "vitreous_encode_batch_rgb8"
    result?.pointee = nil
    return entry(function) {
        let object = try HandleRegistry.shared.model(model, function)
        let pixels = try required(pixels, function, "pixels")
        let result = try required(result, function, "result")
        let settings = try settings(options, function)
        let images = try packedImages(pixels, size, batch, width, height, function)
        let patch = object.encoder.config.patchSize
        let tensor = try batchTensor(images, policy: try settings.policy(for: object.encoder.config, function), patch: patch,
                                     on: object.encoder.device, function)
        result.pointee = try encodeBatch(tensor, model: object, settings: settings, function)
    }
}

/// `vitreous_status vitreous_encode_batch_float(const vitreous_model *, const float *values, size_t count,
/// int32_t batch, int32_t width, int32_t height, int32_t layout, const vitreous_options *, vitreous_result **)`.
@_cdecl("vitreous_encode_batch_float")
public func vitreous_encode_batch_float(_ model: OpaquePointer?, _ values: UnsafePointer<Float>?, _ count: Int,
                                        _ batch: Int32, _ width: Int32, _ height: Int32, _ layout: Int32,
                                        _ options: OpaquePointer?,
                                        _ result: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    let function = "vitreous_encode_batch_float"
    result?.pointee = nil
    return entry(function) {
        let object = try HandleRegistry.shared.model(model, function)
        let values = try required(values, function, "values")
        let result = try required(result, function, "result")
        let settings = try settings(options, function)
        let layout = try FloatLayout(checking: layout, function)
        let perImage = try checkedBatch(batch, width, height, function)
        try checkCapacity(count, needed: perImage * Int(batch), function, "values")
        let samples = Array(UnsafeBufferPointer(start: values, count: perImage * Int(batch)))
        if let bad = samples.firstIndex(where: { !$0.isFinite }) {
            throw CAPIError(.invalidArgument, "\(function): value \(samples[bad]) at index \(bad) is not finite")
        }
        let patch = object.encoder.config.patchSize
        let policy = try settings.policy(for: object.encoder.config, function)
        let tensor: Tensor
        switch layout {
        case .hwcRGB:
            let images = try (0..<Int(batch)).map { index in
                try Image(width: Int(width), height: Int(height), channels: 3,
                          pixels: Array(samples[(index * perImage)..<((index + 1) * perImage)]))
            }
            if policy == nil {
                try requirePatchMultiple(Int(width), Int(height), patch: patch, remedy: batchResizeRemedy, function)
            }
            tensor = try Preprocessor(resize: policy ?? .exact(width: Int(width), height: Int(height)))
                .tensor(images, on: object.encoder.device)
        case .chwNormalised:
            guard policy == nil else {
                throw CAPIError(.invalidArgument, "\(function): resizing needs VITREOUS_LAYOUT_HWC_RGB; normalised planes "
                    + "are encoded at their size")
            }
            tensor = try Tensor(samples, shape: [Int(batch), 3, Int(height), Int(width)], on: object.encoder.device)
        }
        result.pointee = try encodeBatch(tensor, model: object, settings: settings, function)
    }
}

/// `vitreous_status vitreous_result_get_batch_info(const vitreous_result *, vitreous_batch_info *info)`: four
/// `int32_t` fields in this order.
@_cdecl("vitreous_result_get_batch_info")
public func vitreous_result_get_batch_info(_ result: OpaquePointer?, _ info: UnsafeMutableRawPointer?) -> Int32 {
    let function = "vitreous_result_get_batch_info"
    return entry(function) {
        let object = try HandleRegistry.shared.result(result, function)
        let info = try required(info, function, "info")
        writeInt32Fields([object.imageCount, object.registerCount, object.testTimeRegisterCount,
                          object.hiddenStates.count], to: info)
    }
}

/// The hidden state of `layer`, or an error listing the layers vitreous_options_set_layers kept.
func keptHiddenState(_ object: ResultObject, _ layer: Int32, _ function: String) throws -> [Float] {
    guard let values = object.hiddenStates[Int(layer)] else {
        let kept = object.hiddenStates.keys.sorted().map(String.init).joined(separator: ", ")
        throw CAPIError(.invalidArgument, "\(function): layer \(layer) was not asked for with "
            + "vitreous_options_set_layers (kept: \(kept.isEmpty ? "none" : kept))")
    }
    return values
}

/// `vitreous_status vitreous_result_hidden_state(const vitreous_result *, int32_t layer, float *out, size_t count)`.
@_cdecl("vitreous_result_hidden_state")
public func vitreous_result_hidden_state(_ result: OpaquePointer?, _ layer: Int32, _ out: UnsafeMutablePointer<Float>?,
                                         _ count: Int) -> Int32 {
    let function = "vitreous_result_hidden_state"
    return entry(function) {
        let object = try HandleRegistry.shared.result(result, function)
        let values = try keptHiddenState(object, layer, function)
        try copyOut(values, to: out, count: count, function, "out")
    }
}

/// `vitreous_status vitreous_result_pooled_state(const vitreous_result *, int32_t layer, int32_t pooling, float *out,
/// size_t count)`.
@_cdecl("vitreous_result_pooled_state")
public func vitreous_result_pooled_state(_ result: OpaquePointer?, _ layer: Int32, _ pooling: Int32,
                                         _ out: UnsafeMutablePointer<Float>?, _ count: Int) -> Int32 {
    let function = "vitreous_result_pooled_state"
    return entry(function) {
        let object = try HandleRegistry.shared.result(result, function)
        let values = try keptHiddenState(object, layer, function)
        guard pooling == 0 || pooling == 1 else {
            throw CAPIError(.invalidArgument, "\(function): pooling \(pooling); use VITREOUS_POOLING_CLS (0) or "
                + "VITREOUS_POOLING_MEAN_PATCH (1)")
        }
        let patches = object.firstPatch..<(object.firstPatch + object.patchCount)
        let pooled = PooledLayers.pool(values, pooling == 0 ? .cls : .meanPatch, batch: object.imageCount,
                                       tokens: object.tokenCount, dimension: object.hiddenSize, patches: patches)
        try copyOut(pooled, to: out, count: count, function, "out")
    }
}
