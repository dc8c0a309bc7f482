import Foundation
import VitreousImage
import VitreousModel

// Encode options as a handle: what the batch calls compute and how they resize. A handle rather than a C
// struct, so that later options (another model family's) extend the API without changing an ABI layout.
// See include/vitreous.h for the contract of each function.

/// The `VITREOUS_RESIZE_*` modes.
enum ResizeMode: Int32 {
    case none = 0, centerCrop = 1, centerCropFloor = 2, auto = 3, exact = 4
}

/// What one encode call is asked for; resolved against a model when it runs.
struct EncodeSettings: Sendable {
    var flags: EncodeFlags = []
    var resize: ResizeMode = .none
    var width = 0, height = 0
    var layers: [Int] = []
    var registers: TestTimeRegisters?

    /// How images are resized for a model of `config` (as the CLI's `--size` resolves for its family), or nil for
    /// `VITREOUS_RESIZE_NONE` (each side must then be a multiple of the patch size).
    func policy(for config: ViTConfig, _ function: String) throws -> ResizePolicy? {
        guard let policy = try policy(patch: config.patchSize, function) else { return nil }
        return config.family == .dinov3 ? policy.forDINOv3 : policy
    }

    private func policy(patch: Int, _ function: String) throws -> ResizePolicy? {
        func checkMultiple(_ sides: [Int]) throws {
            guard sides.allSatisfy({ $0 >= patch && $0 % patch == 0 }) else {
                throw CAPIError(.invalidArgument, "\(function): resize to \(sides.map(String.init).joined(separator: "×")) "
                    + "is not a multiple of the patch size \(patch)")
            }
        }
        switch resize {
        case .none: return nil
        case .centerCrop, .centerCropFloor:
            try checkMultiple([width])
            return .centerCrop(size: width, rounding: resize == .centerCrop ? .torchvision : .transformers)
        case .auto: return .nearestMultiple(of: patch)
        case .exact:
            try checkMultiple([width, height])
            return .exact(width: width, height: height)
        }
    }

    /// The encoder options, with hidden states when layers were chosen (checked against `depth`).
    func encoderOptions(depth: Int, _ function: String) throws -> EncoderOptions {
        if let bad = layers.first(where: { !(0...depth).contains($0) }) {
            throw CAPIError(.invalidArgument, "\(function): hidden-state layer \(bad) does not exist; layers are 0 "
                + "(embeddings) to \(depth) (the last block)")
        }
        return EncoderOptions(hiddenStates: !layers.isEmpty, tokenNorms: flags.contains(.tokenNorms),
                              clsAttention: flags.contains(.clsAttention), testTimeRegisters: registers)
    }
}

/// What an options handle stands for. Setters and encode calls may race; each encode reads one snapshot.
final class OptionsObject: @unchecked Sendable {  // `settings` only under `lock`
    private let lock = NSLock()
    private var settings = EncodeSettings()

    var snapshot: EncodeSettings { lock.withLock { settings } }

    func update(_ body: (inout EncodeSettings) -> Void) { lock.withLock { body(&settings) } }
}

/// The settings of an options handle, or the defaults for NULL.
func settings(_ options: OpaquePointer?, _ function: String) throws -> EncodeSettings {
    guard options != nil else { return EncodeSettings() }
    let object: OptionsObject = try HandleRegistry.shared.object(options, "options", function)
    return object.snapshot
}

/// `vitreous_status vitreous_options_create(vitreous_options **options)`.
@_cdecl("vitreous_options_create")
public func vitreous_options_create(_ options: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    let function = "vitreous_options_create"
    options?.pointee = nil
    return entry(function) {
        let options = try required(options, function, "options")
        options.pointee = HandleRegistry.shared.insert(OptionsObject())
    }
}

/// `vitreous_status vitreous_options_free(vitreous_options *options)`.
@_cdecl("vitreous_options_free")
public func vitreous_options_free(_ options: OpaquePointer?) -> Int32 {
    entry("vitreous_options_free") {
        guard options != nil else { return }  // free(NULL) is a no-op, as in C
        try HandleRegistry.shared.remove(options, kind: "options", "vitreous_options_free")
    }
}

/// `vitreous_status vitreous_options_set_flags(vitreous_options *options, uint32_t flags)`.
@_cdecl("vitreous_options_set_flags")
public func vitreous_options_set_flags(_ options: OpaquePointer?, _ flags: UInt32) -> Int32 {
    let function = "vitreous_options_set_flags"
    return entry(function) {
        let object: OptionsObject = try HandleRegistry.shared.object(options, "options", function)
        let flags = try EncodeFlags(checking: flags, function)
        guard !flags.contains(.resize) else {
            throw CAPIError(.invalidArgument, "\(function): VITREOUS_ENCODE_RESIZE is not an option flag; call "
                + "vitreous_options_set_resize(options, VITREOUS_RESIZE_AUTO, 0, 0)")
        }
        object.update { $0.flags = flags }
    }
}

/// `vitreous_status vitreous_options_set_resize(vitreous_options *options, int32_t mode, int32_t width,
/// int32_t height)`.
@_cdecl("vitreous_options_set_resize")
public func vitreous_options_set_resize(_ options: OpaquePointer?, _ mode: Int32, _ width: Int32,
                                        _ height: Int32) -> Int32 {
    let function = "vitreous_options_set_resize"
    return entry(function) {
        let object: OptionsObject = try HandleRegistry.shared.object(options, "options", function)
        guard let resize = ResizeMode(rawValue: mode) else {
            throw CAPIError(.invalidArgument, "\(function): mode \(mode) is not a VITREOUS_RESIZE_* value (0 to 4)")
        }
        let maximum: Int32 = 100_000  // a side; the pixel count is checked against PNG.maximumPixels on use
        switch resize {
        case .centerCrop, .centerCropFloor:
            guard width > 0, width <= maximum, height == 0 || height == width else {
                throw CAPIError(.invalidArgument, "\(function): a centre crop takes its side as width (1 to \(maximum)) "
                    + "and height 0 or equal to it; got \(width)×\(height)")
            }
        case .exact:
            guard width > 0, height > 0, width <= maximum, height <= maximum else {
                throw CAPIError(.invalidArgument, "\(function): exact size \(width)×\(height); both sides must be 1 to \(maximum)")
            }
        case .none, .auto:
            guard width == 0, height == 0 else {
                throw CAPIError(.invalidArgument, "\(function): this mode takes no size; pass 0, 0 (got \(width)×\(height))")
            }
        }
        object.update { ($0.resize, $0.width, $0.height) = (resize, Int(width), Int(height)) }
    }
}

/// `vitreous_status vitreous_options_set_layers(vitreous_options *options, const int32_t *layers, size_t count)`.
@_cdecl("vitreous_options_set_layers")
public func vitreous_options_set_layers(_ options: OpaquePointer?, _ layers: UnsafePointer<Int32>?, _ count: Int) -> Int32 {
    let function = "vitreous_options_set_layers"
    return entry(function) {
        let object: OptionsObject = try HandleRegistry.shared.object(options, "options", function)
        try checkCapacity(count, needed: 0, function, "layers")
        guard count <= 4096 else { throw CAPIError(.invalidArgument, "\(function): \(count) layers; at most 4096") }
        var chosen: [Int] = []
        if count > 0 {
            let layers = try required(layers, function, "layers")
            for value in UnsafeBufferPointer(start: layers, count: count).map(Int.init) {
                guard value >= 0 else { throw CAPIError(.invalidArgument, "\(function): layer \(value) is negative") }
                guard !chosen.contains(value) else {
                    throw CAPIError(.invalidArgument, "\(function): layer \(value) is listed twice")
                }
                chosen.append(value)
            }
        }
        object.update { $0.layers = chosen }
    }
}

/// `vitreous_status vitreous_options_set_registers(vitreous_options *options, const vitreous_registers *registers)`.
@_cdecl("vitreous_options_set_registers")
public func vitreous_options_set_registers(_ options: OpaquePointer?, _ registers: OpaquePointer?) -> Int32 {
    let function = "vitreous_options_set_registers"
    return entry(function) {
        let object: OptionsObject = try HandleRegistry.shared.object(options, "options", function)
        var chosen: TestTimeRegisters?
        if registers != nil {
            let found: RegistersObject = try HandleRegistry.shared.object(registers, "registers", function)
            chosen = found.registers
        }
        object.update { $0.registers = chosen }
    }
}
