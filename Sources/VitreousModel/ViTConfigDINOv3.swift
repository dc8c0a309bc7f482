/// DINOv3's sizes (facebookresearch/dinov3 `hub/backbones.py`) and the rules its architecture follows.
extension ViTConfig {
    /// The width of a DINOv3 SwiGLU MLP's hidden layer, as the original `SwiGLUFFN` computes it from the model
    /// width `D` and the MLP ratio: `d = int(D · ratio · 2/3)`, rounded up to a multiple of `alignment` (8, and
    /// 64 for ViT-7B). ViT-S+ (384, ratio 6) has 1536, ViT-H+ (1280, ratio 6) 5120, ViT-7B (4096, ratio 3) 8192.
    public static func dinov3SwiGLUHiddenSize(hiddenSize: Int, ratio: Double, alignment: Int = 8) -> Int {
        let d = Int(Double(hiddenSize) * ratio * 2 / 3)
        return alignment > 0 ? (d + alignment - 1) / alignment * alignment : d
    }

    /// A DINOv3 ViT/16: 4 storage tokens, RoPE θ 100, LayerNorm eps 1e-5, LayerScale, the native 224 px
    /// (grid 14).
    static func dinov3(hiddenSize: Int, depth: Int, heads: Int, mlpHiddenSize: Int, mlp: MLPKind,
                       hasQKVBias: Bool = true) -> ViTConfig {
        ViTConfig(patchSize: 16, hiddenSize: hiddenSize, depth: depth, heads: heads, mlpHiddenSize: mlpHiddenSize,
                  mlp: mlp, registerCount: 4, positionGrid: 14, layerNormEps: 1e-5, hasQKVBias: hasQKVBias,
                  family: .dinov3, ropeTheta: 100)
    }

    /// DINOv3 ViT-S/16: D 384, 12 blocks, 6 heads, GELU MLP 1536.
    public static let dinov3Small = dinov3(hiddenSize: 384, depth: 12, heads: 6, mlpHiddenSize: 1536, mlp: .gelu)
    /// DINOv3 ViT-S+/16: D 384, 12 blocks, 6 heads, SwiGLU MLP 1536 (ratio 6).
    public static let dinov3SmallPlus = dinov3(
        hiddenSize: 384, depth: 12, heads: 6, mlpHiddenSize: dinov3SwiGLUHiddenSize(hiddenSize: 384, ratio: 6),
        mlp: .swiglu)
    /// DINOv3 ViT-B/16: D 768, 12 blocks, 12 heads, GELU MLP 3072.
    public static let dinov3Base = dinov3(hiddenSize: 768, depth: 12, heads: 12, mlpHiddenSize: 3072, mlp: .gelu)
    /// DINOv3 ViT-L/16: D 1024, 24 blocks, 16 heads, GELU MLP 4096.
    public static let dinov3Large = dinov3(hiddenSize: 1024, depth: 24, heads: 16, mlpHiddenSize: 4096, mlp: .gelu)
    /// DINOv3 ViT-H+/16: D 1280, 32 blocks, 20 heads, SwiGLU MLP 5120 (ratio 6).
    public static let dinov3HugePlus = dinov3(
        hiddenSize: 1280, depth: 32, heads: 20, mlpHiddenSize: dinov3SwiGLUHiddenSize(hiddenSize: 1280, ratio: 6),
        mlp: .swiglu)
    /// DINOv3 ViT-7B/16: D 4096, 40 blocks, 32 heads of 128, SwiGLU MLP 8192 (ratio 3, aligned to 64), no qkv
    /// bias.
    public static let dinov3Giant7B = dinov3(
        hiddenSize: 4096, depth: 40, heads: 32,
        mlpHiddenSize: dinov3SwiGLUHiddenSize(hiddenSize: 4096, ratio: 3, alignment: 64), mlp: .swiglu,
        hasQKVBias: false)

}
