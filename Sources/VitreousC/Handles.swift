import Foundation
import VitreousModel
import VitreousTensor

/// What a model handle stands for: an encoder on its device.
final class ModelObject: Sendable {
    let encoder: ViTEncoder
    /// The index the caller used (`-1` resolved to the default device's index).
    let deviceIndex: Int32

    init(encoder: ViTEncoder, deviceIndex: Int32) {
        self.encoder = encoder
        self.deviceIndex = deviceIndex
    }
}

/// What a result handle stands for: one image's encoder output, already on the host, so that a result
/// outlives its model and reading it never touches a device.
final class ResultObject: Sendable {
    let hiddenSize: Int
    let gridHeight: Int, gridWidth: Int
    let firstPatch: Int
    let tokenCount: Int
    let heads: Int
    /// `[T, D]`, `[D]`, `[gh, gw, D]`.
    let tokens: [Float], cls: [Float], patches: [Float]
    /// Per layer (embeddings, then each block's output), `[T]`; empty without token norms.
    let layerNorms: [[Float]]
    /// `[heads, T]`, or nil when not asked for.
    let clsAttention: [Float]?

    init(_ output: EncoderOutput, heads: Int) throws {
        tokens = try output.tokens.toArray()
        cls = try output.cls.toArray()
        patches = try output.patches.toArray()
        layerNorms = try (output.tokenNorms ?? []).map { try $0.norms.toArray() }
        clsAttention = try output.clsAttention?.toArray()
        hiddenSize = output.cls.shape.last ?? 0
        (gridHeight, gridWidth, firstPatch) = (output.gridHeight, output.gridWidth, output.firstPatch)
        tokenCount = output.tokens.shape.count == 3 ? output.tokens.shape[1] : 0
        self.heads = heads
    }

    var patchCount: Int { gridHeight * gridWidth }
}

/// Live handles by number. A handle given to C is the number itself disguised as a pointer and is never
/// dereferenced, so a freed, foreign or made-up handle is found out by a lookup instead of crashing, and
/// since numbers are never reused a stale handle cannot reach a newer object.
final class HandleRegistry: @unchecked Sendable {  // `objects` and `next` only under `lock`
    enum Object {
        case model(ModelObject)
        case result(ResultObject)

        var kind: String {
            switch self {
            case .model: return "model"
            case .result: return "result"
            }
        }
    }

    static let shared = HandleRegistry()

    /// High bits that no heap or stack address on a 64-bit system has ("VI" for Vitreous), so a pointer
    /// passed by mistake is reported as foreign rather than colliding with a live number.
    private static let tag: UInt = 0x5649 << 48
    private static let counterMask: UInt = (1 << 48) - 1

    private let lock = NSLock()
    /// Stored as plain references, not as `Object`: a two-case enum of classes keeps its case in the pointer's
    /// spare bits, where LeakSanitizer no longer sees a pointer and reports every live handle as leaked.
    private var objects: [UInt: AnyObject] = [:]
    private var next: UInt = 1

    func insert(_ object: Object) -> OpaquePointer? {
        lock.withLock {
            let number = next
            next += 1
            switch object {
            case .model(let model): objects[number] = model
            case .result(let result): objects[number] = result
            }
            return OpaquePointer(bitPattern: Self.tag | number)
        }
    }

    func model(_ handle: OpaquePointer?, _ function: String) throws -> ModelObject {
        guard case .model(let model) = try lookup(handle, "model", function) else {
            throw CAPIError(.invalidHandle, "\(function): the handle is a result, not a model")
        }
        return model
    }

    func result(_ handle: OpaquePointer?, _ function: String) throws -> ResultObject {
        guard case .result(let result) = try lookup(handle, "result", function) else {
            throw CAPIError(.invalidHandle, "\(function): the handle is a model, not a result")
        }
        return result
    }

    /// Forgets a handle of `kind`; the object goes when no call in flight still holds it.
    func remove(_ handle: OpaquePointer?, kind: String, _ function: String) throws {
        try lock.withLock {
            let object = try lookupLocked(handle, kind, function)
            guard object.kind == kind else {
                throw CAPIError(.invalidHandle, "\(function): the handle is a \(object.kind), not a \(kind)")
            }
            objects.removeValue(forKey: number(handle) & Self.counterMask)
        }
    }

    private func number(_ handle: OpaquePointer?) -> UInt {
        UInt(bitPattern: handle.map { Int(bitPattern: UnsafeRawPointer($0)) } ?? 0)
    }

    private func lookup(_ handle: OpaquePointer?, _ kind: String, _ function: String) throws -> Object {
        try lock.withLock { try lookupLocked(handle, kind, function) }
    }

    private func lookupLocked(_ handle: OpaquePointer?, _ kind: String, _ function: String) throws -> Object {
        guard handle != nil else { throw CAPIError.null(function, kind) }
        let value = number(handle)
        let counter = value & Self.counterMask
        let tagged = value & ~Self.counterMask == Self.tag
        if tagged, let object = objects[counter] {
            if let model = object as? ModelObject { return .model(model) }
            if let result = object as? ResultObject { return .result(result) }
        }
        if tagged && counter > 0 && counter < next {
            throw CAPIError(.invalidHandle, "\(function): the \(kind) handle was already freed")
        }
        throw CAPIError(.invalidHandle, "\(function): 0x\(String(value, radix: 16)) is not a Vitreous \(kind) handle")
    }
}
