import CBLAS
import Foundation

/// Tile sizes of the CPU attention.
struct CPUAttentionTiles: Equatable {
    /// Query rows per task.
    let queries: Int
    /// Keys per step of the online softmax.
    let keys: Int

    /// Each tile product (`queries × keys × headDim` multiply-adds) stays at or below 2¹⁸, which OpenBLAS
    /// runs on the calling thread (its interface/gemm.c starts its own thread pool above 65536 ×
    /// GEMM_MULTITHREAD_THRESHOLD = 4). Attention already keeps every core busy with its own tasks; OpenBLAS
    /// threads started from inside them contend with them (measured: two concurrent 64×128×64 products no
    /// faster than one). Within that budget, 32 query rows and as many keys as fit: on a 2-core AVX-512
    /// machine 16…64 query rows measured alike, within noise.
    init(tokens: Int, headDim: Int) {
        let budget = 1 << 18
        queries = max(1, min(32, tokens))
        let keys = budget / (queries * max(headDim, 1)) / 8 * 8
        self.keys = max(8, min(keys, (tokens + 7) / 8 * 8))
    }
}

extension CPUBackend {
    /// Flash-style attention on the host: per (batch item, head, tile of query rows) task, one pass over
    /// key tiles with the online-softmax recurrence; the tile products `Q·Kᵀ` and `P·V` are single-threaded
    /// OpenBLAS GEMMs reading Q and V in place through their row strides, the softmax steps are SIMD Swift,
    /// tasks are split over the cores. The output rows themselves are the accumulator; the scratch is one
    /// `queries × keys` score tile per core and a transposed copy of K (`tokens × headDim` per head).
    package func attention(q: Tensor, k: Tensor, v: Tensor, keyMask: Tensor?, geometry: AttentionGeometry,
                          out: Tensor, rows: [Int], probabilities: Tensor?) throws {
        let (pq, pk, pv) = (SendablePointer(try host(q)), SendablePointer(try host(k)), SendablePointer(try host(v)))
        let po = SendablePointer(try host(out))
        let pprob = try probabilities.map { SendablePointer(try host($0)) }
        // The mask as an additive bias in the score domain: 0 keeps a key, −∞ drops it (2^−∞ = 0 exactly).
        var bias: SendablePointer<Float>?
        if let keyMask {
            let values = try host(keyMask)
            let converted = UnsafeMutablePointer<Float>.allocate(capacity: keyMask.count)
            for i in 0..<keyMask.count { converted[i] = values[i] == 0 ? -.infinity : 0 }
            bias = SendablePointer(converted)
        }
        defer { bias?.base.deallocate() }
        flashAttention(pq, pk, pv, po, bias: bias, geometry)
        if let pprob { probabilityRows(pq, pk, pprob, bias: bias, geometry, rows: rows) }
    }

    private func flashAttention(_ pq: SendablePointer<Float>, _ pk: SendablePointer<Float>,
                                _ pv: SendablePointer<Float>, _ po: SendablePointer<Float>,
                                bias: SendablePointer<Float>?, _ g: AttentionGeometry) {
        let (tokens, headDim, rowStride, width) = (g.tokens, g.headDim, g.rowStride, g.width)
        let tiles = CPUAttentionTiles(tokens: tokens, headDim: headDim)
        let queryTiles = (tokens + tiles.queries - 1) / tiles.queries
        // Scores in base 2: exp(x) = 2^(x·log2 e), so the scale absorbs log2 e and the softmax uses exp2.
        let scoreScale = g.scale * 1.442_695_040_888_963_4
        // Kᵀ per (batch item, head), [headDim, tokens]: Q·Kᵀ then is a plain NN product, which OpenBLAS runs
        // through its small-matrix kernels instead of packing K again for every query tile (measured 15–20 %
        // faster overall at T = 1370 than the transposed-B product straight from the projection).
        let transposed = SendablePointer(
            UnsafeMutablePointer<Float>.allocate(capacity: g.batch * g.heads * headDim * tokens))
        defer { transposed.base.deallocate() }
        parallelFor(g.batch * g.heads, grain: 1) { heads in
            for head in heads {
                let (b, h) = (head / g.heads, head % g.heads)
                let source = pk.base + b * tokens * rowStride + g.kOffset + h * headDim
                let target = transposed.base + head * headDim * tokens
                for t in 0..<tokens {
                    let row = source + t * rowStride
                    for d in 0..<headDim { target[d * tokens + t] = row[d] }
                }
            }
        }
        // Tasks ordered (batch, head, query tile): each core's contiguous share reuses one head's K and V.
        parallelFor(g.batch * g.heads * queryTiles, grain: 1) { tasks in
            let scores = UnsafeMutablePointer<Float>.allocate(capacity: tiles.queries * tiles.keys)
            let maxima = UnsafeMutablePointer<Float>.allocate(capacity: tiles.queries)
            let sums = UnsafeMutablePointer<Float>.allocate(capacity: tiles.queries)
            defer {
                scores.deallocate()
                maxima.deallocate()
                sums.deallocate()
            }
            for task in tasks {
                let (head, tile) = (task / queryTiles, task % queryTiles)
                let (b, h) = (head / g.heads, head % g.heads)
                let first = tile * tiles.queries
                let count = min(tiles.queries, tokens - first)
                let queries = pq.base + (b * tokens + first) * rowStride + g.qOffset + h * headDim
                let keys = transposed.base + head * headDim * tokens
                let values = pv.base + b * tokens * rowStride + g.vOffset + h * headDim
                let output = po.base + (b * tokens + first) * width + h * headDim
                maxima.update(repeating: -.infinity, count: count)
                sums.update(repeating: 0, count: count)
                for start in stride(from: 0, to: tokens, by: tiles.keys) {
                    let span = min(tiles.keys, tokens - start)
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(count), Int32(span), Int32(headDim),
                                scoreScale, queries, Int32(rowStride), keys + start, Int32(tokens),
                                0, scores, Int32(tiles.keys))
                    for row in 0..<count {
                        let line = scores + row * tiles.keys
                        let tileMax = CPUAttentionMath.addBiasAndMax(line, span,
                                                                     bias: bias.map { $0.base + b * tokens + start })
                        let newMax = max(maxima[row], tileMax)
                        // All keys so far masked: subtract 0, not −∞, so that 2^(−∞ − (−∞)) makes no NaN.
                        let shift = newMax == -.infinity ? 0 : newMax
                        let correction = Foundation.exp2(maxima[row] - shift)
                        sums[row] = sums[row] * correction + CPUAttentionMath.exp2AndSum(line, span, minus: shift)
                        maxima[row] = newMax
                        if start > 0 && correction != 1 {
                            CPUAttentionMath.scale(output + row * width, headDim, by: correction)
                        }
                    }
                    // The first tile overwrites the (possibly poisoned) output rows: beta 0.
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(count), Int32(headDim), Int32(span),
                                1, scores, Int32(tiles.keys), values + start * rowStride, Int32(rowStride),
                                start == 0 ? 0 : 1, output, Int32(width))
                }
                for row in 0..<count {
                    let line = output + row * width
                    if sums[row] == 0 {
                        line.update(repeating: 0, count: headDim)  // every key masked
                    } else {
                        CPUAttentionMath.scale(line, headDim, by: 1 / sums[row])
                    }
                }
            }
        }
    }

    /// Softmax rows of the chosen queries: scores against every key, then a softmax in place in the output
    /// row (`rows.count × tokens` per head, never tokens × tokens).
    private func probabilityRows(_ pq: SendablePointer<Float>, _ pk: SendablePointer<Float>,
                                 _ pprob: SendablePointer<Float>, bias: SendablePointer<Float>?,
                                 _ g: AttentionGeometry, rows: [Int]) {
        let (tokens, headDim, rowStride) = (g.tokens, g.headDim, g.rowStride)
        let scoreScale = g.scale * 1.442_695_040_888_963_4
        rows.withUnsafeBufferPointer { rowList in
            guard let rowBase = rowList.baseAddress else { return }
            let list = SendablePointer(rowBase)
            let count = rows.count
            parallelFor(g.batch * g.heads * count, grain: max(1, 65_536 / max(tokens * headDim, 1))) { tasks in
                for task in tasks {
                    let (head, n) = (task / count, task % count)
                    let (b, h) = (head / g.heads, head % g.heads)
                    let query = pq.base + (b * tokens + list[n]) * rowStride + g.qOffset + h * headDim
                    let keys = pk.base + b * tokens * rowStride + g.kOffset + h * headDim
                    let line = pprob.base + task * tokens
                    for j in 0..<tokens {
                        line[j] = CPUAttentionMath.dot(query, keys + j * rowStride, headDim) * scoreScale
                    }
                    let shift = CPUAttentionMath.addBiasAndMax(line, tokens, bias: bias.map { $0.base + b * tokens })
                    let total = CPUAttentionMath.exp2AndSum(line, tokens, minus: shift == -.infinity ? 0 : shift)
                    CPUAttentionMath.scale(line, tokens, by: total == 0 ? 0 : 1 / total)
                }
            }
        }
    }
}

/// The SIMD row loops of the CPU attention.
enum CPUAttentionMath {
    typealias Vector = CPUMath.Vector

    /// 2ˣ for the softmax's x ≤ 0 (Cephes `exp2f` polynomial, ≈ 2 ulp) in plain SIMD arithmetic, so it needs
    /// no CPU feature beyond SSE2. Below −126 (−∞ included: a masked score) it gives exactly 0; NaN stays
    /// NaN. Inputs above 0 are not supported (they never occur: the running max is subtracted first),
    /// which saves clamping the input.
    @inline(__always)
    static func exp2(_ x: Vector) -> Vector {
        // Adding 1.5·2²³ rounds to an integer n, held in the low mantissa bits: 2ˣ = 2ⁿ·2ᶠ, f ∈ [−½, ½].
        let magic = Vector(repeating: 12_582_912)
        let shifted = x + magic
        let n = shifted - magic
        let f = x - n
        var p = Vector(repeating: 1.535336188319500e-4)
        p = p * f + 1.339887440266574e-3
        p = p * f + 9.618437357674640e-3
        p = p * f + 5.550332471162809e-2
        p = p * f + 2.402264791363012e-1
        p = p * f + 6.931472028550421e-1
        p = p * f + 1
        // 2ⁿ from its exponent bits, n + 127 ≥ 1 for x ≥ −126; below that the bits are garbage, and the
        // result is replaced by 0 (a NaN x compares false and stays NaN).
        let bits = unsafeBitCast(shifted, to: SIMD8<UInt32>.self) &- (0x4B40_0000 - 127)
        let power = unsafeBitCast(bits &<< 23, to: Vector.self)
        return (p * power).replacing(with: 0, where: x .< -126)
    }

    /// Adds `bias` (0 or −∞ per key) to `line` when given, and returns the maximum of the result.
    @inline(__always)
    static func addBiasAndMax(_ line: UnsafeMutablePointer<Float>, _ count: Int,
                              bias: UnsafeMutablePointer<Float>?) -> Float {
        var best = Vector(repeating: -.infinity), tail = -Float.infinity
        if let bias {
            CPUMath.forEachLane(count, vector: { i in
                let value = line.loadVector(at: i) + bias.loadVector(at: i)
                line.storeVector(value, at: i)
                best = best.replacing(with: value, where: value .> best)
            }, scalar: { i in
                line[i] += bias[i]
                tail = max(tail, line[i])
            })
        } else {
            CPUMath.forEachLane(count, vector: { i in
                let value = line.loadVector(at: i)
                best = best.replacing(with: value, where: value .> best)
            }, scalar: { tail = max(tail, line[$0]) })
        }
        return max(best.max(), tail)
    }

    /// `line[i] = 2^(line[i] − shift)` in place; returns the sum of the new values.
    @inline(__always)
    static func exp2AndSum(_ line: UnsafeMutablePointer<Float>, _ count: Int, minus shift: Float) -> Float {
        var total = Vector()
        let lanes = Vector.scalarCount
        var i = 0
        while i + lanes <= count {
            let value = exp2(line.loadVector(at: i) - shift)
            line.storeVector(value, at: i)
            total += value
            i += lanes
        }
        if i < count {
            // The tail through one padded vector: lanes past the end become 2^−∞ = 0.
            var padded = Vector(repeating: -.infinity)
            for lane in 0..<(count - i) { padded[lane] = line[i + lane] - shift }
            let value = exp2(padded)
            for lane in 0..<(count - i) { line[i + lane] = value[lane] }
            total += value
        }
        return total.sum()
    }

    @inline(__always)
    static func scale(_ line: UnsafeMutablePointer<Float>, _ count: Int, by factor: Float) {
        CPUMath.forEachLane(count, vector: { line.storeVector(line.loadVector(at: $0) * factor, at: $0) },
                            scalar: { line[$0] *= factor })
    }

    @inline(__always)
    static func dot(_ a: UnsafeMutablePointer<Float>, _ b: UnsafeMutablePointer<Float>, _ count: Int) -> Float {
        var total = Vector(), tail: Float = 0
        CPUMath.forEachLane(count, vector: { total += a.loadVector(at: $0) * b.loadVector(at: $0) },
                            scalar: { tail += a[$0] * b[$0] })
        return total.sum() + tail
    }
}
