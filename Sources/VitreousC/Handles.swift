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

/// What a result handle stands for: a batch of encoder outputs, already on the host, so that a result
/// outlives its model and reading it never touches a device. Arrays are image-major: image b's rows follow
/// image b − 1's.
final class ResultObject: Sendable {
    let imageCount: Int
    let hiddenSize: Int
    let gridHeight: Int, gridWidth: Int
    let firstPatch: Int
    /// Tokens per image, test-time registers (after the patches) included.
    let tokenCount: Int
    let registerCount: Int
    let testTimeRegisterCount: Int
    let heads: Int
    /// `[B, T, D]`, `[B, D]`, `[B, gh, gw, D]`.
    let tokens: [Float], cls: [Float], patches: [Float]
    /// Per layer (embeddings, then each block's output), `[B, T]`; empty without token norms.
    let layerNorms: [[Float]]
    /// `[B, heads, T]`, or nil when not asked for.
    let clsAttention: [Float]?
    /// Layer → `[B, T, D]` before the final norm, for the layers asked for.
    let hiddenStates: [Int: [Float]]

    init(_ output: EncoderOutput, heads: Int, hiddenLayers: [Int] = []) throws {
        tokens = try output.tokens.toArray()
        cls = try output.cls.toArray()
        patches = try output.patches.toArray()
        layerNorms = try (output.tokenNorms ?? []).map { try $0.norms.toArray() }
        clsAttention = try output.clsAttention?.toArray()
        var hidden: [Int: [Float]] = [:]
        if let states = output.hiddenStates {
            for layer in hiddenLayers where states.indices.contains(layer) { hidden[layer] = try states[layer].toArray() }
        }
        hiddenStates = hidden
        imageCount = output.cls.shape.first ?? 0
        hiddenSize = output.cls.shape.last ?? 0
        (gridHeight, gridWidth, firstPatch) = (output.gridHeight, output.gridWidth, output.firstPatch)
        tokenCount = output.tokens.shape.count == 3 ? output.tokens.shape[1] : 0
        registerCount = output.registers?.shape[1] ?? 0
        testTimeRegisterCount = output.testTimeRegisters?.shape[1] ?? 0
        self.heads = heads
    }

    var patchCount: Int { gridHeight * gridWidth }
}

/// Live handles by number. A handle given to C is the number itself disguised as a pointer and is never
/// dereferenced, so a freed, foreign or made-up handle is found out by a lookup instead of crashing, and
/// since numbers are never reused a stale handle cannot reach a newer object.
final class HandleRegistry: @unchecked Sendable {  // `objects` and `next` only under `lock`
    static let shared = HandleRegistry()

    /// High bits that no heap or stack address on a 64-bit system has ("VI" for Vitreous), so a pointer
    /// passed by mistake is reported as foreign rather than colliding with a live number.
    private static let tag: UInt = 0x5649 << 48
    private static let counterMask: UInt = (1 << 48) - 1

    private let lock = NSLock()
    /// Plain class references (LeakSanitizer must see them as pointers to the live objects).
    private var objects: [UInt: AnyObject] = [:]
    private var next: UInt = 1

    func insert(_ object: AnyObject) -> OpaquePointer? {
        lock.withLock {
            let number = next
            next += 1
            objects[number] = object
            return OpaquePointer(bitPattern: Self.tag | number)
        }
    }

    /// The name C uses for a handle's object.
    static func kind(of object: AnyObject) -> String {
        switch object {
        case is ModelObject: return "model"
        case is ResultObject: return "result"
        case is OptionsObject: return "options"
        case is RegistersObject: return "registers"
        case is ImageObject: return "image"
        case is AnalysisObject: return "analysis"
        default: return "object"
        }
    }

    /// The object behind `handle`, which must be of type `T` (C's name for it: `kind`).
    func object<T: AnyObject>(_ handle: OpaquePointer?, _ kind: String, _ function: String) throws -> T {
        let object = try lock.withLock { try lookupLocked(handle, kind, function) }
        guard let typed = object as? T else {
            throw CAPIError(.invalidHandle, "\(function): the handle is a \(Self.kind(of: object)), not a \(kind)")
        }
        return typed
    }

    func model(_ handle: OpaquePointer?, _ function: String) throws -> ModelObject {
        try object(handle, "model", function)
    }

    func result(_ handle: OpaquePointer?, _ function: String) throws -> ResultObject {
        try object(handle, "result", function)
    }

    /// Forgets a handle of `kind`; the object goes when no call in flight still holds it.
    func remove(_ handle: OpaquePointer?, kind: String, _ function: String) throws {
        try lock.withLock {
            let object = try lookupLocked(handle, kind, function)
            guard Self.kind(of: object) == kind else {
                throw CAPIError(.invalidHandle, "\(function): the handle is a \(Self.kind(of: object)), not a \(kind)")
            }
            objects.removeValue(forKey: number(handle) & Self.counterMask)
        }
    }

    private func number(_ handle: OpaquePointer?) -> UInt {
        UInt(bitPattern: handle.map { Int(bitPattern: UnsafeRawPointer($0)) } ?? 0)
    }

    private func lookupLocked(_ handle: OpaquePointer?, _ kind: String, _ function: String) throws -> AnyObject {
        guard handle != nil else { throw CAPIError.null(function, kind) }
        let value = number(handle)
        let counter = value & Self.counterMask
        let tagged = value & ~Self.counterMask == Self.tag
        if tagged, let object = objects[counter] { return object }
        if tagged && counter > 0 && counter < next {
            throw CAPIError(.invalidHandle, "\(function): the \(kind) handle was already freed")
        }
        throw CAPIError(.invalidHandle, "\(function): 0x\(String(value, radix: 16)) is not a Vitreous \(kind) handle")
    }
}
