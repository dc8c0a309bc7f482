import Foundation
import VitreousImage
import VitreousModel
import VitreousTensor

// Encoding one image and reading the result. See include/vitreous.h for the contract of each function.

/// The `VITREOUS_ENCODE_*` flags.
struct EncodeFlags: OptionSet {
    let rawValue: UInt32
    static let tokenNorms = EncodeFlags(rawValue: 1)
    static let clsAttention = EncodeFlags(rawValue: 2)
    static let resize = EncodeFlags(rawValue: 4)
    static let all: EncodeFlags = [.tokenNorms, .clsAttention, .resize]

    init(rawValue: UInt32) { self.rawValue = rawValue }

    init(checking value: UInt32, _ function: String) throws {
        guard value & ~Self.all.rawValue == 0 else {
            throw CAPIError(.invalidArgument, "\(function): unknown flag bits 0x\(String(value & ~Self.all.rawValue, radix: 16))")
        }
        self.init(rawValue: value)
    }

    var options: EncoderOptions { EncoderOptions(tokenNorms: contains(.tokenNorms), clsAttention: contains(.clsAttention)) }
}

/// The `VITREOUS_LAYOUT_*` values of `vitreous_encode_float`.
enum FloatLayout: Int32 {
    /// Height × width × RGB, sRGB values in [0, 1]: an image, preprocessed as 8-bit ones are.
    case hwcRGB = 0
    /// 3 × height × width planes already normalised with ImageNet mean/std: the encoder's input as is.
    case chwNormalised = 1

    init(checking value: Int32, _ function: String) throws {
        guard let layout = FloatLayout(rawValue: value) else {
            throw CAPIError(.invalidArgument, "\(function): layout \(value) is neither VITREOUS_LAYOUT_HWC_RGB (0) "
                + "nor VITREOUS_LAYOUT_CHW_NORMALISED (1)")
        }
        self = layout
    }
}

/// Width and height checked before anything is allocated: positive, and at most the pixels Vitreous reads
/// from a PNG, so `width · height · 3` cannot overflow.
func checkedPixelCount(_ width: Int32, _ height: Int32, _ function: String) throws -> Int {
    guard width > 0, height > 0 else {
        throw CAPIError(.invalidArgument, "\(function): image size \(width)×\(height); both sides must be positive")
    }
    let (pixels, overflow) = Int(width).multipliedReportingOverflow(by: Int(height))
    guard !overflow, pixels <= PNG.maximumPixels else {
        throw CAPIError(.invalidArgument, "\(function): \(width)×\(height) is larger than the "
            + "\(PNG.maximumPixels) pixels Vitreous accepts")
    }
    return pixels
}

/// Encodes an RGB image with the CLI's preprocessing: resized to the nearest multiples of the patch size
/// with `.resize`, else used at its size (which must then be a multiple of the patch size); ImageNet
/// normalisation either way.
func encode(_ image: Image, model: ModelObject, flags: EncodeFlags, _ function: String) throws -> OpaquePointer? {
    let patch = model.encoder.config.patchSize
    let policy: ResizePolicy
    if flags.contains(.resize) {
        policy = .nearestMultiple(of: patch)
    } else {
        try requirePatchMultiple(image.width, image.height, patch: patch,
                                 remedy: "pass VITREOUS_ENCODE_RESIZE to resize it", function)
        policy = .exact(width: image.width, height: image.height)
    }
    let input = try Preprocessor(resize: policy).tensor([image], on: model.encoder.device)
    return try encode(tensor: input, model: model, flags: flags)
}

func encode(tensor: Tensor, model: ModelObject, flags: EncodeFlags) throws -> OpaquePointer? {
    let output = try model.encoder.encode(tensor, options: flags.options)
    return HandleRegistry.shared.insert(try ResultObject(output, heads: model.encoder.config.heads))
}

/// `vitreous_status vitreous_encode_rgb8(const vitreous_model *, const uint8_t *pixels, size_t size,
/// int32_t width, int32_t height, size_t stride, uint32_t flags, vitreous_result **result)`.
@_cdecl("vitreous_encode_rgb8")
public func vitreous_encode_rgb8(_ model: OpaquePointer?, _ pixels: UnsafePointer<UInt8>?, _ size: Int,
                                 _ width: Int32, _ height: Int32, _ stride: Int, _ flags: UInt32,
                                 _ result: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    let function = "vitreous_encode_rgb8"
    result?.pointee = nil
    return entry(function) {
        let object = try HandleRegistry.shared.model(model, function)
        let pixels = try required(pixels, function, "pixels")
        let result = try required(result, function, "result")
        let flags = try EncodeFlags(checking: flags, function)
        let count = try checkedPixelCount(width, height, function)
        let row = Int(width) * 3
        let stride = stride == 0 ? row : stride
        guard stride >= row else {
            throw CAPIError(.invalidArgument, "\(function): stride \(UInt(bitPattern: stride)) is less than width × 3 = \(row)")
        }
        // The last row needs only its own pixels, so a tightly cropped view of a larger image is accepted.
        let (rows, overflow) = (Int(height) - 1).multipliedReportingOverflow(by: stride)
        guard !overflow, rows <= Int.max - row else {
            throw CAPIError(.invalidArgument, "\(function): stride \(stride) × height \(height) overflows")
        }
        try checkCapacity(size, needed: rows + row, function, "pixels (bytes)")
        var samples = [Float](repeating: 0, count: count * 3)
        for y in 0..<Int(height) {
            let source = pixels + y * stride
            for x in 0..<row { samples[y * row + x] = Float(source[x]) / 255 }
        }
        let image = try Image(width: Int(width), height: Int(height), channels: 3, pixels: samples)
        result.pointee = try encode(image, model: object, flags: flags, function)
    }
}

/// `vitreous_status vitreous_encode_float(const vitreous_model *, const float *values, size_t count,
/// int32_t width, int32_t height, int32_t layout, uint32_t flags, vitreous_result **result)`.
@_cdecl("vitreous_encode_float")
public func vitreous_encode_float(_ model: OpaquePointer?, _ values: UnsafePointer<Float>?, _ count: Int,
                                  _ width: Int32, _ height: Int32, _ layout: Int32, _ flags: UInt32,
                                  _ result: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    let function = "vitreous_encode_float"
    result?.pointee = nil
    return entry(function) {
        let object = try HandleRegistry.shared.model(model, function)
        let values = try required(values, function, "values")
        let result = try required(result, function, "result")
        let flags = try EncodeFlags(checking: flags, function)
        let layout = try FloatLayout(checking: layout, function)
        let needed = try checkedPixelCount(width, height, function) * 3
        try checkCapacity(count, needed: needed, function, "values")
        let samples = Array(UnsafeBufferPointer(start: values, count: needed))
        if let bad = samples.firstIndex(where: { !$0.isFinite }) {
            throw CAPIError(.invalidArgument, "\(function): value \(samples[bad]) at index \(bad) is not finite")
        }
        switch layout {
        case .hwcRGB:
            let image = try Image(width: Int(width), height: Int(height), channels: 3, pixels: samples)
            result.pointee = try encode(image, model: object, flags: flags, function)
        case .chwNormalised:
            guard !flags.contains(.resize) else {
                throw CAPIError(.invalidArgument, "\(function): VITREOUS_ENCODE_RESIZE needs VITREOUS_LAYOUT_HWC_RGB; "
                    + "normalised planes are encoded at their size")
            }
            let device = object.encoder.device
            let tensor = try Tensor(samples, shape: [1, 3, Int(height), Int(width)], on: device)
            result.pointee = try encode(tensor: tensor, model: object, flags: flags)
        }
    }
}

// MARK: - Results

/// `vitreous_status vitreous_result_get_info(const vitreous_result *, vitreous_result_info *info)`. The C struct
/// is eight `int32_t` fields in this order.
@_cdecl("vitreous_result_get_info")
public func vitreous_result_get_info(_ result: OpaquePointer?, _ info: UnsafeMutableRawPointer?) -> Int32 {
    let function = "vitreous_result_get_info"
    return entry(function) {
        let object = try HandleRegistry.shared.result(result, function)
        let info = try required(info, function, "info")
        let fields = [object.hiddenSize, object.gridHeight, object.gridWidth, object.tokenCount, object.firstPatch,
                      object.layerNorms.count, object.heads, object.clsAttention == nil ? 0 : 1]
        writeInt32Fields(fields, to: info)
    }
}

/// `vitreous_status vitreous_result_cls(const vitreous_result *, float *out, size_t count)`.
@_cdecl("vitreous_result_cls")
public func vitreous_result_cls(_ result: OpaquePointer?, _ out: UnsafeMutablePointer<Float>?, _ count: Int) -> Int32 {
    let function = "vitreous_result_cls"
    return entry(function) {
        try copyOut(try HandleRegistry.shared.result(result, function).cls, to: out, count: count, function, "out")
    }
}

/// `vitreous_status vitreous_result_patches(const vitreous_result *, float *out, size_t count)`.
@_cdecl("vitreous_result_patches")
public func vitreous_result_patches(_ result: OpaquePointer?, _ out: UnsafeMutablePointer<Float>?,
                                    _ count: Int) -> Int32 {
    let function = "vitreous_result_patches"
    return entry(function) {
        try copyOut(try HandleRegistry.shared.result(result, function).patches, to: out, count: count, function, "out")
    }
}

/// `vitreous_status vitreous_result_tokens(const vitreous_result *, float *out, size_t count)`.
@_cdecl("vitreous_result_tokens")
public func vitreous_result_tokens(_ result: OpaquePointer?, _ out: UnsafeMutablePointer<Float>?,
                                   _ count: Int) -> Int32 {
    let function = "vitreous_result_tokens"
    return entry(function) {
        try copyOut(try HandleRegistry.shared.result(result, function).tokens, to: out, count: count, function, "out")
    }
}

/// One layer's token norms; `layer` −1 is the last block's output.
func layerNorms(_ object: ResultObject, _ layer: Int32, _ function: String) throws -> [Float] {
    guard !object.layerNorms.isEmpty else {
        throw CAPIError(.invalidArgument, "\(function): the result has no token norms; encode with "
            + "VITREOUS_ENCODE_TOKEN_NORMS")
    }
    let last = object.layerNorms.count - 1
    let index = layer == -1 ? last : Int(layer)
    guard (0...last).contains(index) else {
        throw CAPIError(.invalidArgument, "\(function): layer \(layer) does not exist; layers are 0 (embeddings) "
            + "to \(last) (the last block), or -1 for the last")
    }
    return object.layerNorms[index]
}

/// `vitreous_status vitreous_result_token_norms(const vitreous_result *, int32_t layer, float *out, size_t count)`.
@_cdecl("vitreous_result_token_norms")
public func vitreous_result_token_norms(_ result: OpaquePointer?, _ layer: Int32, _ out: UnsafeMutablePointer<Float>?,
                                        _ count: Int) -> Int32 {
    let function = "vitreous_result_token_norms"
    return entry(function) {
        let object = try HandleRegistry.shared.result(result, function)
        try copyOut(try layerNorms(object, layer, function), to: out, count: count, function, "out")
    }
}

/// `vitreous_status vitreous_result_cls_attention(const vitreous_result *, float *out, size_t count)`.
@_cdecl("vitreous_result_cls_attention")
public func vitreous_result_cls_attention(_ result: OpaquePointer?, _ out: UnsafeMutablePointer<Float>?,
                                          _ count: Int) -> Int32 {
    let function = "vitreous_result_cls_attention"
    return entry(function) {
        guard let attention = try HandleRegistry.shared.result(result, function).clsAttention else {
            throw CAPIError(.invalidArgument, "\(function): the result has no CLS attention; encode with "
                + "VITREOUS_ENCODE_CLS_ATTENTION")
        }
        try copyOut(attention, to: out, count: count, function, "out")
    }
}

/// `vitreous_status vitreous_result_free(vitreous_result *result)`.
@_cdecl("vitreous_result_free")
public func vitreous_result_free(_ result: OpaquePointer?) -> Int32 {
    entry("vitreous_result_free") {
        guard result != nil else { return }  // free(NULL) is a no-op, as in C
        try HandleRegistry.shared.remove(result, kind: "result", "vitreous_result_free")
    }
}
