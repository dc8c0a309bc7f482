import Foundation
import VitreousModel
import VitreousTensor

/// The leading singular pair of a square matrix `G` by power iteration on `M = G·Gᵀ`, and the second
/// singular value by deflation (RegisterRepair.md, "Defect direction from the weights").
///
/// A plain step `u ← M·u/‖M·u‖` is one matrix-vector product; near-ties (gaps of 1.001 are usual where
/// nothing is planted) need thousands of them, which for a random ViT-L took 40 s. So after
/// ``warmupSteps`` plain steps, when the observed convergence rate predicts many more, the iteration
/// switches to `M^16` (four normalised squarings by `cblas_dgemm`), each step of which counts as 16 plain
/// steps against the cap. The fixed point is the same; only fewer vectors are visited.
struct PowerIteration {
    /// A converged (or capped) iteration.
    struct Result {
        var vector: [Double]
        var sigma: Double
        /// Plain-step equivalents spent.
        var iterations: Int
        var converged: Bool
    }

    let tolerance: Double
    let maxIterations: Int
    /// Plain steps before switching to the powered matrix: enough for a clear gap to converge cheaply.
    var warmupSteps = 64
    /// Squarings of the powered matrix (`M^(2^s)`).
    var squarings = 4

    /// Iterates until `1 − |u·u_prev| < tolerance` or the cap. `orthogonalTo` deflates: the iteration runs on
    /// `(I − vvᵀ)·M·(I − vvᵀ)`, which equals `M − σ1²vvᵀ` for the exact leading vector `v` and stays
    /// symmetric positive semi-definite when `v` is off by rounding. σ is `‖Gᵀu‖`.
    func run(g: DoubleMatrix, gram: DoubleMatrix, start: [Double], orthogonalTo previous: [Double]? = nil) throws -> Result {
        var u = start
        if let previous { Self.project(&u, off: previous) }
        guard Self.normalise(&u) else { return Result(vector: u, sigma: 0, iterations: 0, converged: true) }
        var iterations = 0, converged = false
        var matrix = gram, stride = 1
        var (change, previousChange) = (1.0, 1.0)
        while true {
            if stride == 1, iterations == warmupSteps, worthPowering(change: change, previousChange: previousChange,
                                                                    size: gram.rows, done: iterations) {
                matrix = try powered(gram, deflatedBy: previous)
                stride = 1 << squarings
            }
            guard iterations + stride <= maxIterations else { break }
            iterations += stride
            var next = matrix.times(u)
            if let previous { Self.project(&next, off: previous) }
            guard Self.normalise(&next) else {
                // M annihilates u: the remaining singular values are zero.
                return Result(vector: u, sigma: 0, iterations: iterations, converged: true)
            }
            previousChange = change
            change = 1 - abs(zip(next, u).reduce(0) { $0 + $1.0 * $1.1 })
            u = next
            // In the slow regime each of the `stride` plain steps turns u by about the same angle, so one
            // powered step turns it `stride` times as far and `1 − cos` grows by `stride²`.
            if change < tolerance * Double(stride * stride) {
                converged = true
                break
            }
        }
        let image = g.times(u, transposed: true)
        let sigma = image.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return Result(vector: u, sigma: sigma, iterations: iterations, converged: converged)
    }

    /// Whether switching to the powered matrix saves time: the observed per-step contraction of `1 − cos`
    /// predicts the plain steps still needed, each a memory-bound matrix-vector product, against
    /// `squarings` compute-bound `D³` products (counted as `D/8` matrix-vector products each).
    private func worthPowering(change: Double, previousChange: Double, size: Int, done: Int) -> Bool {
        guard squarings > 0, done + (1 << squarings) <= maxIterations, change > 0, previousChange > 0 else { return false }
        let ratio = change / previousChange
        let needed = ratio < 1 ? log(tolerance / change) / log(ratio) : .infinity
        return needed > Double(squarings * size) / 8
    }

    /// `(P·M·P)^(2^squarings)` scaled to unit Frobenius norm after each squaring (so nothing overflows),
    /// with `P = I − vvᵀ` when deflating.
    private func powered(_ gram: DoubleMatrix, deflatedBy v: [Double]?) throws -> DoubleMatrix {
        var m = gram
        if let v {
            // P·M·P = M − v(Mv)ᵀ − (Mv)vᵀ + (vᵀMv)vvᵀ, as rank-one updates.
            let mv = gram.times(v)
            let vmv = zip(v, mv).reduce(0) { $0 + $1.0 * $1.1 }
            let n = m.rows
            for i in 0..<n {
                for j in 0..<n {
                    m.values[i * n + j] += -v[i] * mv[j] - mv[i] * v[j] + vmv * v[i] * v[j]
                }
            }
        }
        for _ in 0..<squarings {
            m = try DoubleMatrix.product(m, m)
            let norm = m.frobeniusNorm
            guard norm > 0, norm.isFinite else { break }
            for i in m.values.indices { m.values[i] /= norm }
        }
        return m
    }

    /// A fixed pseudo-random start, so results are reproducible and almost surely not orthogonal to the answer.
    static func start(_ size: Int) -> [Double] {
        var generator = SplitMix64(seed: 0x5_1d_e5)
        return (0..<size).map { _ in Double(generator.next() >> 11) * 0x1p-53 - 0.5 }
    }

    private static func project(_ v: inout [Double], off direction: [Double]) {
        let dot = zip(v, direction).reduce(0) { $0 + $1.0 * $1.1 }
        for i in v.indices { v[i] -= dot * direction[i] }
    }

    /// Scales to unit length; false for a zero vector.
    private static func normalise(_ v: inout [Double]) -> Bool {
        let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        guard norm > 0, norm.isFinite else { return false }
        for i in v.indices { v[i] /= norm }
        return true
    }
}
