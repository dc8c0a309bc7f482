/// The key-naming schemes of DINOv2 and DINOv3 checkpoints. Loading detects the scheme (and any prefix such as
/// `dinov2.` or `model.`) from the keys, and with it the model family; writing can produce any of them.
public enum CheckpointLayout: String, Sendable, CaseIterable, Codable, CustomStringConvertible {
    /// facebookresearch/dinov2: `cls_token`, `pos_embed`, `blocks.N.attn.qkv.*` (fused), `blocks.N.ls1.gamma`,
    /// `norm.*`; SwiGLU `mlp.w12.*` / `mlp.w3.*`.
    case original
    /// Hugging Face `Dinov2Model` / `Dinov2WithRegistersModel` as `save_pretrained` writes them (the layout of
    /// downloaded checkpoints): `embeddings.*`, `encoder.layer.N.attention.attention.{query,key,value}.*`,
    /// `encoder.layer.N.layer_scale1.lambda1`, `layernorm.*`; SwiGLU `mlp.weights_in.*` / `mlp.weights_out.*`.
    case huggingFace
    /// The in-memory names of transformers ≥ 5: as ``huggingFace`` but `attention.{q,k,v,o}_proj.*`, and
    /// SwiGLU `mlp.{gate,up,down}_proj.*`.
    case transformers5
    /// facebookresearch/dinov3: `cls_token`, `storage_tokens`, `patch_embed.proj.*`, `blocks.N.attn.qkv.*` fused
    /// with its `bias_mask` (which zeroes the K bias), `blocks.N.ls1.gamma`, `mlp.fc1/fc2` or SwiGLU
    /// `mlp.w1/w2/w3`, `rope_embed.periods`, `norm.*`.
    case dinov3Original
    /// Hugging Face `DINOv3ViTModel` as `save_pretrained` writes it: `embeddings.*` (`patch_embeddings.*` is
    /// the convolution itself), `layer.N.attention.{q,k,v,o}_proj.*` with no K bias,
    /// `layer.N.layer_scale1.lambda1`, `layer.N.mlp.{up,down}_proj.*` or `{gate,up,down}_proj.*`, `norm.*`.
    case dinov3HuggingFace

    public var description: String {
        switch self {
        case .original: return "original facebookresearch/dinov2"
        case .huggingFace: return "Hugging Face"
        case .transformers5: return "transformers 5"
        case .dinov3Original: return "original facebookresearch/dinov3"
        case .dinov3HuggingFace: return "Hugging Face DINOv3"
        }
    }

    /// The model family whose checkpoints use these names.
    public var family: ModelFamily {
        switch self {
        case .original, .huggingFace, .transformers5: return .dinov2
        case .dinov3Original, .dinov3HuggingFace: return .dinov3
        }
    }
}

/// Where one canonical parameter lives in a checkpoint: one key, or several whose tensors are concatenated
/// along their first axis (the separate q, k, v projections into the fused qkv, gate and up into `w12`).
struct KeySource: Sendable {
    /// How the keys' tensors make the canonical value.
    enum Assembly: Sendable {
        /// Concatenated in order.
        case concatenated
        /// DINOv3 Hugging Face's q and v biases, with zeros for the K third between them (`key_bias` false).
        case zeroKeyBias
        /// DINOv3 original's fused qkv bias times its `bias_mask` (the second key), which zeroes the K third.
        case maskedBias
    }

    let keys: [String]
    /// The shape each key must have in the file.
    let shapes: [[Int]]
    var assembly: Assembly = .concatenated
}

extension CheckpointLayout {
    /// Whether the keys follow one of the original repositories' naming (rather than Hugging Face's).
    var isOriginal: Bool { self == .original || self == .dinov3Original }
    /// Key of the CLS token, by which the layout and its prefix are recognised.
    var clsKey: String { isOriginal ? "cls_token" : "embeddings.cls_token" }
    /// The mask token (for masked-image training): accepted when present, not needed for inference.
    var maskKey: String { isOriginal ? "mask_token" : "embeddings.mask_token" }
    /// The mask token's shape as the layout's own code stores it.
    func maskShape(_ d: Int) -> [Int] { self == .dinov3HuggingFace ? [1, 1, d] : [1, d] }
    /// DINOv3 original's RoPE periods buffer `[head_dim / 4]`, used as stored (``ViTConfig/ropePeriods``).
    static let ropePeriodsKey = "rope_embed.periods"

    /// What precedes the block number in block keys.
    var blockStem: String {
        switch self {
        case .original, .dinov3Original: return "blocks."
        case .huggingFace, .transformers5: return "encoder.layer."
        case .dinov3HuggingFace: return "layer."
        }
    }
    /// Prefix of block `index`'s keys.
    func blockPrefix(_ index: Int) -> String { blockStem + "\(index)." }

    /// The keys that hold `slot` under `config`, without any file prefix; nil when the checkpoint has no
    /// such tensor (the LayerScale of a model without it).
    func source(of slot: ParameterSlot, config: ViTConfig) -> KeySource? {
        let d = config.hiddenSize, h = config.mlpHiddenSize
        let original = isOriginal
        let patchEmbed = original ? "patch_embed.proj"
            : self == .dinov3HuggingFace ? "embeddings.patch_embeddings" : "embeddings.patch_embeddings.projection"
        let finalNorm = original || self == .dinov3HuggingFace ? "norm" : "layernorm"
        switch slot {
        case .patchEmbedWeight:
            return single(patchEmbed + ".weight", [d, config.channels, config.patchSize, config.patchSize])
        case .patchEmbedBias: return single(patchEmbed + ".bias", [d])
        case .clsToken: return single(clsKey, [1, 1, d])
        case .registerTokens:
            let name = self == .original ? "register_tokens" : original ? "storage_tokens" : "embeddings.register_tokens"
            return single(name, [1, config.registerCount, d])
        case .positionEmbedding:
            guard family == .dinov2 else { return nil }
            return single(original ? "pos_embed" : "embeddings.position_embeddings", [1, config.positionRows, d])
        case .normWeight: return single(finalNorm + ".weight", [d])
        case .normBias: return single(finalNorm + ".bias", [d])
        case .block(let index, let part):
            let block = blockPrefix(index)
            func key(_ name: String, _ shape: [Int]) -> KeySource { single(block + name, shape) }
            func parts(_ names: [String], _ suffix: String, _ shape: [Int]) -> KeySource {
                KeySource(keys: names.map { block + $0 + suffix }, shapes: Array(repeating: shape, count: names.count))
            }
            let qkv: [String], proj: String
            switch self {
            case .original, .dinov3Original:
                (qkv, proj) = (["attn.qkv"], "attn.proj")
            case .huggingFace:
                qkv = ["attention.attention.query", "attention.attention.key", "attention.attention.value"]
                proj = "attention.output.dense"
            case .transformers5, .dinov3HuggingFace:
                (qkv, proj) = (["attention.q_proj", "attention.k_proj", "attention.v_proj"], "attention.o_proj")
            }
            let qkvRows = 3 * d / qkv.count
            let (mlpIn, mlpOut) = mlpNames(config.mlp)
            let mlpInRows = config.mlpInputRows / mlpIn.count
            switch part {
            case .norm1Weight: return key("norm1.weight", [d])
            case .norm1Bias: return key("norm1.bias", [d])
            case .norm2Weight: return key("norm2.weight", [d])
            case .norm2Bias: return key("norm2.bias", [d])
            case .qkvWeight: return parts(qkv, ".weight", [qkvRows, d])
            case .qkvBias:
                switch self {
                case .dinov3Original:
                    return KeySource(keys: [block + "attn.qkv.bias", block + "attn.qkv.bias_mask"],
                                     shapes: [[3 * d], [3 * d]], assembly: .maskedBias)
                case .dinov3HuggingFace:
                    return KeySource(keys: [block + "attention.q_proj.bias", block + "attention.v_proj.bias"],
                                     shapes: [[d], [d]], assembly: .zeroKeyBias)
                default: return parts(qkv, ".bias", [qkvRows])
                }
            case .projWeight: return key(proj + ".weight", [d, d])
            case .projBias: return key(proj + ".bias", [d])
            case .layerScale1, .layerScale2:
                guard config.hasLayerScale else { return nil }
                let which = part == .layerScale1 ? "1" : "2"
                return key(original ? "ls\(which).gamma" : "layer_scale\(which).lambda1", [d])
            case .fc1Weight: return parts(mlpIn, ".weight", [mlpInRows, d])
            case .fc1Bias: return parts(mlpIn, ".bias", [mlpInRows])
            case .fc2Weight: return key(mlpOut + ".weight", [d, h])
            case .fc2Bias: return key(mlpOut + ".bias", [d])
            }
        }
    }

    /// Names (under a block) of the MLP's input projection(s), concatenated in order, and its output.
    func mlpNames(_ kind: MLPKind) -> (input: [String], output: String) {
        switch (kind, self) {
        case (.gelu, .dinov3HuggingFace): return (["mlp.up_proj"], "mlp.down_proj")
        case (.gelu, _): return (["mlp.fc1"], "mlp.fc2")
        case (.swiglu, .original): return (["mlp.w12"], "mlp.w3")
        case (.swiglu, .huggingFace): return (["mlp.weights_in"], "mlp.weights_out")
        case (.swiglu, .transformers5), (.swiglu, .dinov3HuggingFace):
            return (["mlp.gate_proj", "mlp.up_proj"], "mlp.down_proj")
        case (.swiglu, .dinov3Original): return (["mlp.w1", "mlp.w2"], "mlp.w3")
        }
    }

    private func single(_ key: String, _ shape: [Int]) -> KeySource { KeySource(keys: [key], shapes: [shape]) }
}

/// A checkpoint's layout and the prefix in front of every model key (`""`, `"dinov2."`, `"model."`, ...).
struct DetectedLayout: Sendable {
    let layout: CheckpointLayout
    let prefix: String

    /// Recognises the layout by the CLS token's key and its prefix by what stands in front of it; DINOv3 by
    /// the absence of a position table (and, for Hugging Face, its `layer.N.` blocks); the transformers-5
    /// names by the first block's `q_proj`.
    static func detect(_ names: [String], file: String) throws -> DetectedLayout {
        var found: [DetectedLayout] = []
        for name in names where name.hasSuffix("cls_token") {
            for layout in [CheckpointLayout.huggingFace, .original] where name.hasSuffix(layout.clsKey) {
                let prefix = String(name.dropLast(layout.clsKey.count))
                guard prefix.isEmpty || prefix.hasSuffix(".") else { continue }
                // `embeddings.cls_token` also ends in `cls_token` after the prefix `embeddings.`.
                if layout == .original && prefix.hasSuffix("embeddings.") { continue }
                found.append(DetectedLayout(layout: layout, prefix: prefix))
                break
            }
        }
        guard let first = found.first else {
            let sample = names.prefix(8).joined(separator: ", ")
            throw ModelError.layout(file: file, problem: "no CLS token key (cls_token or embeddings.cls_token): "
                + "not a DINOv2 or DINOv3 checkpoint in a known layout (keys: \(sample)\(names.count > 8 ? ", …" : ""))")
        }
        guard found.count == 1 else {
            let keys = found.map { $0.prefix + $0.layout.clsKey }.joined(separator: ", ")
            throw ModelError.layout(file: file, problem: "several CLS token keys (\(keys)): more than one model "
                + "in one file; extract one first")
        }
        let keys = Set(names)
        if first.layout == .original && !keys.contains(first.prefix + "pos_embed")
            && (keys.contains(first.prefix + CheckpointLayout.ropePeriodsKey)
                || keys.contains(first.prefix + "storage_tokens")) {
            return DetectedLayout(layout: .dinov3Original, prefix: first.prefix)
        }
        if first.layout == .huggingFace && !keys.contains(first.prefix + "embeddings.position_embeddings")
            && keys.contains(first.prefix + "embeddings.patch_embeddings.weight") {
            return DetectedLayout(layout: .dinov3HuggingFace, prefix: first.prefix)
        }
        if first.layout == .huggingFace {
            let t5Key = first.prefix + CheckpointLayout.transformers5.blockPrefix(0) + "attention.q_proj.weight"
            if names.contains(t5Key) { return DetectedLayout(layout: .transformers5, prefix: first.prefix) }
        }
        return first
    }
}
