import COpenCL
import Foundation

/// The driver calls where a test can make an OpenCL device fail on purpose.
enum OpenCLFaultPoint: Sendable, Hashable {
    /// `clCreateBuffer` in the buffer pool.
    case allocation
    /// Every enqueue: kernel launches, copies, fills, writes and CLBlast routines.
    case enqueue
    /// `clBuildProgram` for a program that is not built yet.
    case build
    /// Waiting for the device: `clFinish` and blocking reads, where a lost device or a crashed kernel shows.
    case finish
}

/// Statuses to report instead of calling the driver, consumed in order at each point.
///
/// Faults are scoped with ``OpenCLFaults/inject(_:_:)`` to the calling task, so the tests that inject them
/// run in parallel with others on the same backend without disturbing them.
final class OpenCLFaultPlan: @unchecked Sendable {  // `pending` and `skips` behind `lock`
    private let lock = NSLock()
    private var pending: [OpenCLFaultPoint: [Int32]] = [:]
    private var skips: [OpenCLFaultPoint: Int] = [:]
    private let operations: String?

    /// - Parameters:
    ///   - faults: statuses per point; each is reported once, in order.
    ///   - after: successful calls to let through at a point before its first fault.
    ///   - operations: when set, only calls whose operation name contains it count (`gelu`, `CLBlast`).
    init(_ faults: [OpenCLFaultPoint: [Int32]], after: [OpenCLFaultPoint: Int] = [:], operations: String? = nil) {
        pending = faults
        skips = after
        self.operations = operations
    }

    /// The next injected status at `point` for `operation`, or nil to call the driver.
    func take(_ point: OpenCLFaultPoint, _ operation: String) -> Int32? {
        if let operations, !operation.contains(operations) { return nil }
        return lock.withLock {
            guard var list = pending[point], !list.isEmpty else { return nil }
            if let skip = skips[point], skip > 0 {
                skips[point] = skip - 1
                return nil
            }
            let status = list.removeFirst()
            pending[point] = list
            return status
        }
    }

    /// Faults not reported yet (a test checks that each one struck).
    var remaining: Int { lock.withLock { pending.values.reduce(0) { $0 + $1.count } } }
}

/// Fault injection for the OpenCL backend's tests.
enum OpenCLFaults {
    @TaskLocal static var plan: OpenCLFaultPlan?

    /// Runs `body` with `plan`'s faults armed for the calling task.
    static func inject<T>(_ plan: OpenCLFaultPlan, _ body: () throws -> T) rethrows -> T {
        try $plan.withValue(plan) { try body() }
    }

    /// The injected status for `point` in the current task, if any. `operation` is only built when a plan is armed.
    @inline(__always)
    static func take(_ point: OpenCLFaultPoint, _ operation: @autoclosure () -> String) -> Int32? {
        guard let plan else { return nil }
        return plan.take(point, operation())
    }
}

/// Statuses after which the command queue cannot be trusted: the device went away, or (reported when
/// waiting) a kernel crashed it. Vitreous replaces the queue so that later work can run.
func openCLStatusLosesQueue(_ status: Int32, at point: OpenCLFaultPoint) -> Bool {
    switch status {
    case CL_DEVICE_NOT_AVAILABLE, CL_INVALID_COMMAND_QUEUE, -9999: return true  // -9999: NVIDIA's illegal access
    case CL_OUT_OF_RESOURCES: return point == .finish
    default: return false
    }
}
