import Foundation
import VitreousTensor

/// A DINOv2- or DINOv3-family ViT encoder on one device: weights loaded once, any image size whose sides are
/// multiples of the patch size, a batch of images of one size per call. Safe to share between threads.
public final class ViTEncoder: Sendable {
    /// The weights, all on ``device``; the linear layers' in ``precision``.
    public let weights: ViTWeights
    /// The number format of the linear layers and the attention's products (see ``Precision``).
    public let precision: Precision
    private let gridCache = GridTableCache()

    /// The model's configuration.
    public var config: ViTConfig { weights.config }
    /// The device the weights are on and the encoder runs on.
    public var device: Device { weights.device }

    /// An encoder on `weights` as they are: its ``precision`` is the one their linear weights are stored in
    /// (``ViTParameters/converted(to:)``).
    public init(weights: ViTWeights) {
        self.weights = weights
        precision = weights.patchEmbedWeight.precision
    }

    /// An encoder computing in `precision`: the linear weights converted once, here (the float32 ones are not
    /// kept by the encoder).
    /// - Throws: ``VitreousError/invalidArgument(_:)`` for a precision the weights' device does not run.
    public convenience init(weights: ViTWeights, precision: Precision) throws {
        self.init(weights: try weights.converted(to: precision))
    }

    /// Loads a safetensors checkpoint in any supported key layout onto `device`, its linear layers in `precision`.
    public convenience init(contentsOf url: URL, on device: Device = .default, config: ViTConfig? = nil,
                            precision: Precision = .fp32) throws {
        self.init(weights: try ViTWeights.load(SafetensorsFile(url), on: device, config: config, precision: precision))
    }

    /// Runs the encoder on `images` `[B, 3, H, W]` (normalised with ImageNet mean/std, H and W multiples of
    /// the patch size; `Preprocessor` in VitreousImage makes such tensors).
    public func encode(_ images: Tensor, options: EncoderOptions = EncoderOptions()) throws -> EncoderOutput {
        try encode(images, options: options, trace: nil)
    }

    /// ``encode(_:options:)``, each step run through `trace` (`vitreous-bench`'s breakdown times them).
    package func encode(_ images: Tensor, options: EncoderOptions, trace: (any EncoderTrace)?) throws -> EncoderOutput {
        let config = self.config
        let (batch, grid) = try checkImages(images)
        try options.validate(for: config)
        let extra = options.testTimeRegisters?.count ?? 0
        let tables = try gridTables(grid.height, grid.width)
        let pass = ForwardPass(layout: TokenRanges(config: config, patchCount: grid.height * grid.width,
                                                   testTimeRegisters: extra),
                               shift: options.testTimeRegisters, rotary: tables.rotary, precision: precision,
                               trace: trace)
        var taps = EncoderTaps(options: options, depth: config.depth)

        // Embeddings: patches as one GEMM, then CLS / registers / position embeddings (zeros for DINOv3) in one pass.
        var x = try pass.run(.embedding, nil) {
            let patches = try linear(try patchify(images, patch: config.patchSize), weight: weights.patchEmbedWeight,
                                     bias: weights.patchEmbedBias)
            return try assembleTokens(patches: patches, cls: weights.clsToken, registers: weights.registerTokens,
                                      positions: tables.positions, extraTokens: extra)
        }
        try taps.residual(x, pass, block: nil)
        let blocks = self.blocks
        let norms = blocks.map { ($0.weights.norm1Weight, $0.weights.norm1Bias) } + [(weights.normWeight, weights.normBias)]
        // Every later norm is fused into the LayerScale before it; the last one is the final norm.
        var normalized = try pass.run(.norm1, 0) {
            try layerNorm(x, weight: norms[0].0, bias: norms[0].1, eps: config.layerNormEps)
        }
        for block in blocks {
            try block.forward(&x, normalized: &normalized, nextNorm: norms[block.index + 1], pass, &taps)
            try taps.residual(x, pass, block: block.index)
        }
        let tokens = normalized
        return try pass.run(.outputs, nil) {
            try output(tokens, batch: batch, grid: grid, layout: pass.layout, taps: taps)
        }
    }

    /// The blocks in order.
    private var blocks: [ViTBlock] {
        weights.blocks.enumerated().map { ViTBlock(weights: $1, config: config, index: $0) }
    }

    /// Batch size and patch grid of `images`, or the error that says why they do not fit this model.
    private func checkImages(_ images: Tensor) throws -> (batch: Int, grid: (height: Int, width: Int)) {
        guard images.rank == 4, images.shape[1] == config.channels else {
            throw ModelError.invalidArgument("images must be [batch, \(config.channels), height, width], got \(images.shape)")
        }
        guard images.device == device else {
            throw ModelError.invalidArgument("images are on \(images.device) but the model is on \(device)")
        }
        let (batch, grid) = (images.shape[0], try config.patchGrid(imageHeight: images.shape[2], imageWidth: images.shape[3]))
        guard batch > 0 else { throw ModelError.invalidArgument("an empty batch") }
        return (batch, (grid.height, grid.width))
    }

    /// The final tokens split into CLS, registers, patches and test-time registers, with what the taps hold.
    private func output(_ tokens: Tensor, batch: Int, grid: (height: Int, width: Int), layout: TokenRanges,
                        taps: EncoderTaps) throws -> EncoderOutput {
        EncoderOutput(
            tokens: tokens,
            cls: try sliceTokens(tokens, 0..<1).reshaped([batch, config.hiddenSize]),
            registers: config.registerCount > 0 ? try sliceTokens(tokens, 1..<layout.firstPatch) : nil,
            patches: try sliceTokens(tokens, layout.patches).reshaped([batch, grid.height, grid.width, config.hiddenSize]),
            gridHeight: grid.height, gridWidth: grid.width,
            hiddenStates: taps.options.hiddenStates ? taps.hiddenStates : nil,
            tokenNorms: taps.options.tokenNorms ? taps.tokenNorms : nil,
            clsAttention: taps.clsAttention, firstPatch: layout.firstPatch,
            testTimeRegisters: layout.testTimeRegisters.isEmpty ? nil : try sliceTokens(tokens, layout.testTimeRegisters),
            mlpActivations: taps.mlpActivations, attentionMaps: taps.attentionMaps)
    }

    /// The position table (resampled) and, for DINOv3, the rotary tables of a grid: made once per grid size
    /// and kept.
    private func gridTables(_ height: Int, _ width: Int) throws -> GridTables {
        if let cached = gridCache.tables(height, width) { return cached }
        var rotary: (cos: Tensor, sin: Tensor)?
        if config.family == .dinov3 {
            let made = RotaryTables(gridHeight: height, gridWidth: width, config: config)
            let shape = [height * width, config.headDimension / 2]
            rotary = (try Tensor(made.cos, shape: shape, on: device), try Tensor(made.sin, shape: shape, on: device))
        }
        let tables = GridTables(positions: try weights.positionEmbedding(gridHeight: height, gridWidth: width),
                                rotary: rotary)
        gridCache.store(tables, height, width)
        return tables
    }
}

/// What a forward pass needs for one patch grid besides the weights.
private struct GridTables: Sendable {
    let positions: Tensor
    let rotary: (cos: Tensor, sin: Tensor)?
}

/// Grid tables by grid size.
private final class GridTableCache: @unchecked Sendable {  // `tables` behind `lock`; tensors are immutable
    private let lock = NSLock()
    private var tables: [[Int]: GridTables] = [:]

    func tables(_ height: Int, _ width: Int) -> GridTables? { lock.withLock { tables[[height, width]] } }
    func store(_ made: GridTables, _ height: Int, _ width: Int) { lock.withLock { tables[[height, width]] = made } }
}
