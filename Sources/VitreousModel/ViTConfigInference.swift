import Foundation

extension ViTConfig {
    /// The configuration of the checkpoint in `file`, read from its tensor shapes: the family (DINOv2 or
    /// DINOv3) from the key layout, D from the CLS token, the patch size from the patch embedding, the depth
    /// from the block numbers, the MLP kind from its key names and its width from the first MLP matrix,
    /// registers (DINOv3's storage tokens) from the register tokens, the stored grid from the position
    /// table's rows (DINOv3: `image_size` of config.json over the patch, else 224 px), LayerScale and qkv
    /// bias from their keys' presence, DINOv3's RoPE θ from the original's `rope_embed.periods` or
    /// config.json's `rope_theta` (else 100).
    ///
    /// The head count is not in the shapes: it is `heads` when given, else `num_attention_heads` of a
    /// Hugging Face `config.json` in the same folder, else `num_attention_heads` in the file's metadata (Vitreous
    /// writes it), else D/64 (the head dimension of every DINOv2 and DINOv3 size but DINOv3 ViT-7B's 128).
    /// That `config.json` also supplies `layer_norm_eps` (else 1e-6 for DINOv2, 1e-5 for DINOv3). The position interpolation is the default for the
    /// register count (``defaultInterpolation(registers:)``); change the result's fields to override any of it.
    /// - Throws: ``ModelError/layout(file:problem:)`` when the keys follow no known layout or a size cannot
    ///   be inferred, ``ModelError/invalidConfig(_:)`` when the result is not a valid model.
    public static func inferred(from file: SafetensorsFile, heads: Int? = nil) throws -> ViTConfig {
        let detected = try DetectedLayout.detect(file.names, file: file.url.path)
        return try inferred(from: file, layout: detected, heads: heads)
    }

    static func inferred(from file: SafetensorsFile, layout detected: DetectedLayout, heads: Int?) throws -> ViTConfig {
        let path = file.url.path
        let layout = detected.layout, prefix = detected.prefix
        func fail(_ problem: String) -> ModelError { .layout(file: path, problem: problem) }
        func shape(_ key: String) throws -> [Int]? {
            file.contains(prefix + key) ? try file.info(prefix + key).shape : nil
        }

        guard let clsShape = try shape(layout.clsKey), let hidden = clsShape.last, hidden > 0 else {
            throw fail("cannot infer the hidden size: '\(prefix + layout.clsKey)' is empty")
        }
        // A placeholder config only to ask the layout for key names; sizes are filled in below. Validated
        // first: the layout computes block shapes from the hidden size, which must not overflow.
        let family = layout.family
        let names = ViTConfig(hiddenSize: hidden, depth: 1, heads: 1, mlpHiddenSize: 1, family: family)
        try names.validate()
        let patchKey = layout.source(of: .patchEmbedWeight, config: names)?.keys.first ?? ""
        guard let patchShape = try shape(patchKey) else { throw fail("no patch embedding '\(prefix + patchKey)'") }
        guard patchShape.count == 4, patchShape[2] == patchShape[3], patchShape[2] > 0 else {
            throw fail("cannot infer the patch size: '\(prefix + patchKey)' has shape \(patchShape), "
                + "not [D, 3, p, p]")
        }

        let blocks = blockNumbers(file.names, stem: prefix + layout.blockStem)
        guard !blocks.isEmpty else { throw fail("no transformer blocks ('\(prefix + layout.blockPrefix(0))…')") }
        // Numbered 0…N-1 without gaps: the depth then comes from the keys' count, not from the largest
        // number a key happens to carry (a stray `blocks.999999999.x` would ask for a billion blocks).
        if let gap = (0..<blocks.count).first(where: { !blocks.contains($0) }) {
            throw fail("transformer blocks are not numbered 0…\(blocks.count - 1): there is no block \(gap) "
                + "('\(prefix + layout.blockPrefix(gap))…') but there is a block \(blocks.max() ?? gap)")
        }
        let depth = blocks.count

        let block = layout.blockPrefix(0)
        let mlp: MLPKind
        let mlpHidden: Int
        let geluInput = layout.mlpNames(.gelu).input[0], swigluInput = layout.mlpNames(.swiglu).input
        // SwiGLU first: DINOv3 Hugging Face's GELU input `up_proj` is also SwiGLU's second input.
        if let first = try shape(block + swigluInput[0] + ".weight") {
            // A fused w12 holds gate and up; transformers 5 and DINOv3 store them apart.
            (mlp, mlpHidden) = (.swiglu, swigluInput.count == 1 ? (first.first ?? 0) / 2 : (first.first ?? 0))
        } else if let fc1 = try shape(block + geluInput + ".weight") {
            (mlp, mlpHidden) = (.gelu, fc1.first ?? 0)
        } else {
            throw fail("cannot find block 0's MLP: neither '\(prefix + block + geluInput).weight' "
                + "nor '\(prefix + block + swigluInput[0]).weight'")
        }

        let registerKey = layout.source(of: .registerTokens, config: names)?.keys.first ?? ""
        let registers = try shape(registerKey).map { $0.reduce(1, *) / hidden } ?? 0

        let hub = try HubConfig(beside: file.url)
        let grid: Int
        if family == .dinov2 {
            let positionKey = layout.source(of: .positionEmbedding, config: names)?.keys.first ?? ""
            guard let positionShape = try shape(positionKey) else {
                throw fail("no position table '\(prefix + positionKey)'")
            }
            let rows = positionShape.reduce(1, *) / hidden
            grid = Int(Double(max(rows - 1, 0)).squareRoot().rounded())
            guard rows >= 2, grid * grid == rows - 1 else {
                throw fail("'\(prefix + positionKey)' has shape \(positionShape): \(rows) rows are not 1 + a square grid")
            }
        } else {
            // No table: the training resolution (224 px unless config.json says otherwise) as the native grid.
            grid = max(1, (hub?.imageSize ?? 224) / patchShape[3])
        }

        let layerScaleKey = layout.source(of: .block(0, .layerScale1), config: names)?.keys.first ?? ""
        let qkvBiasKey = layout.source(of: .block(0, .qkvBias), config: names)?.keys.first ?? ""
        if let size = hub?.hiddenSize, size != hidden {
            throw fail("config.json beside the weights says hidden_size \(size) but the weights have \(hidden)")
        }
        let stored = file.metadata["num_attention_heads"].flatMap { Int($0) }.flatMap { $0 > 0 ? $0 : nil }
        // Heads of 64 in every DINOv2 and DINOv3 size but DINOv3 ViT-7B (D 4096, 32 heads of 128).
        let defaultHeads = family == .dinov3 && hidden == 4096 ? 32 : hidden % 64 == 0 ? hidden / 64 : 0
        let headCount = heads ?? hub?.heads ?? stored ?? (defaultHeads > 0 ? defaultHeads : 0)
        guard headCount > 0 else {
            throw fail("cannot infer the head count for hidden size \(hidden) (not a multiple of 64) without a "
                + "config.json; pass heads explicitly")
        }
        var config = ViTConfig(patchSize: patchShape[3], hiddenSize: hidden, depth: depth, heads: headCount,
                               mlpHiddenSize: mlpHidden, mlp: mlp, registerCount: registers, positionGrid: grid,
                               layerNormEps: hub?.layerNormEps ?? (family == .dinov3 ? 1e-5 : 1e-6),
                               hasLayerScale: file.contains(prefix + layerScaleKey),
                               hasQKVBias: file.contains(prefix + qkvBiasKey), family: family,
                               ropeTheta: hub?.ropeTheta ?? 100)
        try config.validate()
        let periodsKey = prefix + CheckpointLayout.ropePeriodsKey
        if detected.layout == .dinov3Original, file.contains(periodsKey) {
            // The original's periods, used as stored: they set θ (and the periods, when not of θ's form).
            config = try DINOv3Keys.applying(periods: try file.floats(periodsKey), to: config, file: file.url.path,
                                             key: periodsKey)
        }
        try config.validate()
        return config
    }

    /// The numbers N of keys `<stem>N.…`.
    private static func blockNumbers(_ names: [String], stem: String) -> Set<Int> {
        var numbers: Set<Int> = []
        for name in names where name.hasPrefix(stem) {
            let digits = name.dropFirst(stem.count).prefix { $0.isASCII && $0.isNumber }
            if let index = Int(digits) { numbers.insert(index) }
        }
        return numbers
    }
}

/// The fields of a Hugging Face `config.json` that the shapes cannot tell.
private struct HubConfig {
    let heads: Int?
    let hiddenSize: Int?
    let layerNormEps: Float?
    /// DINOv3's `rope_theta`.
    let ropeTheta: Float?
    /// `image_size`, a number or the first of `[height, width]`.
    let imageSize: Int?

    /// Reads `config.json` in the folder of `weights`; nil when there is none.
    init?(beside weights: URL) throws {
        let url = weights.deletingLastPathComponent().appendingPathComponent("config.json")
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: try Data(contentsOf: url))
        } catch {
            throw ModelError.layout(file: url.path,
                                    problem: "not a readable JSON config (\(error.localizedDescription))")
        }
        guard let fields = object as? [String: Any] else {
            throw ModelError.layout(file: url.path, problem: "not a JSON object")
        }
        heads = (fields["num_attention_heads"] as? NSNumber).flatMap { $0 as? Int }
        hiddenSize = (fields["hidden_size"] as? NSNumber).flatMap { $0 as? Int }
        layerNormEps = (fields["layer_norm_eps"] as? NSNumber).map { $0.floatValue }
        ropeTheta = (fields["rope_theta"] as? NSNumber).map { $0.floatValue }
        let size = fields["image_size"] as? NSNumber ?? (fields["image_size"] as? [NSNumber])?.first
        imageSize = size.flatMap { $0 as? Int }.flatMap { $0 > 0 ? $0 : nil }
    }
}
