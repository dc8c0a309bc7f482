import Foundation
import VitreousTensor

/// The small statistics every detector and metric shares, accumulated in Double so that a 1 369-patch grid
/// of float norms gives the same answer whatever the summation order would have been in Float.
enum Stats {
    static func mean(_ values: [Double]) -> Double {
        values.isEmpty ? 0 : values.reduce(0, +) / Double(values.count)
    }

    /// Standard deviation: population (`/n`) or, with `bessel`, sample (`/(n−1)`, PyTorch's default).
    static func std(_ values: [Double], bessel: Bool = false) -> Double {
        let n = values.count
        guard n > (bessel ? 1 : 0) else { return 0 }
        let m = mean(values)
        let sum = values.reduce(0) { $0 + ($1 - m) * ($1 - m) }
        return (sum / Double(bessel ? n - 1 : n)).squareRoot()
    }

    /// The package's one median (VitreousTensor's `median`).
    static func median(_ values: [Double]) -> Double { VitreousTensor.median(values) }

    /// The package's one quantile (VitreousTensor's `quantile`).
    static func quantile(_ values: [Double], _ q: Double) -> Double { VitreousTensor.quantile(values, q) }

    /// Dot product of two `dimension`-vectors stored at `a[aStart...]` and `b[bStart...]`.
    @inline(__always)
    static func dot(_ a: [Float], _ aStart: Int, _ b: [Float], _ bStart: Int, _ dimension: Int) -> Double {
        var sum = 0.0
        for i in 0..<dimension { sum += Double(a[aStart + i]) * Double(b[bStart + i]) }
        return sum
    }

    /// Euclidean norm of the `dimension`-vector at `a[start...]`.
    @inline(__always)
    static func norm(_ a: [Float], _ start: Int, _ dimension: Int) -> Double {
        dot(a, start, a, start, dimension).squareRoot()
    }

    /// Cosine of two vectors; 0 when either is zero (a zero token has no direction to compare).
    @inline(__always)
    static func cosine(_ a: [Float], _ aStart: Int, _ b: [Float], _ bStart: Int, _ dimension: Int) -> Double {
        let denominator = norm(a, aStart, dimension) * norm(b, bStart, dimension)
        return denominator > 0 ? dot(a, aStart, b, bStart, dimension) / denominator : 0
    }

    /// Throws unless every value is finite.
    static func checkFinite(_ values: [Float], _ what: String) throws {
        if let bad = values.firstIndex(where: { !$0.isFinite }) {
            throw RepairError.invalidArgument("\(what) holds a non-finite value (\(values[bad])) at index \(bad)")
        }
    }
}
