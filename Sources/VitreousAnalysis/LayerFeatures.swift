import VitreousModel
import VitreousTensor

/// One pooled feature per image and layer: what the representation measures (CKA, NCC, k-NN) compare.
public enum LayerPooling: String, Sendable, CaseIterable, Codable {
    /// The CLS token.
    case cls
    /// The mean of the patch tokens.
    case meanPatch = "mean-patch"
}

/// The residual stream after the embeddings (layer 0) and after every block (layer i), pooled per image:
/// read from ``VitreousModel/EncoderOutput/hiddenStates`` (before the final norm).
public struct PooledLayers: Sendable {
    /// Per layer, `[batch, dimension]` CLS tokens.
    public let cls: [[Float]]
    /// Per layer, `[batch, dimension]` mean patch tokens.
    public let meanPatch: [[Float]]
    /// Images in the batch.
    public let batch: Int
    /// Channels per token.
    public let dimension: Int

    /// Pools `output`'s hidden states (run the encoder with ``VitreousModel/EncoderOptions/hiddenStates``).
    /// - Throws: ``AnalysisError/invalidArgument(_:)`` when the output has no hidden states.
    public init(_ output: EncoderOutput) throws {
        try self.init(output, layers: Array(0..<(output.hiddenStates?.count ?? 0)))
    }

    /// Pools the hidden states of `layers` only (in that order: `cls[i]` is layer `layers[i]`), reading just
    /// those states back to the host.
    /// - Throws: ``AnalysisError/invalidArgument(_:)`` when the output has no hidden states or lacks a layer.
    public init(_ output: EncoderOutput, layers: [Int]) throws {
        guard let states = output.hiddenStates else {
            throw AnalysisError.invalidArgument("pooled layers need the encoder's hidden states (EncoderOptions.hiddenStates)")
        }
        if let missing = layers.first(where: { !states.indices.contains($0) }) {
            throw AnalysisError.invalidArgument("layer \(missing) is not in 0..<\(states.count) (the output's hidden states)")
        }
        let (b, t, d) = (output.tokens.shape[0], states.first?.shape[1] ?? 0, output.tokens.shape[2])
        let patches = output.firstPatch..<(output.firstPatch + output.gridHeight * output.gridWidth)
        var cls: [[Float]] = [], mean: [[Float]] = []
        for layer in layers {
            let values = try states[layer].toArray()
            cls.append(Self.pool(values, .cls, batch: b, tokens: t, dimension: d, patches: patches))
            mean.append(Self.pool(values, .meanPatch, batch: b, tokens: t, dimension: d, patches: patches))
        }
        self.cls = cls
        meanPatch = mean
        batch = b
        dimension = d
    }

    /// `[batch, dimension]` pooled features of one `[batch, tokens, dimension]` hidden state: its first token, or
    /// the mean of the tokens in `patches`.
    public static func pool(_ values: [Float], _ pooling: LayerPooling, batch b: Int, tokens t: Int, dimension d: Int,
                            patches: Range<Int>) -> [Float] {
        var pooled = [Float](repeating: 0, count: b * d)
        for image in 0..<b {
            if pooling == .cls {
                for i in 0..<d { pooled[image * d + i] = values[image * t * d + i] }
                continue
            }
            for token in patches {
                let row = (image * t + token) * d
                for i in 0..<d { pooled[image * d + i] += values[row + i] }
            }
            for i in 0..<d { pooled[image * d + i] /= Float(patches.count) }
        }
        return pooled
    }

    /// The features of one pooling.
    public func features(_ pooling: LayerPooling) -> [[Float]] { pooling == .cls ? cls : meanPatch }
    /// Layers pooled (`depth + 1` for ``init(_:)``).
    public var layers: Int { cls.count }
}
