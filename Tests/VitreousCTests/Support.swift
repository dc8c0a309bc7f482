import Foundation
import CVitreous
import VitreousImage
import VitreousModel
import VitreousTensor

/// The outcome of one C call: its status and the thread's message right after it.
struct Outcome: CustomStringConvertible {
    let status: vitreous_status
    let message: String

    init(_ status: vitreous_status) {
        self.status = status
        message = vitreous_last_error().map { String(cString: $0) } ?? "<NULL>"
    }

    var description: String { "\(name(of: status)) — \"\(message)\"" }
}

/// The header's name of a status code.
func name(of status: vitreous_status) -> String {
    vitreous_status_name(status).map { String(cString: $0) } ?? "<NULL>"
}

/// An info struct's eight int32_t fields as an array, in declaration order.
func fields<Info>(_ info: Info) -> [Int] {
    withUnsafeBytes(of: info) { Array($0.bindMemory(to: Int32.self)).map(Int.init) }
}

/// C device indices: the CPU and each OpenCL device present.
var deviceIndices: [Int32] {
    var count: Int32 = 0
    guard vitreous_device_count(&count) == VITREOUS_OK else { return [0] }
    return Array(0..<count)
}

func device(ofIndex index: Int32) -> Device { index == 0 ? .cpu : .openCL(Int(index) - 1) }

/// True when this run is CI, where a missing OpenCL device must fail instead of being skipped.
var runningInCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

/// A model handle, freed when the value goes. Sendable: the handle never changes and the C API is thread-safe.
final class CModel: @unchecked Sendable {
    let handle: OpaquePointer?

    init(demoOn device: Int32) throws {
        var handle: OpaquePointer?
        let outcome = Outcome(vitreous_model_create_demo(device, &handle))
        guard outcome.status == VITREOUS_OK, handle != nil else { throw TestFailure("create_demo: \(outcome)") }
        self.handle = handle
    }

    init(path: String, device: Int32) throws {
        var handle: OpaquePointer?
        let outcome = Outcome(vitreous_model_load(path, device, &handle))
        guard outcome.status == VITREOUS_OK, handle != nil else { throw TestFailure("model_load: \(outcome)") }
        self.handle = handle
    }

    deinit { _ = vitreous_model_free(handle) }

    func encode(rgb8 pixels: [UInt8], width: Int32, height: Int32, stride: Int = 0,
                flags: UInt32 = 3) throws -> CResult {
        var result: OpaquePointer?
        let outcome = Outcome(vitreous_encode_rgb8(handle, pixels, pixels.count, width, height, stride, flags, &result))
        guard outcome.status == VITREOUS_OK, result != nil else { throw TestFailure("encode_rgb8: \(outcome)") }
        return CResult(result)
    }

    func encode(floats values: [Float], width: Int32, height: Int32, layout: Int32,
                flags: UInt32 = 3) throws -> CResult {
        var result: OpaquePointer?
        let outcome = Outcome(vitreous_encode_float(handle, values, values.count, width, height, layout, flags, &result))
        guard outcome.status == VITREOUS_OK, result != nil else { throw TestFailure("encode_float: \(outcome)") }
        return CResult(result)
    }
}

/// A result handle, freed when the value goes, with typed readers.
final class CResult: @unchecked Sendable {
    let handle: OpaquePointer?

    init(_ handle: OpaquePointer?) { self.handle = handle }
    deinit { _ = vitreous_result_free(handle) }

    func info() throws -> vitreous_result_info {
        var info = vitreous_result_info()
        let outcome = Outcome(vitreous_result_get_info(handle, &info))
        guard outcome.status == VITREOUS_OK else { throw TestFailure("result_info: \(outcome)") }
        return info
    }

    func read(_ count: Int, _ call: (UnsafeMutablePointer<Float>?, Int) -> vitreous_status) throws -> [Float] {
        var out = [Float](repeating: .nan, count: count)
        let outcome = out.withUnsafeMutableBufferPointer { Outcome(call($0.baseAddress, count)) }
        guard outcome.status == VITREOUS_OK else { throw TestFailure("read: \(outcome)") }
        return out
    }
}

/// The `vitreous demo` image from the C API.
func demoImage() throws -> (pixels: [UInt8], width: Int32, height: Int32) {
    var (width, height): (Int32, Int32) = (0, 0)
    guard vitreous_demo_image_rgb8(nil, 0, &width, &height) == VITREOUS_OK else { throw TestFailure("demo image size") }
    var pixels = [UInt8](repeating: 0, count: Int(width * height * 3))
    let outcome = Outcome(vitreous_demo_image_rgb8(&pixels, pixels.count, &width, &height))
    guard outcome.status == VITREOUS_OK else { throw TestFailure("demo image: \(outcome)") }
    return (pixels, width, height)
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// ‖a − b‖ / ‖b‖ in Double.
func relativeError(_ a: [Float], _ b: [Float]) -> Double {
    guard a.count == b.count else { return .infinity }
    var (difference, reference) = (0.0, 0.0)
    for (x, y) in zip(a, b) {
        difference += Double(x - y) * Double(x - y)
        reference += Double(y) * Double(y)
    }
    return (difference / max(reference, 1e-300)).squareRoot()
}

/// A value shared between threads, only touched under its lock.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func withLock<R>(_ body: (inout Value) -> R) -> R { lock.withLock { body(&value) } }
}
