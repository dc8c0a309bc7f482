import Foundation
import VitreousImage
import VitreousModel
import VitreousRepair
import VitreousTensor

// Test-time registers: register neurons read from a neurons.json (as `vitreous repair --neurons`), found by
// the neuron search (as `--find-neurons`), saved, and applied through vitreous_options_set_registers. See
// include/vitreous.h for the contract of each function.

/// What a registers handle stands for: the neurons and how they are moved.
final class RegistersObject: Sendable {
    let registers: TestTimeRegisters
    init(_ registers: TestTimeRegisters) { self.registers = registers }
}

/// The `VITREOUS_DETECTOR_*` methods with their parameter (≤ 0 or NaN: the method's default).
func detector(_ method: Int32, _ parameter: Float, _ function: String) throws -> ArtifactDetector {
    let given: Float? = parameter.isNaN || parameter <= 0 ? nil : parameter
    guard given == nil || given!.isFinite else {
        throw CAPIError(.invalidArgument, "\(function): detector parameter \(parameter) is not finite")
    }
    switch method {
    case 0: return .robustLogMAD(zMin: given ?? 3.5)
    case 1:
        guard let given else {
            throw CAPIError(.invalidArgument, "\(function): VITREOUS_DETECTOR_ABSOLUTE needs a positive threshold, got \(parameter)")
        }
        return .absolute(threshold: given)
    case 2: return .meanStd(k: given ?? 3)
    case 3: return .otsuLog(ratioMin: given ?? 2)
    default:
        throw CAPIError(.invalidArgument, "\(function): detector method \(method) is not a VITREOUS_DETECTOR_* value (0 to 3)")
    }
}

/// A neurons-file failure as the status it maps to.
func neuronsError(_ error: any Error) -> any Error {
    guard let error = error as? NeuronsFileError else { return error }
    return CAPIError(error.isIO ? .io : .invalidArgument, "\(error)")
}

/// `vitreous_status vitreous_registers_load(const vitreous_model *, const char *path, int32_t force,
/// vitreous_registers **registers)`.
@_cdecl("vitreous_registers_load")
public func vitreous_registers_load(_ model: OpaquePointer?, _ path: UnsafePointer<CChar>?, _ force: Int32,
                                    _ registers: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    let function = "vitreous_registers_load"
    registers?.pointee = nil
    return entry(function) {
        let object = try HandleRegistry.shared.model(model, function)
        let path = String(cString: try required(path, function, "path"))
        let registers = try required(registers, function, "registers")
        do {
            let found = try NeuronsFile.read(path, weights: try object.encoder.weights.host(), force: force != 0)
            registers.pointee = HandleRegistry.shared.insert(RegistersObject(found))
        } catch {
            throw neuronsError(error)
        }
    }
}

/// `vitreous_status vitreous_registers_save(const vitreous_registers *, const vitreous_model *, const char *path)`.
@_cdecl("vitreous_registers_save")
public func vitreous_registers_save(_ registers: OpaquePointer?, _ model: OpaquePointer?,
                                    _ path: UnsafePointer<CChar>?) -> Int32 {
    let function = "vitreous_registers_save"
    return entry(function) {
        let found: RegistersObject = try HandleRegistry.shared.object(registers, "registers", function)
        let object = try HandleRegistry.shared.model(model, function)
        let path = String(cString: try required(path, function, "path"))
        guard !path.isEmpty else { throw CAPIError(.invalidArgument, "\(function): path is empty") }
        do {
            try NeuronsFile.write(found.registers, weights: try object.encoder.weights.host(),
                                  to: URL(fileURLWithPath: path))
        } catch let error as NeuronsFileError {
            throw neuronsError(error)
        } catch {
            throw CAPIError(.io, "\(function): \(path): \(error.localizedDescription)")
        }
    }
}

/// `vitreous_status vitreous_registers_find(const vitreous_model *, const uint8_t *pixels, size_t size,
/// int32_t batch, int32_t width, int32_t height, const vitreous_options *, int32_t detect_layer,
/// int32_t top_layer, int32_t top_k, int32_t method, float parameter, vitreous_registers **registers)`.
@_cdecl("vitreous_registers_find")
public func vitreous_registers_find(_ model: OpaquePointer?, _ pixels: UnsafePointer<UInt8>?, _ size: Int,
                                    _ batch: Int32, _ width: Int32, _ height: Int32, _ options: OpaquePointer?,
                                    _ detectLayer: Int32, _ topLayer: Int32, _ topK: Int32, _ method: Int32,
                                    _ parameter: Float, _ registers: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    let function = "vitreous_registers_find"
    registers?.pointee = nil
    return entry(function) {
        let object = try HandleRegistry.shared.model(model, function)
        let pixels = try required(pixels, function, "pixels")
        let registers = try required(registers, function, "registers")
        let settings = try settings(options, function)
        let detector = try detector(method, parameter, function)
        let depth = object.encoder.config.depth
        // Layers as the CLI's --detect-layer / --top-layer count them (L = output of block L); 0 = its default.
        let detect = detectLayer == 0 ? depth : Int(detectLayer), top = topLayer == 0 ? max(depth / 2, 1) : Int(topLayer)
        for (name, value) in [("detect_layer", detect), ("top_layer", top)] where !(1...depth).contains(value) {
            throw CAPIError(.invalidArgument, "\(function): \(name) \(value); the model's layers are 1 to \(depth), or 0 "
                + "for the default")
        }
        guard topK > 0, topK <= 100_000 else { throw CAPIError(.invalidArgument, "\(function): top_k \(topK) must be 1 to 100000") }
        let patch = object.encoder.config.patchSize
        let policy = try settings.policy(for: object.encoder.config, function)
        // The search takes one image per tensor, as `--find-neurons` gives it.
        let images = try packedImages(pixels, size, batch, width, height, function).map { image in
            try batchTensor([image], policy: policy, patch: patch, on: object.encoder.device, function)
        }
        let search = RegisterNeuronSearch(detectLayer: detect - 1, topLayer: top - 1, topK: Int(topK), detector: detector)
        let found = try search.run(encoder: object.encoder, images: images)
        registers.pointee = HandleRegistry.shared.insert(RegistersObject(found.registers))
    }
}

/// `vitreous_status vitreous_registers_get_neurons(const vitreous_registers *, int32_t *layers, int32_t *neurons,
/// size_t capacity, int32_t *count)`.
@_cdecl("vitreous_registers_get_neurons")
public func vitreous_registers_get_neurons(_ registers: OpaquePointer?, _ layers: UnsafeMutablePointer<Int32>?,
                                           _ neurons: UnsafeMutablePointer<Int32>?, _ capacity: Int,
                                           _ count: UnsafeMutablePointer<Int32>?) -> Int32 {
    let function = "vitreous_registers_get_neurons"
    return entry(function) {
        let found: RegistersObject = try HandleRegistry.shared.object(registers, "registers", function)
        let count = try required(count, function, "count")
        let pairs = found.registers.neurons.keys.sorted().flatMap { block in
            (found.registers.neurons[block] ?? []).map { (Int32(block + 1), Int32($0)) }
        }
        count.pointee = Int32(pairs.count)
        // NULL buffers with capacity 0 ask only for the count.
        if layers == nil && neurons == nil && capacity == 0 { return }
        _ = try required(layers, function, "layers")
        _ = try required(neurons, function, "neurons")
        try checkCapacity(capacity, needed: pairs.count, function, "layers and neurons")
        try copyOut(pairs.map(\.0), to: layers, count: capacity, function, "layers")
        try copyOut(pairs.map(\.1), to: neurons, count: capacity, function, "neurons")
    }
}

/// `vitreous_status vitreous_registers_free(vitreous_registers *registers)`.
@_cdecl("vitreous_registers_free")
public func vitreous_registers_free(_ registers: OpaquePointer?) -> Int32 {
    entry("vitreous_registers_free") {
        guard registers != nil else { return }  // free(NULL) is a no-op, as in C
        try HandleRegistry.shared.remove(registers, kind: "registers", "vitreous_registers_free")
    }
}
