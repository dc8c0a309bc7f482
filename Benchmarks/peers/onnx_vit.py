#!/usr/bin/env python3
"""Vitreous against ONNX Runtime, OpenVINO and PyTorch on the same DINOv2 weights and input.

Writes seeded random DINOv2 weights (original facebookresearch/dinov2 key layout) as safetensors and a seeded
input batch, builds the same Vision Transformer as an ONNX graph with onnx.helper (no PyTorch), runs it on ONNX
Runtime's CPU provider and OpenVINO's CPU plugin (f32 and bf16), transformers' Dinov2Model (float32 and autocast
bfloat16) and Vitreous (`vitreous-bench --model`, each --precision) on the same files in interleaved rounds,
checks that every peer's final tokens agree with ONNX Runtime's and prints the latency ratios. Run it through
run.sh, which sets up the virtual environment.
"""

import argparse
import json
import math
import os
import platform
import statistics
import struct
import sys
from pathlib import Path

try:
    import numpy as np
except ImportError:  # pragma: no cover - message for people who skip run.sh
    sys.exit("error: numpy is not installed; run Benchmarks/peers/run.sh, which installs it into Benchmarks/peers/.venv")

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from rounds import BOUNDS, Peer, finish, interleave, summarise  # noqa: E402
from runtimes import (DEFAULT_BENCH, OPENVINO_HINT, REPO, bench_precisions, onnx_worker,  # noqa: E402
                      parse_precisions, run_vitreous, run_worker, timed)

PATCH = 14
STORED_GRID = 37
LN_EPS = 1e-6

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

def run_sgemm(threads, runs, n=2048):
    """numpy's OpenBLAS n³ float32 GEMM in this process (OPENBLAS_NUM_THREADS set by the parent)."""
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((n, n)).astype(np.float32) for _ in range(2))
    times = timed(lambda: a @ b, runs, 1)
    return 2 * n ** 3 / statistics.median(times) / 1e9


def worker(args):
    """The sgemm ceiling in a fresh process (the peers' workers are runtimes.py's and torch_peer.py's)."""
    print(json.dumps({"gflops": run_sgemm(args.threads, args.runs)}))


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


def vitreous_peers(args, weights_path, input_path, work, tag):
    """Vitreous's rows: one per --vitreous-precisions entry when vitreous-bench has --precision; otherwise one row
    at the bench's own precision (float32), with a warning that the bfloat16 rows are skipped. Then the
    --compare-bench row ('before'), asked for fp32 when it knows --precision."""
    peers = []

    def bench_peer(key, label, bench, precision, flag, output):
        def measure(_round):
            timing = run_vitreous(bench, weights_path, input_path, output, args.runs, flag)
            return {"seconds": timing["median"], "info": timing["info"]}
        return Peer(key, label, precision, measure, output)

    if args.bench_has_precision:
        for p in args.vitreous_precisions:
            peers.append(bench_peer(f"vitreous-{p}", f"Vitreous {p}", args.bench, p, p,
                                    work / f"vitreous-{p}-{tag}.npy"))
    else:
        peers.append(bench_peer("vitreous-fp32", "Vitreous (no --precision)", args.bench, "fp32", None,
                                work / f"vitreous-fp32-{tag}.npy"))
    if args.compare_bench:
        flag = "fp32" if args.compare_has_precision else None
        peers.append(bench_peer("before", "Vitreous before", args.compare_bench, "fp32", flag,
                                work / f"before-{tag}.npy"))
    return peers


def onnx_peers(args, onnx_path, input_path, work, tag, optimized, versions):
    """ONNX Runtime (the reference every error is measured against) and OpenVINO at each of its precisions."""
    def measure(kind, precision, output):
        def run(r):
            result = onnx_worker(kind, onnx_path, input_path, output, args.threads, args.runs, precision,
                                 optimized if (kind == "ort" and r == 0) else None)
            return {"seconds": statistics.median(result["times"]), "info": result["info"]}
        return run

    ort_out = work / f"ort-{tag}.npy"
    peers = [Peer("ort", f"ONNX Runtime {versions['onnxruntime']}", "fp32", measure("ort", None, ort_out), ort_out)]
    for p in args.openvino_precisions:
        name = OPENVINO_HINT[p]
        out = work / f"openvino-{name}-{tag}.npy"
        peers.append(Peer(f"openvino-{name}", f"OpenVINO {versions['openvino']} {name}", p,
                          measure("openvino", p, out), out))
    return peers


def torch_peers(args, input_path, work, tag):
    def measure(precision, output):
        def run(_round):
            result = run_worker(HERE / "torch_peer.py", "torch", args.threads,
                                ["--model", args.model, "--seed", str(args.seed), "--runs", str(args.runs),
                                 "--input", str(input_path), "--output", str(output), "--precision", precision])
            return {"seconds": statistics.median(result["times"]), "info": result["info"]}
        return run

    peers = []
    for p in args.torch_precisions:
        out = work / f"torch-{p}-{tag}.npy"
        label = "PyTorch eager" + (" autocast bf16" if p == "bf16" else " fp32")
        peers.append(Peer(f"torch-{p}", label, p, measure(p, out), out))
    return peers


def parse_args():
    parser = argparse.ArgumentParser(
        prog="onnx_vit.py",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=__doc__,
        epilog=f"""
what it writes (under --work, default {HERE / 'work'}):
  MODEL-seedS.safetensors       random DINOv2 weights, original key layout (cls_token, pos_embed [1, 1+37², D], ...)
  input-bB-PX.npy               the input batch [B, 3, PX, PX] float32, seeded standard normal
  model-MODEL-bB-PX.onnx        the ONNX graph ONNX Runtime and OpenVINO run
  RUNTIME-PREC-MODEL-bB-PX.npy  each peer's final tokens [B, T, D] (ort-MODEL-bB-PX.npy: ONNX Runtime's)
  ort-MODEL-bB-PX.onnx          ONNX Runtime's optimised graph (only with --save-optimized)

how it measures:
  ONNX Runtime: CPUExecutionProvider, intra_op_num_threads = --threads, inter_op_num_threads = 1, sequential,
  ORT_ENABLE_ALL; 3 warm-up runs, then the median of --runs timed runs of session.run.
  OpenVINO: CPU plugin on the same .onnx, PERFORMANCE_HINT LATENCY, INFERENCE_NUM_THREADS = --threads,
  INFERENCE_PRECISION_HINT f32 or bf16 (the "ran" column is what the compiled model reports); 3 warm-up runs.
  PyTorch: transformers' Dinov2Model, eager, SDPA, float32 weights; bf16 = inside torch.autocast("cpu", bfloat16).
  Vitreous: vitreous-bench --model W --input X --output Y --samples RUNS --json --device cpu [--precision P]
  (3 warm-up passes, then the median of RUNS); it uses every core this process may run on.
  Every peer runs in a fresh process, one after the other, never together; a round runs each once.
  Times are per forward pass of the whole batch. Ratios are medians over rounds and best round over best round
  (below 1: the left side is faster). GFLOP/s counts, per image, 2·N·588·D for the patch embedding and per
  block 2·T·D·3D + 2·T·D·D + 2·T·D·H + 2·T·H·D + 4·T²·D.
  "rel err" = ‖X − ORT‖₂ / ‖ORT‖₂ over all tokens; the script exits 1 above {BOUNDS['fp32']:g} for a float32 peer
  and above {BOUNDS['bf16']:g} for a bfloat16 one.

examples:
  Benchmarks/peers/run.sh --model vit-s --batch all
  Benchmarks/peers/run.sh --model vit-b --batch 1 --runs 10 --json
  Benchmarks/peers/run.sh --batch 1 --vitreous-precisions fp32,bf16 --openvino-precisions bf16 --no-torch
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
                        help=f"the peers' threads; should equal Vitreous's, which is the number of cores this "
                             f"process may use ({host_threads()} here). Default: that number.")
    parser.add_argument("--runs", type=int, default=10, help="timed runs per round of each peer (after 3 warm-up runs). Default: 10.")
    parser.add_argument("--seed", type=int, default=0, help="seed of the weights and the input. Default: 0.")
    parser.add_argument("--work", type=Path, default=HERE / "work", help="folder for the generated files.")
    parser.add_argument("--vitreous-bench", type=Path, default=DEFAULT_BENCH, dest="bench",
                        help=f"the vitreous-bench executable. Default: {DEFAULT_BENCH.relative_to(REPO)} in the repo.")
    parser.add_argument("--vitreous-precisions", type=parse_precisions, metavar="LIST",
                        help="vitreous-bench --precision values, one row each (fp32, bf16, auto). Default: fp32,bf16 "
                             "when the bench has --precision; without it, one row at its own precision (float32) "
                             "and a warning.")
    parser.add_argument("--openvino-precisions", type=lambda t: parse_precisions(t, ("fp32", "bf16")),
                        default=["fp32", "bf16"], metavar="LIST",
                        help="OpenVINO INFERENCE_PRECISION_HINT values, one row each (f32, bf16). Default: f32,bf16.")
    parser.add_argument("--no-openvino", action="store_true", help="skip the OpenVINO peer.")
    parser.add_argument("--torch-precisions", type=lambda t: parse_precisions(t, ("fp32", "bf16")),
                        default=["fp32", "bf16"], metavar="LIST",
                        help="PyTorch rows: fp32 (eager float32), bf16 (the same under torch.autocast bfloat16). "
                             "Default: fp32,bf16.")
    parser.add_argument("--no-torch", action="store_true",
                        help="skip the PyTorch eager peer (transformers Dinov2Model, SDPA).")
    parser.add_argument("--save-optimized", action="store_true",
                        help="also save ONNX Runtime's optimised graph and list its operators (shows the fusions).")
    parser.add_argument("--json", action="store_true", help="print JSON (every round of every peer) instead of the tables.")
    parser.add_argument("--rounds", type=int, default=3,
                        help="interleaved rounds: each round runs every peer and the sgemm ceiling once, each in a "
                             "fresh process; the table gives the median over rounds of each round's median. Default: 3.")
    parser.add_argument("--compare-bench", type=Path, metavar="PATH",
                        help="a second vitreous-bench (e.g. built from an older commit) measured in the same rounds "
                             "as 'Vitreous before' (at fp32): before/after ratios from one interleaved run.")
    parser.add_argument("--worker", choices=["sgemm"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return parser, args
    if args.size < PATCH or args.size % PATCH:
        parser.error(f"--size must be a positive multiple of {PATCH}")
    if args.runs < 1 or args.threads < 1 or args.rounds < 1:
        parser.error("--runs, --rounds and --threads must be at least 1")
    if args.no_openvino:
        args.openvino_precisions = []
    if args.no_torch:
        args.torch_precisions = []
    return parser, args


def imported_versions(args):
    """The peers' library versions; exits naming the missing one and the option that skips it."""
    versions = {"numpy": np.__version__, "python": platform.python_version()}
    try:
        import onnx
        import onnxruntime
        versions.update(onnx=onnx.__version__, onnxruntime=onnxruntime.__version__)
    except ImportError as error:
        sys.exit(f"error: {error}. Run Benchmarks/peers/run.sh, which installs numpy, onnx, onnxruntime and openvino "
                 f"into Benchmarks/peers/.venv.")
    if args.openvino_precisions:
        try:
            import openvino
            versions["openvino"] = openvino.__version__.split("-")[0]
        except ImportError as error:
            sys.exit(f"error: {error}: the OpenVINO peer needs openvino (pip install 'openvino==2026.4.*'); or pass "
                     f"--no-openvino")
    if args.torch_precisions:
        try:
            import torch
            import transformers
            versions.update(torch=torch.__version__, transformers=transformers.__version__)
        except ImportError as error:
            sys.exit(f"error: {error}: the PyTorch peer needs torch and transformers (run.sh uses a venv with the "
                     f"system site packages); or pass --no-torch")
    return versions


def setup_bench(args, log):
    """Which precisions vitreous-bench can be asked for; warns when bfloat16 rows must be skipped."""
    args.bench_has_precision = bench_precisions(args.bench)
    args.compare_has_precision = bool(args.compare_bench) and bench_precisions(args.compare_bench)
    requested = args.vitreous_precisions or ["fp32", "bf16"]
    args.vitreous_precisions = requested if args.bench_has_precision else ["fp32"]
    skipped = [p for p in requested if p != "fp32"]
    if not args.bench_has_precision and skipped:
        log(f"warning: {args.bench} has no --precision option: skipping the Vitreous {', '.join(skipped)} rows "
            f"(one row at the bench's own precision, float32)")


def main():
    parser, args = parse_args()
    if args.worker:
        worker(args)
        return
    log = (lambda *a: print(*a, file=sys.stderr, flush=True)) if args.json else (lambda *a: print(*a, flush=True))
    versions = imported_versions(args)
    import onnx

    setup_bench(args, log)
    if args.threads != host_threads():
        log(f"warning: --threads {args.threads} but Vitreous uses {host_threads()} threads (all cores this process "
            f"may use); the comparison is not like for like. Use taskset to give both the same cores.")

    args.work.mkdir(parents=True, exist_ok=True)
    weights = random_weights(args.model, args.seed)
    weights_path = args.work / f"{args.model}-seed{args.seed}.safetensors"
    write_safetensors(weights_path, weights)
    log(f"weights: {weights_path} ({weights_path.stat().st_size / 1e6:.1f} MB)")
    sgemm_env = dict(os.environ, OPENBLAS_NUM_THREADS=str(args.threads), OMP_NUM_THREADS=str(args.threads))
    rows = []
    for batch in args.batch:
        tag = f"{args.model}-b{batch}-{args.size}"
        input_path = args.work / f"input-b{batch}-{args.size}.npy"
        np.save(input_path, input_batch(batch, args.size, args.seed))
        onnx_model = build_onnx(weights, args.model, batch, args.size)
        onnx.checker.check_model(onnx_model)
        onnx_path = args.work / f"model-{tag}.onnx"
        onnx.save(onnx_model, str(onnx_path))
        del onnx_model
        optimized = args.work / f"ort-{tag}.onnx" if args.save_optimized else None
        peers = (onnx_peers(args, onnx_path, input_path, args.work, tag, optimized, versions)
                 + torch_peers(args, input_path, args.work, tag)
                 + vitreous_peers(args, weights_path, input_path, args.work, tag))
        ceilings = interleave(peers, args.rounds, log, tag, ceiling=lambda: run_worker(
            Path(__file__).resolve(), "sgemm", args.threads, ["--runs", "5"], env=sgemm_env)["gflops"])
        if optimized:
            import collections
            ops = collections.Counter(n.op_type for n in onnx.load(str(optimized), load_external_data=False).graph.node)
            log(f"[{tag}] ORT optimised graph ({optimized.name}): "
                + ", ".join(f"{op}×{c}" for op, c in sorted(ops.items())))
        flops = forward_flops(args.model, batch, args.size)
        rows.append({"model": args.model, "batch": batch, "size": args.size, "threads": args.threads,
                     "runs": args.runs, "rounds": args.rounds, "gflop_per_pass": flops / 1e9,
                     **summarise(peers, "ort", flops, ceilings)})

    finish(rows, args, {**versions, "host_threads": host_threads()}, args.size,
           "; sgemm = numpy/OpenBLAS 2048³ in the same rounds")

if __name__ == "__main__":
    main()
