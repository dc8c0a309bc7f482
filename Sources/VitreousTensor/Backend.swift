import Foundation

/// The activation applied by ``linear(_:weight:bias:activation:)`` after its bias.
public enum Activation: Int32, Sendable, CaseIterable {
    /// No activation: `y = x·Wᵀ + b`.
    case identity = 0
    /// Exact GELU, `0.5·x·(1 + erf(x/√2))`, as PyTorch's default `nn.GELU()`.
    case gelu = 1
}

/// What every device provides: memory (allocate, upload, read back, copy, wait, pool counters) and the kind that
/// ops switch on. ``CPUBackend`` and ``OpenCLBackend`` are the two kinds.
///
/// Ops are not requirements of this protocol: each public op checks its inputs, then switches on ``kind`` and
/// calls the implementation of that backend, declared beside the op (AddingAnOp.md); `matmul`, which three ops
/// share, switches once in ``BackendKind/matmul(_:_:into:batch:m:n:k:transposeB:shareB:)``.
///
/// Not public: shapes are validated by the public operations before a backend sees them, so backends receive
/// flat sizes and trust them; code outside the package reaches a backend only through those checked ops.
/// Outputs are passed in freshly allocated by ``empty(shape:)``; a backend writes every element of them.
/// Every method may be called from several threads at once.
package protocol Backend: AnyObject, Sendable {
    /// The device this backend runs on.
    var device: Device { get }
    /// The backend as its concrete type: each op calls its implementation on each backend through this switch.
    var kind: BackendKind { get }

    /// A tensor whose elements are undefined until an operation writes them
    /// (NaN when ``allocationPoisoning`` is on).
    func empty(shape: [Int]) throws -> Tensor
    /// A tensor holding a copy of `values`.
    func tensor(_ values: UnsafeBufferPointer<Float>, shape: [Int]) throws -> Tensor
    /// Copies the elements of `tensor` to host memory, after waiting for the work that produces them.
    func read(_ tensor: Tensor, into destination: UnsafeMutableBufferPointer<Float>) throws
    /// Waits until all submitted work has finished.
    func synchronize() throws
    /// The backend's buffer-pool counters: how many buffers it made, how many requests the pool served.
    var allocationStatistics: AllocationStatistics { get }
    /// Releases the pooled (unused) buffers to the system or driver.
    func trimBufferPool()
    /// Copies all elements of `source` into `destination` (same count) on the device, without a host trip.
    func copy(_ source: Tensor, into destination: Tensor) throws
}

extension BackendKind {
    /// `c[i] = a[i] · op(b[i])` for `i < batch`, row-major, on the backend's GEMM (OpenBLAS, CLBlast); `op(b)` is
    /// `bᵀ` (b stored `[n, k]`) when `transposeB`, else b stored `[k, n]`. `a` is `[batch, m, k]`; `b` has `batch`
    /// matrices, or one matrix shared by every batch item when `shareB`. What ``matmul(_:_:)``, the OpenCL
    /// ``linear(_:weight:bias:activation:)`` and the materialised attention of the tests share.
    package func matmul(_ a: Tensor, _ b: Tensor, into c: Tensor,
                        batch: Int, m: Int, n: Int, k: Int, transposeB: Bool, shareB: Bool) throws {
        switch self {
        case .cpu(let cpu):
            try cpu.matmul(a, b, into: c, batch: batch, m: m, n: n, k: k, transposeB: transposeB, shareB: shareB)
        case .openCL(let gpu):
            try gpu.matmul(a, b, into: c, batch: batch, m: m, n: n, k: k, transposeB: transposeB, shareB: shareB)
        }
    }
}

/// The two kinds of backend, for ops that dispatch to each directly.
package enum BackendKind {
    case cpu(CPUBackend)
    case openCL(OpenCLBackend)
}

/// Buffer-pool counters of a device's backend (see ``Device/allocationStatistics()``).
public struct AllocationStatistics: Sendable, Equatable {
    /// Buffers made (system or driver allocations).
    public let created: Int
    /// Requests served from the pool.
    public let reused: Int
    /// Bytes in buffers handed out and not yet returned.
    public let liveBytes: Int
    /// Highest `liveBytes` seen.
    public let peakLiveBytes: Int
}

extension BufferPool {
    /// The pool's counters in their public form.
    var allocationStatistics: AllocationStatistics {
        let counters = statistics
        return AllocationStatistics(created: counters.created, reused: counters.reused, liveBytes: counters.liveBytes,
                                    peakLiveBytes: counters.peakLiveBytes)
    }
}

/// Whether every new allocation is filled with NaN before an operation writes it, so that a kernel that
/// skips an element shows up as NaN in its output. Costs one fill per allocation; off unless a test turns it
/// on (VitreousTesting's `NaNPoisoning`).
package var allocationPoisoning: Bool {
    get { PoisoningSwitch.lock.withLock { PoisoningSwitch.on } }
    set { PoisoningSwitch.lock.withLock { PoisoningSwitch.on = newValue } }
}

private enum PoisoningSwitch {
    static let lock = NSLock()
    nonisolated(unsafe) static var on = false  // guarded by `lock`
}

/// One backend per device, created on first use and kept for the life of the process.
private enum BackendRegistry {
    static let lock = NSLock()
    nonisolated(unsafe) static var backends: [Device: any Backend] = [:]  // guarded by `lock`
}

/// The backend for `device`, starting it on first use (an OpenCL context, queue and kernel programs).
/// - Throws: ``VitreousError/deviceUnavailable(_:)`` for an OpenCL index that does not exist or a device
///   that fails to start; for the CPU, the error of a bad `VITREOUS_CPU_ISA` (see ``CPUInstructionSet``) or
///   `VITREOUS_CPU_SPIN_US`.
package func backend(for device: Device) throws -> any Backend {
    BackendRegistry.lock.lock()
    defer { BackendRegistry.lock.unlock() }
    if let existing = BackendRegistry.backends[device] { return existing }
    let made: any Backend
    switch device {
    case .cpu:
        _ = try CPUInstructionSet.active  // a bad VITREOUS_CPU_ISA is an error here, before any kernel runs
        try CPUWorkerSpin.apply()  // and so is a bad VITREOUS_CPU_SPIN_US
        made = CPUBackend.shared
    case .openCL(let index):
        let handles = OpenCLPlatforms.enumeration.devices
        guard handles.indices.contains(index) else {
            throw VitreousError.deviceUnavailable(handles.isEmpty
                ? "opencl:\(index) requested but \(Device.openCLProblem ?? "no OpenCL device exists")"
                : "opencl:\(index) does not exist; " + (handles.count == 1 ? "the only OpenCL device is opencl:0"
                                                          : "devices are opencl:0...opencl:\(handles.count - 1)"))
        }
        made = try OpenCLBackend(handle: handles[index])
    }
    BackendRegistry.backends[device] = made
    return made
}

extension Device {
    /// Waits until all work submitted to this device has finished (a no-op on the CPU): what a timing
    /// measurement waits for.
    /// - Throws: ``VitreousError/deviceUnavailable(_:)`` for a device that cannot start; an OpenCL error
    ///   the queue reports.
    public func synchronize() throws { try backend(for: self).synchronize() }

    /// This device's buffer-pool counters: buffers made, requests the pool served, live and peak bytes.
    /// - Throws: ``VitreousError/deviceUnavailable(_:)`` for a device that cannot start.
    public func allocationStatistics() throws -> AllocationStatistics {
        try backend(for: self).allocationStatistics
    }

    /// Releases this device's pooled (unused) buffers to the system or driver; tensors still alive keep theirs.
    /// - Throws: ``VitreousError/deviceUnavailable(_:)`` for a device that cannot start.
    public func trimBufferPool() throws { try backend(for: self).trimBufferPool() }
}
