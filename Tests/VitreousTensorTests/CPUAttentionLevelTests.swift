import Foundation
import Testing
@testable import VitreousTensor
import VitreousTesting

/// The CPU backend's C attention (attention.c) at every instruction-set level this machine has, each against
/// the float64 reference, and the levels against the baseline.
///
/// Bounds, relative L2: 1e-5 against the reference for outputs and probability rows (float32 scores over
/// ≤ 128 products and a 2-ulp 2^x land near 1e-6), 1e-5 between levels (they differ in vector width, so in
/// the order of the sums, and in fused multiply-adds). Token counts are odd and straddle the 64-key tiles and
/// the query blocks (23, 65, 130, 257, 1026 = 1025 patches + CLS); head dims 7, 48, 64, 80, 128 exercise the
/// padded value vectors; outputs are NaN-poisoned before the kernel writes them.
@Suite("CPU attention at every instruction-set level")
struct CPUAttentionLevelTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let batch: Int, tokens: Int, heads: Int, headDim: Int
        /// A random quarter of the keys masked in item 0; when batch > 1 every key of the last item.
        let masked: Bool
        var testDescription: String { "\(batch)×\(tokens) tokens, \(heads)×\(headDim)\(masked ? ", masked" : "")" }

        /// Query rows the float64 reference computes: all, or above ~10⁷ multiply-adds per item a sample that
        /// crosses every query block and key tile (first, last, a stride of 37).
        var checkedRows: [Int] {
            guard tokens * tokens * heads * headDim > 10_000_000 else { return Array(0..<tokens) }
            return Array(Set(Array(stride(from: 0, to: tokens, by: 37)) + [1, tokens - 2, tokens - 1])).sorted()
        }
    }

    static let cases: [Case] = [
        Case(batch: 2, tokens: 23, heads: 3, headDim: 64, masked: false),
        Case(batch: 1, tokens: 257, heads: 6, headDim: 64, masked: true),
        Case(batch: 2, tokens: 65, heads: 2, headDim: 80, masked: true),
        Case(batch: 1, tokens: 130, heads: 2, headDim: 128, masked: false),
        Case(batch: 1, tokens: 1026, heads: 2, headDim: 64, masked: true),
        Case(batch: 3, tokens: 37, heads: 3, headDim: 7, masked: false),
        Case(batch: 2, tokens: 1, heads: 1, headDim: 48, masked: false),
    ]

    @Test("output and probability rows match the reference at every level; levels agree", arguments: cases)
    func levels(shape: Case) throws {
        NaNPoisoning.isEnabled = true
        var random = TestRandom()
        let (batch, tokens, heads, headDim) = (shape.batch, shape.tokens, shape.heads, shape.headDim)
        let width = heads * headDim
        let values = random.normal(batch * tokens * 3 * width)
        var mask = [Float](repeating: 1, count: batch * tokens)
        if shape.masked {
            for j in 1..<tokens where Double.random(in: 0..<1, using: &random) < 0.25 { mask[j] = 0 }
            if batch > 1 { for j in 0..<tokens { mask[(batch - 1) * tokens + j] = 0 } }
        }
        let qkv = try Tensor(values, shape: [batch, tokens, 3 * width], on: .cpu)
        let keyMask = shape.masked ? try Tensor(mask, shape: [batch, tokens], on: .cpu) : nil
        let probabilityRows = [0, tokens / 2, tokens - 1, 0]  // a repeat too
        let (q, k, v) = AttentionTests.split(values, batch: batch, tokens: tokens, width: width)
        let scale = 1 / Double(headDim).squareRoot()
        let checked = shape.checkedRows
        let reference = Reference.attention(q: q, k: k, v: v, batch: batch, tokens: tokens, heads: heads,
                                            headDim: headDim, scale: scale, keyMask: shape.masked ? mask.doubles : nil,
                                            queryRows: checked)
        let probabilityReference = Reference.attention(
            q: q, k: k, v: v, batch: batch, tokens: tokens, heads: heads, headDim: headDim, scale: scale,
            keyMask: shape.masked ? mask.doubles : nil, queryRows: probabilityRows).probabilities

        var results: [(CPUInstructionSet, output: [Float], probabilities: [Float])] = []
        for level in CPUInstructionSet.supported {
            let context = "\(level) \(shape.testDescription) seed \(random.seed)"
            let result = try CPUInstructionSet.with(level) {
                try qkv.attention(heads: heads, probabilities: .rows(probabilityRows), keyMask: keyMask)
            }
            let output = try result.output.toArray()
            let probabilities = try #require(try result.probabilities?.toArray())
            #expect(!output.contains { $0.isNaN }, "\(context): an output element was never written")
            #expect(!probabilities.contains { $0.isNaN }, "\(context): a probability was never written")
            let error = Reference.relativeError(
                AttentionTests.rows(output, checked, batch: batch, tokens: tokens, width: width), reference.output)
            #expect(error <= 1e-5, "\(context): output relative error \(error)")
            let probabilityError = Reference.relativeError(probabilities, probabilityReference)
            #expect(probabilityError <= 1e-5, "\(context): probability relative error \(probabilityError)")
            // Layout [batch, heads, 4 rows, tokens]: element i belongs to item i / (heads·4·tokens), key i % tokens.
            let leaked = probabilities.indices.filter {
                mask[$0 / (heads * 4 * tokens) * tokens + $0 % tokens] == 0 && probabilities[$0] != 0
            }
            #expect(leaked.isEmpty, "\(context): \(leaked.count) masked keys have a nonzero probability")
            results.append((level, output, probabilities))
        }
        guard let baseline = results.first else { return }
        for result in results.dropFirst() {
            let context = "\(result.0) vs baseline, \(shape.testDescription) seed \(random.seed)"
            let agreement = Reference.relativeError(result.output, baseline.output.doubles)
            #expect(agreement <= 1e-5, "\(context): outputs differ by \(agreement)")
            let probabilityAgreement = Reference.relativeError(result.probabilities, baseline.probabilities.doubles)
            #expect(probabilityAgreement <= 1e-5, "\(context): probabilities differ by \(probabilityAgreement)")
        }
    }

    @Test("work items: smaller query blocks only when the cores would otherwise idle")
    func plan() {
        #expect(CPUAttentionPlan(batch: 1, tokens: 1370, heads: 6, threads: 2).queryBlock == 48)
        #expect(CPUAttentionPlan(batch: 1, tokens: 257, heads: 6, threads: 2).queryBlock == 48)
        let many = CPUAttentionPlan(batch: 1, tokens: 257, heads: 6, threads: 16)
        #expect(many.queryBlock < 48 && many.queryBlock % CPUAttentionPlan.rowMultiple == 0)
        #expect(CPUAttentionPlan(batch: 1, tokens: 5, heads: 1, threads: 64).queryBlock == CPUAttentionPlan.rowMultiple)
    }
}
