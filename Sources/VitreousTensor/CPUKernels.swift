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

    static func softmaxRow(_ x: UnsafeMutablePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ count: Int) {
        var maximum = -Float.infinity  // an all -inf row gives NaN, as PyTorch does
        for i in 0..<count { maximum = Swift.max(maximum, x[i]) }
        var total = 0.0  // float64: a sequential float32 sum of 1370 terms drifts by ~1e-6
        for i in 0..<count {
            let e = Foundation.exp(x[i] - maximum)
            y[i] = e
            total += Double(e)
        }
        let inverse = Float(1 / total)
        CPUMath.forEachLane(count, vector: { y.storeVector(y.loadVector(at: $0) * inverse, at: $0) },
                            scalar: { y[$0] *= inverse })
    }

    /// A flat element-wise loop over `count` elements: SIMD lanes in parallel chunks, then the scalar tail.
    static func elementwise(_ count: Int, vector: (Int) -> Void,
                            scalar: (Int) -> Void) {
        let lanes = Vector.scalarCount
        let vectors = count / lanes
        parallelFor(vectors, grain: 8_192) { range in
            for v in range { vector(v * lanes) }
        }
        for i in (vectors * lanes)..<count { scalar(i) }
    }
}
