import Foundation
import VitreousAnalysis
import VitreousImage
import VitreousModel
import VitreousRepair
import VitreousTensor

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The status codes of `include/vitreous.h` (`vitreous_status`); the numbers are ABI and never change.
public enum VitreousStatus: Int32, Sendable, CaseIterable {
    /// `VITREOUS_OK`: the call succeeded.
    case ok = 0
    /// `VITREOUS_ERROR_INVALID_ARGUMENT`: an argument is out of range.
    case invalidArgument = 1
    /// `VITREOUS_ERROR_NULL_POINTER`: a required pointer is NULL.
    case nullPointer = 2
    /// `VITREOUS_ERROR_BUFFER_SIZE`: a caller's buffer is smaller than the call needs.
    case bufferSize = 3
    /// `VITREOUS_ERROR_INVALID_HANDLE`: a handle that is freed, of the wrong kind, or not a handle.
    case invalidHandle = 4
    /// `VITREOUS_ERROR_UNKNOWN_DEVICE`: no such device, or one that cannot be started.
    case unknownDevice = 5
    /// `VITREOUS_ERROR_IO`: a file that cannot be opened, mapped or read.
    case io = 6
    /// `VITREOUS_ERROR_MODEL`: a file that is not a checkpoint Vitreous can load.
    case model = 7
    /// `VITREOUS_ERROR_IMAGE`: an image that cannot be used (too large, cannot be resized).
    case image = 8
    /// `VITREOUS_ERROR_BACKEND`: an OpenCL or CLBlast call failed, or the device was lost.
    case backend = 9
    /// `VITREOUS_ERROR_OUT_OF_MEMORY`: host or device memory ran out.
    case outOfMemory = 10
    /// `VITREOUS_ERROR_INTERNAL`: anything else; the message says what.
    case `internal` = 11

    /// The enumerator's name in the header. Static strings: their bytes live as long as the library.
    var name: StaticString {
        switch self {
        case .ok: return "VITREOUS_OK"
        case .invalidArgument: return "VITREOUS_ERROR_INVALID_ARGUMENT"
        case .nullPointer: return "VITREOUS_ERROR_NULL_POINTER"
        case .bufferSize: return "VITREOUS_ERROR_BUFFER_SIZE"
        case .invalidHandle: return "VITREOUS_ERROR_INVALID_HANDLE"
        case .unknownDevice: return "VITREOUS_ERROR_UNKNOWN_DEVICE"
        case .io: return "VITREOUS_ERROR_IO"
        case .model: return "VITREOUS_ERROR_MODEL"
        case .image: return "VITREOUS_ERROR_IMAGE"
        case .backend: return "VITREOUS_ERROR_BACKEND"
        case .outOfMemory: return "VITREOUS_ERROR_OUT_OF_MEMORY"
        case .internal: return "VITREOUS_ERROR_INTERNAL"
        }
    }
}

/// A failure found by the C API itself (a bad argument, a stale handle), with the status it maps to.
struct CAPIError: Error, CustomStringConvertible {
    let status: VitreousStatus
    let description: String

    init(_ status: VitreousStatus, _ description: String) {
        self.status = status
        self.description = description
    }

    static func null(_ function: String, _ parameter: String) -> CAPIError {
        CAPIError(.nullPointer, "\(function): \(parameter) is NULL")
    }
}

/// The status a Swift error from the libraries becomes at the boundary.
func status(of error: any Error) -> VitreousStatus {
    switch error {
    case let error as CAPIError:
        return error.status
    case let error as ModelError:
        switch error {
        case .io: return .io
        case .invalidArgument: return .invalidArgument
        default: return .model
        }
    case is ImageError:
        return .image
    case let error as VitreousError:
        switch error {
        case .invalidArgument, .shapeMismatch, .deviceMismatch: return .invalidArgument
        case .openCL, .kernelBuildFailed, .deviceLost: return .backend
        case .deviceUnavailable: return .unknownDevice
        case .allocationFailed: return .outOfMemory
        }
    case is RepairError, is AnalysisError:
        return .invalidArgument
    default:
        return .internal
    }
}

// MARK: - The thread's last message

/// One slot per thread holding a `strdup`ed message; the key's destructor frees it when the thread ends,
/// so `vitreous_last_error` can hand out a pointer that stays valid until the thread's next call.
private let messageKey: pthread_key_t? = {
    var key = pthread_key_t()
    guard pthread_key_create(&key, { free($0) }) == 0 else { return nil }
    return key
}()

/// Bytes returned when no message could be stored (no key, or strdup failed): a static, always valid string.
private let noMessage: StaticString = ""
private let unstorableMessage: StaticString = "vitreous: the error message could not be stored"

func setLastMessage(_ message: String) {
    guard let key = messageKey else { return }
    free(pthread_getspecific(key))
    pthread_setspecific(key, message.isEmpty ? nil : UnsafeMutableRawPointer(strdup(message)))
}

func lastMessage() -> UnsafePointer<CChar> {
    guard let key = messageKey else { return staticCString(unstorableMessage) }
    guard let stored = pthread_getspecific(key) else { return staticCString(noMessage) }
    return UnsafePointer(stored.assumingMemoryBound(to: CChar.self))
}

func staticCString(_ string: StaticString) -> UnsafePointer<CChar> {
    UnsafeRawPointer(string.utf8Start).assumingMemoryBound(to: CChar.self)
}

// MARK: - The boundary

/// Runs one C entry point: every thrown error becomes its status and this thread's message (prefixed with the
/// function's name unless the message already names it); success clears the message. Nothing is rethrown.
func entry(_ function: String, _ body: () throws -> Void) -> Int32 {
    CLogging.start
    do {
        try body()
        setLastMessage("")
        return VitreousStatus.ok.rawValue
    } catch {
        let text = String(describing: error)
        setLastMessage(text.hasPrefix(function) ? text : "\(function): \(text)")
        return status(of: error).rawValue
    }
}

/// Fills a C info struct made of `int32_t` fields, `fields` in declaration order (clamped to Int32).
func writeInt32Fields(_ fields: [Int], to info: UnsafeMutableRawPointer) {
    let out = info.bindMemory(to: Int32.self, capacity: fields.count)
    for (index, value) in fields.enumerated() { out[index] = Int32(clamping: value) }
}

/// `pointer`, or a null-pointer error naming the parameter.
func required<T>(_ pointer: T?, _ function: String, _ parameter: String) throws -> T {
    guard let pointer else { throw CAPIError.null(function, parameter) }
    return pointer
}

/// A C size (`size_t` passes through as `Int`; values past `Int.max` arrive negative) checked against
/// what a call needs: at least `needed` elements.
func checkCapacity(_ count: Int, needed: Int, _ function: String, _ what: String) throws {
    guard count >= 0 else { throw CAPIError(.bufferSize, "\(function): \(what) count \(UInt(bitPattern: count)) is not a size") }
    guard count >= needed else {
        throw CAPIError(.bufferSize, "\(function): \(what) holds \(count) values but \(needed) are needed")
    }
}

/// Copies `values` into the caller's buffer after checking its capacity.
func copyOut<T>(_ values: [T], to out: UnsafeMutablePointer<T>?, count: Int, _ function: String,
                _ what: String) throws {
    let out = try required(out, function, what)
    try checkCapacity(count, needed: values.count, function, what)
    values.withUnsafeBufferPointer { source in
        guard let base = source.baseAddress else { return }
        out.update(from: base, count: source.count)
    }
}
