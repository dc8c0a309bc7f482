import Foundation
import VitreousModel
import VitreousTensor

/// The whole encoder in float64 plain loops, built from ``Reference``'s ops: the ground truth the
/// tests compare both backends' ``ViTEncoder`` with. Slow; meant for small models and images.
public enum ReferenceEncoder {
    /// What the reference encoder returns for a batch.
    public struct Output: Sendable {
        /// `[B, T, D]` after the final norm.
        public let tokens: [Double]
        /// `depth + 1` arrays `[B, T, D]`: after the embeddings, then after each block.
        public let hiddenStates: [[Double]]
        /// The last block's CLS attention `[B, heads, T]`.
        public let clsAttention: [Double]
        /// `T`: tokens per image.
        public let tokenCount: Int
    }

    /// Runs `weights` on `images` `[batch, 3, height, width]`; for DINOv3, with the rotary embedding at angles
    /// computed in float64.
    public static func forward(_ weights: ViTParameters<[Double]>, images: [Double], batch: Int, height: Int,
                               width: Int) throws -> Output {
        let config = weights.config
        let grid = try config.patchGrid(imageHeight: height, imageWidth: width)
        let (d, patchCount) = (config.hiddenSize, grid.height * grid.width)
        let rowLength = config.channels * config.patchSize * config.patchSize
        let patches = Reference.linear(
            Reference.patchify(images, batch: batch, channels: config.channels, height: height, width: width,
                               patch: config.patchSize),
            weight: weights.patchEmbedWeight, bias: weights.patchEmbedBias, rows: batch * patchCount,
            inFeatures: rowLength, outFeatures: d)
        let positions = try positionTable(weights, grid.height, grid.width)
        let registers = weights.registerTokens ?? []
        var x: [Double] = []
        for b in 0..<batch {
            x += (0..<d).map { weights.clsToken[$0] + positions[$0] }
            x += registers
            for p in 0..<patchCount {
                x += (0..<d).map { patches[(b * patchCount + p) * d + $0] + positions[(1 + p) * d + $0] }
            }
        }
        let tokens = x.count / (batch * d)
        let eps = Double(config.layerNormEps)
        let firstPatch = 1 + config.registerCount
        let angles = config.family == .dinov3
            ? RotaryTables.angles(gridHeight: grid.height, gridWidth: grid.width, config: config) : nil
        var hidden = [x]
        var clsAttention: [Double] = []
        for block in weights.blocks {
            // Attention branch.
            let normalized = Reference.layerNorm(x, weight: block.norm1Weight, bias: block.norm1Bias, dim: d, eps: eps)
            var qkv = Reference.linear(normalized, weight: block.qkvWeight, bias: block.qkvBias, rows: batch * tokens,
                                       inFeatures: d, outFeatures: 3 * d)
            if let angles {
                qkv = Reference.rotaryEmbedding(qkv, batch: batch, tokens: tokens, heads: config.heads,
                                                half: config.headDimension / 2, cos: angles.map { Foundation.cos($0) },
                                                sin: angles.map { Foundation.sin($0) },
                                                rotated: firstPatch..<(firstPatch + patchCount))
            }
            func part(_ index: Int) -> [Double] {
                var values: [Double] = []
                values.reserveCapacity(batch * tokens * d)
                for row in 0..<(batch * tokens) {
                    let start: Int = row * 3 * d + index * d
                    values += qkv[start..<(start + d)]
                }
                return values
            }
            let headDim = config.headDimension
            let attended = Reference.attention(q: part(0), k: part(1), v: part(2), batch: batch, tokens: tokens,
                                               heads: config.heads, headDim: headDim,
                                               scale: 1 / Double(headDim).squareRoot())
            clsAttention = []
            for item in 0..<(batch * config.heads) {
                let start: Int = item * tokens * tokens
                clsAttention += attended.probabilities[start..<(start + tokens)]
            }
            let projected = Reference.linear(attended.output, weight: block.projWeight, bias: block.projBias,
                                             rows: batch * tokens, inFeatures: d, outFeatures: d)
            x = Reference.layerScale(projected, gamma: block.layerScale1, residual: x, columns: d)
            // MLP branch.
            let normalized2 = Reference.layerNorm(x, weight: block.norm2Weight, bias: block.norm2Bias, dim: d, eps: eps)
            let hiddenLayer: [Double]
            switch config.mlp {
            case .gelu:
                hiddenLayer = Reference.linear(normalized2, weight: block.fc1Weight, bias: block.fc1Bias,
                                               rows: batch * tokens, inFeatures: d, outFeatures: config.mlpHiddenSize,
                                               activation: .gelu)
            case .swiglu:
                hiddenLayer = Reference.swiglu(
                    Reference.linear(normalized2, weight: block.fc1Weight, bias: block.fc1Bias, rows: batch * tokens,
                                     inFeatures: d, outFeatures: 2 * config.mlpHiddenSize),
                    hidden: config.mlpHiddenSize)
            }
            let mlp = Reference.linear(hiddenLayer, weight: block.fc2Weight, bias: block.fc2Bias, rows: batch * tokens,
                                       inFeatures: config.mlpHiddenSize, outFeatures: d)
            x = Reference.layerScale(mlp, gamma: block.layerScale2, residual: x, columns: d)
            hidden.append(x)
        }
        let final = Reference.layerNorm(x, weight: weights.normWeight, bias: weights.normBias, dim: d, eps: eps)
        return Output(tokens: final, hiddenStates: hidden, clsAttention: clsAttention, tokenCount: tokens)
    }

    /// The position table for the grid in float64, from the same 1-D matrices as the float32 path.
    static func positionTable(_ weights: ViTParameters<[Double]>, _ gridHeight: Int, _ gridWidth: Int) throws -> [Double] {
        let config = weights.config
        let (m, d) = (config.positionGrid, config.hiddenSize)
        guard let stored = weights.positionEmbedding else {
            return [Double](repeating: 0, count: (1 + gridHeight * gridWidth) * d)  // DINOv3: none
        }
        if !PositionEmbedding.needsResampling(storedGrid: m, gridHeight: gridHeight, gridWidth: gridWidth) {
            return stored
        }
        let rows = try PositionEmbedding.resamplingMatrix(config.interpolation, input: m, output: gridHeight)
        let columns = try PositionEmbedding.resamplingMatrix(config.interpolation, input: m, output: gridWidth)
        var table = Array(stored[0..<d])
        for a in 0..<gridHeight {
            for b in 0..<gridWidth {
                var row = [Double](repeating: 0, count: d)
                for i in 0..<m where rows[a * m + i] != 0 {
                    for j in 0..<m where columns[b * m + j] != 0 {
                        let weight = rows[a * m + i] * columns[b * m + j]
                        let source = (1 + i * m + j) * d
                        for c in 0..<d { row[c] += weight * stored[source + c] }
                    }
                }
                table += row
            }
        }
        return table
    }
}
