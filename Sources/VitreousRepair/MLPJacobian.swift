import CBLAS
import Foundation
import VitreousModel
import VitreousTensor

/// How the MLP's hidden activation `h(y)` is linearised for inputs `y ~ N(0, I_D)` (RegisterRepair.md, "Defect direction from the weights").
public enum JacobianMethod: Codable, Sendable, Equatable, CustomStringConvertible {
    /// The expected Jacobian `E[∂h/∂y]`, in closed form for GELU and by 64-node Gauss–Hermite quadrature for
    /// SwiGLU. It equals the population least-squares fit (Stein's lemma, since `E[yyᵀ] = I`) and needs no
    /// sampling: the default.
    case analytic
    /// SINDER's construction: draw `samples` inputs from a generator seeded with `seed`, fit `J` by least
    /// squares without intercept (`min ‖X·Jᵀ − h(X)‖`). SINDER uses 100 000 samples. For cross-checks.
    case monteCarlo(samples: Int = 100_000, seed: UInt64 = 0)

    public var description: String {
        switch self {
        case .analytic: return "analytic"
        case .monteCarlo(let samples, let seed): return "monteCarlo(samples: \(samples), seed: \(seed))"
        }
    }
}

/// The linearised MLP hidden activation `J_l ∈ R^{H×D}` of one block.
public enum MLPJacobian {
    /// `J` for `block` (biases `fc1Bias` included), `H × D` with `H = config.mlpHiddenSize`.
    /// - Throws: ``RepairError`` when the block's arrays do not fit `config`, or the Monte-Carlo fit is
    ///   given fewer samples than inputs.
    public static func compute(block: ViTHostWeights.Block, config: ViTConfig,
                               method: JacobianMethod = .analytic) throws -> DoubleMatrix {
        let (d, rows) = (config.hiddenSize, config.mlpInputRows)
        guard block.fc1Weight.count == rows * d, block.fc1Bias.count == rows else {
            throw RepairError.shapeMismatch(
                "fc1 holds \(block.fc1Weight.count) weights and \(block.fc1Bias.count) biases; \(config) needs "
                    + "\(rows)×\(d) and \(rows)")
        }
        switch method {
        case .analytic:
            return config.mlp == .gelu ? analyticGELU(block, config) : analyticSwiGLU(block, config)
        case .monteCarlo(let samples, let seed):
            return try monteCarlo(block, config, samples: samples, seed: seed)
        }
    }

    /// GELU row `k`: `(Φ(z) + μ·φ(z)/(1+s²)^{3/2})·w` with `w = W1[k]`, `μ = b1[k]`, `s = ‖w‖`,
    /// `z = μ/√(1+s²)`: the expectation of `GELU′(a) = Φ(a) + a·φ(a)` for `a ~ N(μ, s²)`.
    private static func analyticGELU(_ block: ViTHostWeights.Block, _ config: ViTConfig) -> DoubleMatrix {
        let (d, h) = (config.hiddenSize, config.mlpHiddenSize)
        var j = DoubleMatrix(zeros: h, d)
        for k in 0..<h {
            let w = (0..<d).map { Double(block.fc1Weight[k * d + $0]) }
            let mu = Double(block.fc1Bias[k])
            let s2 = w.reduce(0) { $0 + $1 * $1 }
            let z = mu / (1 + s2).squareRoot()
            let coefficient = normalCDF(z) + mu * normalPDF(z) / pow(1 + s2, 1.5)
            for i in 0..<d { j.values[k * d + i] = coefficient * w[i] }
        }
        return j
    }

    /// SwiGLU row `k`, `h = silu(a)·b` with `a = w_a·y + β_a`, `b = w_b·y + β_b`:
    /// `E[silu′(a)·(β_b + ρ(a − β_a))]·w_a + E[silu(a)]·w_b`, `ρ = w_a·w_b/‖w_a‖²`, because given `a` the
    /// expected `w_b·y` is `ρ(a − β_a)`. Both expectations over `a ~ N(β_a, ‖w_a‖²)` by quadrature.
    private static func analyticSwiGLU(_ block: ViTHostWeights.Block, _ config: ViTConfig) -> DoubleMatrix {
        let (d, h) = (config.hiddenSize, config.mlpHiddenSize)
        let rule = GaussHermite.sixtyFour
        var j = DoubleMatrix(zeros: h, d)
        for k in 0..<h {
            let wa = (0..<d).map { Double(block.fc1Weight[k * d + $0]) }
            let wb = (0..<d).map { Double(block.fc1Weight[(h + k) * d + $0]) }
            let (betaA, betaB) = (Double(block.fc1Bias[k]), Double(block.fc1Bias[h + k]))
            let sa2 = wa.reduce(0) { $0 + $1 * $1 }
            let rho = sa2 > 0 ? zip(wa, wb).reduce(0) { $0 + $1.0 * $1.1 } / sa2 : 0
            let sa = sa2.squareRoot()
            let first = rule.expectation(mean: betaA, std: sa) { a in siluDerivative(a) * (betaB + rho * (a - betaA)) }
            let second = rule.expectation(mean: betaA, std: sa, silu)
            for i in 0..<d { j.values[k * d + i] = first * wa[i] + second * wb[i] }
        }
        return j
    }

    /// Least squares on `samples` Gaussian inputs, accumulated in chunks as the normal equations
    /// `(XᵀX)·Jᵀ = XᵀY` so that memory stays at a few MB whatever the sample count, then solved by Cholesky.
    private static func monteCarlo(_ block: ViTHostWeights.Block, _ config: ViTConfig,
                                   samples: Int, seed: UInt64) throws -> DoubleMatrix {
        let (d, h, rows) = (config.hiddenSize, config.mlpHiddenSize, config.mlpInputRows)
        guard samples > d else {
            throw RepairError.invalidArgument("the Monte-Carlo Jacobian needs more samples than inputs (\(d)), got \(samples)")
        }
        let w1 = try DoubleMatrix(rows: rows, columns: d, values: block.fc1Weight.map(Double.init))
        let bias = block.fc1Bias.map(Double.init)
        var generator = SplitMix64(seed: seed)
        var gram = DoubleMatrix(zeros: d, d), cross = DoubleMatrix(zeros: d, h)
        let chunk = 4096
        var done = 0
        while done < samples {
            let m = min(chunk, samples - done)
            let x = try DoubleMatrix(rows: m, columns: d, values: normals(m * d, &generator))
            var z = try DoubleMatrix.product(x, w1, transposeB: true)  // [m, rows]
            var y = DoubleMatrix(zeros: m, h)
            for r in 0..<m {
                for c in 0..<rows { z.values[r * rows + c] += bias[c] }
                for k in 0..<h {
                    if config.mlp == .gelu {
                        y.values[r * h + k] = gelu(z.values[r * rows + k])
                    } else {
                        y.values[r * h + k] = silu(z.values[r * rows + k]) * z.values[r * rows + h + k]
                    }
                }
            }
            accumulate(&gram, x, x)
            accumulate(&cross, x, y)
            done += m
        }
        let solution = try solveSymmetric(gram, cross)  // Jᵀ, [D, H]
        return solution.transposed()
    }

    /// `target += aᵀ·b`.
    private static func accumulate(_ target: inout DoubleMatrix, _ a: DoubleMatrix, _ b: DoubleMatrix) {
        let (m, n, k) = (a.columns, b.columns, a.rows)
        a.values.withUnsafeBufferPointer { pa in
            b.values.withUnsafeBufferPointer { pb in
                target.values.withUnsafeMutableBufferPointer { pc in
                    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k), 1,
                                pa.baseAddress, Int32(m), pb.baseAddress, Int32(n), 1, pc.baseAddress, Int32(n))
                }
            }
        }
    }

    /// Solves `a·X = b` for symmetric positive definite `a` by a hand-written Cholesky factorisation and two
    /// `cblas_dtrsm` triangular solves.
    private static func solveSymmetric(_ a: DoubleMatrix, _ b: DoubleMatrix) throws -> DoubleMatrix {
        let n = a.rows
        var l = a.values  // lower triangle becomes L, row-major
        for j in 0..<n {
            var diagonal = l[j * n + j]
            for k in 0..<j { diagonal -= l[j * n + k] * l[j * n + k] }
            guard diagonal > 0 else {
                throw RepairError.invalidArgument("the Monte-Carlo normal equations are singular; use more samples")
            }
            let pivot = diagonal.squareRoot()
            l[j * n + j] = pivot
            for i in (j + 1)..<max(n, j + 1) {
                var sum = l[i * n + j]
                for k in 0..<j { sum -= l[i * n + k] * l[j * n + k] }
                l[i * n + j] = sum / pivot
            }
        }
        var x = b
        l.withUnsafeBufferPointer { pl in
            x.values.withUnsafeMutableBufferPointer { px in
                // L·Z = B, then Lᵀ·X = Z.
                cblas_dtrsm(CblasRowMajor, CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit, Int32(n),
                            Int32(b.columns), 1, pl.baseAddress, Int32(n), px.baseAddress, Int32(b.columns))
                cblas_dtrsm(CblasRowMajor, CblasLeft, CblasLower, CblasTrans, CblasNonUnit, Int32(n),
                            Int32(b.columns), 1, pl.baseAddress, Int32(n), px.baseAddress, Int32(b.columns))
            }
        }
        return x
    }

    /// `count` standard normal Doubles by Box–Muller from the seeded generator.
    private static func normals(_ count: Int, _ generator: inout SplitMix64) -> [Double] {
        var values: [Double] = []
        values.reserveCapacity(count + 1)
        while values.count < count {
            let u1 = Double((generator.next() >> 11) + 1) * 0x1p-53, u2 = Double(generator.next() >> 11) * 0x1p-53
            let radius = (-2 * log(u1)).squareRoot()
            values.append(radius * cos(2 * Double.pi * u2))
            values.append(radius * sin(2 * Double.pi * u2))
        }
        return Array(values.prefix(count))
    }

    static func normalCDF(_ z: Double) -> Double { 0.5 * erfc(-z / 2.0.squareRoot()) }
    static func normalPDF(_ z: Double) -> Double { exp(-0.5 * z * z) / (2 * Double.pi).squareRoot() }
    /// Exact (erf) GELU, as DINOv2 uses.
    static func gelu(_ x: Double) -> Double { x * normalCDF(x) }
    static func sigmoid(_ x: Double) -> Double { 1 / (1 + exp(-x)) }
    static func silu(_ x: Double) -> Double { x * sigmoid(x) }
    static func siluDerivative(_ x: Double) -> Double {
        let s = sigmoid(x)
        return s * (1 + x * (1 - s))
    }
}
