import Foundation
import Testing
@testable import VitreousTensor
import VitreousTesting

@Suite("Attention row statistics")
struct AttentionStatisticsTests {
    /// (batch, heads, tokens, first patch, patches): single token, patches not reaching the end, the
    /// ViT-S/14 224² layout with registers.
    static let shapes = [(1, 1, 1, 0, 1), (2, 3, 7, 1, 4), (1, 2, 19, 5, 9), (2, 3, 261, 5, 256)]

    /// Softmax rows of normal scores with about a tenth of the keys set to exactly 0 (as masked keys are).
    static func probabilities(_ random: inout TestRandom, maps: Int, tokens: Int) -> [Float] {
        let scores = random.normal(maps * tokens * tokens, std: 3).doubles
        var p = Reference.softmax(scores, columns: tokens).map(Float.init)
        for i in p.indices where UInt64.random(in: 0..<10, using: &random) == 0 { p[i] = 0 }
        return p
    }

    /// Each row within `(tokens + 8) · 2⁻²⁴` relative of float64 (float32 sums of non-negative terms, and the
    /// log's ≈ 2 ulp), plus 1e-30 absolute for empty rows.
    @Test("attentionRowStatistics matches the float64 reference", arguments: testDevices)
    func matchesReference(device: Device) throws {
        for (batch, heads, tokens, first, patches) in Self.shapes {
            var random = TestRandom()
            let p = Self.probabilities(&random, maps: batch * heads, tokens: tokens)
            let table = random.normal(patches * patches).map { abs($0) * 30 }
            let out = try attentionRowStatistics(try Tensor(p, shape: [batch, heads, tokens, tokens], on: device),
                                                 patchDistances: try Tensor(table, shape: [patches, patches], on: device),
                                                 firstPatch: first)
            #expect(out.entropy.shape == [batch, heads, tokens] && out.distance.shape == [batch, heads, patches])
            let reference = Reference.attentionRowStatistics(p.doubles, tokens: tokens, distances: table.doubles,
                                                             first: first, patches: patches)
            let bound = Double(tokens + 8) * 0x1p-24
            let context = "\(device) \(batch)×\(heads)×\(tokens) patches \(first)+\(patches) seed \(random.seed)"
            for (name, values, expected) in [("entropy", try out.entropy.toArray(), reference.entropy),
                                             ("distance", try out.distance.toArray(), reference.distance)] {
                let worst = zip(values, expected).map { abs(Double($0) - $1) / (abs($1) + 1e-30) }.max() ?? 0
                #expect(values.count == expected.count && worst <= bound,
                        "\(context) \(name): worst relative error \(worst) > \(bound)")
            }
        }
    }

    @Test("zero and NaN keys add no entropy; a NaN patch key makes its distance NaN", arguments: testDevices)
    func zerosAndNaN(device: Device) throws {
        let p: [Float] = [1, 0, 0, /**/ 0.5, .nan, 0.5, /**/ 0, 0, 0]
        let out = try attentionRowStatistics(try Tensor(p, shape: [1, 1, 3, 3], on: device),
                                             patchDistances: try Tensor([0, 1, 1, 0], shape: [2, 2], on: device),
                                             firstPatch: 1)
        let entropy = try out.entropy.toArray(), distance = try out.distance.toArray()
        #expect(entropy[0] == 0 && abs(Double(entropy[1]) - log(2)) < 1e-6 && entropy[2] == 0, "\(device) \(entropy)")
        #expect(distance[0].isNaN && distance[1] == 0, "\(device) \(distance)")
    }

    @Test("attentionRowStatistics names the shape it rejects")
    func rejectsShapes() throws {
        let p = try Tensor.zeros(shape: [1, 1, 3, 3]), table = try Tensor.zeros(shape: [3, 3])
        #expect(message { _ = try attentionRowStatistics(p, patchDistances: table, firstPatch: 1) }.contains("do not fit 3 tokens"))
        #expect(message { _ = try attentionRowStatistics(try p.reshaped([1, 3, 3]), patchDistances: table, firstPatch: 0) }
            .contains("[1, 3, 3]"))
        #expect(message { _ = try attentionRowStatistics(p, patchDistances: try table.reshaped([9]), firstPatch: 0) }
            .contains("patchDistances"))
    }
}
