import Testing
@testable import VitreousTensor
import VitreousTesting

/// Layer norm and token norms on every backend against the float64 reference, at ViT sizes
/// (tokens 1, 5, 257, 261, 1370; channels 64, 384, 768, 1536) and odd ones.
@Suite("Normalisation")
struct NormalizationTests {
    static let shapes: [(tokens: Int, channels: Int)] = [
        (1, 64), (5, 384), (257, 768), (261, 1536), (1370, 384), (257, 67), (3, 5), (1370, 1536),
    ]

    /// Bound 1e-5 relative L2: two-pass float32 statistics over ≤ 1536 channels.
    @Test("layerNorm", arguments: testDevices)
    func layerNormMatchesReference(device: Device) throws {
        for (tokens, channels) in Self.shapes {
            var random = TestRandom()
            // An offset mean makes a one-pass variance visibly wrong; the two-pass kernels must not care.
            let x = random.normal(tokens * channels, mean: 3, std: 2)
            let w = random.normal(channels, mean: 1, std: 0.2), b = random.normal(channels, std: 0.2)
            let eps: Float = tokens == 5 ? 1e-5 : 1e-6
            let out = try layerNorm(try Tensor(x, shape: [tokens, channels], on: device),
                                    weight: try Tensor(w, shape: [channels], on: device),
                                    bias: try Tensor(b, shape: [channels], on: device), eps: eps)
            let reference = Reference.layerNorm(x.doubles, weight: w.doubles, bias: b.doubles, dim: channels,
                                                eps: Double(eps))
            try expectClose(out, reference, bound: 1e-5, "\(device) \(tokens)×\(channels) seed \(random.seed)")
        }
    }

    @Test("residual add fused with layerNorm", arguments: testDevices)
    func addLayerNormMatchesReference(device: Device) throws {
        for (tokens, channels) in Self.shapes {
            var random = TestRandom()
            let x = random.normal(tokens * channels), r = random.normal(tokens * channels, mean: 1, std: 3)
            let w = random.normal(channels, mean: 1, std: 0.2), b = random.normal(channels, std: 0.2)
            let (sum, normalized) = try addLayerNorm(
                try Tensor(x, shape: [1, tokens, channels], on: device),
                residual: try Tensor(r, shape: [1, tokens, channels], on: device),
                weight: try Tensor(w, shape: [channels], on: device), bias: try Tensor(b, shape: [channels], on: device))
            let reference = Reference.addLayerNorm(x.doubles, residual: r.doubles, weight: w.doubles,
                                                   bias: b.doubles, dim: channels)
            let context = "\(device) \(tokens)×\(channels) seed \(random.seed)"
            try expectClose(sum, reference.sum, bound: 1e-7, context + " sum")
            try expectClose(normalized, reference.normalized, bound: 1e-5, context)
        }
    }

    /// Bound 1e-6 relative L2 on norms and statistics.
    @Test("tokenNorms with per-image statistics", arguments: testDevices)
    func tokenNormsMatchReference(device: Device) throws {
        for (tokens, channels) in Self.shapes {
            var random = TestRandom()
            let batch = tokens > 300 ? 1 : 3
            var x = random.normal(batch * tokens * channels)
            // Plant a high-norm token per image, as the artifacts Vitreous looks for.
            for image in 0..<batch where tokens > 1 {
                let t = 1 + (image * 7) % (tokens - 1)
                for c in 0..<channels { x[(image * tokens + t) * channels + c] *= 10 }
            }
            let range = tokens > 1 ? 1..<tokens : 0..<1
            let result = try tokenNorms(try Tensor(x, shape: [batch, tokens, channels], on: device),
                                        statisticsOver: range)
            let reference = Reference.tokenNorms(x.doubles, batch: batch, tokens: tokens, dim: channels, range: range)
            let context = "\(device) \(batch)×\(tokens)×\(channels) seed \(random.seed)"
            #expect(result.norms.shape == [batch, tokens])
            try expectClose(result.norms, reference.norms, bound: 1e-6, context)
            try expectClose(result.statistics, reference.statistics, bound: 1e-6, context + " statistics")
            let statistics = try result.imageStatistics()
            for image in 0..<batch {
                #expect(statistics[image].argmax == Int(reference.statistics[image * 3 + 1]), "\(context)")
            }
        }
    }

    @Test("NaN propagates through norms as documented", arguments: testDevices)
    func nanInputs(device: Device) throws {
        var x = [Float](repeating: 1, count: 4 * 8)
        x[2 * 8 + 3] = .nan
        let tensor = try Tensor(x, shape: [1, 4, 8], on: device)
        let normalized = try layerNorm(tensor, weight: try .filled(1, shape: [8], on: device),
                                       bias: try .zeros(shape: [8], on: device)).toArray()
        #expect(normalized[(2 * 8)..<(3 * 8)].allSatisfy { $0.isNaN }, "the NaN row is NaN")
        #expect(normalized[0..<(2 * 8)].allSatisfy { $0 == 0 }, "other rows are untouched by the NaN")
        let statistics = try tokenNorms(tensor).imageStatistics()[0]
        #expect(statistics.max.isNaN && statistics.argmax == 2 && statistics.mean.isNaN)
    }
}
