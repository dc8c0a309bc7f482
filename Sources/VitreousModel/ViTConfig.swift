/// The feed-forward network of each transformer block.
public enum MLPKind: String, Codable, Sendable, CaseIterable {
    /// `fc2(gelu(fc1(x)))` with exact-erf GELU: ViT-S, B and L.
    case gelu
    /// `w3(silu(gate) ⊙ up)` where `w12(x)` = `[gate, up]`: ViT-g.
    case swiglu
}

/// How the stored position-embedding grid is resampled to an image's patch grid. Each is PyTorch's
/// `interpolate(mode="bicubic", align_corners=False)` as one family of models calls it; see
/// ``PositionEmbedding`` for the exact weights.
public enum PositionInterpolation: String, Codable, Sendable, CaseIterable {
    /// To an explicit output size, without antialiasing (Keys a = −0.75, four taps, edge replication):
    /// Hugging Face `Dinov2Model` (transformers ≥ 4.45).
    case bicubic
    /// To an explicit output size, with antialiasing (Keys a = −0.5, support 2·max(scale, 1), normalised
    /// weights): `Dinov2WithRegistersModel` and the original `*_reg` hub models.
    case bicubicAntialiased
    /// The original facebookresearch/dinov2 non-register models (and transformers ≤ 4.44): a scale factor
    /// `(g + 0.1)/M` instead of a size, so the coordinate scale is `M/(g + 0.1)`; no antialiasing. Use it to
    /// match `torch.hub` outputs.
    case dinov2Original
}

/// Which family of DINO Vision Transformer a model belongs to: how patches learn where they are.
public enum ModelFamily: String, Codable, Sendable, CaseIterable {
    /// DINOv2 (Oquab et al., 2023): patch 14, a learned position table added to the embeddings and resampled
    /// to the image's grid, optional register tokens.
    case dinov2
    /// DINOv3 (Siméoni et al., 2025): patch 16, no position table; an axial 2-D rotary embedding (RoPE) on the
    /// patch tokens' queries and keys in every block (``ViTConfig/ropeTheta``), 4 storage (register) tokens,
    /// the K bias masked to zero, LayerNorm eps 1e-5.
    case dinov3
}

/// The architecture of a DINOv2- or DINOv3-family Vision Transformer: what the weights' shapes and the
/// forward pass depend on. Token order: CLS, registers (DINOv3's storage tokens), patches.
public struct ViTConfig: Codable, Sendable, Equatable, CustomStringConvertible {
    /// DINOv2 (learned position table) or DINOv3 (rotary embedding).
    public var family: ModelFamily
    /// Side of a square patch in pixels (14 for every DINOv2 model, 16 for DINOv3).
    public var patchSize: Int
    /// Width of every token, D.
    public var hiddenSize: Int
    /// Number of transformer blocks, L.
    public var depth: Int
    /// Attention heads per block; the head dimension is `hiddenSize / heads` (64 for every DINOv2 size).
    public var heads: Int
    /// Width of the MLP's hidden layer (per half of `w12` for SwiGLU).
    public var mlpHiddenSize: Int
    /// GELU MLP (S, B, L) or SwiGLU (g).
    public var mlp: MLPKind
    /// Register tokens between CLS and the patches (0, or 4 for the with-registers models).
    public var registerCount: Int
    /// Side of the square grid the position embeddings are stored for (37 for 518 px). DINOv3 stores no
    /// table: there it is the grid of the training resolution (14 for 224 px), used only as the native size.
    public var positionGrid: Int
    /// Epsilon of every LayerNorm (1e-6 for DINOv2).
    public var layerNormEps: Float
    /// Whether blocks scale their residual branches (`ls1`, `ls2`); when false the loaded gammas are ones.
    public var hasLayerScale: Bool
    /// Whether the fused qkv projection has a bias.
    public var hasQKVBias: Bool
    /// How the position table is resampled for grids other than the stored one (DINOv2 only).
    public var interpolation: PositionInterpolation
    /// Base θ of DINOv3's rotary embedding (100): the period of frequency f of head_dim/4 per axis is
    /// θ^(4f/head_dim), in units of the [−1, 1] patch-centre coordinates. Unused by DINOv2.
    public var ropeTheta: Float
    /// DINOv3's RoPE periods (`head_dim/4` of them) as an original-layout checkpoint stores them in
    /// `rope_embed.periods`, when they are not θ^(4f/head_dim) for any θ (a checkpoint trained with the
    /// min/max-period parametrisation): the rotary embedding then uses these, and ``ropeTheta`` is only the base
    /// their spacing implies. Nil: the periods follow from ``ropeTheta``.
    public var ropePeriods: [Float]?

    /// A configuration; `interpolation` defaults to the one for the register count
    /// (``defaultInterpolation(registers:)``). Call ``validate()`` before trusting hand-made values.
    public init(patchSize: Int = 14, hiddenSize: Int, depth: Int, heads: Int, mlpHiddenSize: Int,
                mlp: MLPKind = .gelu, registerCount: Int = 0, positionGrid: Int = 37,
                layerNormEps: Float = 1e-6, hasLayerScale: Bool = true, hasQKVBias: Bool = true,
                interpolation: PositionInterpolation? = nil, family: ModelFamily = .dinov2, ropeTheta: Float = 100) {
        self.family = family
        self.ropeTheta = ropeTheta
        self.patchSize = patchSize
        self.hiddenSize = hiddenSize
        self.depth = depth
        self.heads = heads
        self.mlpHiddenSize = mlpHiddenSize
        self.mlp = mlp
        self.registerCount = registerCount
        self.positionGrid = positionGrid
        self.layerNormEps = layerNormEps
        self.hasLayerScale = hasLayerScale
        self.hasQKVBias = hasQKVBias
        self.interpolation = interpolation ?? ViTConfig.defaultInterpolation(registers: registerCount)
    }

    /// Channels per head.
    public var headDimension: Int { heads > 0 ? hiddenSize / heads : 0 }
    /// Input channels of the patch embedding (RGB).
    public var channels: Int { 3 }
    /// Rows of the stored position table: CLS, then the grid.
    public var positionRows: Int { 1 + positionGrid * positionGrid }
    /// Output rows of the first MLP matrix: `mlpHiddenSize`, doubled for SwiGLU's fused gate and up.
    public var mlpInputRows: Int { mlp == .swiglu ? 2 * mlpHiddenSize : mlpHiddenSize }
    /// Tokens for an image of `gridHeight × gridWidth` patches.
    public func tokenCount(gridHeight: Int, gridWidth: Int) -> Int { 1 + registerCount + gridHeight * gridWidth }

    /// Whether the model has a stored position table (DINOv2) rather than a rotary embedding (DINOv3).
    public var hasPositionTable: Bool { family == .dinov2 }

    public var description: String {
        let positions = family == .dinov3 ? ropeSummary : "grid \(positionGrid), \(interpolation)"
        return "\(family == .dinov3 ? "DINOv3 " : "")ViT(patch \(patchSize), D \(hiddenSize), depth \(depth), "
            + "heads \(heads), \(mlp) MLP \(mlpHiddenSize), registers \(registerCount), \(positions))"
    }

    /// DINOv3's rotary embedding in words: "RoPE θ 100", or for stored periods their range and the θ their
    /// spacing implies.
    public var ropeSummary: String {
        guard let periods = ropePeriods, let first = periods.first, let last = periods.last else {
            return "RoPE θ \(ropeTheta)"
        }
        return "RoPE periods \(first)…\(last) as stored (spacing of θ \(ropeTheta))"
    }

    /// The largest value ``validate()`` accepts for each size, by field name: far above any real ViT (ViT-g
    /// has D 1536, 40 blocks, an MLP of 8192 rows), yet small enough that every product of sizes that loading
    /// and inference compute (3·D, D·D, rows × D, ...) fits in an Int. A checkpoint's shapes are untrusted.
    public static let sizeLimits: [String: Int] = [
        "patchSize": 1 << 10, "hiddenSize": 1 << 16, "depth": 1 << 12, "heads": 1 << 16,
        "mlpHiddenSize": 1 << 20, "positionGrid": 1 << 12, "registerCount": 1 << 16,
    ]

    /// Throws unless every size is positive and within ``sizeLimits`` and the heads divide the hidden size.
    public func validate() throws {
        let sizes = [("patchSize", patchSize), ("hiddenSize", hiddenSize), ("depth", depth), ("heads", heads),
                     ("mlpHiddenSize", mlpHiddenSize), ("positionGrid", positionGrid)]
        for (name, value) in sizes where value <= 0 {
            throw ModelError.invalidConfig("\(name) is \(value); it must be positive")
        }
        for (name, value) in sizes + [("registerCount", registerCount)] {
            if let limit = ViTConfig.sizeLimits[name], value > limit {
                throw ModelError.invalidConfig("\(name) is \(value), above the limit of \(limit)")
            }
        }
        guard registerCount >= 0 else { throw ModelError.invalidConfig("registerCount is \(registerCount)") }
        guard hiddenSize % heads == 0 else {
            throw ModelError.invalidConfig("hiddenSize \(hiddenSize) is not divisible by \(heads) heads")
        }
        guard layerNormEps > 0, layerNormEps.isFinite else {
            throw ModelError.invalidConfig("layerNormEps is \(layerNormEps); it must be positive")
        }
        if family == .dinov3 {
            // The rotary embedding splits each head into halves, each into a y and an x quarter.
            guard headDimension % 4 == 0 else {
                throw ModelError.invalidConfig("DINOv3's rotary embedding needs a head dimension divisible by 4; "
                    + "\(hiddenSize)/\(heads) heads is \(headDimension)")
            }
            if let periods = ropePeriods {
                guard periods.count == headDimension / 4 else {
                    throw ModelError.invalidConfig("ropePeriods has \(periods.count) values; head dimension "
                        + "\(headDimension) needs \(headDimension / 4)")
                }
                if let index = periods.firstIndex(where: { !($0 > 0 && $0.isFinite) }) {
                    throw ModelError.invalidConfig("ropePeriods[\(index)] is \(periods[index]); RoPE periods must be "
                        + "finite and positive")
                }
            } else {
                guard ropeTheta > 1, ropeTheta.isFinite else {
                    throw ModelError.invalidConfig("ropeTheta is \(ropeTheta); it must be a finite base above 1")
                }
            }
        }
    }

    /// The interpolation a model of this register count gets by default: antialiased bicubic with
    /// registers, plain bicubic (Hugging Face `Dinov2Model`, which the reference fixtures follow) without.
    public static func defaultInterpolation(registers: Int) -> PositionInterpolation {
        registers > 0 ? .bicubicAntialiased : .bicubic
    }

    /// The same model with `count` register tokens, and the interpolation that goes with them.
    public func withRegisters(_ count: Int = 4) -> ViTConfig {
        var config = self
        config.registerCount = count
        config.interpolation = ViTConfig.defaultInterpolation(registers: count)
        return config
    }

    /// ViT-S/14: D 384, 12 blocks, 6 heads, MLP 1536.
    public static let small = ViTConfig(hiddenSize: 384, depth: 12, heads: 6, mlpHiddenSize: 1536)
    /// ViT-B/14: D 768, 12 blocks, 12 heads, MLP 3072.
    public static let base = ViTConfig(hiddenSize: 768, depth: 12, heads: 12, mlpHiddenSize: 3072)
    /// ViT-L/14: D 1024, 24 blocks, 16 heads, MLP 4096.
    public static let large = ViTConfig(hiddenSize: 1024, depth: 24, heads: 16, mlpHiddenSize: 4096)
    /// ViT-g/14: D 1536, 40 blocks, 24 heads, SwiGLU MLP of 4096 (`w12` is [8192, 1536]).
    public static let giant = ViTConfig(hiddenSize: 1536, depth: 40, heads: 24, mlpHiddenSize: 4096, mlp: .swiglu)
}

extension ViTConfig {
    private enum CodingKeys: String, CodingKey {
        case family, patchSize, hiddenSize, depth, heads, mlpHiddenSize, mlp, registerCount, positionGrid
        case layerNormEps, hasLayerScale, hasQKVBias, interpolation, ropeTheta, ropePeriods
    }

    /// Decodes a configuration; one written before DINOv3 support (no `family`, no `ropeTheta`) reads as DINOv2,
    /// one without `ropePeriods` has the periods of its θ.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(patchSize: try c.decode(Int.self, forKey: .patchSize), hiddenSize: try c.decode(Int.self, forKey: .hiddenSize),
                  depth: try c.decode(Int.self, forKey: .depth), heads: try c.decode(Int.self, forKey: .heads),
                  mlpHiddenSize: try c.decode(Int.self, forKey: .mlpHiddenSize),
                  mlp: try c.decode(MLPKind.self, forKey: .mlp),
                  registerCount: try c.decode(Int.self, forKey: .registerCount),
                  positionGrid: try c.decode(Int.self, forKey: .positionGrid),
                  layerNormEps: try c.decode(Float.self, forKey: .layerNormEps),
                  hasLayerScale: try c.decode(Bool.self, forKey: .hasLayerScale),
                  hasQKVBias: try c.decode(Bool.self, forKey: .hasQKVBias),
                  interpolation: try c.decode(PositionInterpolation.self, forKey: .interpolation),
                  family: try c.decodeIfPresent(ModelFamily.self, forKey: .family) ?? .dinov2,
                  ropeTheta: try c.decodeIfPresent(Float.self, forKey: .ropeTheta) ?? 100)
        ropePeriods = try c.decodeIfPresent([Float].self, forKey: .ropePeriods)
    }
}
