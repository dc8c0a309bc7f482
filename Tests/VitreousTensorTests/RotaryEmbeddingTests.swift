import Foundation
import Testing
@testable import VitreousTensor
import VitreousTesting

/// DINOv3's rotary embedding against the float64 reference. Bound: 1e-6 relative L2, the float32 rounding of
/// one multiply-add pair per element (measured near 6e-8).
@Suite("Rotary embedding")
struct RotaryEmbeddingTests {
    /// (batch, prefix tokens, grid height, grid width, extra tokens after the patches, heads, head dim):
    /// T = 197 (1 + 4 + 16·12), 201 (DINOv3 at 224 px: 1 + 4 + 14·14), 1025 (1 + 4 + 34·30), odd grids,
    /// a grid of one patch, test-time registers after the patches, head dims 4, 16, 64 and 128.
    static let cases: [(Int, Int, Int, Int, Int, Int, Int)] = [
        (2, 5, 16, 12, 0, 6, 64), (1, 5, 14, 14, 0, 3, 64), (1, 5, 34, 30, 0, 2, 64), (3, 5, 7, 3, 1, 4, 16),
        (2, 1, 1, 1, 0, 1, 4), (1, 5, 5, 9, 2, 2, 128),
    ]

    @Test("matches the float64 reference; V and unrotated tokens are copied exactly", arguments: testDevices)
    func matchesReference(device: Device) throws {
        for (batch, prefix, gh, gw, extra, heads, headDim) in Self.cases {
            var random = TestRandom()
            let tokens = prefix + gh * gw + extra, half = headDim / 2, channels = 3 * heads * headDim
            let values = random.normal(batch * tokens * channels, std: 2)
            let rotated = prefix..<(prefix + gh * gw)
            // Angles of any size, as the tables of any θ and grid hold.
            let angles = random.normal(rotated.count * half, std: 3)
            let (cos, sin) = (angles.map { Foundation.cos($0) }, angles.map { Foundation.sin($0) })
            let qkv = try Tensor(values, shape: [batch, tokens, channels], on: device)
            let out = try rotaryEmbedding(qkv: qkv, heads: heads, cos: try Tensor(cos, shape: [rotated.count, half], on: device),
                                          sin: try Tensor(sin, shape: [rotated.count, half], on: device), tokens: rotated)
            let reference = Reference.rotaryEmbedding(values.doubles, batch: batch, tokens: tokens, heads: heads,
                                                      half: half, cos: cos.doubles, sin: sin.doubles, rotated: rotated)
            let context = "\(device) B \(batch) T \(tokens) grid \(gh)×\(gw) heads \(heads)×\(headDim) seed \(random.seed)"
            try expectClose(out, reference, bound: 1e-6, context)
            let result = try out.toArray()
            // Copied values are bit-exact: V of every token, and Q, K of the tokens outside the range.
            let copied = (0..<result.count).filter { i in
                let (t, c) = ((i / channels) % tokens, i % channels)
                return c >= 2 * heads * headDim || !rotated.contains(t)
            }
            #expect(copied.allSatisfy { result[$0].bitPattern == values[$0].bitPattern }, "\(context): copies differ")
            #expect(try qkv.toArray() == values, "\(context): the input changed")
        }
    }

    @Test("bad arguments are refused naming the input")
    func errors() throws {
        let qkv = try Tensor.zeros(shape: [1, 6, 24], on: .cpu)  // 2 heads of 4
        let table = try Tensor.zeros(shape: [5, 2], on: .cpu)
        #expect(message { _ = try rotaryEmbedding(qkv: qkv, heads: 2, cos: table, sin: table, tokens: 1..<6) } == "")
        #expect(message { _ = try rotaryEmbedding(qkv: qkv, heads: 2, cos: table, sin: table, tokens: 2..<7) }
            .contains("outside 0..<6"))
        #expect(message { _ = try rotaryEmbedding(qkv: qkv, heads: 2, cos: table, sin: table, tokens: 0..<6) }
            .contains("cos has shape [5, 2], expected [6, 2]"))
        #expect(message { _ = try rotaryEmbedding(qkv: qkv, heads: 5, cos: table, sin: table, tokens: 1..<6) }
            .contains("channels"))
        #expect(message { _ = try rotaryEmbedding(qkv: try .zeros(shape: [6, 24], on: .cpu), heads: 2, cos: table,
                                                  sin: table, tokens: 1..<6) }.contains("qkv has shape"))
    }
}
