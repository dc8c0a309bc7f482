#!/usr/bin/env python3
"""Vitreous against ONNX Runtime on the same DINOv3 weights and input.

Makes transformers' DINOv3ViTModel at a real size (`--model dinov3-vit-s16`: D 384, 6 heads, GELU MLP 1536;
`dinov3-vit-b16`: D 768, 12 heads, MLP 3072; both 12 blocks, 4 storage tokens, patch 16) with seeded random
weights, writes it with `save_pretrained` (the Hugging Face DINOv3 layout Vitreous loads), exports it to ONNX
with `torch.onnx.export` (the TorchScript exporter, `dynamo=False`: the torch.export-based one needs onnxscript,
which this environment lacks) for a fixed `[B, 3, 224, 224]` input, and runs it on ONNX Runtime's CPU
provider and Vitreous (`vitreous-bench --model`) in interleaved rounds, each peer in a fresh process. Checks
that the final tokens agree (relative L2 ≤ 1e-3) and prints the latency ratio.

Run: Benchmarks/peers/run.sh is for DINOv2; for this one, with numpy, onnx, onnxruntime, torch and transformers
importable (Benchmarks/peers/.venv sees the system's torch):
    Benchmarks/peers/.venv/bin/python Benchmarks/peers/onnx_dinov3.py --model dinov3-vit-s16 --batch 1,8
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from onnx_vit import DEFAULT_BENCH, check_bench, parse_batches, run_ort, run_vitreous  # noqa: E402

MODELS = {
    # name: (hidden D, depth, heads, MLP hidden H)
    "dinov3-vit-s16": (384, 12, 6, 1536),
    "dinov3-vit-b16": (768, 12, 12, 3072),
}
SIZE = 224


def make_model(name, seed, folder):
    """transformers' DINOv3ViTModel with seeded weights, saved with save_pretrained into `folder`."""
    import torch
    from transformers import DINOv3ViTConfig, DINOv3ViTModel

    dim, depth, heads, hidden = MODELS[name]
    torch.manual_seed(seed)
    config = DINOv3ViTConfig(hidden_size=dim, num_hidden_layers=depth, num_attention_heads=heads,
                             intermediate_size=hidden, num_register_tokens=4, patch_size=16, layerscale_value=0.1)
    model = DINOv3ViTModel(config).eval()
    model.save_pretrained(folder)
    return model


def export(model, batch, path):
    import torch

    images = torch.zeros(batch, 3, SIZE, SIZE)
    # The first output (last_hidden_state) is named "tokens", as run_ort reads it.
    torch.onnx.export(model, (images,), str(path), input_names=["images"], output_names=["tokens"],
                      opset_version=18, dynamo=False)


def worker(args):
    images = np.load(args.input)
    tokens, times = run_ort(args.onnx, images, args.threads, args.runs, 3, None)
    np.save(args.output, tokens)
    print(json.dumps({"times": times}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=sorted(MODELS), default="dinov3-vit-s16")
    parser.add_argument("--batch", default="1", help="batch sizes, comma-separated, or all (1,8)")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--bench", type=Path, default=DEFAULT_BENCH)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--onnx", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--input", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--output", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args)
    check_bench(args.bench)

    work = HERE / "work" / args.model
    work.mkdir(parents=True, exist_ok=True)
    model = make_model(args.model, args.seed, work / "hf")
    print(f"{args.model}: {sum(p.numel() for p in model.parameters()) / 1e6:.1f} M parameters, {args.threads} threads")
    print("| batch | ORT median ms | Vitreous median ms | V/ORT (median of rounds) | V/ORT best rounds | rel. error |")
    print("|---|---|---|---|---|---|")
    for batch in parse_batches(args.batch):
        onnx_path, input_path = work / f"b{batch}.onnx", work / f"input-b{batch}.npy"
        export(model, batch, onnx_path)
        rng = np.random.default_rng(args.seed + batch)
        np.save(input_path, rng.standard_normal((batch, 3, SIZE, SIZE)).astype(np.float32))
        ort_rounds, vitreous_rounds = [], []
        for _ in range(args.rounds):
            command = [sys.executable, str(Path(__file__).resolve()), "--worker", "ort", "--threads", str(args.threads),
                       "--runs", str(args.runs), "--onnx", str(onnx_path), "--input", str(input_path),
                       "--output", str(work / "ort.npy")]
            result = subprocess.run(command, capture_output=True, text=True)
            if result.returncode != 0:
                sys.exit(f"error: the ORT worker failed:\n{result.stderr[-3000:]}")
            ort_rounds.append(statistics.median(json.loads(result.stdout.strip().splitlines()[-1])["times"]))
            timing = run_vitreous(args.bench, work / "hf" / "model.safetensors", input_path, work / "vitreous.npy",
                                  args.runs)
            vitreous_rounds.append(timing["median"])
        ours, theirs = np.load(work / "vitreous.npy").astype(np.float64), np.load(work / "ort.npy").astype(np.float64)
        error = np.linalg.norm(ours.ravel() - theirs.ravel()) / np.linalg.norm(ours.ravel())
        ort_ms, v_ms = statistics.median(ort_rounds) * 1e3, statistics.median(vitreous_rounds) * 1e3
        best = min(vitreous_rounds) / min(ort_rounds)
        print(f"| {batch} | {ort_ms:.1f} | {v_ms:.1f} | {v_ms / ort_ms:.2f} | {best:.2f} | {error:.1e} |")
        if not error <= 1e-3:
            sys.exit(f"error: Vitreous and ONNX Runtime disagree: relative error {error:.2e}")


if __name__ == "__main__":
    main()
