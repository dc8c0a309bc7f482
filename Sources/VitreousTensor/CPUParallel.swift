import Foundation

/// Host memory for one tensor, 64-byte aligned so SIMD loads never straddle cache lines.
final class HostStorage: TensorStorage, @unchecked Sendable {  // written only by the op creating it (TensorStorage)
    let count: Int
    let pointer: UnsafeMutablePointer<Float>
    var device: Device { .cpu }

    init(count: Int) {
        self.count = count
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * 4, alignment: 64)
        pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
    }

    deinit { UnsafeMutableRawPointer(pointer).deallocate() }
}

/// A pointer that may cross into `concurrentPerform` workers, each of which touches a disjoint range.
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

/// Runs `body` over `0..<count` split into contiguous chunks of at least `grain` items, one chunk per
/// core at most, on the calling thread when there is only one chunk.
func parallelFor(_ count: Int, grain: Int, _ body: (Range<Int>) -> Void) {
    guard count > 0 else { return }
    let chunks = min(hostThreadCount, max(1, count / max(grain, 1)))
    if chunks == 1 {
        body(0..<count)
        return
    }
    withoutActuallyEscaping(body) { body in
        let work = UncheckedWork(body)
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            work.run(count * chunk / chunks..<count * (chunk + 1) / chunks)
        }
    }
}

/// Carries a loop body into `concurrentPerform`. Sound because every caller's body writes only the
/// elements of the range it is given, and `concurrentPerform` returns before the body's lifetime ends.
private struct UncheckedWork: @unchecked Sendable {  // disjoint writes per range; see above
    let run: (Range<Int>) -> Void
    init(_ run: @escaping (Range<Int>) -> Void) { self.run = run }
}
