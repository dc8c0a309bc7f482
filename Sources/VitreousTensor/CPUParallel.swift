import CVitreousCPU
import Foundation

/// An aligned host allocation, movable between threads (the pool hands each to one owner at a time).
struct HostBuffer: @unchecked Sendable {  // owned by exactly one HostStorage or the pool at a time
    let raw: UnsafeMutableRawPointer
}

/// The machine's memory, read once: it bounds the host pool and every host allocation.
let hostMemoryBytes = ProcessInfo.processInfo.physicalMemory

/// Host buffers recycled by size class: fresh large allocations come from mmap and pay a page fault per
/// 4 KiB on first touch, which made every op of a forward pass run at a third of memory speed.
let hostBufferPool = BufferPool<HostBuffer>(
    capacityBytes: Int(min(hostMemoryBytes / 4, UInt64(Int.max))),
    make: { bytes in
        // 64-byte alignment: SIMD loads never straddle cache lines.
        guard let raw = aligned_alloc(64, bytes) else {
            throw VitreousError.allocationFailed("\(bytes) bytes of host memory")
        }
        return HostBuffer(raw: raw)
    },
    release: { free($0.raw) })

/// Host memory for one tensor; returned to ``hostBufferPool`` when the last tensor using it goes.
final class HostStorage: TensorStorage, @unchecked Sendable {  // written only by the op creating it (TensorStorage)
    let count: Int
    let pointer: UnsafeMutablePointer<Float>
    private let buffer: HostBuffer
    private let bytes: Int
    var device: Device { .cpu }
    /// This tensor packed as a linear layer's weight for the CPU GEMM, made on first use (CPULinear.swift);
    /// guarded by `PackedWeight.lock`. Lives and dies with the tensor's storage, which never changes.
    var packedWeight: PackedWeight?

    init(count: Int) throws {
        self.count = count
        (buffer, bytes) = try hostBufferPool.obtain(bytes: max(count, 1) * 4)
        pointer = buffer.raw.bindMemory(to: Float.self, capacity: bytes / 4)
    }

    deinit { hostBufferPool.recycle(buffer, bytes: bytes) }
}

/// A pointer that may cross into `parallelFor` workers, each of which touches a disjoint range.
struct SendablePointer<T>: @unchecked Sendable {  // disjoint ranges per worker; see parallelFor callers
    let base: UnsafeMutablePointer<T>
    init(_ base: UnsafeMutablePointer<T>) { self.base = base }
    init(_ base: UnsafePointer<T>) { self.base = UnsafeMutablePointer(mutating: base) }
    subscript(index: Int) -> T {
        get { base[index] }
        nonmutating set { base[index] = newValue }
    }
}

/// Number of host threads the CPU backend splits work over.
let hostThreadCount = max(1, ProcessInfo.processInfo.activeProcessorCount)

/// How long the worker pool's threads spin for the next parallel section before they sleep:
/// `VITREOUS_CPU_SPIN_US` microseconds, 2000 when it is unset or empty; 0 makes them sleep at once (for
/// a machine shared with other busy processes).
enum CPUWorkerSpin {
    /// The environment variable that sets the spin.
    static let environmentVariable = "VITREOUS_CPU_SPIN_US"
    static let defaultMicroseconds = Int(VK_POOL_DEFAULT_SPIN_US)
    /// One second: a longer spin only burns a core.
    static let maximumMicroseconds = 1_000_000

    /// Parses a `VITREOUS_CPU_SPIN_US` value (nil or empty: the default).
    static func parse(_ value: String?) -> Result<Int, VitreousError> {
        guard let value, !value.isEmpty else { return .success(defaultMicroseconds) }
        guard let microseconds = Int(value), (0...maximumMicroseconds).contains(microseconds) else {
            return .failure(.invalidArgument(
                "\(environmentVariable)=\(value) is not a whole number of microseconds from 0 to \(maximumMicroseconds)"))
        }
        return .success(microseconds)
    }

    /// Gives the pool the environment's spin, once per process.
    /// - Throws: for a value of `VITREOUS_CPU_SPIN_US` that ``parse(_:)`` refuses.
    static func apply() throws { try applied.get() }

    private static let applied: Result<Void, VitreousError> =
        parse(ProcessInfo.processInfo.environment[environmentVariable]).map { vk_pool_set_spin(Int64($0)) }
}

/// Runs `body` over `0..<count` split into contiguous chunks of at least `grain` items, one chunk per
/// core at most, on the calling thread when there is only one chunk.
///
/// The chunks run on CVitreousCPU's worker pool (`vk_pool_run`), whose workers spin briefly between the
/// sections of a pass instead of parking (Architecture.md, "Threads"). While another thread's section holds
/// the pool, or when `body` itself calls `parallelFor`, the chunks go to `DispatchQueue.concurrentPerform`.
func parallelFor(_ count: Int, grain: Int, _ body: (Range<Int>) -> Void) {
    guard count > 0 else { return }
    let chunks = min(hostThreadCount, max(1, count / max(grain, 1)))
    if chunks == 1 {
        body(0..<count)
        return
    }
    withoutActuallyEscaping(body) { body in
        var work = UncheckedWork(body, count: count, chunks: chunks)
        let ran = withUnsafeMutablePointer(to: &work) { pointer in
            vk_pool_run(Int32(clamping: hostThreadCount), chunks, { context, chunk in
                guard let work = context?.assumingMemoryBound(to: UncheckedWork.self).pointee else { return }
                work.run(chunk)
            }, pointer)
        }
        if ran != 0 {
            let work = work
            DispatchQueue.concurrentPerform(iterations: chunks) { work.run($0) }
        }
    }
}

/// Carries a loop body into the worker pool or `concurrentPerform`. Sound because every caller's body writes
/// only the elements of the range it is given, and both return before the body's lifetime ends.
private struct UncheckedWork: @unchecked Sendable {  // disjoint writes per range; see above
    let body: (Range<Int>) -> Void
    let count: Int
    let chunks: Int
    init(_ body: @escaping (Range<Int>) -> Void, count: Int, chunks: Int) {
        (self.body, self.count, self.chunks) = (body, count, chunks)
    }

    /// Chunk `chunk` of `chunks`: the same contiguous split on either path.
    func run(_ chunk: Int) { body(count * chunk / chunks..<count * (chunk + 1) / chunks) }
}
