"""The interleaved rounds of a peer comparison and their report: each round runs every peer once, one after the
other (never two at a time); the report gives each peer's median over rounds of its per-round median, its best
round, its tokens' relative error against ONNX Runtime's float32 tokens, and the ratios the comparison is for.
"""

import json
import platform
import statistics
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import numpy as np

# Relative L2 error of a peer's final tokens against ONNX Runtime's float32 ones above which the script fails:
# float32 rounding only for float32 peers; bfloat16 keeps 8 bits of mantissa (≈ 4e-3 per rounding), so a
# 12-block forward pass drifts to about 1e-2.
BOUNDS = {"fp32": 1e-3, "bf16": 5e-2, "auto": 5e-2}

# (name, numerator peer, denominator peer): below 1 the numerator is faster.
RATIOS = (
    ("V fp32 / ORT", "vitreous-fp32", "ort"),
    ("V fp32 / OV f32", "vitreous-fp32", "openvino-f32"),
    ("V bf16 / OV bf16", "vitreous-bf16", "openvino-bf16"),
    ("V bf16 / V fp32", "vitreous-bf16", "vitreous-fp32"),
    ("V auto / V fp32", "vitreous-auto", "vitreous-fp32"),
    ("OV bf16 / OV f32", "openvino-bf16", "openvino-f32"),
    ("V fp32 / torch fp32", "vitreous-fp32", "torch-fp32"),
    ("V bf16 / torch bf16", "vitreous-bf16", "torch-bf16"),
    ("torch bf16 / torch fp32", "torch-bf16", "torch-fp32"),
    ("after / before", "vitreous-fp32", "before"),
)


@dataclass
class Peer:
    """One runtime at one precision. `measure(round)` runs it once in a fresh process and returns
    {"seconds": median of that round's runs, "info": what it reports about itself}; `output` is where that run
    leaves its final tokens [B, T, D]."""
    key: str
    label: str
    precision: str
    measure: Callable[[int], dict]
    output: Optional[Path] = None
    rounds: list = field(default_factory=list)
    info: dict = field(default_factory=dict)


def interleave(peers, rounds, log, tag, ceiling=None):
    """Runs every peer once per round, in order; `ceiling()` (the sgemm GFLOP/s) last in each round."""
    ceilings = []
    for r in range(rounds):
        for peer in peers:
            log(f"[{tag}] round {r + 1}/{rounds}: {peer.label}…")
            result = peer.measure(r)
            peer.rounds.append(result["seconds"])
            peer.info = result.get("info") or {}
        if ceiling:
            ceilings.append(ceiling())
    return ceilings


def rel_error(tokens, reference):
    a, b = tokens.astype(np.float64), reference.astype(np.float64)
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def ran_precision(peer):
    """What the peer says it computed in, where it says so (OpenVINO's compiled INFERENCE_PRECISION_HINT)."""
    info = peer.info
    for key in ("INFERENCE_PRECISION_HINT", "precision"):
        if key in info:
            return str(info[key])
    return next((str(v) for k, v in info.items() if "precision" in k.lower()), "-")


def summarise(peers, reference_key, flops=None, ceilings=()):
    """Per peer: medians, best round, GFLOP/s and % of the sgemm ceiling, error against the reference peer's
    tokens and its bound; and every ratio of RATIOS whose two peers ran."""
    median = statistics.median
    by_key = {p.key: p for p in peers}
    reference = np.load(by_key[reference_key].output)
    sgemm = median(ceilings) if ceilings else None
    summary = {}
    for p in peers:
        seconds = median(p.rounds)
        entry = {"label": p.label, "precision": p.precision, "ran": ran_precision(p),
                 "round_ms": [s * 1e3 for s in p.rounds], "median_ms": seconds * 1e3, "best_ms": min(p.rounds) * 1e3,
                 "info": p.info}
        if flops:
            entry["gflops"] = flops / seconds / 1e9
            if sgemm:
                entry["pct_sgemm"] = 100 * entry["gflops"] / sgemm
        if p.output and p.key != reference_key:
            tokens = np.load(p.output)
            if tokens.shape != reference.shape:
                sys.exit(f"error: {p.label}'s tokens are {tokens.shape}, the reference's {reference.shape}")
            entry["rel_error"] = rel_error(tokens, reference)
            entry["bound"] = BOUNDS[p.precision]
        summary[p.key] = entry
    ratios = {}
    for name, top, bottom in RATIOS:
        if top in by_key and bottom in by_key:
            a, b = by_key[top].rounds, by_key[bottom].rounds
            ratios[name] = {"median": median(a) / median(b), "best": min(a) / min(b)}
    result = {"peers": summary, "ratios": ratios}
    if ceilings:
        result.update(sgemm_gflops=sgemm, sgemm_rounds=list(ceilings))
    return result


def failures(rows):
    """One line per peer whose tokens are further from the reference than its precision's bound."""
    lines = []
    for row in rows:
        for entry in row["peers"].values():
            if "rel_error" in entry and not entry["rel_error"] <= entry["bound"]:
                lines.append(f"error: {row['model']} batch {row['batch']}: {entry['label']}: relative error "
                             f"{entry['rel_error']:.2e} > {entry['bound']:g} against ONNX Runtime's tokens")
    return lines


def print_table(header, cells, left=2):
    """Plain text table: the first `left` columns left-aligned, the rest right-aligned; a column with nothing
    but "-" (no GFLOP/s count for DINOv3, say) is left out."""
    keep = [i for i in range(len(header)) if i < left or any(c[i] != "-" for c in cells)]
    header, cells = [header[i] for i in keep], [[c[i] for i in keep] for c in cells]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(header)]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip())
    print("  ".join("-" * w for w in widths))
    for c in cells:
        print("  ".join(x.ljust(w) if i < left else x.rjust(w) for i, (x, w) in enumerate(zip(c, widths))).rstrip())


def print_report(rows):
    """Two tables: one line per batch and peer (times, rates, errors), then one per batch and ratio."""
    fmt = lambda v, spec: "-" if v is None else format(v, spec)
    cells = []
    for row in rows:
        for entry in row["peers"].values():
            cells.append([row["model"], str(row["batch"]), entry["label"], entry["precision"], entry["ran"],
                          f"{entry['median_ms']:.2f}", f"{entry['best_ms']:.2f}", fmt(entry.get("gflops"), ".1f"),
                          fmt(entry.get("pct_sgemm"), ".0f"), fmt(entry.get("rel_error"), ".1e"),
                          fmt(entry.get("bound"), "g")])
        if row.get("sgemm_gflops"):
            cells.append([row["model"], str(row["batch"]), "sgemm ceiling", "fp32", "-", "-", "-",
                          f"{row['sgemm_gflops']:.1f}", "100", "-", "-"])
    print_table(["model", "batch", "runtime", "asked", "ran", "median ms", "best ms", "GFLOP/s", "% sgemm",
                 "rel err vs ORT", "bound"], cells, left=5)
    print()
    cells = [[row["model"], str(row["batch"]), name, f"{r['median']:.2f}", f"{r['best']:.2f}"]
             for row in rows for name, r in row["ratios"].items()]
    if cells:
        print_table(["model", "batch", "ratio (below 1: left side faster)", "medians", "best rounds"], cells, left=3)


def finish(rows, args, versions, size, note=""):
    """Prints the JSON (every round of every peer) or the tables, then exits 1 naming each peer whose tokens
    are outside its bound."""
    if args.json:
        print(json.dumps({**versions, "machine": platform.machine(), "threads": args.threads,
                          "bench_has_precision": args.bench_has_precision, "rows": rows}, indent=2))
    else:
        print(f"\n{size} px, {args.threads} threads; median over {args.rounds} interleaved rounds of the median of "
              f"{args.runs} runs per forward pass of the batch; rel err against ONNX Runtime's float32 tokens{note}")
        print_report(rows)
    bad = failures(rows)
    if bad:
        print("\n".join(bad), file=sys.stderr)
        sys.exit(1)
