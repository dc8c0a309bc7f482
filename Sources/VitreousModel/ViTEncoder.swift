import Foundation
import VitreousTensor

/// What a forward pass computes beyond the final tokens. Everything here is off by default and costs
/// nothing unless asked for.
public struct EncoderOptions: Sendable, Equatable {
    /// Keep the residual stream after the embeddings and after every block (`depth + 1` tensors).
    public var hiddenStates = false
    /// Token norms after the embeddings and after every block, by the fused token-norm kernel, with
    /// per-image statistics over the patch tokens.
    public var tokenNorms = false
    /// The last block's softmax attention of the CLS query, per head.
    public var clsAttention = false
    /// Test-time registers: extra tokens after the patches that chosen MLP neurons' activations are moved
    /// into, so the artifacts form there instead of on the patches. Nil: the plain forward pass.
    public var testTimeRegisters: TestTimeRegisters?
    /// Blocks (0-based) whose MLP hidden activations to return, after the nonlinearity and any shift:
    /// what finding register neurons reads.
    public var mlpActivationLayers: Set<Int> = []

    public init(hiddenStates: Bool = false, tokenNorms: Bool = false, clsAttention: Bool = false,
                testTimeRegisters: TestTimeRegisters? = nil, mlpActivationLayers: Set<Int> = []) {
        self.hiddenStates = hiddenStates
        self.tokenNorms = tokenNorms
        self.clsAttention = clsAttention
        self.testTimeRegisters = testTimeRegisters
        self.mlpActivationLayers = mlpActivationLayers
    }
}

/// Register neurons and how to move them: the training-free "test-time registers" repair. Stored as JSON
/// so a set found once (`vitreous repair --find-neurons`) can be reused.
public struct TestTimeRegisters: Codable, Sendable, Equatable {
    /// Extra tokens appended after the patches (zero vectors, no position embedding).
    public var count: Int
    /// Block index (0-based) → MLP hidden indices whose activations move into the registers.
    public var neurons: [Int: [Int]]
    public var rule: NeuronShiftRule
    public var scale: Float

    public init(neurons: [Int: [Int]], count: Int = 1, rule: NeuronShiftRule = .jointSignedMax, scale: Float = 1) {
        self.neurons = neurons
        self.count = count
        self.rule = rule
        self.scale = scale
    }
}

/// The result of ``ViTEncoder/encode(_:options:)`` for a batch of B images with a gh × gw patch grid.
public struct EncoderOutput: Sendable {
    /// `[B, T, D]` after the final layer norm, tokens in model order: CLS, registers, patches.
    public let tokens: Tensor
    /// `[B, D]`: the CLS token.
    public let cls: Tensor
    /// `[B, R, D]`, or nil for a model without registers.
    public let registers: Tensor?
    /// `[B, gh, gw, D]`: the patch tokens on their grid (row = y).
    public let patches: Tensor
    /// The patch grid.
    public let gridHeight: Int, gridWidth: Int
    /// With ``EncoderOptions/hiddenStates``: `[B, T, D]` after the embeddings (index 0, registers included)
    /// and after each block (index i), before the final norm.
    public let hiddenStates: [Tensor]?
    /// With ``EncoderOptions/tokenNorms``: per layer as ``hiddenStates`` is indexed, norms `[B, T]` and
    /// per-image statistics over the patch tokens.
    public let tokenNorms: [TokenNorms]?
    /// With ``EncoderOptions/clsAttention``: the last block's CLS attention `[B, heads, T]`; each row sums to 1.
    public let clsAttention: Tensor?
    /// Index of the first patch token, `1 + R`.
    public let firstPatch: Int
    /// With ``EncoderOptions/testTimeRegisters``: `[B, K, D]`, the test-time registers after the final norm
    /// (they follow the patches in ``tokens``).
    public let testTimeRegisters: Tensor?
    /// With ``EncoderOptions/mlpActivationLayers``: block → its MLP activations `[B, T, H]`.
    public let mlpActivations: [Int: Tensor]
}

/// A DINOv2-family ViT encoder on one device: weights loaded once, any image size whose sides are
/// multiples of the patch size, a batch of images of one size per call. Safe to share between threads.
public final class ViTEncoder: Sendable {
    /// The weights, all on ``device``.
    public let weights: ViTWeights
    private let positionCache = PositionTableCache()

    public var config: ViTConfig { weights.config }
    public var device: Device { weights.device }

    public init(weights: ViTWeights) {
        self.weights = weights
    }

    /// Loads a safetensors checkpoint in any supported key layout onto `device`.
    public convenience init(contentsOf url: URL, on device: Device = .default, config: ViTConfig? = nil) throws {
        self.init(weights: try ViTWeights.load(url, on: device, config: config))
    }

    /// Runs the encoder on `images` `[B, 3, H, W]` (normalised with ImageNet mean/std, H and W multiples of
    /// the patch size; `Preprocessor` in VitreousImage makes such tensors).
    public func encode(_ images: Tensor, options: EncoderOptions = EncoderOptions()) throws -> EncoderOutput {
        let config = self.config
        guard images.rank == 4, images.shape[1] == config.channels else {
            throw ModelError.invalidArgument("images must be [batch, \(config.channels), height, width], got \(images.shape)")
        }
        guard images.device == device else {
            throw ModelError.invalidArgument("images are on \(images.device) but the model is on \(device)")
        }
        let (batch, grid) = (images.shape[0], try config.patchGrid(imageHeight: images.shape[2], imageWidth: images.shape[3]))
        guard batch > 0 else { throw ModelError.invalidArgument("an empty batch") }
        let patchCount = grid.height * grid.width
        let firstPatch = 1 + config.registerCount
        let patchRange = firstPatch..<(firstPatch + patchCount)
        let shift = options.testTimeRegisters
        let extra = shift?.count ?? 0
        let registerRange = patchRange.upperBound..<(patchRange.upperBound + extra)
        if let shift {
            guard shift.count >= 1 else { throw ModelError.invalidArgument("test-time registers: count \(shift.count)") }
            for (layer, units) in shift.neurons where !(0..<config.depth).contains(layer)
                || !units.allSatisfy({ (0..<config.mlpHiddenSize).contains($0) }) {
                throw ModelError.invalidArgument("test-time registers: block \(layer) neurons \(units) do not fit "
                    + "\(config.depth) blocks of \(config.mlpHiddenSize) MLP units")
            }
        }

        // Embeddings: patches as one GEMM, then CLS / registers / position embeddings in one pass.
        let patches = try linear(try patchify(images, patch: config.patchSize), weight: weights.patchEmbedWeight,
                                 bias: weights.patchEmbedBias)
        var x = try assembleTokens(patches: patches, cls: weights.clsToken, registers: weights.registerTokens,
                                   positions: try positionTable(grid.height, grid.width), extraTokens: extra)

        var hidden: [Tensor] = []
        var norms: [TokenNorms] = []
        func record(_ state: Tensor) throws {
            if options.hiddenStates { hidden.append(state) }
            if options.tokenNorms { norms.append(try tokenNorms(state, statisticsOver: patchRange)) }
        }
        try record(x)
        var clsAttention: Tensor?
        var activations: [Int: Tensor] = [:]
        // Each sublayer's LayerScale + residual runs in one pass with the layer norm after it (the next
        // sublayer's, or the final one), so `normalized` is always layerNorm(x) for what comes next.
        let blocks = weights.blocks
        var normalized = try layerNorm(x, weight: blocks.first?.norm1Weight ?? weights.normWeight,
                                       bias: blocks.first?.norm1Bias ?? weights.normBias, eps: config.layerNormEps)
        for (index, block) in blocks.enumerated() {
            let wantAttention = options.clsAttention && index == blocks.count - 1
            let attended = try self.attention(normalized, block, clsProbabilities: wantAttention)
            clsAttention = attended.probabilities ?? clsAttention
            (x, normalized) = try layerScaleNorm(attended.output, gamma: block.layerScale1, residual: x,
                                                 weight: block.norm2Weight, bias: block.norm2Bias,
                                                 eps: config.layerNormEps)
            var hidden = try mlpHidden(normalized, block)
            if let shift, let units = shift.neurons[index], !units.isEmpty {
                hidden = try shiftNeurons(hidden, neurons: units, registers: registerRange, patches: patchRange,
                                          rule: shift.rule, scale: shift.scale)
            }
            if options.mlpActivationLayers.contains(index) { activations[index] = hidden }
            let mlp = try linear(hidden, weight: block.fc2Weight, bias: block.fc2Bias)
            let next = index + 1 < blocks.count ? (blocks[index + 1].norm1Weight, blocks[index + 1].norm1Bias)
                                                 : (weights.normWeight, weights.normBias)
            (x, normalized) = try layerScaleNorm(mlp, gamma: block.layerScale2, residual: x, weight: next.0,
                                                 bias: next.1, eps: config.layerNormEps)
            try record(x)
        }

        let tokens = normalized  // the final norm, fused into the last block's seam
        return EncoderOutput(
            tokens: tokens,
            cls: try sliceTokens(tokens, 0..<1).reshaped([batch, config.hiddenSize]),
            registers: config.registerCount > 0 ? try sliceTokens(tokens, 1..<firstPatch) : nil,
            patches: try sliceTokens(tokens, patchRange).reshaped([batch, grid.height, grid.width, config.hiddenSize]),
            gridHeight: grid.height, gridWidth: grid.width,
            hiddenStates: options.hiddenStates ? hidden : nil,
            tokenNorms: options.tokenNorms ? norms : nil,
            clsAttention: clsAttention, firstPatch: firstPatch,
            testTimeRegisters: extra > 0 ? try sliceTokens(tokens, registerRange) : nil,
            mlpActivations: activations)
    }

    /// The attention branch on `normalized` = norm1(x): `proj(attention(qkv(normalized)))`.
    private func attention(_ normalized: Tensor, _ block: ViTWeights.Block, clsProbabilities: Bool) throws
        -> (output: Tensor, probabilities: Tensor?) {
        let qkv = try linear(normalized, weight: block.qkvWeight, bias: block.qkvBias)
        let attended = try VitreousTensor.attention(qkv: qkv, heads: config.heads,
                                                    probabilities: clsProbabilities ? .cls : nil)
        let projected = try linear(attended.output, weight: block.projWeight, bias: block.projBias)
        return (projected, attended.probabilities)
    }

    /// The MLP's hidden activations on `normalized` = norm2(x): `gelu(fc1(normalized))`, or
    /// `silu(gate) ⊙ up` for SwiGLU.
    private func mlpHidden(_ normalized: Tensor, _ block: ViTWeights.Block) throws -> Tensor {
        switch config.mlp {
        case .gelu:
            return try linear(normalized, weight: block.fc1Weight, bias: block.fc1Bias, activation: .gelu)
        case .swiglu:
            return try swiglu(try linear(normalized, weight: block.fc1Weight, bias: block.fc1Bias))
        }
    }

    /// The position table for a grid, resampled once per grid size and kept.
    private func positionTable(_ height: Int, _ width: Int) throws -> Tensor {
        if let cached = positionCache.table(height, width) { return cached }
        let table = try weights.positionEmbedding(gridHeight: height, gridWidth: width)
        positionCache.store(table, height, width)
        return table
    }
}

/// Resampled position tables by grid size.
private final class PositionTableCache: @unchecked Sendable {  // `tables` behind `lock`; tensors are immutable
    private let lock = NSLock()
    private var tables: [[Int]: Tensor] = [:]

    func table(_ height: Int, _ width: Int) -> Tensor? { lock.withLock { tables[[height, width]] } }
    func store(_ table: Tensor, _ height: Int, _ width: Int) { lock.withLock { tables[[height, width]] = table } }
}
