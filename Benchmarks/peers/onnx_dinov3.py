#!/usr/bin/env python3
"""Vitreous against ONNX Runtime and OpenVINO on the same DINOv3 weights and input.

Makes transformers' DINOv3ViTModel at a real size (`--model dinov3-vit-s16`: D 384, 6 heads, GELU MLP 1536;
`dinov3-vit-b16`: D 768, 12 heads, MLP 3072; both 12 blocks, 4 storage tokens, patch 16) with seeded random
weights, writes it with `save_pretrained` (the Hugging Face DINOv3 layout Vitreous loads), exports it to ONNX
with `torch.onnx.export` (the TorchScript exporter, `dynamo=False`: the torch.export-based one needs onnxscript,
which this environment lacks) for a fixed `[B, 3, 224, 224]` input, and runs it on ONNX Runtime's CPU
provider, OpenVINO's CPU plugin (f32 and bf16) and Vitreous (`vitreous-bench --model`, each --precision) in
interleaved rounds, each peer in a fresh process, with onnx_vit.py's round machinery and report. Checks that the
final tokens agree with ONNX Runtime's (relative L2 ≤ 1e-3 for float32 peers, 5e-2 for bfloat16 ones).

Run: Benchmarks/peers/run.sh is for DINOv2; for this one, with numpy, onnx, onnxruntime, openvino, torch and
transformers importable (Benchmarks/peers/.venv after run.sh, plus torch):
    Benchmarks/peers/.venv/bin/python Benchmarks/peers/onnx_dinov3.py --model dinov3-vit-s16 --batch 1,8
"""

import argparse
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from onnx_vit import (host_threads, imported_versions, onnx_peers, parse_batches, setup_bench,  # noqa: E402
                      vitreous_peers)
from rounds import finish, interleave, summarise  # noqa: E402
from runtimes import DEFAULT_BENCH, parse_precisions  # noqa: E402

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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--model", choices=sorted(MODELS), default="dinov3-vit-s16")
    parser.add_argument("--batch", type=parse_batches, default=[1], help="batch sizes, comma-separated, or all (1,8)")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=host_threads())
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--bench", "--vitreous-bench", type=Path, default=DEFAULT_BENCH, dest="bench")
    parser.add_argument("--vitreous-precisions", type=parse_precisions, metavar="LIST",
                        help="vitreous-bench --precision values (fp32, bf16, auto). Default: fp32,bf16 when the bench "
                             "has --precision, else one row at its own precision and a warning.")
    parser.add_argument("--openvino-precisions", type=lambda t: parse_precisions(t, ("fp32", "bf16")),
                        default=["fp32", "bf16"], metavar="LIST", help="OpenVINO precision hints (f32, bf16).")
    parser.add_argument("--no-openvino", action="store_true", help="skip the OpenVINO peer.")
    parser.add_argument("--compare-bench", type=Path, metavar="PATH", help="a second vitreous-bench, as 'before'.")
    parser.add_argument("--json", action="store_true", help="print JSON (every round of every peer).")
    args = parser.parse_args()
    if args.no_openvino:
        args.openvino_precisions = []
    args.torch_precisions = []  # torch exports the model; it is not timed here
    log = (lambda *a: print(*a, file=sys.stderr, flush=True)) if args.json else (lambda *a: print(*a, flush=True))
    versions = imported_versions(args)
    setup_bench(args, log)

    work = HERE / "work" / args.model
    work.mkdir(parents=True, exist_ok=True)
    model = make_model(args.model, args.seed, work / "hf")
    log(f"{args.model}: {sum(p.numel() for p in model.parameters()) / 1e6:.1f} M parameters, {args.threads} threads")
    rows = []
    for batch in args.batch:
        tag = f"b{batch}"
        onnx_path, input_path = work / f"{tag}.onnx", work / f"input-{tag}.npy"
        export(model, batch, onnx_path)
        rng = np.random.default_rng(args.seed + batch)
        np.save(input_path, rng.standard_normal((batch, 3, SIZE, SIZE)).astype(np.float32))
        peers = (onnx_peers(args, onnx_path, input_path, work, tag, None, versions)
                 + vitreous_peers(args, work / "hf" / "model.safetensors", input_path, work, tag))
        interleave(peers, args.rounds, log, f"{args.model}-{tag}")
        rows.append({"model": args.model, "batch": batch, "size": SIZE, "threads": args.threads, "runs": args.runs,
                     "rounds": args.rounds, **summarise(peers, "ort")})
    finish(rows, args, versions, SIZE)

if __name__ == "__main__":
    main()
