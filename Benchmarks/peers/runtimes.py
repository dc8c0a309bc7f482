#!/usr/bin/env python3
"""How each runtime of the peer comparison is run: ONNX Runtime and OpenVINO on an ONNX file, vitreous-bench on a
checkpoint, each timed in a fresh process so that no other runtime's thread pool spins meanwhile.

onnx_vit.py and onnx_dinov3.py import this; run as a script it is the worker process of one ONNX measurement
(`--worker ort|openvino`), which prints its times as one JSON line and saves the final tokens as .npy.
"""

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
DEFAULT_BENCH = REPO / ".build" / "release" / "vitreous-bench"
WARMUP = 3

# The precisions Vitreous and PyTorch are asked for, and OpenVINO's INFERENCE_PRECISION_HINT for each.
PRECISIONS = ("fp32", "bf16", "auto")
OPENVINO_HINT = {"fp32": "f32", "bf16": "bf16"}


def parse_precisions(text, allowed=PRECISIONS):
    """'fp32,bf16' -> ['fp32', 'bf16']; 'f32' is read as 'fp32' (OpenVINO's spelling)."""
    words = [{"f32": "fp32"}.get(w.strip(), w.strip()) for w in text.split(",") if w.strip()]
    bad = [w for w in words if w not in allowed]
    if bad:
        raise argparse.ArgumentTypeError(f"unknown precision {bad[0]!r}: use a comma list of {', '.join(allowed)}")
    return list(dict.fromkeys(words))


def timed(step, runs, warmup=WARMUP):
    for _ in range(warmup):
        step()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return times


# ------------------------------------------------------------------------------------------ in-process runners

def run_ort(onnx_path, images, threads, runs, warmup=WARMUP, optimized_path=None):
    """ONNX Runtime's CPUExecutionProvider: intra-op threads = threads, one inter-op thread, ORT_ENABLE_ALL."""
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
    times = timed(lambda: session.run(["tokens"], feed), runs, warmup)
    return session.run(["tokens"], feed)[0], times, {}


def run_openvino(onnx_path, images, threads, runs, precision, warmup=WARMUP):
    """OpenVINO's CPU plugin on the ONNX file: PERFORMANCE_HINT LATENCY, INFERENCE_NUM_THREADS = threads,
    INFERENCE_PRECISION_HINT f32 or bf16. Returns what the compiled model reports it runs with, so a table shows
    whether bf16 really ran (OpenVINO silently keeps f32 on a CPU without bf16 support)."""
    import openvino as ov

    core = ov.Core()
    config = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_NUM_THREADS": str(threads),
              "INFERENCE_PRECISION_HINT": OPENVINO_HINT[precision]}
    compiled = core.compile_model(str(onnx_path), "CPU", config)
    request = compiled.create_infer_request()
    feed = {"images": images}
    times = timed(lambda: request.infer(feed), runs, warmup)
    request.infer(feed)
    tokens = np.array(request.get_tensor("tokens").data, dtype=np.float32, copy=True)

    def reported(name):
        value = compiled.get_property(name)
        return value.get_type_name() if hasattr(value, "get_type_name") else str(value).split(".")[-1]

    info = {name: reported(name) for name in ("INFERENCE_PRECISION_HINT", "EXECUTION_MODE_HINT", "PERFORMANCE_HINT",
                                              "INFERENCE_NUM_THREADS")}
    info["OPTIMIZATION_CAPABILITIES"] = core.get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    info["default INFERENCE_PRECISION_HINT"] = core.get_property("CPU", "INFERENCE_PRECISION_HINT").get_type_name()
    return tokens, times, info


# ------------------------------------------------------------------------------------------------ subprocesses

def run_worker(script, kind, threads, extra, env=None):
    """`python SCRIPT --worker KIND --threads N EXTRA…` in a fresh process; returns its last stdout line's JSON."""
    command = [sys.executable, str(script), "--worker", kind, "--threads", str(threads)] + extra
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        sys.exit(f"error: the {kind} worker failed (exit {result.returncode}):\n  {' '.join(command)}\n"
                 f"{result.stderr.strip()[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def onnx_worker(kind, onnx_path, input_path, output_path, threads, runs, precision=None, optimized=None):
    """Times ONNX Runtime or OpenVINO (at `precision`) on one ONNX file in a fresh process of this module."""
    extra = ["--onnx", str(onnx_path), "--input", str(input_path), "--output", str(output_path), "--runs", str(runs)]
    if precision:
        extra += ["--precision", precision]
    if optimized:
        extra += ["--optimized", str(optimized)]
    return run_worker(Path(__file__).resolve(), kind, threads, extra)


def bench_precisions(bench):
    """Checks that `bench` is a vitreous-bench with --model/--output; returns whether it has --precision."""
    if not bench.exists():
        sys.exit(f"error: {bench} does not exist (vitreous-bench is not built).\n"
                 f"  Build it from {REPO}: swift build -c release --product vitreous-bench\n"
                 f"  (Benchmarks/peers/run.sh does this for you.)")
    try:
        help_text = subprocess.run([str(bench), "--help"], capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.TimeoutExpired) as error:
        sys.exit(f"error: cannot run {bench} --help: {error}")
    if "--model" not in help_text or "--output" not in help_text:
        sys.exit(f"error: {bench} has no --model/--output options: it is older than this script.\n"
                 f"  Rebuild it from {REPO}: swift build -c release --product vitreous-bench")
    return "--precision" in help_text


def run_vitreous(bench, weights_path, input_path, output_path, runs, precision=None):
    """`vitreous-bench --model … --device cpu [--precision P]`: its encoder row's median/min/max seconds, plus any
    precision the row reports having run."""
    command = [str(bench), "--model", str(weights_path), "--input", str(input_path), "--output", str(output_path),
               "--samples", str(runs), "--json", "--device", "cpu"]
    if precision:
        command += ["--precision", precision]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"error: vitreous-bench failed (exit {result.returncode}):\n  {' '.join(command)}\n"
                 f"{result.stderr.strip()}\n{result.stdout.strip()}")
    try:
        rows = json.loads(result.stdout)
        row = next(r for r in rows if r["name"].startswith("encoder"))
        timing = {k: float(row["timing"][k]) for k in ("median", "min", "max")}
    except (ValueError, StopIteration, KeyError, TypeError) as error:
        sys.exit(f"error: cannot read vitreous-bench's JSON ({error}):\n{result.stdout[:2000]}")
    timing["info"] = {k: v for k, v in row.items() if "precision" in k.lower()}
    return timing


def main():
    parser = argparse.ArgumentParser(description="worker process of one ONNX Runtime or OpenVINO measurement")
    parser.add_argument("--worker", choices=["ort", "openvino"], required=True)
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--runs", type=int, required=True)
    parser.add_argument("--onnx", type=Path, required=True)
    parser.add_argument("--input", type=Path, required=True)
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--precision", choices=sorted(OPENVINO_HINT))
    parser.add_argument("--optimized", type=Path)
    args = parser.parse_args()
    images = np.load(args.input)
    if args.worker == "ort":
        tokens, times, info = run_ort(args.onnx, images, args.threads, args.runs, WARMUP, args.optimized)
    else:
        tokens, times, info = run_openvino(args.onnx, images, args.threads, args.runs, args.precision or "fp32")
    np.save(args.output, tokens)
    print(json.dumps({"times": times, "info": info}))


if __name__ == "__main__":
    main()
