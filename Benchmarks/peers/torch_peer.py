#!/usr/bin/env python3
"""The PyTorch peer of onnx_vit.py: transformers' Dinov2Model, eager, on the same seeded weights, in float32 or
under torch.autocast bfloat16. Run as a script it is the worker process of one measurement: it prints its times as
one JSON line and saves the final tokens as .npy.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from onnx_vit import LN_EPS, MODELS, PATCH, STORED_GRID, random_weights  # noqa: E402
from runtimes import WARMUP, timed  # noqa: E402


def hf_state_dict(weights, model):
    """The original-layout weights renamed (and qkv split) for transformers' Dinov2Model."""
    import torch

    dim, depth, _, _ = MODELS[model]
    t = lambda a: torch.from_numpy(np.ascontiguousarray(a))
    sd = {
        "embeddings.cls_token": t(weights["cls_token"]),
        "embeddings.mask_token": t(weights["mask_token"]),
        "embeddings.position_embeddings": t(weights["pos_embed"]),
        "embeddings.patch_embeddings.projection.weight": t(weights["patch_embed.proj.weight"]),
        "embeddings.patch_embeddings.projection.bias": t(weights["patch_embed.proj.bias"]),
        "layernorm.weight": t(weights["norm.weight"]),
        "layernorm.bias": t(weights["norm.bias"]),
    }
    for n in range(depth):
        p, q = f"blocks.{n}.", f"encoder.layer.{n}."
        for name in ("norm1", "norm2", "mlp.fc1", "mlp.fc2"):
            sd[q + name + ".weight"] = t(weights[p + name + ".weight"])
            sd[q + name + ".bias"] = t(weights[p + name + ".bias"])
        # transformers 4 names (attention.attention.query, attention.output.dense) and 5's (q_proj, o_proj): the
        # caller keeps the ones its Dinov2Model has.
        for j, (old, new) in enumerate((("query", "q_proj"), ("key", "k_proj"), ("value", "v_proj"))):
            for kind in ("weight", "bias"):
                part = t(weights[p + "attn.qkv." + kind][j * dim:(j + 1) * dim])
                sd[q + f"attention.attention.{old}.{kind}"] = sd[q + f"attention.{new}.{kind}"] = part
        for kind in ("weight", "bias"):
            sd[q + f"attention.output.dense.{kind}"] = sd[q + f"attention.o_proj.{kind}"] = t(
                weights[p + "attn.proj." + kind])
        sd[q + "layer_scale1.lambda1"] = t(weights[p + "ls1.gamma"])
        sd[q + "layer_scale2.lambda1"] = t(weights[p + "ls2.gamma"])
    return sd


def run_torch(weights, model, images, threads, runs, warmup, precision="fp32"):
    """transformers' Dinov2Model, eager, SDPA attention, float32 weights, torch.inference_mode; with precision
    bf16 inside torch.autocast("cpu", dtype=torch.bfloat16). Reports the dtype the first MLP matmul produced."""
    import contextlib

    import torch
    from transformers import Dinov2Config, Dinov2Model

    torch.set_num_threads(threads)
    dim, depth, heads, hidden = MODELS[model]
    config = Dinov2Config(hidden_size=dim, num_hidden_layers=depth, num_attention_heads=heads,
                          mlp_ratio=hidden // dim, image_size=PATCH * STORED_GRID, patch_size=PATCH,
                          layer_norm_eps=LN_EPS, layerscale_value=1.0, hidden_act="gelu",
                          attn_implementation="sdpa")
    net = Dinov2Model(config).eval()
    own = net.state_dict()
    state = {k: v for k, v in hf_state_dict(weights, model).items() if k in own}
    missing = sorted(set(own) - set(state))
    if missing:
        sys.exit(f"error: this transformers' Dinov2Model has parameters the converter does not fill: {missing[:8]}")
    net.load_state_dict(state, strict=True)
    seen = {}

    def record_dtype(_module, _inputs, output):  # returns None: a forward hook's result would replace the output
        seen.setdefault("dtype", str(output.dtype))

    net.encoder.layer[0].mlp.fc1.register_forward_hook(record_dtype)
    x = torch.from_numpy(images)
    autocast = (torch.autocast("cpu", dtype=torch.bfloat16) if precision == "bf16" else contextlib.nullcontext())
    with torch.inference_mode(), autocast:
        times = timed(lambda: net(pixel_values=x), runs, warmup)
        tokens = net(pixel_values=x).last_hidden_state.float().numpy()
    return tokens, times, {"precision": seen.get("dtype", "?").replace("torch.", "")}


def main():
    parser = argparse.ArgumentParser(description="worker process of one PyTorch measurement")
    parser.add_argument("--worker", choices=["torch"], required=True)
    parser.add_argument("--model", choices=sorted(MODELS), required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--runs", type=int, required=True)
    parser.add_argument("--input", type=Path, required=True)
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    args = parser.parse_args()
    tokens, times, info = run_torch(random_weights(args.model, args.seed), args.model, np.load(args.input),
                                    args.threads, args.runs, WARMUP, args.precision)
    np.save(args.output, tokens)
    print(json.dumps({"times": times, "info": info}))


if __name__ == "__main__":
    main()
