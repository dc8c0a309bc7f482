import VitreousTensor

/// One pre-norm transformer block as the encoder runs it:
/// `x ← x + γ₁ ⊙ proj(attention(rope(qkv(norm1(x)))))`, then `x ← x + γ₂ ⊙ fc2(shift(act(fc1(norm2(x)))))`,
/// where `rope` (DINOv3 only) rotates the patch tokens' queries and keys.
/// Each LayerScale + residual runs in one pass with the layer norm that follows it (``layerScaleNorm``):
/// the block takes `norm1(x)` with `x` and leaves the next norm of its output beside the output.
struct ViTBlock {
    let weights: ViTWeights.Block
    let config: ViTConfig
    /// 0-based place in the encoder.
    let index: Int

    /// Replaces the residual stream `x` `[B, T, D]` by the block's output and `normalized` (norm1(x) on entry)
    /// by `nextNorm` of that output (the next block's norm1, or the final norm); what the options ask to see
    /// goes to `taps`. Each half replaces `x` as soon as it is done, so the stream it read is released (or goes
    /// back to the pool) before the next half allocates.
    func forward(_ x: inout Tensor, normalized: inout Tensor, nextNorm: (weight: Tensor, bias: Tensor),
                 _ pass: ForwardPass, _ taps: inout EncoderTaps) throws {
        (x, normalized) = try attentionHalf(x, normalized, pass, &taps)
        (x, normalized) = try mlpHalf(x, normalized, nextNorm, pass, &taps)
    }

    /// `x + γ₁ ⊙ proj(attention(rope(qkv(normalized))))` and norm2 of it, from `x` and `normalized` = norm1(x).
    private func attentionHalf(_ x: Tensor, _ normalized: Tensor, _ pass: ForwardPass,
                               _ taps: inout EncoderTaps) throws -> (sum: Tensor, normalized: Tensor) {
        let w = weights
        var qkv = try pass.run(.qkv, index) { try linear(normalized, weight: w.qkvWeight, bias: w.qkvBias) }
        if let rotary = pass.rotary {
            // A separate op for now; folding it into attention's Q/K loads would save one pass over qkv.
            qkv = try pass.run(.rotaryEmbedding, index) {
                try rotaryEmbedding(qkv: qkv, heads: config.heads, cos: rotary.cos, sin: rotary.sin,
                                    tokens: pass.layout.patches)
            }
        }
        let attended = try pass.run(.attention, index) {
            try attention(qkv: qkv, heads: config.heads, probabilities: taps.attentionRows(block: index, tokens: qkv.shape[1]),
                          precision: pass.precision)
        }
        try taps.attention(attended.probabilities, block: index)
        let projected = try pass.run(.projection, index) {
            try linear(attended.output, weight: w.projWeight, bias: w.projBias)
        }
        return try pass.run(.layerScale1, index) {
            try layerScaleNorm(projected, gamma: w.layerScale1, residual: x, weight: w.norm2Weight, bias: w.norm2Bias,
                               eps: config.layerNormEps)
        }
    }

    /// `x + γ₂ ⊙ fc2(shift(act(fc1(normalized))))` and `nextNorm` of it, from `x` and `normalized` = norm2(x);
    /// the shift only where test-time registers list this block.
    private func mlpHalf(_ x: Tensor, _ normalized: Tensor, _ nextNorm: (weight: Tensor, bias: Tensor),
                         _ pass: ForwardPass, _ taps: inout EncoderTaps) throws -> (sum: Tensor, normalized: Tensor) {
        let w = weights
        var hidden = try pass.run(.fc1, index) { try mlpHidden(normalized) }
        if let shift = pass.shift, let units = shift.neurons[index], !units.isEmpty {
            hidden = try pass.run(.neuronShift, index) {
                try shiftNeurons(hidden, neurons: units, registers: pass.layout.testTimeRegisters,
                                 patches: pass.layout.patches, rule: shift.rule, scale: shift.scale)
            }
        }
        taps.mlpActivations(hidden, block: index)
        let mlp = try pass.run(.fc2, index) { try linear(hidden, weight: w.fc2Weight, bias: w.fc2Bias) }
        return try pass.run(.layerScale2, index) {
            try layerScaleNorm(mlp, gamma: w.layerScale2, residual: x, weight: nextNorm.weight, bias: nextNorm.bias,
                               eps: config.layerNormEps)
        }
    }

    /// The MLP's hidden activations of the normalised input: `gelu(fc1(y))`, or `silu(gate) ⊙ up` for SwiGLU.
    private func mlpHidden(_ normalized: Tensor) throws -> Tensor {
        switch config.mlp {
        case .gelu:
            return try linear(normalized, weight: weights.fc1Weight, bias: weights.fc1Bias, activation: .gelu)
        case .swiglu:
            return try swiglu(try linear(normalized, weight: weights.fc1Weight, bias: weights.fc1Bias))
        }
    }
}

/// Where one forward pass's tokens lie: `[CLS, registers, patches, test-time registers]`.
struct TokenRanges {
    let firstPatch: Int
    let patches: Range<Int>
    let testTimeRegisters: Range<Int>

    init(config: ViTConfig, patchCount: Int, testTimeRegisters: Int) {
        firstPatch = 1 + config.registerCount
        patches = firstPatch..<(firstPatch + patchCount)
        self.testTimeRegisters = patches.upperBound..<(patches.upperBound + testTimeRegisters)
    }
}

/// What every step of one forward pass shares: the token layout, the shift to apply, DINOv3's rotary tables
/// for the grid (`[patches, headDim/2]` each), the precision and the trace.
struct ForwardPass {
    let layout: TokenRanges
    let shift: TestTimeRegisters?
    let rotary: (cos: Tensor, sin: Tensor)?
    /// The encoder's precision: bf16 also rounds the attention's operands.
    let precision: Precision
    let trace: (any EncoderTrace)?

    /// `body`, through the trace when there is one.
    @inline(__always)
    func run<T>(_ step: EncoderStep, _ block: Int?, _ body: () throws -> T) throws -> T {
        guard let trace else { return try body() }
        return try trace.run(step, block: block, body)
    }
}

/// The optional outputs of a forward pass, collected beside the math as the options ask: hidden states and
/// token norms after the embeddings and each block, the last block's CLS attention, chosen MLP activations.
struct EncoderTaps {
    let options: EncoderOptions
    let depth: Int
    private(set) var hiddenStates: [Tensor] = []
    private(set) var tokenNorms: [TokenNorms] = []
    private(set) var clsAttention: Tensor?
    private(set) var mlpActivations: [Int: Tensor] = [:]
    private(set) var attentionMaps: [Int: Tensor] = [:]

    init(options: EncoderOptions, depth: Int) {
        self.options = options
        self.depth = depth
    }

    /// Whether block `block`'s attention should also return its CLS softmax rows.
    func wantsAttention(block: Int) -> Bool { options.clsAttention && block == depth - 1 }

    /// The query rows block `block`'s attention should return: all of them for an attention layer, else the
    /// CLS row where ``wantsAttention(block:)``.
    func attentionRows(block: Int, tokens: Int) -> AttentionProbabilityRows? {
        if options.attentionLayers.contains(block) { return .rows(Array(0..<tokens)) }
        return wantsAttention(block: block) ? .cls : nil
    }

    /// The residual stream after the embeddings or a block.
    mutating func residual(_ x: Tensor, _ pass: ForwardPass, block: Int?) throws {
        if options.hiddenStates { hiddenStates.append(x) }
        if options.tokenNorms {
            tokenNorms.append(try pass.run(.tokenNorms, block) { try VitreousTensor.tokenNorms(x, statisticsOver: pass.layout.patches) })
        }
    }

    /// Keeps what ``attentionRows(block:tokens:)`` asked for; a full map also yields the CLS rows when wanted.
    mutating func attention(_ probabilities: Tensor?, block: Int) throws {
        guard let probabilities else { return }
        guard options.attentionLayers.contains(block) else {
            clsAttention = probabilities
            return
        }
        attentionMaps[block] = probabilities
        if wantsAttention(block: block) {
            let (b, h, t) = (probabilities.shape[0], probabilities.shape[1], probabilities.shape[3])
            clsAttention = try sliceTokens(try probabilities.reshaped([b * h, t, t]), 0..<1).reshaped([b, h, t])
        }
    }

    mutating func mlpActivations(_ hidden: Tensor, block: Int) {
        if options.mlpActivationLayers.contains(block) { mlpActivations[block] = hidden }
    }
}
