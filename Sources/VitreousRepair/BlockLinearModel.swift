import VitreousModel

/// SINDER's linear model of one transformer block (RegisterRepair.md, "Defect direction from the weights"): a single isolated token, so
/// attention is the token's own value; each LayerNorm becomes centering plus its per-channel gain (the
/// division by the token's std is dropped); biases dropped; residual identity kept.
///
/// With `P = I − 𝟙𝟙ᵀ/D`:
/// `A = I + Γ1·W_o·W_v·N1·P`, `C = I + Γ2·W_out·J·N2·P`, `E = C·A`.
public struct BlockLinearModel: Sendable {
    /// The attention half-block `A_l` [D, D].
    public let attention: DoubleMatrix
    /// The MLP half-block `C_l` [D, D].
    public let mlp: DoubleMatrix
    /// The whole block `E_l = C_l·A_l` [D, D].
    public let block: DoubleMatrix

    /// The model of `block` under `config`, with the MLP linearised by `jacobian`.
    /// - Throws: ``RepairError`` when an array of the block does not fit `config`.
    public init(block weights: ViTHostWeights.Block, config: ViTConfig,
                jacobian: JacobianMethod = .analytic) throws {
        let (d, h) = (config.hiddenSize, config.mlpHiddenSize)
        try Self.check(weights, config)
        // W_v is the V slice of the fused qkv: rows [2D, 3D).
        let wv = try DoubleMatrix(rows: d, columns: d, values: weights.qkvWeight[(2 * d * d)..<(3 * d * d)].map(Double.init))
        let wo = try DoubleMatrix(rows: d, columns: d, values: weights.projWeight.map(Double.init))
        let attentionBranch = try wo.multiplied(by: wv)
        attention = Self.residual(attentionBranch, rowScale: weights.layerScale1, columnScale: weights.norm1Weight)

        let j = try MLPJacobian.compute(block: weights, config: config, method: jacobian)
        let wOut = try DoubleMatrix(rows: d, columns: h, values: weights.fc2Weight.map(Double.init))
        let mlpBranch = try wOut.multiplied(by: j)
        mlp = Self.residual(mlpBranch, rowScale: weights.layerScale2, columnScale: weights.norm2Weight)
        block = try mlp.multiplied(by: attention)
    }

    /// `I + diag(rowScale)·branch·diag(columnScale)·P`. The scalings and the centering are done in place
    /// (`X·P` subtracts each row's mean) rather than as D³ products.
    private static func residual(_ branch: DoubleMatrix, rowScale: [Float], columnScale: [Float]) -> DoubleMatrix {
        let d = branch.rows
        var m = branch
        for i in 0..<d {
            let gamma = Double(rowScale[i])
            var mean = 0.0
            for k in 0..<d {
                let value = gamma * m.values[i * d + k] * Double(columnScale[k])
                m.values[i * d + k] = value
                mean += value
            }
            mean /= Double(d)
            for k in 0..<d { m.values[i * d + k] -= mean }
            m.values[i * d + i] += 1
        }
        return m
    }

    private static func check(_ w: ViTHostWeights.Block, _ config: ViTConfig) throws {
        let (d, h) = (config.hiddenSize, config.mlpHiddenSize)
        let expected: [(String, Int, Int)] = [
            ("qkvWeight", w.qkvWeight.count, 3 * d * d), ("projWeight", w.projWeight.count, d * d),
            ("norm1Weight", w.norm1Weight.count, d), ("norm2Weight", w.norm2Weight.count, d),
            ("layerScale1", w.layerScale1.count, d), ("layerScale2", w.layerScale2.count, d),
            ("fc1Weight", w.fc1Weight.count, config.mlpInputRows * d), ("fc1Bias", w.fc1Bias.count, config.mlpInputRows),
            ("fc2Weight", w.fc2Weight.count, d * h),
        ]
        for (name, count, needed) in expected where count != needed {
            throw RepairError.shapeMismatch("\(name) holds \(count) values; \(config) needs \(needed)")
        }
        for (name, values) in [("qkvWeight", w.qkvWeight), ("projWeight", w.projWeight), ("fc1Weight", w.fc1Weight),
                               ("fc1Bias", w.fc1Bias), ("fc2Weight", w.fc2Weight), ("norm1Weight", w.norm1Weight),
                               ("norm2Weight", w.norm2Weight), ("layerScale1", w.layerScale1),
                               ("layerScale2", w.layerScale2)] {
            try Stats.checkFinite(values, name)
        }
    }
}
