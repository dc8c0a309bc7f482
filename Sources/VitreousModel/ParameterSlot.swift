/// One parameter of the canonical ViT layout: the unit that loading, writing and mapping go through, so
/// that the three key layouts and ``ViTParameters`` stay in step without listing fields three times.
enum ParameterSlot: Hashable, Sendable {
    case patchEmbedWeight, patchEmbedBias, clsToken, registerTokens, positionEmbedding, normWeight, normBias
    case block(Int, BlockSlot)

    enum BlockSlot: CaseIterable, Sendable {
        case norm1Weight, norm1Bias, qkvWeight, qkvBias, projWeight, projBias, layerScale1
        case norm2Weight, norm2Bias, fc1Weight, fc1Bias, fc2Weight, fc2Bias, layerScale2
    }

    /// Every slot a model of `config` has, in forward-pass order: registers only when it has some, the
    /// position table only for DINOv2, the qkv bias only when it has one. LayerScale is always present (ones when the checkpoint has none).
    static func all(for config: ViTConfig) -> [ParameterSlot] {
        var slots: [ParameterSlot] = [.patchEmbedWeight, .patchEmbedBias, .clsToken]
        if config.registerCount > 0 { slots.append(.registerTokens) }
        if config.hasPositionTable { slots.append(.positionEmbedding) }
        for index in 0..<config.depth {
            for part in BlockSlot.allCases where part != .qkvBias || config.hasQKVBias {
                slots.append(.block(index, part))
            }
        }
        return slots + [.normWeight, .normBias]
    }

    /// Whether this is one of the matrices the linear layers multiply by: what a reduced ``Precision`` converts.
    var isLinearWeight: Bool {
        switch self {
        case .patchEmbedWeight, .block(_, .qkvWeight), .block(_, .projWeight), .block(_, .fc1Weight),
             .block(_, .fc2Weight):
            return true
        default:
            return false
        }
    }

    /// The canonical shape (as in ``ViTParameters``) under `config`.
    func shape(_ config: ViTConfig) -> [Int] {
        let d = config.hiddenSize
        switch self {
        case .patchEmbedWeight: return [d, config.channels * config.patchSize * config.patchSize]
        case .patchEmbedBias, .clsToken, .normWeight, .normBias: return [d]
        case .registerTokens: return [config.registerCount, d]
        case .positionEmbedding: return [config.positionRows, d]
        case .block(_, let part):
            switch part {
            case .norm1Weight, .norm1Bias, .norm2Weight, .norm2Bias, .projBias, .layerScale1, .layerScale2,
                 .fc2Bias:
                return [d]
            case .qkvWeight: return [3 * d, d]
            case .qkvBias: return [3 * d]
            case .projWeight: return [d, d]
            case .fc1Weight: return [config.mlpInputRows, d]
            case .fc1Bias: return [config.mlpInputRows]
            case .fc2Weight: return [d, config.mlpHiddenSize]
            }
        }
    }
}
