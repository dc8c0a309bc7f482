import Foundation

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

    /// The median (the mean of the two middle values for an even count); 0 for no values.
    static func median(_ values: [Double]) -> Double { quantile(values, 0.5) }

    /// The `q` quantile with linear interpolation between order statistics (NumPy's default), so p99 of a
    /// 256-patch grid lies between its 3rd and 2nd largest values rather than jumping between them.
    static func quantile(_ values: [Double], _ q: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        let position = q * Double(sorted.count - 1)
        let lower = Int(position.rounded(.down))
        let upper = min(lower + 1, sorted.count - 1)
        let fraction = position - Double(lower)
        return sorted[lower] + fraction * (sorted[upper] - sorted[lower])
    }

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
