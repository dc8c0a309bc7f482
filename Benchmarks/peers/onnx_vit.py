#!/usr/bin/env python3
"""Vitreous against ONNX Runtime on the same DINOv2 weights and input.

Writes seeded random DINOv2 weights (original facebookresearch/dinov2 key layout) as safetensors and a seeded
input batch, builds the same Vision Transformer as an ONNX graph with onnx.helper (no PyTorch), runs it on ONNX
Runtime's CPU provider, runs Vitreous (`vitreous-bench --model`) on the same files, checks that the final tokens
agree and prints the latency ratio. Run it through run.sh, which sets up the virtual environment.
"""

import argparse
import json
import math
import os
import platform
import statistics
import struct
import subprocess
import sys
import time
from pathlib import Path

try:
    import numpy as np
except ImportError:  # pragma: no cover - message for people who skip run.sh
    sys.exit("error: numpy is not installed; run Benchmarks/peers/run.sh, which installs it into Benchmarks/peers/.venv")

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
DEFAULT_BENCH = REPO / ".build" / "release" / "vitreous-bench"

PATCH = 14
STORED_GRID = 37
LN_EPS = 1e-6
REL_ERROR_LIMIT = 1e-3

MODELS = {
    # name: (hidden D, depth, heads, MLP hidden H)
    "vit-s": (384, 12, 6, 1536),
    "vit-b": (768, 12, 12, 3072),
}


# --------------------------------------------------------------------------------------------- weights and input

def random_weights(model, seed):
    """Seeded random DINOv2 weights in the original key layout, as an ordered dict of float32 arrays."""
    dim, depth, _, hidden = MODELS[model]
    rng = np.random.default_rng(seed)

    def normal(*shape, std=0.02):
        return (rng.standard_normal(shape) * std).astype(np.float32)

    w = {
        "cls_token": normal(1, 1, dim),
        "pos_embed": normal(1, 1 + STORED_GRID * STORED_GRID, dim),
        "mask_token": normal(1, dim),
        "patch_embed.proj.weight": normal(dim, 3, PATCH, PATCH),
        "patch_embed.proj.bias": normal(dim, std=0.01),
    }
    for n in range(depth):
        p = f"blocks.{n}."
        w[p + "norm1.weight"] = np.ones(dim, np.float32)
        w[p + "norm1.bias"] = np.zeros(dim, np.float32)
        w[p + "attn.qkv.weight"] = normal(3 * dim, dim)
        w[p + "attn.qkv.bias"] = normal(3 * dim, std=0.01)
        w[p + "attn.proj.weight"] = normal(dim, dim)
        w[p + "attn.proj.bias"] = normal(dim, std=0.01)
        w[p + "ls1.gamma"] = np.full(dim, 0.1, np.float32)
        w[p + "norm2.weight"] = np.ones(dim, np.float32)
        w[p + "norm2.bias"] = np.zeros(dim, np.float32)
        w[p + "mlp.fc1.weight"] = normal(hidden, dim)
        w[p + "mlp.fc1.bias"] = normal(hidden, std=0.01)
        w[p + "mlp.fc2.weight"] = normal(dim, hidden)
        w[p + "mlp.fc2.bias"] = normal(dim, std=0.01)
        w[p + "ls2.gamma"] = np.full(dim, 0.1, np.float32)
    w["norm.weight"] = np.ones(dim, np.float32)
    w["norm.bias"] = np.zeros(dim, np.float32)
    return w


def write_safetensors(path, tensors):
    """Writes float32 tensors as safetensors by hand: u64 LE header length, JSON header (space-padded to a
    multiple of 8), then the raw little-endian data in header order."""
    header, offset, blobs = {}, 0, []
    for name, array in tensors.items():
        data = np.ascontiguousarray(array, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(array.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)
    os.replace(tmp, path)


def input_batch(batch, size, seed):
    rng = np.random.default_rng(seed + 1000 + batch)
    return rng.standard_normal((batch, 3, size, size)).astype(np.float32)


# ----------------------------------------------------------------------------------- position-table resampling

def cubic(x, a=-0.75):
    x = abs(x)
    if x <= 1:
        return ((a + 2) * x - (a + 3)) * x * x + 1
    if x < 2:
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return 0.0


def bicubic_matrix(n_in, n_out):
    """[n_out, n_in] weights of PyTorch's interpolate(mode="bicubic", align_corners=False, antialias=False)
    to an explicit size: scale = in/out, src = scale·(i+0.5)−0.5 (not clamped), taps i0−1…i0+2 clamped."""
    m = np.zeros((n_out, n_in), np.float64)
    scale = n_in / n_out
    for i in range(n_out):
        src = scale * (i + 0.5) - 0.5
        i0 = math.floor(src)
        t = src - i0
        for k, wk in zip(range(i0 - 1, i0 + 3), (cubic(t + 1), cubic(t), cubic(1 - t), cubic(2 - t))):
            m[i, min(max(k, 0), n_in - 1)] += wk
    return m


def resampled_positions(pos_embed, grid):
    """[1, 1+M², D] stored table -> [1, 1+grid², D]; the CLS row is unchanged."""
    dim = pos_embed.shape[-1]
    if grid == STORED_GRID:
        return pos_embed.astype(np.float32)
    table = pos_embed[0, 1:].reshape(STORED_GRID, STORED_GRID, dim).astype(np.float64)
    m = bicubic_matrix(STORED_GRID, grid)
    out = np.einsum("ai,ijd->ajd", m, table)  # rows (y)
    out = np.einsum("bj,ajd->abd", m, out)  # columns (x)
    out = out.reshape(1, grid * grid, dim).astype(np.float32)
    return np.concatenate([pos_embed[:, :1].astype(np.float32), out], axis=1)


# ---------------------------------------------------------------------------------------------- the ONNX graph

def build_onnx(weights, model, batch, size):
    from onnx import TensorProto, helper, numpy_helper

    dim, depth, heads, _ = MODELS[model]
    head_dim = dim // heads
    grid = size // PATCH
    tokens = 1 + grid * grid
    nodes, inits = [], []
    counter = [0]

    def const(name, array):
        inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def i64(name, values):
        return const(name, np.array(values, np.int64))

    def node(op, inputs, **attrs):
        counter[0] += 1
        out = f"{op.lower()}_{counter[0]}"
        nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out

    def linear(x, prefix):
        wt = const(prefix + ".weight_t", np.ascontiguousarray(weights[prefix + ".weight"].T))
        return node("Add", [node("MatMul", [x, wt]), const(prefix + ".bias", weights[prefix + ".bias"])])

    def layer_norm(x, prefix):
        return node("LayerNormalization", [x, const(prefix + ".weight", weights[prefix + ".weight"]),
                                           const(prefix + ".bias", weights[prefix + ".bias"])],
                    axis=-1, epsilon=LN_EPS)

    # Patch embedding: Conv stride 14 -> [B, D, g, g] -> [B, g², D].
    x = node("Conv", ["images", const("patch_embed.proj.weight", weights["patch_embed.proj.weight"]),
                      const("patch_embed.proj.bias", weights["patch_embed.proj.bias"])],
             kernel_shape=[PATCH, PATCH], strides=[PATCH, PATCH])
    x = node("Reshape", [x, i64("shape_bdn", [batch, dim, grid * grid])])
    x = node("Transpose", [x], perm=[0, 2, 1])
    cls = node("Expand", [const("cls_token", weights["cls_token"]), i64("shape_b1d", [batch, 1, dim])])
    x = node("Concat", [cls, x], axis=1)
    x = node("Add", [x, const("pos_embed_resampled", resampled_positions(weights["pos_embed"], grid))])

    shape_qkv = i64("shape_qkv", [batch, tokens, 3, heads, head_dim])
    shape_btd = i64("shape_btd", [batch, tokens, dim])
    scale = const("attn_scale", np.array(1.0 / math.sqrt(head_dim), np.float32))
    half, one = const("half", np.array(0.5, np.float32)), const("one", np.array(1.0, np.float32))
    sqrt2 = const("sqrt2", np.array(math.sqrt(2.0), np.float32))
    picks = [const(f"index_{k}", np.array(k, np.int64)) for k in range(3)]

    for n in range(depth):
        p = f"blocks.{n}."
        # Attention.
        h = layer_norm(x, p + "norm1")
        qkv = node("Reshape", [linear(h, p + "attn.qkv"), shape_qkv])
        qkv = node("Transpose", [qkv], perm=[2, 0, 3, 1, 4])  # [3, B, heads, T, Dh]
        q, k, v = (node("Gather", [qkv, picks[j]], axis=0) for j in range(3))
        kt = node("Transpose", [k], perm=[0, 1, 3, 2])
        scores = node("Mul", [node("MatMul", [q, kt]), scale])
        attn = node("MatMul", [node("Softmax", [scores], axis=-1), v])  # [B, heads, T, Dh]
        attn = node("Reshape", [node("Transpose", [attn], perm=[0, 2, 1, 3]), shape_btd])
        attn = node("Mul", [linear(attn, p + "attn.proj"), const(p + "ls1.gamma", weights[p + "ls1.gamma"])])
        x = node("Add", [x, attn])
        # MLP with exact GELU.
        h = linear(layer_norm(x, p + "norm2"), p + "mlp.fc1")
        erf = node("Erf", [node("Div", [h, sqrt2])])
        h = node("Mul", [node("Mul", [h, node("Add", [erf, one])]), half])
        h = node("Mul", [linear(h, p + "mlp.fc2"), const(p + "ls2.gamma", weights[p + "ls2.gamma"])])
        x = node("Add", [x, h])

    out = layer_norm(x, "norm")
    nodes.append(helper.make_node("Identity", [out], ["tokens"], name="tokens"))
    graph = helper.make_graph(
        nodes, f"dinov2_{model}",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [batch, 3, size, size])],
        [helper.make_tensor_value_info("tokens", TensorProto.FLOAT, [batch, tokens, dim])],
        initializer=inits)
    onnx_model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                                   producer_name="vitreous-benchmarks-peers")
    onnx_model.ir_version = 8  # opset 17 needs IR ≥ 8; stay readable by older runtimes
    return onnx_model


def forward_flops(model, batch, size):
    dim, depth, _, hidden = MODELS[model]
    patches = (size // PATCH) ** 2
    t = 1 + patches
    block = 2 * t * dim * 3 * dim + 2 * t * dim * dim + 2 * t * dim * hidden + 2 * t * hidden * dim + 4 * t * t * dim
    return batch * (2 * patches * 3 * PATCH * PATCH * dim + depth * block)


# --------------------------------------------------------------------------------------------------- running

def run_ort(onnx_path, images, threads, runs, warmup, optimized_path):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if optimized_path:
        opts.optimized_model_filepath = str(optimized_path)
        opts.log_severity_level = 3  # not the warning that the saved graph is specific to this CPU
    session = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])
    feed = {"images": images}
    for _ in range(warmup):
        session.run(["tokens"], feed)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        session.run(["tokens"], feed)
        times.append(time.perf_counter() - start)
    tokens = session.run(["tokens"], feed)[0]
    return tokens, times


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


def run_torch(weights, model, images, threads, runs, warmup):
    """transformers' Dinov2Model, eager, SDPA attention, float32, torch.inference_mode."""
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
    x = torch.from_numpy(images)
    times = []
    with torch.inference_mode():
        for _ in range(warmup):
            net(pixel_values=x)
        for _ in range(runs):
            start = time.perf_counter()
            net(pixel_values=x)
            times.append(time.perf_counter() - start)
        tokens = net(pixel_values=x).last_hidden_state.numpy()
    return tokens, times


def run_sgemm(threads, runs, n=2048):
    """numpy's OpenBLAS n³ float32 GEMM in this process (OPENBLAS_NUM_THREADS set by the parent)."""
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((n, n)).astype(np.float32) for _ in range(2))
    a @ b
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - start)
    return 2 * n ** 3 / statistics.median(times) / 1e9


def worker(args):
    """One peer's measurement in a fresh process, so no thread pool of another runtime spins meanwhile."""
    if args.worker == "sgemm":
        print(json.dumps({"gflops": run_sgemm(args.threads, args.runs)}))
        return
    images = np.load(args.input)
    if args.worker == "ort":
        tokens, times = run_ort(args.onnx, images, args.threads, args.runs, 3, args.optimized)
    else:
        tokens, times = run_torch(random_weights(args.model, args.seed), args.model, images, args.threads,
                                  args.runs, 3)
    np.save(args.output, tokens)
    print(json.dumps({"times": times}))


def run_worker(kind, args, extra, env=None):
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", kind, "--threads", str(args.threads),
               "--model", args.model, "--seed", str(args.seed)] + extra
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        sys.exit(f"error: the {kind} worker failed (exit {result.returncode}):\n  {' '.join(command)}\n"
                 f"{result.stderr.strip()[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def check_bench(bench):
    if not bench.exists():
        sys.exit(f"error: {bench} does not exist (vitreous-bench is not built).\n"
                 f"  Build it from {REPO}: swift build -c release --product vitreous-bench\n"
                 f"  (Benchmarks/peers/run.sh does this for you.)")
    try:
        help_text = subprocess.run([str(bench), "--help"], capture_output=True, text=True, timeout=60).stdout
    except OSError as error:
        sys.exit(f"error: cannot run {bench}: {error}")
    if "--model" not in help_text or "--output" not in help_text:
        sys.exit(f"error: {bench} has no --model/--output options: it is older than this script.\n"
                 f"  Rebuild it from {REPO}: swift build -c release --product vitreous-bench")


def run_vitreous(bench, weights_path, input_path, output_path, runs):
    command = [str(bench), "--model", str(weights_path), "--input", str(input_path), "--output", str(output_path),
               "--samples", str(runs), "--json", "--device", "cpu"]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"error: vitreous-bench failed (exit {result.returncode}):\n  {' '.join(command)}\n"
                 f"{result.stderr.strip()}\n{result.stdout.strip()}")
    try:
        rows = json.loads(result.stdout)
        row = next(r for r in rows if r["name"].startswith("encoder"))
        timing = row["timing"]
    except (ValueError, StopIteration, KeyError, TypeError) as error:
        sys.exit(f"error: cannot read vitreous-bench's JSON ({error}):\n{result.stdout[:2000]}")
    return {k: float(timing[k]) for k in ("median", "min", "max")}


def parse_batches(text):
    if text == "all":
        return [1, 8]
    try:
        batches = [int(word) for word in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a batch size, a comma list of them, or 'all'")
    if any(b < 1 for b in batches):
        raise argparse.ArgumentTypeError("batch sizes must be at least 1")
    return batches


def host_threads():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def main():
    parser = argparse.ArgumentParser(
        prog="onnx_vit.py",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=__doc__,
        epilog=f"""
what it writes (under --work, default {HERE / 'work'}):
  MODEL-seedS.safetensors   random DINOv2 weights, original key layout (cls_token, pos_embed [1, 1+37², D], ...)
  input-bB-PX.npy           the input batch [B, 3, PX, PX] float32, seeded standard normal
  vitreous-MODEL-bB-PX.npy  Vitreous's final tokens [B, T, D]
  ort-MODEL-bB-PX.onnx      ONNX Runtime's optimised graph (only with --save-optimized)

how it measures:
  ONNX Runtime: CPUExecutionProvider, intra_op_num_threads = --threads, inter_op_num_threads = 1, sequential,
  ORT_ENABLE_ALL; 3 warm-up runs, then the median of --runs timed runs of session.run.
  Vitreous: vitreous-bench --model W --input X --output Y --samples RUNS --json --device cpu (3 warm-up passes,
  then the median of RUNS); it uses every core this process may run on (OpenBLAS threads = host threads).
  The two run one after the other, never together. Times are per forward pass of the whole batch.
  "ratio" = Vitreous median / ORT median (above 1: Vitreous is slower). GFLOP/s counts, per image,
  2·N·588·D for the patch embedding and per block 2·T·D·3D + 2·T·D·D + 2·T·D·H + 2·T·H·D + 4·T²·D.
  "rel err" = ‖ORT − Vitreous‖₂ / ‖Vitreous‖₂ over all tokens; above {REL_ERROR_LIMIT:g} the script exits 1.

examples:
  Benchmarks/peers/run.sh --model vit-s --batch all
  Benchmarks/peers/run.sh --model vit-b --batch 1 --runs 10 --json
""")
    parser.add_argument("--model", choices=sorted(MODELS), default="vit-s",
                        help="vit-s: D=384, 12 blocks, 6 heads, MLP 1536; vit-b: D=768, 12 blocks, 12 heads, MLP 3072 "
                             "(patch 14, no registers, stored position grid 37×37). Default: vit-s.")
    parser.add_argument("--batch", type=parse_batches, default=[1], metavar="B|all",
                        help="images per forward pass: a number, a comma list (1,8), or 'all' (= 1 and 8). Default: 1.")
    parser.add_argument("--size", type=int, default=224,
                        help="image side in pixels, a multiple of 14 (224: 16×16 patches, the stored 37×37 position "
                             "table is resampled bicubically; 518: used as stored). Default: 224.")
    parser.add_argument("--threads", type=int, default=host_threads(),
                        help=f"ONNX Runtime intra-op threads; should equal Vitreous's, which is the number of cores "
                             f"this process may use ({host_threads()} here). Default: that number.")
    parser.add_argument("--runs", type=int, default=10, help="timed runs per round on each side (after 3 warm-up runs). Default: 10.")
    parser.add_argument("--seed", type=int, default=0, help="seed of the weights and the input. Default: 0.")
    parser.add_argument("--work", type=Path, default=HERE / "work", help="folder for the generated files.")
    parser.add_argument("--vitreous-bench", type=Path, default=DEFAULT_BENCH, dest="bench",
                        help=f"the vitreous-bench executable. Default: {DEFAULT_BENCH.relative_to(REPO)} in the repo.")
    parser.add_argument("--save-optimized", action="store_true",
                        help="also save ONNX Runtime's optimised graph and list its operators (shows the fusions).")
    parser.add_argument("--json", action="store_true", help="print JSON instead of the table.")
    parser.add_argument("--rounds", type=int, default=3,
                        help="interleaved rounds: each round runs ONNX Runtime, PyTorch, Vitreous and the sgemm ceiling "
                             "once, each in a fresh process; the table gives the median over rounds of each round's "
                             "median. Default: 3.")
    parser.add_argument("--compare-bench", type=Path, metavar="PATH",
                        help="a second vitreous-bench (e.g. built from an older commit) measured in the same rounds "
                             "as 'Vitreous before': before/after ratios from one interleaved run.")
    parser.add_argument("--no-torch", action="store_true",
                        help="skip the PyTorch eager peer (transformers Dinov2Model, SDPA).")
    parser.add_argument("--worker", choices=["ort", "torch", "sgemm"], help=argparse.SUPPRESS)
    parser.add_argument("--onnx", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--input", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--output", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--optimized", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return

    if args.size < PATCH or args.size % PATCH:
        parser.error(f"--size must be a positive multiple of {PATCH}")
    if args.runs < 1 or args.threads < 1 or args.rounds < 1:
        parser.error("--runs, --rounds and --threads must be at least 1")
    try:
        import onnx  # noqa: F401
        import onnxruntime as ort
    except ImportError as error:
        sys.exit(f"error: {error}. Run Benchmarks/peers/run.sh, which installs numpy, onnx and onnxruntime into "
                 f"Benchmarks/peers/.venv.")
    check_bench(args.bench)
    if args.compare_bench:
        check_bench(args.compare_bench)

    log = (lambda *a: print(*a, file=sys.stderr, flush=True)) if args.json else (lambda *a: print(*a, flush=True))
    if args.threads != host_threads():
        log(f"warning: --threads {args.threads} but Vitreous uses {host_threads()} threads (all cores this process "
            f"may use); the comparison is not like for like. Use taskset to give both the same cores.")

    args.work.mkdir(parents=True, exist_ok=True)
    weights = random_weights(args.model, args.seed)
    weights_path = args.work / f"{args.model}-seed{args.seed}.safetensors"
    write_safetensors(weights_path, weights)
    log(f"weights: {weights_path} ({weights_path.stat().st_size / 1e6:.1f} MB)")

    torch_version = None
    if not args.no_torch:
        try:
            import torch
            import transformers
            torch_version = f"{torch.__version__} / transformers {transformers.__version__}"
        except ImportError as error:
            sys.exit(f"error: {error}: the PyTorch peer needs torch and transformers (run.sh uses a venv with the "
                     f"system site packages); or pass --no-torch")
    sgemm_env = dict(os.environ, OPENBLAS_NUM_THREADS=str(args.threads), OMP_NUM_THREADS=str(args.threads))
    median = statistics.median
    rows = []
    for batch in args.batch:
        tag = f"{args.model}-b{batch}-{args.size}"
        images = input_batch(batch, args.size, args.seed)
        input_path = args.work / f"input-b{batch}-{args.size}.npy"
        np.save(input_path, images)
        onnx_model = build_onnx(weights, args.model, batch, args.size)
        onnx.checker.check_model(onnx_model)
        onnx_path = args.work / f"model-{tag}.onnx"
        onnx.save(onnx_model, str(onnx_path))
        del onnx_model
        optimized = args.work / f"ort-{tag}.onnx" if args.save_optimized else None
        ort_out, torch_out = args.work / f"ort-{tag}.npy", args.work / f"torch-{tag}.npy"
        output_path = args.work / f"vitreous-{tag}.npy"
        common = ["--input", str(input_path), "--runs", str(args.runs)]
        rounds = {"ort": [], "torch": [], "vitreous": [], "before": [], "sgemm": []}
        for r in range(args.rounds):
            log(f"[{tag}] round {r + 1}/{args.rounds}: ONNX Runtime {ort.__version__}, {args.threads} threads, "
                f"{args.runs} runs…")
            extra = ["--onnx", str(onnx_path), "--output", str(ort_out)]
            if optimized and r == 0:
                extra += ["--optimized", str(optimized)]
            rounds["ort"].append(median(run_worker("ort", args, common + extra)["times"]))
            if torch_version:
                log(f"[{tag}] round {r + 1}/{args.rounds}: PyTorch eager (Dinov2Model, SDPA)…")
                rounds["torch"].append(median(run_worker("torch", args, common + ["--output", str(torch_out)])["times"]))
            log(f"[{tag}] round {r + 1}/{args.rounds}: Vitreous…")
            rounds["vitreous"].append(run_vitreous(args.bench, weights_path, input_path, output_path,
                                                   args.runs)["median"])
            if args.compare_bench:
                log(f"[{tag}] round {r + 1}/{args.rounds}: Vitreous before ({args.compare_bench})…")
                rounds["before"].append(run_vitreous(args.compare_bench, weights_path, input_path,
                                                     args.work / f"before-{tag}.npy", args.runs)["median"])
            rounds["sgemm"].append(run_worker("sgemm", args, ["--runs", "5"], env=sgemm_env)["gflops"])
        if optimized:
            import collections
            ops = collections.Counter(n.op_type for n in onnx.load(str(optimized), load_external_data=False).graph.node)
            log(f"[{tag}] ORT optimised graph ({optimized.name}): "
                + ", ".join(f"{op}×{c}" for op, c in sorted(ops.items())))
        vit_tokens, ort_tokens = np.load(output_path), np.load(ort_out)
        if vit_tokens.shape != ort_tokens.shape:
            sys.exit(f"error: Vitreous's tokens are {vit_tokens.shape}, ONNX Runtime's {ort_tokens.shape}")

        def rel_error(other):
            a, b = other.astype(np.float64), vit_tokens.astype(np.float64)
            return float(np.linalg.norm(a - b) / np.linalg.norm(b))

        flops = forward_flops(args.model, batch, args.size)
        ort_s, vit_s, sgemm = median(rounds["ort"]), median(rounds["vitreous"]), median(rounds["sgemm"])
        row = {
            "model": args.model, "batch": batch, "size": args.size, "threads": args.threads, "runs": args.runs,
            "rounds": args.rounds,
            "round_ms": {k: [v * 1e3 for v in vs] for k, vs in rounds.items() if k != "sgemm" and vs},
            # The least disturbed round of each: on a shared machine the fairer estimate of each one's speed.
            "best_ms": {k: min(vs) * 1e3 for k, vs in rounds.items() if k != "sgemm" and vs},
            "best_ratio": min(rounds["vitreous"]) / min(rounds["ort"]),
            "ort_ms": ort_s * 1e3, "vitreous_ms": vit_s * 1e3,
            "ratio": vit_s / ort_s,
            "ort_gflops": flops / ort_s / 1e9,
            "vitreous_gflops": flops / vit_s / 1e9,
            "sgemm_gflops": sgemm, "sgemm_rounds": rounds["sgemm"],
            "gflop_per_pass": flops / 1e9,
            "rel_error": rel_error(ort_tokens),
        }
        if args.compare_bench:
            before_s = median(rounds["before"])
            row.update(before_ms=before_s * 1e3, after_over_before=vit_s / before_s,
                       before_rel_error=rel_error(np.load(args.work / f"before-{tag}.npy")))
        if torch_version:
            torch_s = median(rounds["torch"])
            row.update(torch_ms=torch_s * 1e3, torch_gflops=flops / torch_s / 1e9,
                       torch_rel_error=rel_error(np.load(torch_out)))
        rows.append(row)

    if args.json:
        print(json.dumps({"onnxruntime": ort.__version__, "onnx": onnx.__version__, "numpy": np.__version__,
                          "torch": torch_version, "python": platform.python_version(),
                          "machine": platform.machine(), "host_threads": host_threads(), "rows": rows}, indent=2))
    else:
        print()
        print(f"ONNX Runtime {ort.__version__} (CPU, {args.threads} intra-op threads)"
              + (f", PyTorch {torch_version} eager" if torch_version else "")
              + f" vs Vitreous (cpu); {args.size} px; median over {args.rounds} interleaved rounds of the median of "
              f"{args.runs} runs per forward pass of the batch; sgemm = numpy/OpenBLAS 2048³ in the same rounds")
        header = ["model", "batch", "ORT ms"] + (["torch ms"] if torch_version else []) + [
            "Vitreous ms", "V/ORT", "V/ORT best rounds"] + (["before ms", "after/before"] if args.compare_bench else []) + [
            "sgemm GFLOP/s", "ORT % sgemm", "Vitreous % sgemm", "rel err ORT"] + (
            ["rel err torch"] if torch_version else [])
        table = []
        for r in rows:
            cells = [r["model"], str(r["batch"]), f"{r['ort_ms']:.2f}"]
            if torch_version:
                cells.append(f"{r['torch_ms']:.2f}")
            cells += [f"{r['vitreous_ms']:.2f}", f"{r['ratio']:.2f}", f"{r['best_ratio']:.2f}"]
            if args.compare_bench:
                cells += [f"{r['before_ms']:.2f}", f"{r['after_over_before']:.2f}"]
            cells += [f"{r['sgemm_gflops']:.1f}",
                      f"{100 * r['ort_gflops'] / r['sgemm_gflops']:.0f}",
                      f"{100 * r['vitreous_gflops'] / r['sgemm_gflops']:.0f}", f"{r['rel_error']:.1e}"]
            if torch_version:
                cells.append(f"{r['torch_rel_error']:.1e}")
            table.append(cells)
        widths = [max(len(h), *(len(t[i]) for t in table)) for i, h in enumerate(header)]
        print("  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip())
        print("  ".join("-" * w for w in widths))
        for t in table:
            print("  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(t, widths))).rstrip())

    bad = [r for r in rows if not r["rel_error"] <= REL_ERROR_LIMIT]
    if bad:
        for r in bad:
            print(f"error: {r['model']} batch {r['batch']}: relative error {r['rel_error']:.2e} > {REL_ERROR_LIMIT:g}; "
                  f"ONNX Runtime and Vitreous disagree", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
