import Foundation
import Testing
@testable import VitreousTensor
import VitreousTesting

/// Fused attention on every backend against the float64 reference (softmax written out).
///
/// Bounds, relative L2: 1e-5 on outputs and probabilities (float32 scores over ≤ 128 products and a
/// 2-ulp exp2 land near 1e-7–1e-6); 1e-6 between the fused-QKV and the separate-Q/K/V forms, which run the
/// same arithmetic through different strides.
@Suite("Attention")
struct AttentionTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let batch: Int, tokens: Int, heads: Int, headDim: Int
        var scale: Float? = nil
        var testDescription: String { "\(batch)×\(tokens) tokens, \(heads)×\(headDim)" }

        /// The query rows the reference computes. Query rows are independent, so a sample checks every key,
        /// head and tile boundary at a fraction of the debug-build float64 cost; above about 3·10⁷ multiply-adds
        /// per batch item the reference takes ~40 rows (first, last, and a stride that crosses every tile).
        var checkedRows: [Int] {
            guard tokens * tokens * heads * headDim > 30_000_000 else { return Array(0..<tokens) }
            return Array(Set(Array(stride(from: 0, to: tokens, by: 37)) + [1, tokens - 2, tokens - 1])).sorted()
        }
    }

    /// Covering subset instead of the full product (the float64 reference is slow in debug builds):
    /// tokens 1, 5, 257, 261, 1370 each appear; heads 6 and 12, head dims 64 and 32, batch 1 and 3 each meet
    /// several token counts; 48, 80, 128, an odd 7 and the OpenCL maximum 256 once each. T = 1370 (the
    /// slowest case in debug builds) runs once, 6 heads of 64, on sampled query rows (see
    /// ``Case/checkedRows``).
    static let cases: [Case] = [
        Case(batch: 1, tokens: 1, heads: 6, headDim: 64),
        Case(batch: 3, tokens: 5, heads: 12, headDim: 32),
        Case(batch: 3, tokens: 257, heads: 6, headDim: 64),
        Case(batch: 1, tokens: 261, heads: 12, headDim: 64),
        Case(batch: 3, tokens: 261, heads: 6, headDim: 32, scale: 0.3),
        Case(batch: 1, tokens: 257, heads: 12, headDim: 32),
        Case(batch: 1, tokens: 1370, heads: 6, headDim: 64),
        Case(batch: 1, tokens: 261, heads: 6, headDim: 48),
        Case(batch: 3, tokens: 257, heads: 6, headDim: 80),
        Case(batch: 1, tokens: 261, heads: 6, headDim: 128),
        Case(batch: 3, tokens: 37, heads: 3, headDim: 7),
        Case(batch: 1, tokens: 33, heads: 2, headDim: 256),
    ]

    /// Splits a fused `[B, T, 3, H, Dh]` projection into Q, K, V `[B, T, H·Dh]` as float64.
    static func split(_ qkv: [Float], batch: Int, tokens: Int, width: Int) -> (q: [Double], k: [Double], v: [Double]) {
        var parts: [[Double]] = [[], [], []]
        for row in 0..<(batch * tokens) {
            for part in 0..<3 {
                parts[part] += qkv[(row * 3 + part) * width..<(row * 3 + part + 1) * width].map(Double.init)
            }
        }
        return (parts[0], parts[1], parts[2])
    }

    /// The rows `rows` of each batch item of `[batch, tokens, width]` values.
    static func rows(_ values: [Float], _ rows: [Int], batch: Int, tokens: Int, width: Int) -> [Float] {
        var picked: [Float] = []
        for b in 0..<batch {
            for row in rows {
                let start = (b * tokens + row) * width
                picked += values[start..<(start + width)]
            }
        }
        return picked
    }

    @Test("fused QKV matches the float64 reference; separate Q/K/V agree", arguments: testDevices, cases)
    func matchesReference(device: Device, shape: Case) throws {
        var random = TestRandom()
        let (batch, tokens, heads, headDim) = (shape.batch, shape.tokens, shape.heads, shape.headDim)
        let width = heads * headDim
        let values = random.normal(batch * tokens * 3 * width)
        let qkv = try Tensor(values, shape: [batch, tokens, 3 * width], on: device)
        let probabilityRows = Array(Set([0, tokens / 2, tokens - 1])).sorted()
        let fused = try qkv.attention(heads: heads, scale: shape.scale, probabilities: .rows(probabilityRows))
        let context = "\(device) \(shape.testDescription) seed \(random.seed)"
        #expect(fused.output.shape == [batch, tokens, width])
        #expect(fused.probabilities?.shape == [batch, heads, probabilityRows.count, tokens])

        let (q, k, v) = Self.split(values, batch: batch, tokens: tokens, width: width)
        let scale = Double(shape.scale ?? 1 / Float(headDim).squareRoot())
        let checked = shape.checkedRows
        let reference = Reference.attention(q: q, k: k, v: v, batch: batch, tokens: tokens, heads: heads,
                                            headDim: headDim, scale: scale, queryRows: checked)
        let output = try fused.output.toArray()
        let error = Reference.relativeError(Self.rows(output, checked, batch: batch, tokens: tokens, width: width),
                                            reference.output)
        #expect(error <= 1e-5, "\(context): output relative error \(error)")
        #expect(!output.contains { $0.isNaN }, "\(context): an output element was never written")

        let probabilityReference = Reference.attention(q: q, k: k, v: v, batch: batch, tokens: tokens, heads: heads,
                                                       headDim: headDim, scale: scale, queryRows: probabilityRows)
        try expectClose(try #require(fused.probabilities), probabilityReference.probabilities, bound: 1e-5,
                        context + " probabilities")

        let separate = try attention(q: try Tensor(q.map(Float.init), shape: [batch, tokens, width], on: device),
                                     k: try Tensor(k.map(Float.init), shape: [batch, tokens, width], on: device),
                                     v: try Tensor(v.map(Float.init), shape: [batch, tokens, width], on: device),
                                     heads: heads, scale: shape.scale)
        #expect(separate.probabilities == nil)
        try expectClose(separate.output, output.doubles, bound: 1e-6, context + " separate q/k/v")
    }

    @Test("CLS rows: default row 0, shape [B, H, T], each row sums to 1", arguments: testDevices)
    func clsRows(device: Device) throws {
        var random = TestRandom()
        let (batch, tokens, heads, headDim) = (2, 261, 6, 64)
        let values = random.normal(batch * tokens * 3 * heads * headDim, std: 2)
        let result = try attention(qkv: try Tensor(values, shape: [batch, tokens, 3 * heads * headDim], on: device),
                                   heads: heads, probabilities: .cls)
        let probabilities = try #require(result.probabilities)
        #expect(probabilities.shape == [batch, heads, tokens])
        let rows = try probabilities.toArray()
        for row in 0..<(batch * heads) {
            let total = rows[(row * tokens)..<((row + 1) * tokens)].reduce(0.0) { $0 + Double($1) }
            #expect(abs(total - 1) < 1e-5, "\(device) row \(row) sums to \(total), seed \(random.seed)")
        }
        let (q, k, v) = Self.split(values, batch: batch, tokens: tokens, width: heads * headDim)
        let reference = Reference.attention(q: q, k: k, v: v, batch: batch, tokens: tokens, heads: heads,
                                            headDim: headDim, scale: 1 / 8, queryRows: [0])
        try expectClose(probabilities, reference.probabilities, bound: 1e-5, "\(device) seed \(random.seed)")
        let single = try attention(qkv: try Tensor(values, shape: [batch, tokens, 3 * heads * headDim], on: device),
                                   heads: heads, probabilities: .row(0))
        #expect(try single.probabilities?.toArray() == rows, "\(device): .row(0) is .cls")
    }

    /// Item 0: a random third of its keys masked; item 1: none; item 2: every key masked (zeros, documented).
    @Test("key mask: masked keys get exactly zero probability; an all-masked item gives zeros",
          arguments: testDevices, [64, 32])
    func keyMask(device: Device, headDim: Int) throws {
        var random = TestRandom()
        let (batch, tokens, heads) = (3, 261, 6)
        let width = heads * headDim
        let values = random.normal(batch * tokens * 3 * width)
        var mask = [Float](repeating: 1, count: batch * tokens)
        for j in 0..<tokens {
            if Double.random(in: 0..<1, using: &random) < 1.0 / 3 { mask[j] = 0 }
            mask[2 * tokens + j] = 0
        }
        mask[0] = 1  // the CLS key stays visible in item 0
        let rows = [0, 100, 260]
        let result = try attention(qkv: try Tensor(values, shape: [batch, tokens, 3 * width], on: device),
                                   heads: heads, probabilities: .rows(rows),
                                   keyMask: try Tensor(mask, shape: [batch, tokens], on: device))
        let context = "\(device) Dh \(headDim) seed \(random.seed)"
        let (q, k, v) = Self.split(values, batch: batch, tokens: tokens, width: width)
        let reference = Reference.attention(q: q, k: k, v: v, batch: batch, tokens: tokens, heads: heads,
                                            headDim: headDim, scale: 1 / Double(headDim).squareRoot(),
                                            keyMask: mask.doubles)
        try expectClose(result.output, reference.output, bound: 1e-5, context)
        let probabilities = try #require(try result.probabilities?.toArray())
        for b in 0..<batch {
            for h in 0..<heads {
                for n in rows.indices {
                    let line = probabilities[(((b * heads + h) * rows.count + n) * tokens)...].prefix(tokens)
                    for (j, p) in zip(0..<tokens, line) where mask[b * tokens + j] == 0 {
                        #expect(p == 0, "\(context): masked key \(j) of item \(b) has probability \(p)")
                    }
                    let total = line.reduce(0.0) { $0 + Double($1) }
                    #expect(b == 2 ? total == 0 : abs(total - 1) < 1e-5, "\(context): item \(b) row sums to \(total)")
                }
            }
        }
        let output = try result.output.toArray()
        #expect(output[(2 * tokens * width)...].allSatisfy { $0 == 0 }, "\(context): all-masked item is not zero")
    }

    @Test("a NaN in K or V spreads to its head's rows instead of vanishing", arguments: testDevices)
    func nanInputs(device: Device) throws {
        let (tokens, heads, headDim) = (5, 2, 8)
        let width = heads * headDim
        for part in [1, 2] {  // K, then V
            var values = [Float](repeating: 0.5, count: tokens * 3 * width)
            values[3 * 3 * width + part * width + headDim + 2] = .nan  // token 3, head 1
            let result = try attention(qkv: try Tensor(values, shape: [1, tokens, 3 * width], on: device),
                                       heads: heads, probabilities: .cls)
            let output = try result.output.toArray()
            for t in 0..<tokens {
                let row = output[(t * width)..<((t + 1) * width)]
                #expect(row.prefix(headDim).allSatisfy { $0 == 0.5 }, "\(device) part \(part): head 0 untouched")
                #expect(row.suffix(headDim).contains { $0.isNaN }, "\(device) part \(part): head 1 of token \(t)")
            }
            let probabilities = try #require(try result.probabilities?.toArray())
            #expect(probabilities.prefix(tokens).allSatisfy { abs($0 - 0.2) < 1e-6 }, "\(device) part \(part)")
            #expect(part == 2 || probabilities.suffix(tokens).contains { $0.isNaN }, "\(device) NaN score shows")
        }
    }

    @Test("materialised attention (GEMM, softmax, GEMM) matches the reference", arguments: testDevices)
    func materialized(device: Device) throws {
        var random = TestRandom()
        let (batch, heads, tokens, headDim) = (2, 3, 261, 64)
        let count = batch * heads * tokens * headDim
        let (q, k, v) = (random.normal(count), random.normal(count), random.normal(count))
        let shape = [batch, heads, tokens, headDim]
        let out = try materializedAttention(q: try Tensor(q, shape: shape, on: device),
                                            k: try Tensor(k, shape: shape, on: device),
                                            v: try Tensor(v, shape: shape, on: device))
        // The reference wants [B, T, H·Dh]; with B·H items of one head each the layouts coincide.
        let reference = Reference.attention(q: q.doubles, k: k.doubles, v: v.doubles, batch: batch * heads,
                                            tokens: tokens, heads: 1, headDim: headDim, scale: 1 / 8)
        try expectClose(out, reference.output, bound: 1e-5, "\(device) seed \(random.seed)")
    }

    @Test("misuse gives readable errors; empty batches are fine", arguments: testDevices)
    func errors(device: Device) throws {
        let qkv = try Tensor.zeros(shape: [2, 5, 3 * 4 * 8], on: device)
        let separate = try Tensor.zeros(shape: [2, 5, 32], on: device)
        #expect(message { _ = try attention(qkv: try .zeros(shape: [5, 96], on: device), heads: 4) }
            .contains("attention(qkv:): qkv has shape [5, 96], expected [batch, tokens, 3·heads·headDim]"))
        #expect(message { _ = try attention(qkv: qkv, heads: 5) }.contains("not a positive multiple of 3·heads = 15"))
        #expect(message { _ = try attention(qkv: qkv, heads: 0) }.contains("heads is 0"))
        #expect(message { _ = try attention(qkv: qkv, heads: 4, scale: .nan) }.contains("scale nan is not finite"))
        #expect(message { _ = try attention(qkv: qkv, heads: 4, probabilities: .row(5)) }
            .contains("query row 5 is outside 0..<5"))
        #expect(message { _ = try attention(qkv: qkv, heads: 4, probabilities: .rows([])) }.contains("no rows"))
        #expect(message { _ = try attention(qkv: qkv, heads: 4, keyMask: try .zeros(shape: [2, 4], on: device)) }
            .contains("keyMask has shape [2, 4], expected [2, 5]"))
        #expect(message { _ = try attention(q: separate, k: try .zeros(shape: [2, 6, 32], on: device), v: separate,
                                            heads: 4) }.contains("k has shape [2, 6, 32], expected q's [2, 5, 32]"))
        #expect(message { _ = try attention(q: separate, k: separate, v: separate, heads: 3) }
            .contains("not a positive multiple of heads = 3"))
        #expect(message { _ = try materializedAttention(q: separate, k: separate, v: separate) }
            .contains("expected [batch, heads, tokens, headDim]"))
        let empty = try attention(qkv: try .zeros(shape: [0, 5, 96], on: device), heads: 4, probabilities: .cls)
        #expect(empty.output.shape == [0, 5, 32] && empty.probabilities?.shape == [0, 4, 5])
        guard case .openCL = device else { return }
        #expect(message { _ = try attention(qkv: try .zeros(shape: [1, 3, 3 * 260], on: device), heads: 1) }
            .contains("head dim 260 is above the OpenCL kernels' limit of 256"))
        let hostMask = try Tensor.filled(1, shape: [2, 5], on: .cpu)
        #expect(message { _ = try attention(qkv: qkv, heads: 4, keyMask: hostMask) }
            .contains("device mismatch: attention(qkv:) got tensors on \(device) and cpu"))
    }
}
