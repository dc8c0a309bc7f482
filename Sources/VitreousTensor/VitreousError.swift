/// Every failure Vitreous reports: each case carries enough words to act on without a debugger.
public enum VitreousError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Operand shapes that do not fit the operation.
    case shapeMismatch(String)
    /// Operands that live on different devices; move one with ``Tensor/to(_:)`` first.
    case deviceMismatch(String)
    /// An argument outside what the operation accepts (an empty axis, a negative size, a NaN epsilon).
    case invalidArgument(String)
    /// An OpenCL or CLBlast call failed; `status` is the raw code, `name` its symbol.
    case openCL(status: Int32, name: String, operation: String)
    /// A kernel program did not compile; `log` is the driver's build log.
    case kernelBuildFailed(program: String, device: String, log: String)
    /// The requested device does not exist or could not be started.
    case deviceUnavailable(String)
    /// Memory could not be obtained on the host or the device.
    case allocationFailed(String)
    /// The device stopped answering or a kernel crashed it. Work queued since the last wait is lost and its
    /// outputs are undefined; the backend has a new queue, so later work runs (or fails with
    /// ``deviceUnavailable(_:)`` when the device is gone for good).
    case deviceLost(String)

    public var description: String {
        switch self {
        case .shapeMismatch(let message): return "shape mismatch: \(message)"
        case .deviceMismatch(let message): return "device mismatch: \(message)"
        case .invalidArgument(let message): return "invalid argument: \(message)"
        case .openCL(let status, let name, let operation):
            return "OpenCL error \(name) (\(status)) in \(operation)"
        case .kernelBuildFailed(let program, let device, let log):
            return "OpenCL program '\(program)' failed to build on \(device):\n\(log)"
        case .deviceUnavailable(let message): return "device unavailable: \(message)"
        case .allocationFailed(let message): return "allocation failed: \(message)"
        case .deviceLost(let message): return "device lost: \(message)"
        }
    }
}

/// Throws ``VitreousError/openCL(status:name:operation:)`` unless `status` is success.
@inline(__always)
func checkCL(_ status: Int32, _ operation: @autoclosure () -> String) throws {
    if status != 0 {
        throw VitreousError.openCL(status: status, name: openCLStatusName(status), operation: operation())
    }
}
