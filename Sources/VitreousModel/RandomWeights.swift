import Foundation
import VitreousTensor

/// How ``ViTParameters/random(config:seed:scales:)`` draws each kind of parameter.
public struct RandomWeightScales: Sendable, Equatable {
    /// Standard deviation of every Linear and patch-embedding weight (DINOv2's truncated-normal init uses 0.02).
    public var linearStd: Float = 0.02
    /// Standard deviation of Linear biases; nonzero by default so that a bias left out shows in tests.
    public var biasStd: Float = 0.02
    /// Standard deviation of the CLS token, register tokens and position table.
    public var embeddingStd: Float = 0.02
    /// Every LayerScale gamma.
    public var layerScale: Float = 0.1
    /// LayerNorm weights are `1 + N(0, normJitter²)` and biases `N(0, normJitter²)`. 0 (the default) gives
    /// the usual weight 1, bias 0; a little jitter makes a swapped weight and bias visible in tests.
    public var normJitter: Float = 0

    /// The defaults: 0.02 for weights, biases and embeddings, LayerScale 0.1, no LayerNorm jitter.
    public init(linearStd: Float = 0.02, biasStd: Float = 0.02, embeddingStd: Float = 0.02,
                layerScale: Float = 0.1, normJitter: Float = 0) {
        self.linearStd = linearStd
        self.biasStd = biasStd
        self.embeddingStd = embeddingStd
        self.layerScale = layerScale
        self.normJitter = normJitter
    }
}

extension ViTParameters where Value == [Float] {
    /// Random weights for any configuration, the same for the same seed everywhere: for tests, benchmarks
    /// and demos without a checkpoint. Write them in any layout with ``write(to:layout:prefix:metadata:)``.
    /// Parameters are drawn in forward-pass order, so a config differing only in depth shares its first blocks.
    /// - Throws: ``ModelError/invalidConfig(_:)`` for an invalid configuration.
    public static func random(config: ViTConfig, seed: UInt64,
                              scales: RandomWeightScales = RandomWeightScales()) throws -> ViTHostWeights {
        try config.validate()
        var generator = SplitMix64(seed: seed)
        return try ViTHostWeights(config: config) { slot in
            let count = slot.shape(config).reduce(1, *)
            switch slot {
            case .patchEmbedWeight:
                return generator.normal(count, std: scales.linearStd)
            case .patchEmbedBias:
                return generator.normal(count, std: scales.biasStd)
            case .clsToken, .registerTokens, .positionEmbedding:
                return generator.normal(count, std: scales.embeddingStd)
            case .normWeight:
                return generator.normal(count, mean: 1, std: scales.normJitter)
            case .normBias:
                return generator.normal(count, std: scales.normJitter)
            case .block(_, let part):
                switch part {
                case .norm1Weight, .norm2Weight:
                    return generator.normal(count, mean: 1, std: scales.normJitter)
                case .norm1Bias, .norm2Bias:
                    return generator.normal(count, std: scales.normJitter)
                case .qkvWeight, .projWeight, .fc1Weight, .fc2Weight:
                    return generator.normal(count, std: scales.linearStd)
                case .qkvBias where config.family == .dinov3:
                    // DINOv3's K bias is masked to zero; every layout stores it so.
                    var bias = generator.normal(count, std: scales.biasStd)
                    let d = config.hiddenSize
                    for i in d..<(2 * d) { bias[i] = 0 }
                    return bias
                case .qkvBias, .projBias, .fc1Bias, .fc2Bias:
                    return generator.normal(count, std: scales.biasStd)
                case .layerScale1, .layerScale2:
                    return [Float](repeating: config.hasLayerScale ? scales.layerScale : 1, count: count)
                }
            }
        }
    }
}
