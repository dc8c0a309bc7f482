import Foundation

/// Row-level loops the CPU backend is built from. Sums accumulate in SIMD lanes of float32, which keeps
/// the rounding error of a 1536-wide row near 1e-7 relative.
enum CPUKernels {
    typealias Vector = CPUMath.Vector

    static func sum(_ x: UnsafeMutablePointer<Float>, _ count: Int) -> Float {
        var acc = Vector(), tail: Float = 0
        CPUMath.forEachLane(count, vector: { acc += x.loadVector(at: $0) }, scalar: { tail += x[$0] })
        return acc.sum() + tail
    }

    static func sumOfSquares(_ x: UnsafeMutablePointer<Float>, _ count: Int) -> Float {
        var acc = Vector(), tail: Float = 0
        CPUMath.forEachLane(count, vector: { i in
            let v = x.loadVector(at: i)
            acc += v * v
        }, scalar: { tail += x[$0] * x[$0] })
        return acc.sum() + tail
    }

    static func sumOfSquaredDeviations(_ x: UnsafeMutablePointer<Float>, _ count: Int, mean: Float) -> Float {
        var acc = Vector(), tail: Float = 0
        CPUMath.forEachLane(count, vector: { i in
            let d = x.loadVector(at: i) - mean
            acc += d * d
        }, scalar: { i in
            let d = x[i] - mean
            tail += d * d
        })
        return acc.sum() + tail
    }

    /// Max, index of the first max, and mean of `values[range]`. A NaN counts as larger than any number,
    /// so a NaN norm is reported (as max and argmax) instead of hidden.
    static func statistics(_ values: UnsafeMutablePointer<Float>, _ range: Range<Int>)
        -> (max: Float, argmax: Int, mean: Float) {
        var best = -Float.infinity, bestIndex = range.lowerBound, total: Double = 0
        for t in range {
            let v = values[t]
            if v > best || (v.isNaN && !best.isNaN) {
                best = v
                bestIndex = t
            }
            total += Double(v)
        }
        return (best, bestIndex, Float(total / Double(range.count)))
    }

    /// One softmax row through the active instruction-set level's kernel.
    static func softmaxRow(_ x: UnsafeMutablePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ count: Int) {
        CPUInstructionSet.kernels.softmax_rows(x, y, 1, count)
    }

    /// A flat element-wise loop over `count` elements in parallel chunks (multiples of 64 elements, so each
    /// chunk but the last is whole vectors at every level).
    static func elementwise(_ count: Int, _ body: (Range<Int>) -> Void) {
        let blocks = (count + 63) / 64
        parallelFor(blocks, grain: 128) { range in
            body(range.lowerBound * 64..<min(count, range.upperBound * 64))
        }
    }
}
