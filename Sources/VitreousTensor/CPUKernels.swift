import Foundation

/// Swift-side helpers of the CPU backend; the SIMD loops themselves are the C kernels of CVitreousCPU.
enum CPUKernels {
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

    /// A flat element-wise loop over `count` elements in parallel chunks (multiples of 64 elements, so each
    /// chunk but the last is whole vectors at every level).
    static func elementwise(_ count: Int, _ body: (Range<Int>) -> Void) {
        let blocks = (count + 63) / 64
        parallelFor(blocks, grain: 128) { range in
            body(range.lowerBound * 64..<min(count, range.upperBound * 64))
        }
    }
}
