import COpenCL
import Foundation

/// Device memory of one OpenCL tensor. Returns its buffer to the pool when the last tensor using it goes.
final class CLStorage: TensorStorage, @unchecked Sendable {  // immutable fields; contents per TensorStorage
    let count: Int
    let buffer: cl_mem
    let bytes: Int
    let device: Device
    private let pool: OpenCLBufferPool

    init(count: Int, buffer: cl_mem, bytes: Int, device: Device, pool: OpenCLBufferPool) {
        self.count = count
        self.buffer = buffer
        self.bytes = bytes
        self.device = device
        self.pool = pool
    }

    deinit { pool.recycle(buffer, bytes: bytes) }
}

/// Recycles device buffers by size class so that a steady-state forward pass creates no new buffers.
///
/// Work that still uses a recycled buffer was queued earlier on the same in-order queue, so the next user
/// of the buffer runs after it: reuse needs no wait.
final class OpenCLBufferPool: @unchecked Sendable {  // all mutable state behind `lock`
    private let context: cl_context
    private let lock = NSLock()
    private var free: [Int: [cl_mem]] = [:]
    private var pooledBytes = 0
    /// Most bytes kept for reuse; past it, returned buffers are released to the driver.
    let capacityBytes: Int

    /// Counters for benchmarks and tests.
    struct Counters: Sendable, Equatable {
        /// `clCreateBuffer` calls made.
        var created = 0
        /// Requests served from the pool.
        var reused = 0
        /// Bytes in buffers handed out and not yet returned.
        var liveBytes = 0
        /// Highest `liveBytes` seen.
        var peakLiveBytes = 0
    }
    private var counters = Counters()

    init(context: cl_context, capacityBytes: Int) {
        self.context = context
        self.capacityBytes = capacityBytes
    }

    deinit {
        for buffers in free.values { for buffer in buffers { clReleaseMemObject(buffer) } }
    }

    var statistics: Counters { lock.withLock { counters } }

    /// Size classes: 4 KiB steps up to 64 KiB, then 1/16 of the next power of two (≤ 6 % waste).
    static func sizeClass(_ bytes: Int) -> Int {
        let minimum = max(bytes, 1)
        var power = 1
        while power < minimum { power <<= 1 }
        let step = max(4096, power / 16)
        return (minimum + step - 1) / step * step
    }

    func obtain(bytes requested: Int) throws -> (cl_mem, Int) {
        let bytes = Self.sizeClass(requested)
        let reused: cl_mem? = lock.withLock {
            guard var list = free[bytes], let buffer = list.popLast() else { return nil }
            free[bytes] = list
            pooledBytes -= bytes
            counters.reused += 1
            noteLive(bytes)
            return buffer
        }
        if let reused { return (reused, bytes) }
        var status: cl_int = 0
        var buffer = clCreateBuffer(context, cl_mem_flags(CL_MEM_READ_WRITE), bytes, nil, &status)
        if status != CL_SUCCESS || buffer == nil {
            // The pool may hold memory the driver needs: give it back and try once more.
            trim()
            buffer = clCreateBuffer(context, cl_mem_flags(CL_MEM_READ_WRITE), bytes, nil, &status)
        }
        guard status == CL_SUCCESS, let buffer else {
            throw VitreousError.openCL(status: status == CL_SUCCESS ? CL_MEM_OBJECT_ALLOCATION_FAILURE : status,
                                       name: openCLStatusName(status == CL_SUCCESS ? CL_MEM_OBJECT_ALLOCATION_FAILURE : status),
                                       operation: "clCreateBuffer(\(bytes) bytes)")
        }
        lock.withLock {
            counters.created += 1
            noteLive(bytes)
        }
        return (buffer, bytes)
    }

    private func noteLive(_ bytes: Int) {
        counters.liveBytes += bytes
        counters.peakLiveBytes = max(counters.peakLiveBytes, counters.liveBytes)
    }

    func recycle(_ buffer: cl_mem, bytes: Int) {
        let keep = lock.withLock { () -> Bool in
            counters.liveBytes -= bytes
            guard pooledBytes + bytes <= capacityBytes else { return false }
            free[bytes, default: []].append(buffer)
            pooledBytes += bytes
            return true
        }
        if !keep { clReleaseMemObject(buffer) }
    }

    /// Releases every pooled buffer to the driver.
    func trim() {
        let released = lock.withLock { () -> [cl_mem] in
            let all = free.values.flatMap { $0 }
            free.removeAll()
            pooledBytes = 0
            return all
        }
        for buffer in released { clReleaseMemObject(buffer) }
    }
}
