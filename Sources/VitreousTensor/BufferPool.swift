import Foundation

/// Recycles buffers by size class so that a steady-state forward pass allocates nothing new, on the
/// host (no page faults on fresh pages every op) and on OpenCL devices (no driver allocations).
///
/// On an OpenCL device, work that still uses a recycled buffer was queued earlier on the same in-order
/// queue, so the next user of the buffer runs after it: reuse needs no wait.
final class BufferPool<Buffer>: @unchecked Sendable {  // all mutable state behind `lock`; Buffer handles are only moved
    private let make: (Int) throws -> Buffer
    private let release: (Buffer) -> Void
    private let lock = NSLock()
    private var free: [Int: [Buffer]] = [:]
    private var pooledBytes = 0
    /// Most bytes kept for reuse; past it, returned buffers are released.
    let capacityBytes: Int

    /// Counters for benchmarks and tests.
    struct Counters: Sendable, Equatable {
        /// New buffers made (driver or system allocations).
        var created = 0
        /// Requests served from the pool.
        var reused = 0
        /// Bytes in buffers handed out and not yet returned.
        var liveBytes = 0
        /// Highest `liveBytes` seen.
        var peakLiveBytes = 0
    }
    private var counters = Counters()

    /// - Parameters:
    ///   - make: allocates a buffer of exactly this many bytes, or throws.
    ///   - release: frees a buffer for good.
    init(capacityBytes: Int, make: @escaping (Int) throws -> Buffer, release: @escaping (Buffer) -> Void) {
        self.capacityBytes = capacityBytes
        self.make = make
        self.release = release
    }

    deinit {
        for buffers in free.values { for buffer in buffers { release(buffer) } }
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

    /// A buffer of at least `requested` bytes and its real size (pass that size back to ``recycle(_:bytes:)``).
    func obtain(bytes requested: Int) throws -> (Buffer, Int) {
        let bytes = Self.sizeClass(requested)
        let reused: Buffer? = lock.withLock {
            guard var list = free[bytes], let buffer = list.popLast() else { return nil }
            free[bytes] = list
            pooledBytes -= bytes
            counters.reused += 1
            noteLive(bytes)
            return buffer
        }
        if let reused { return (reused, bytes) }
        let buffer: Buffer
        do {
            buffer = try make(bytes)
        } catch {
            // The pool may hold memory that is needed now: give it back and try once more.
            trim()
            buffer = try make(bytes)
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

    func recycle(_ buffer: Buffer, bytes: Int) {
        let keep = lock.withLock { () -> Bool in
            counters.liveBytes -= bytes
            guard pooledBytes + bytes <= capacityBytes else { return false }
            free[bytes, default: []].append(buffer)
            pooledBytes += bytes
            return true
        }
        if !keep { release(buffer) }
    }

    /// Releases every pooled (unused) buffer.
    func trim() {
        let released = lock.withLock { () -> [Buffer] in
            let all = free.values.flatMap { $0 }
            free.removeAll()
            pooledBytes = 0
            return all
        }
        for buffer in released { release(buffer) }
    }
}
