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

def run_ort(onnx_model, images, threads, runs, warmup, optimized_path):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if optimized_path:
        opts.optimized_model_filepath = str(optimized_path)
        opts.log_severity_level = 3  # not the warning that the saved graph is specific to this CPU
    session = ort.InferenceSession(onnx_model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    feed = {"images": images}
    for _ in range(warmup):
        session.run(["tokens"], feed)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        session.run(["tokens"], feed)
        times.append(time.perf_counter() - start)
    tokens = session.run(["tokens"], feed)[0]
    del session  # stop its thread pool before Vitreous runs
    return tokens, {"median": statistics.median(times), "min": min(times), "max": max(times)}


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
    parser.add_argument("--runs", type=int, default=20, help="timed runs on each side (after 3 warm-up runs). Default: 20.")
    parser.add_argument("--seed", type=int, default=0, help="seed of the weights and the input. Default: 0.")
    parser.add_argument("--work", type=Path, default=HERE / "work", help="folder for the generated files.")
    parser.add_argument("--vitreous-bench", type=Path, default=DEFAULT_BENCH, dest="bench",
                        help=f"the vitreous-bench executable. Default: {DEFAULT_BENCH.relative_to(REPO)} in the repo.")
    parser.add_argument("--save-optimized", action="store_true",
                        help="also save ONNX Runtime's optimised graph and list its operators (shows the fusions).")
    parser.add_argument("--json", action="store_true", help="print JSON instead of the table.")
    args = parser.parse_args()

    if args.size < PATCH or args.size % PATCH:
        parser.error(f"--size must be a positive multiple of {PATCH}")
    if args.runs < 1 or args.threads < 1:
        parser.error("--runs and --threads must be at least 1")
    try:
        import onnx  # noqa: F401
        import onnxruntime as ort
    except ImportError as error:
        sys.exit(f"error: {error}. Run Benchmarks/peers/run.sh, which installs numpy, onnx and onnxruntime into "
                 f"Benchmarks/peers/.venv.")
    check_bench(args.bench)

    log = (lambda *a: print(*a, file=sys.stderr, flush=True)) if args.json else (lambda *a: print(*a, flush=True))
    if args.threads != host_threads():
        log(f"warning: --threads {args.threads} but Vitreous uses {host_threads()} threads (all cores this process "
            f"may use); the comparison is not like for like. Use taskset to give both the same cores.")

    args.work.mkdir(parents=True, exist_ok=True)
    weights = random_weights(args.model, args.seed)
    weights_path = args.work / f"{args.model}-seed{args.seed}.safetensors"
    write_safetensors(weights_path, weights)
    log(f"weights: {weights_path} ({weights_path.stat().st_size / 1e6:.1f} MB)")

    rows = []
    for batch in args.batch:
        tag = f"{args.model}-b{batch}-{args.size}"
        images = input_batch(batch, args.size, args.seed)
        input_path = args.work / f"input-b{batch}-{args.size}.npy"
        np.save(input_path, images)
        onnx_model = build_onnx(weights, args.model, batch, args.size)
        onnx.checker.check_model(onnx_model)
        optimized = args.work / f"ort-{tag}.onnx" if args.save_optimized else None

        log(f"[{tag}] ONNX Runtime {ort.__version__}, {args.threads} threads, {args.runs} runs…")
        ort_tokens, ort_time = run_ort(onnx_model, images, args.threads, args.runs, 3, optimized)
        if optimized:
            import collections
            ops = collections.Counter(n.op_type for n in onnx.load(str(optimized), load_external_data=False).graph.node)
            log(f"[{tag}] ORT optimised graph ({optimized.name}): "
                + ", ".join(f"{op}×{c}" for op, c in sorted(ops.items())))
        log(f"[{tag}] Vitreous, {args.runs} runs…")
        output_path = args.work / f"vitreous-{tag}.npy"
        vit_time = run_vitreous(args.bench, weights_path, input_path, output_path, args.runs)
        vit_tokens = np.load(output_path)
        if vit_tokens.shape != ort_tokens.shape:
            sys.exit(f"error: Vitreous's tokens are {vit_tokens.shape}, ONNX Runtime's {ort_tokens.shape}")
        a, b = ort_tokens.astype(np.float64), vit_tokens.astype(np.float64)
        rel = float(np.linalg.norm(a - b) / np.linalg.norm(b))
        flops = forward_flops(args.model, batch, args.size)
        rows.append({
            "model": args.model, "batch": batch, "size": args.size, "threads": args.threads, "runs": args.runs,
            "ort_ms": {k: v * 1e3 for k, v in ort_time.items()},
            "vitreous_ms": {k: v * 1e3 for k, v in vit_time.items()},
            "ratio": vit_time["median"] / ort_time["median"],
            "ort_gflops": flops / ort_time["median"] / 1e9,
            "vitreous_gflops": flops / vit_time["median"] / 1e9,
            "gflop_per_pass": flops / 1e9,
            "rel_error": rel,
        })

    if args.json:
        print(json.dumps({"onnxruntime": ort.__version__, "onnx": onnx.__version__, "numpy": np.__version__,
                          "python": platform.python_version(), "machine": platform.machine(),
                          "host_threads": host_threads(), "rows": rows}, indent=2))
    else:
        print()
        print(f"ONNX Runtime {ort.__version__} (CPU, {args.threads} intra-op threads) vs Vitreous (cpu); "
              f"{args.size} px, median of {args.runs} runs per forward pass of the batch")
        header = ["model", "batch", "ORT ms", "Vitreous ms", "ratio V/ORT", "ORT GFLOP/s", "Vitreous GFLOP/s",
                  "rel err"]
        table = [[r["model"], str(r["batch"]), f"{r['ort_ms']['median']:.2f}", f"{r['vitreous_ms']['median']:.2f}",
                  f"{r['ratio']:.2f}", f"{r['ort_gflops']:.1f}", f"{r['vitreous_gflops']:.1f}",
                  f"{r['rel_error']:.1e}"] for r in rows]
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
