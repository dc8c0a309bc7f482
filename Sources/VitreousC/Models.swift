import Foundation
import VitreousDemo
import VitreousImage
import VitreousModel
import VitreousTensor

// The library, its devices and its models. Each function is one entry of include/vitreous.h; the header
// is the reference for arguments, ownership and status codes.

/// The library's version, as `VITREOUS_VERSION_STRING` in the header.
let vitreousVersion: StaticString = "0.1.0"

/// `const char *vitreous_version(void)`: a static string, never freed.
@_cdecl("vitreous_version")
public func vitreous_version() -> UnsafePointer<CChar>? {
    staticCString(vitreousVersion)
}

/// `const char *vitreous_last_error(void)`: the message of this thread's last call ("" after a success).
@_cdecl("vitreous_last_error")
public func vitreous_last_error() -> UnsafePointer<CChar>? {
    lastMessage()
}

/// `const char *vitreous_status_name(vitreous_status)`: the enumerator's name, or "VITREOUS_ERROR_UNKNOWN".
@_cdecl("vitreous_status_name")
public func vitreous_status_name(_ status: Int32) -> UnsafePointer<CChar>? {
    staticCString(VitreousStatus(rawValue: status)?.name ?? "VITREOUS_ERROR_UNKNOWN")
}

// MARK: - Devices

/// C device indices: 0 is the CPU backend, k ≥ 1 is OpenCL device k − 1, −1 is the library's default.
enum DeviceIndex {
    static func device(_ index: Int32, _ function: String) throws -> Device {
        if index == -1 { return Device.default }
        let count = Int32(Device.openCLDevices.count) + 1
        guard index >= 0, index < count else {
            throw CAPIError(.unknownDevice, "\(function): no device \(index); devices are 0 (cpu) to \(count - 1), "
                + "or -1 for the default")
        }
        return index == 0 ? .cpu : .openCL(Int(index) - 1)
    }

    static func index(of device: Device) -> Int32 {
        switch device {
        case .cpu: return 0
        case .openCL(let n): return Int32(n) + 1
        }
    }
}

/// `vitreous_status vitreous_device_count(int32_t *count)`.
@_cdecl("vitreous_device_count")
public func vitreous_device_count(_ count: UnsafeMutablePointer<Int32>?) -> Int32 {
    entry("vitreous_device_count") {
        let count = try required(count, "vitreous_device_count", "count")
        count.pointee = Int32(Device.openCLDevices.count) + 1
    }
}

/// `vitreous_status vitreous_default_device(int32_t *index)`.
@_cdecl("vitreous_default_device")
public func vitreous_default_device(_ index: UnsafeMutablePointer<Int32>?) -> Int32 {
    entry("vitreous_default_device") {
        let index = try required(index, "vitreous_default_device", "index")
        index.pointee = DeviceIndex.index(of: Device.default)
    }
}

/// `vitreous_status vitreous_device_name(int32_t index, char *buffer, size_t capacity)`.
@_cdecl("vitreous_device_name")
public func vitreous_device_name(_ index: Int32, _ buffer: UnsafeMutablePointer<CChar>?, _ capacity: Int) -> Int32 {
    let function = "vitreous_device_name"
    return entry(function) {
        let device = try DeviceIndex.device(index, function)
        let buffer = try required(buffer, function, "buffer")
        var name: String
        switch device {
        case .cpu:
            name = "cpu"
        case .openCL(let n):
            let info = Device.openCLDevices[n]
            name = "opencl:\(n) \(info.name) (\(info.kind), \(info.platformName))"
        }
        // Whole UTF-8 characters only, so a long name never ends in a broken sequence.
        while name.utf8.count > 255 { name.removeLast() }
        let bytes = Array(name.utf8CString)
        try checkCapacity(capacity, needed: bytes.count, function, "buffer")
        bytes.withUnsafeBufferPointer { source in
            if let base = source.baseAddress { buffer.update(from: base, count: source.count) }
        }
    }
}

// MARK: - Models

/// `vitreous_status vitreous_model_load(const char *path, int32_t device, vitreous_model **model)`.
@_cdecl("vitreous_model_load")
public func vitreous_model_load(_ path: UnsafePointer<CChar>?, _ device: Int32,
                                _ model: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    loadModel("vitreous_model_load", path, device, Int32(PrecisionCode.fp32.rawValue), model)
}

/// `vitreous_status vitreous_model_load_with_precision(const char *path, int32_t device, int32_t precision,
/// vitreous_model **model)`.
@_cdecl("vitreous_model_load_with_precision")
public func vitreous_model_load_with_precision(_ path: UnsafePointer<CChar>?, _ device: Int32, _ precision: Int32,
                                               _ model: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    loadModel("vitreous_model_load_with_precision", path, device, precision, model)
}

private func loadModel(_ function: String, _ path: UnsafePointer<CChar>?, _ device: Int32, _ precision: Int32,
                       _ model: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    model?.pointee = nil
    return entry(function) {
        let path = String(cString: try required(path, function, "path"))
        let model = try required(model, function, "model")
        let device = try DeviceIndex.device(device, function)
        let precision = try PrecisionCode.precision(precision, on: device, function)
        guard !path.isEmpty else { throw CAPIError(.invalidArgument, "\(function): path is empty") }
        // A Hugging Face folder means its model.safetensors, as `--model` does.
        let encoder = try ViTEncoder(contentsOf: try CheckpointLocation.weights(path), on: device, precision: precision)
        model.pointee = HandleRegistry.shared.insert(ModelObject(encoder: encoder,
                                                                 deviceIndex: DeviceIndex.index(of: device)))
    }
}

/// The values of `vitreous_precision`.
enum PrecisionCode: Int32 {
    case fp32 = 0, bf16 = 1, fp16 = 2, auto = 3

    /// The precision a C caller's code names on `device`.
    static func precision(_ code: Int32, on device: Device, _ function: String) throws -> Precision {
        guard let named = PrecisionCode(rawValue: code) else {
            throw CAPIError(.invalidArgument, "\(function): precision \(code) is not a vitreous_precision (0…3)")
        }
        let precision: Precision = switch named {
        case .fp32: .fp32
        case .bf16: .bf16
        case .fp16: .fp16
        case .auto: Precision.automatic(for: device)
        }
        do {
            try precision.check(on: device)
        } catch {
            throw CAPIError(.invalidArgument, "\(function): \(error)")
        }
        return precision
    }

    static func code(of precision: Precision) -> Int32 {
        switch precision {
        case .fp32: return PrecisionCode.fp32.rawValue
        case .bf16: return PrecisionCode.bf16.rawValue
        case .fp16: return PrecisionCode.fp16.rawValue
        }
    }
}

/// `vitreous_status vitreous_model_create_demo(int32_t device, vitreous_model **model)`: the `vitreous demo`
/// model, with its planted artifact mechanism.
@_cdecl("vitreous_model_create_demo")
public func vitreous_model_create_demo(_ device: Int32, _ model: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    createDemo("vitreous_model_create_demo", device, PrecisionCode.fp32.rawValue, model)
}

/// `vitreous_status vitreous_model_create_demo_with_precision(int32_t device, int32_t precision,
/// vitreous_model **model)`.
@_cdecl("vitreous_model_create_demo_with_precision")
public func vitreous_model_create_demo_with_precision(_ device: Int32, _ precision: Int32,
                                                      _ model: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    createDemo("vitreous_model_create_demo_with_precision", device, precision, model)
}

/// `vitreous_status vitreous_model_get_precision(const vitreous_model *model, int32_t *precision)`.
@_cdecl("vitreous_model_get_precision")
public func vitreous_model_get_precision(_ model: OpaquePointer?, _ precision: UnsafeMutablePointer<Int32>?) -> Int32 {
    let function = "vitreous_model_get_precision"
    return entry(function) {
        let precision = try required(precision, function, "precision")
        let object: ModelObject = try HandleRegistry.shared.object(model, "model", function)
        precision.pointee = PrecisionCode.code(of: object.encoder.precision)
    }
}

private func createDemo(_ function: String, _ device: Int32, _ precision: Int32,
                        _ model: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    model?.pointee = nil
    return entry(function) {
        let model = try required(model, function, "model")
        let device = try DeviceIndex.device(device, function)
        let precision = try PrecisionCode.precision(precision, on: device, function)
        let weights = try PlantedArtifacts.weights(variant: .planted, seed: 0).tensors(on: device, precision: precision)
        model.pointee = HandleRegistry.shared.insert(ModelObject(encoder: ViTEncoder(weights: weights),
                                                                 deviceIndex: DeviceIndex.index(of: device)))
    }
}

/// `vitreous_status vitreous_model_get_info(const vitreous_model *, vitreous_model_info *info)`. The C struct is
/// eight `int32_t` fields in this order, so it is filled as an array.
@_cdecl("vitreous_model_get_info")
public func vitreous_model_get_info(_ model: OpaquePointer?, _ info: UnsafeMutableRawPointer?) -> Int32 {
    let function = "vitreous_model_get_info"
    return entry(function) {
        let object = try HandleRegistry.shared.model(model, function)
        let info = try required(info, function, "info")
        let config = object.encoder.config
        let fields = [config.hiddenSize, config.depth, config.heads, config.patchSize, config.registerCount,
                      config.mlpHiddenSize, config.positionGrid * config.patchSize, Int(object.deviceIndex)]
        writeInt32Fields(fields, to: info)
    }
}

/// `vitreous_status vitreous_model_free(vitreous_model *model)`.
@_cdecl("vitreous_model_free")
public func vitreous_model_free(_ model: OpaquePointer?) -> Int32 {
    entry("vitreous_model_free") {
        guard model != nil else { return }  // free(NULL) is a no-op, as in C
        try HandleRegistry.shared.remove(model, kind: "model", "vitreous_model_free")
    }
}

// MARK: - The demo image

/// The `vitreous demo` image (224×224, four flat patches among textured noise) as the PNG the demo writes
/// holds it: sRGB bytes.
func demoImageBytes() throws -> (bytes: [UInt8], width: Int, height: Int) {
    let image = try PlantedArtifacts.demoImage()
    return (image.eightBitSamples, image.width, image.height)
}

/// `vitreous_status vitreous_demo_image_rgb8(uint8_t *pixels, size_t capacity, int32_t *width, int32_t *height)`.
@_cdecl("vitreous_demo_image_rgb8")
public func vitreous_demo_image_rgb8(_ pixels: UnsafeMutablePointer<UInt8>?, _ capacity: Int,
                                     _ width: UnsafeMutablePointer<Int32>?,
                                     _ height: UnsafeMutablePointer<Int32>?) -> Int32 {
    let function = "vitreous_demo_image_rgb8"
    return entry(function) {
        let width = try required(width, function, "width")
        let height = try required(height, function, "height")
        let side = PlantedArtifacts.imageSize
        width.pointee = Int32(side)
        height.pointee = Int32(side)
        // A NULL buffer with capacity 0 asks only for the size.
        if pixels == nil && capacity == 0 { return }
        let pixels = try required(pixels, function, "pixels")
        try checkCapacity(capacity, needed: side * side * 3, function, "pixels")
        let image = try demoImageBytes()
        try copyOut(image.bytes, to: pixels, count: capacity, function, "pixels")
    }
}
