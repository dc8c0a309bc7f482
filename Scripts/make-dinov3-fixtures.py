#!/usr/bin/env python3
"""Writes Tests/VitreousModelTests/Fixtures/dinov3/: DINOv3 reference outputs from transformers' DINOv3ViTModel.

Two tiny models with seeded random weights (no pretrained checkpoint is involved), both with 4 storage
(register) tokens and patch 16: `gelu/` (D 64, 2 blocks, 4 heads of 16, GELU MLP 256) and `swiglu/` (D 64,
3 blocks, 2 heads of 32, SwiGLU MLP 176: the original's rule int(4·64·2/3) = 170 rounded up to a multiple of 8). Each folder
holds the same weights twice:

- `hf/model.safetensors` + `hf/config.json`: exactly what `save_pretrained` writes (`embeddings.*`,
  `layer.N.attention.{q,k,v,o}_proj.*` with no K bias, `layer.N.layer_scale1.lambda1`, `layer.N.mlp.*`,
  `norm.*`);
- `weights_orig.safetensors`: the facebookresearch/dinov3 names (`cls_token`, `storage_tokens`, `mask_token`
  [1, D], `patch_embed.proj.*`, `blocks.N.attn.qkv.{weight,bias,bias_mask}` fused, `blocks.N.ls1.gamma`,
  `blocks.N.mlp.fc1/fc2` or `w1/w2/w3`, `rope_embed.periods`, `norm.*`). The K third of `qkv.bias` holds
  random values that `bias_mask` zeroes, as in DINOv3's own checkpoints, so a loader that skips the mask fails.

Inputs (already ImageNet-normalised, NCHW float32): `inputs/square64.npy` [2, 3, 64, 64] (grid 4×4) and
`inputs/rect48x80.npy` [2, 3, 48, 80] (grid 3×5). Per model and input, `<model>/<input>/`:
`last_hidden_state.npy` [B, T, D] (after the final norm), `hidden_states.npy` [L+1, B, T, D] (embeddings, then
each block's output) and `cls_attention.npy` [B, H, T] (the last block's softmax row of query 0), computed with
eager attention in float32 on the CPU.

Where torchvision is importable (DINOv3ViTImageProcessor needs it), the script also writes
Tests/VitreousImageTests/Fixtures/dinov3/: transformers' DINOv3 evaluation preprocessing (scale to [0, 1],
antialiased bilinear resize of the whole image in float, ImageNet mean/std) of `images/photo-baseline.jpg` at
112×112 and 80×48 (width × height), as `[3, H, W]` float32 `.npy`.

With DINOV3_REPO set to a checkout of facebookresearch/dinov3, the script also runs the original
DinoVisionTransformer on `weights_orig.safetensors` and prints its largest difference from transformers.

Run: python3 Scripts/make-dinov3-fixtures.py (PyTorch 2.x, transformers ≥ 4.56 with DINOv3ViTModel).
"""
import json
import os
import pathlib
import sys

import numpy as np
import torch
import transformers
from safetensors.torch import save_file
from transformers import DINOv3ViTConfig, DINOv3ViTModel

OUT = pathlib.Path(__file__).resolve().parent.parent / "Tests/VitreousModelTests/Fixtures/dinov3"

MODELS = {
    "gelu": dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=256,
                 use_gated_mlp=False, hidden_act="gelu"),
    "swiglu": dict(hidden_size=64, num_hidden_layers=3, num_attention_heads=2, intermediate_size=176,
                   use_gated_mlp=True, hidden_act="silu"),
}
INPUTS = {"square64": (2, 64, 64), "rect48x80": (2, 48, 80)}


def randomize(model: DINOv3ViTModel, seed: int) -> None:
    """Every parameter from a seeded generator: weights ~ N(0, 1/fan_in), biases and tokens ~ N(0, 0.1..1),
    norm weights around 1, LayerScale in [0.1, 1]: large enough that RoPE and every term matter."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("lambda1"):
                p.copy_(torch.rand(p.shape, generator=g) * 0.9 + 0.1)
            elif "norm" in name and name.endswith("weight"):
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=g))
            elif name.endswith("bias") or "norm" in name:
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            elif name.endswith("mask_token"):
                p.zero_()
            elif name.endswith("token") or name.endswith("tokens"):
                p.copy_(torch.randn(p.shape, generator=g))
            else:
                fan_in = int(np.prod(p.shape[1:]))
                p.copy_(torch.randn(p.shape, generator=g) / fan_in ** 0.5)


def original_state_dict(model: DINOv3ViTModel, config: DINOv3ViTConfig, seed: int) -> dict:
    """The same weights under facebookresearch/dinov3's names."""
    hf = {k: v.detach().clone() for k, v in model.state_dict().items()}
    d = config.hidden_size
    g = torch.Generator().manual_seed(seed + 1000)
    out = {
        "cls_token": hf["embeddings.cls_token"],
        "storage_tokens": hf["embeddings.register_tokens"],
        "mask_token": hf["embeddings.mask_token"].reshape(1, d),
        "patch_embed.proj.weight": hf["embeddings.patch_embeddings.weight"],
        "patch_embed.proj.bias": hf["embeddings.patch_embeddings.bias"],
        "norm.weight": hf["norm.weight"],
        "norm.bias": hf["norm.bias"],
    }
    head_dim = d // config.num_attention_heads
    # RopePositionEmbedding._init_weights with `base`: base ** (2 · arange(D_head/4) / (D_head/2)).
    out["rope_embed.periods"] = config.rope_theta ** (
        2 * torch.arange(head_dim // 4, dtype=torch.float32) / (head_dim // 2))
    for i in range(config.num_hidden_layers):
        a, b = f"model.layer.{i}.", f"blocks.{i}."  # in memory; save_pretrained drops "model."
        out[b + "norm1.weight"], out[b + "norm1.bias"] = hf[a + "norm1.weight"], hf[a + "norm1.bias"]
        out[b + "norm2.weight"], out[b + "norm2.bias"] = hf[a + "norm2.weight"], hf[a + "norm2.bias"]
        out[b + "attn.qkv.weight"] = torch.cat([hf[a + f"attention.{x}_proj.weight"] for x in "qkv"])
        k_garbage = torch.randn(d, generator=g)  # what bias_mask removes
        out[b + "attn.qkv.bias"] = torch.cat([hf[a + "attention.q_proj.bias"], k_garbage,
                                              hf[a + "attention.v_proj.bias"]])
        out[b + "attn.qkv.bias_mask"] = torch.cat([torch.ones(d), torch.zeros(d), torch.ones(d)])
        out[b + "attn.proj.weight"], out[b + "attn.proj.bias"] = hf[a + "attention.o_proj.weight"], \
            hf[a + "attention.o_proj.bias"]
        out[b + "ls1.gamma"], out[b + "ls2.gamma"] = hf[a + "layer_scale1.lambda1"], hf[a + "layer_scale2.lambda1"]
        names = ({"gate_proj": "w1", "up_proj": "w2", "down_proj": "w3"} if config.use_gated_mlp
                 else {"up_proj": "fc1", "down_proj": "fc2"})
        for hf_name, orig_name in names.items():
            for part in ("weight", "bias"):
                out[b + f"mlp.{orig_name}.{part}"] = hf[a + f"mlp.{hf_name}.{part}"]
    return {k: v.contiguous() for k, v in out.items()}


def check_original(weights: dict, config: DINOv3ViTConfig, pixels: torch.Tensor, expected: np.ndarray) -> None:
    """Runs facebookresearch/dinov3's DinoVisionTransformer on the original-layout weights."""
    sys.path.insert(0, os.environ["DINOV3_REPO"])
    from dinov3.models.vision_transformer import DinoVisionTransformer
    # SwiGLUFFN: hidden = int(D · ffn_ratio · 2/3), rounded up to a multiple of 8: ratio 4 gives 176 at D 64.
    ffn_ratio = 4.0 if config.use_gated_mlp else config.intermediate_size / config.hidden_size
    model = DinoVisionTransformer(
        patch_size=16, embed_dim=config.hidden_size, depth=config.num_hidden_layers,
        num_heads=config.num_attention_heads, ffn_ratio=ffn_ratio, qkv_bias=True, layerscale_init=1.0,
        norm_layer="layernormbf16", ffn_layer="swiglu" if config.use_gated_mlp else "mlp",
        n_storage_tokens=config.num_register_tokens, mask_k_bias=True, pos_embed_rope_base=config.rope_theta,
        pos_embed_rope_dtype="fp32")
    model.load_state_dict(weights, strict=True)
    model.eval()
    with torch.no_grad():
        out = model.forward_features(pixels)
    tokens = torch.cat([out["x_norm_clstoken"][:, None], out["x_storage_tokens"], out["x_norm_patchtokens"]], 1)
    print(f"    original dinov3 code vs transformers: max |diff| {np.abs(tokens.numpy() - expected).max():.2e}")


def preprocessing() -> None:
    """transformers' DINOv3ViTImageProcessor on a Pillow-decoded fixture photo."""
    try:
        import torchvision  # noqa: F401  (the processor's backend)
    except ImportError:
        print("torchvision missing: preprocessing fixtures not written")
        return
    from PIL import Image
    from transformers import DINOv3ViTImageProcessor
    images = OUT.parent.parent.parent / "VitreousImageTests/Fixtures"
    target = images / "dinov3"
    target.mkdir(exist_ok=True)
    photo = Image.open(images / "images/photo-baseline.jpg").convert("RGB")
    for height, width in [(112, 112), (48, 80)]:
        processor = DINOv3ViTImageProcessor(size={"height": height, "width": width})
        pixels = processor(photo, return_tensors="pt")["pixel_values"][0].numpy().astype(np.float32)
        np.save(target / f"photo-baseline_{width}x{height}.npy", pixels)
        print(f"preprocessing {width}x{height}: {pixels.shape}, torchvision {torchvision.__version__}")


def main() -> None:
    torch.manual_seed(0)
    rng = np.random.default_rng(20)
    (OUT / "inputs").mkdir(parents=True, exist_ok=True)
    inputs = {}
    for name, (b, h, w) in INPUTS.items():
        inputs[name] = rng.standard_normal((b, 3, h, w)).astype(np.float32)
        np.save(OUT / "inputs" / f"{name}.npy", inputs[name])
    for seed, (name, fields) in enumerate(MODELS.items()):
        config = DINOv3ViTConfig(patch_size=16, num_register_tokens=4, layer_norm_eps=1e-5, rope_theta=100.0,
                                 image_size=64, **fields)
        config._attn_implementation = "eager"
        model = DINOv3ViTModel(config).eval()
        randomize(model, seed)
        folder = OUT / name
        model.save_pretrained(folder / "hf")
        original = original_state_dict(model, config, seed)
        save_file(original, str(folder / "weights_orig.safetensors"), metadata={"format": "pt"})
        print(f"{name}: {sum(p.numel() for p in model.parameters())} parameters")
        for case, pixels in inputs.items():
            with torch.no_grad():
                out = model(torch.from_numpy(pixels), output_hidden_states=True, output_attentions=True)
            target = folder / case
            target.mkdir(exist_ok=True)
            last = out.last_hidden_state.numpy()
            np.save(target / "last_hidden_state.npy", last)
            np.save(target / "hidden_states.npy", torch.stack(out.hidden_states).numpy())
            np.save(target / "cls_attention.npy", out.attentions[-1][:, :, 0, :].contiguous().numpy())
            print(f"  {case}: tokens {tuple(last.shape)}, {len(out.hidden_states)} hidden states")
            if "DINOV3_REPO" in os.environ:
                check_original(original, config, torch.from_numpy(pixels), last)
    (OUT / "versions.json").write_text(json.dumps(
        {"torch": torch.__version__, "transformers": transformers.__version__, "numpy": np.__version__}, indent=1)
        + "\n")


if __name__ == "__main__":
    main()
    preprocessing()
