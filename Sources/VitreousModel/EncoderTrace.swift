import VitreousTensor

/// One step of a forward pass, as ``EncoderTrace`` sees it: the operations in the order a block runs them.
package enum EncoderStep: String, Sendable, CaseIterable {
    /// Patchify, the patch-embedding GEMM, and CLS / registers / position embeddings.
    case embedding = "patch embedding (patchify + GEMM + tokens)"
    /// The first block's norm1 (every later layer norm is fused into the LayerScale before it).
    case norm1 = "layer norm 1 (first block)"
    case qkv = "qkv GEMM + bias"
    /// DINOv3's rotary embedding of the patch tokens' queries and keys.
    case rotaryEmbedding = "rotary embedding (RoPE) of Q, K"
    case attention = "fused attention"
    case projection = "proj GEMM + bias"
    case layerScale1 = "LayerScale 1 + residual + layer norm 2"
    case fc1 = "fc1 GEMM + bias + activation"
    case neuronShift = "test-time register shift"
    case fc2 = "fc2 GEMM + bias"
    /// With the next block's norm1, or the final norm after the last block.
    case layerScale2 = "LayerScale 2 + residual + next layer norm"
    /// Token norms of the residual stream (with ``EncoderOptions/tokenNorms``).
    case tokenNorms = "token norms"
    /// Slicing CLS, registers and patches out of the final tokens.
    case outputs = "outputs (slices)"
}

/// Watches a forward pass step by step: `vitreous-bench`'s breakdown times the real pass through it instead
/// of retyping the encoder's op sequence. Without a trace the encoder pays one nil check per step.
package protocol EncoderTrace: Sendable {
    /// Runs `body`, the work of `step` (in block `block`, nil outside the blocks), and returns its result.
    func run<T>(_ step: EncoderStep, block: Int?, _ body: () throws -> T) throws -> T
}
