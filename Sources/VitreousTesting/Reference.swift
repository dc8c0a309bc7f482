import Foundation
import VitreousTensor

/// Plain-loop float64 implementations of every operation: the ground truth that tests and
/// `vitreous-bench --verify` compare both backends with. Written for obviousness, not speed.
/// Arrays are row-major, sizes as in the matching public operation.
public enum Reference {
    /// ‖out − ref‖₂ / ‖ref‖₂ (the absolute norm ‖out − ref‖₂ when ref is all zero).
    /// Infinite when `out` has a NaN or infinity where `ref` is finite, or the counts differ.
    public static func relativeError(_ out: [Float], _ ref: [Double]) -> Double {
        guard out.count == ref.count else { return .infinity }
        var difference = 0.0, norm = 0.0
        for (o, r) in zip(out, ref) {
            if r.isNaN && o.isNaN { continue }
            guard o.isFinite || !r.isFinite else { return .infinity }
            difference += (Double(o) - r) * (Double(o) - r)
            norm += r * r
        }
        return norm > 0 ? (difference / norm).squareRoot() : difference.squareRoot()
    }

    /// `c[i] = a[i] · op(b)`; `b` is `[n, k]` when `transposeB`, else `[k, n]`; shared by all `batch` items
    /// when `shareB`, else one per item.
    public static func matmul(_ a: [Double], _ b: [Double], batch: Int = 1, m: Int, n: Int, k: Int,
                              transposeB: Bool = false, shareB: Bool = true) -> [Double] {
        var c = [Double](repeating: 0, count: batch * m * n)
        for item in 0..<batch {
            let aBase = item * m * k, bBase = shareB ? 0 : item * k * n, cBase = item * m * n
            for i in 0..<m {
                for j in 0..<n {
                    var total = 0.0
                    for p in 0..<k {
                        total += a[aBase + i * k + p] * b[bBase + (transposeB ? j * k + p : p * n + j)]
                    }
                    c[cBase + i * n + j] = total
                }
            }
        }
        return c
    }

    /// Exact GELU, `0.5·x·(1 + erf(x/√2))`.
    public static func gelu(_ x: Double) -> Double { 0.5 * x * (1 + erf(x / 2.0.squareRoot())) }

    /// `act(x · weightᵀ + bias)` with x `[rows, in]`, weight `[out, in]`.
    public static func linear(_ x: [Double], weight: [Double], bias: [Double]?, rows: Int,
                              inFeatures: Int, outFeatures: Int, activation: Activation = .identity) -> [Double] {
        var y = matmul(x, weight, m: rows, n: outFeatures, k: inFeatures, transposeB: true)
        for i in y.indices {
            var v = y[i] + (bias?[i % outFeatures] ?? 0)
            if activation == .gelu { v = gelu(v) }
            y[i] = v
        }
        return y
    }

    /// Layer norm of rows of `dim` (biased variance, as PyTorch).
    public static func layerNorm(_ x: [Double], weight: [Double], bias: [Double], dim: Int,
                                 eps: Double = 1e-6) -> [Double] {
        var y = [Double](repeating: 0, count: x.count)
        for row in 0..<(x.count / dim) {
            let line = x[(row * dim)..<((row + 1) * dim)]
            let mean = line.reduce(0, +) / Double(dim)
            let variance = line.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(dim)
            let rstd = 1 / (variance + eps).squareRoot()
            for i in 0..<dim { y[row * dim + i] = (x[row * dim + i] - mean) * rstd * weight[i] + bias[i] }
        }
        return y
    }

    /// Norms `[batch·tokens]` and per image `(max, argmax, mean)` over `range` (NaN counts as the max).
    public static func tokenNorms(_ x: [Double], batch: Int, tokens: Int, dim: Int,
                                  range: Range<Int>) -> (norms: [Double], statistics: [Double]) {
        var norms = [Double](repeating: 0, count: batch * tokens)
        for row in 0..<(batch * tokens) {
            var total = 0.0
            for i in 0..<dim { total += x[row * dim + i] * x[row * dim + i] }
            norms[row] = total.squareRoot()
        }
        var statistics: [Double] = []
        for image in 0..<batch {
            var best = -Double.infinity, bestIndex = range.lowerBound, total = 0.0
            for t in range {
                let v = norms[image * tokens + t]
                if v > best || (v.isNaN && !best.isNaN) { (best, bestIndex) = (v, t) }
                total += v
            }
            statistics += [best, Double(bestIndex), total / Double(range.count)]
        }
        return (norms, statistics)
    }

    /// `residual + gamma ⊙ x`, gamma over the last axis of `columns`.
    public static func layerScale(_ x: [Double], gamma: [Double], residual: [Double], columns: Int) -> [Double] {
        x.indices.map { residual[$0] + gamma[$0 % columns] * x[$0] }
    }

    /// Softmax over each row of `columns`.
    public static func softmax(_ x: [Double], columns: Int) -> [Double] {
        var y = [Double](repeating: 0, count: x.count)
        for row in 0..<(x.count / columns) {
            let line = x[(row * columns)..<((row + 1) * columns)]
            let maximum = line.max() ?? 0
            let total = line.reduce(0) { $0 + exp($1 - maximum) }
            for i in 0..<columns { y[row * columns + i] = exp(x[row * columns + i] - maximum) / total }
        }
        return y
    }

    /// Multi-head attention with the softmax written out, float64.
    ///
    /// `q`, `k`, `v` are `[batch, tokens, heads·headDim]` (split a fused `[B, T, 3, H, Dh]` projection first);
    /// `keyMask` is `[batch, tokens]`, a key whose value is 0 is excluded. A row with every key excluded
    /// gets zero output and zero probabilities. Only the query tokens `queryRows` (all when nil) are
    /// computed, so a long sequence can be checked on a sample of rows against every key.
    /// - Returns: `output` `[batch, queryRows.count, heads·headDim]` and `probabilities`
    ///   `[batch, heads, queryRows.count, tokens]`.
    public static func attention(q: [Double], k: [Double], v: [Double], batch: Int, tokens: Int, heads: Int,
                                 headDim: Int, scale: Double, keyMask: [Double]? = nil,
                                 queryRows: [Int]? = nil) -> (output: [Double], probabilities: [Double]) {
        let rows = queryRows ?? Array(0..<tokens)
        let width = heads * headDim
        var output = [Double](repeating: 0, count: batch * rows.count * width)
        var probabilities = [Double](repeating: 0, count: batch * heads * rows.count * tokens)
        var scores = [Double](repeating: 0, count: tokens)
        for b in 0..<batch {
            for h in 0..<heads {
                for (n, i) in rows.enumerated() {
                    let query = (b * tokens + i) * width + h * headDim
                    var maximum = -Double.infinity
                    for j in 0..<tokens {
                        if let keyMask, keyMask[b * tokens + j] == 0 {
                            scores[j] = -.infinity
                            continue
                        }
                        let key = (b * tokens + j) * width + h * headDim
                        var dot = 0.0
                        for d in 0..<headDim { dot += q[query + d] * k[key + d] }
                        scores[j] = dot * scale
                        maximum = max(maximum, scores[j])
                    }
                    guard maximum > -.infinity else { continue }  // every key masked: zeros
                    var total = 0.0
                    for j in 0..<tokens {
                        scores[j] = exp(scores[j] - maximum)
                        total += scores[j]
                    }
                    let base = ((b * heads + h) * rows.count + n) * tokens
                    let target = (b * rows.count + n) * width + h * headDim
                    for j in 0..<tokens {
                        let p = scores[j] / total
                        probabilities[base + j] = p
                        let value = (b * tokens + j) * width + h * headDim
                        for d in 0..<headDim { output[target + d] += p * v[value + d] }
                    }
                }
            }
        }
        return (output, probabilities)
    }
}
