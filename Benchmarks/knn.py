"""k-NN search of `vitreous analyze` against a numpy brute force, on the same random data, in one run.

    python3 Benchmarks/knn.py [--train 50000] [--queries 10000] [--dim 768] [--bench .build/release/vitreous-bench]

Writes float32 train/query features (seeded), runs `vitreous-bench --knn DIR` (NeighbourSearch on the CPU:
blocked similarity GEMM, top 20 kept per block of 4096), then numpy: normalise, `Q @ T.T` in blocks of 4096
training rows, `argpartition` for the top 20 per block, merged. Prints both times, the ratio and the share of
queries whose top-1 (and top-20 set) agree.
"""
import argparse, json, os, subprocess, tempfile, time
import numpy as np

parser = argparse.ArgumentParser()
parser.add_argument("--train", type=int, default=50_000)
parser.add_argument("--queries", type=int, default=10_000)
parser.add_argument("--dim", type=int, default=768)
parser.add_argument("--k", type=int, default=20)
parser.add_argument("--bench", default=".build/release/vitreous-bench")
args = parser.parse_args()

rng = np.random.default_rng(0)
train = rng.standard_normal((args.train, args.dim), dtype=np.float32)
queries = rng.standard_normal((args.queries, args.dim), dtype=np.float32)
folder = tempfile.mkdtemp(prefix="vitreous-knn-")
np.save(os.path.join(folder, "train.npy"), train)
np.save(os.path.join(folder, "queries.npy"), queries)

out = subprocess.run([args.bench, "--knn", folder, "--device", "cpu", "--json"], check=True,
                     capture_output=True, text=True).stdout
vitreous_seconds = json.loads(out.strip().splitlines()[-1])["knn_seconds"]
vitreous = np.load(os.path.join(folder, "vitreous-neighbours.npy")).astype(np.int64)

start = time.perf_counter()
q = queries / np.linalg.norm(queries, axis=1, keepdims=True)
t = train / np.linalg.norm(train, axis=1, keepdims=True)
best_s = np.full((len(q), 0), -np.inf, np.float32)
best_i = np.zeros((len(q), 0), np.int64)
for first in range(0, len(t), 4096):
    s = q @ t[first:first + 4096].T
    top = np.argpartition(-s, min(args.k, s.shape[1] - 1), axis=1)[:, :args.k]
    cand_s = np.concatenate([best_s, np.take_along_axis(s, top, 1)], axis=1)
    cand_i = np.concatenate([best_i, top + first], axis=1)
    keep = np.argsort(-cand_s, axis=1, kind="stable")[:, :args.k]
    best_s, best_i = np.take_along_axis(cand_s, keep, 1), np.take_along_axis(cand_i, keep, 1)
numpy_seconds = time.perf_counter() - start

top1 = float(np.mean(vitreous[:, 0] == best_i[:, 0]))
sets = float(np.mean([len(set(a) & set(b)) / args.k for a, b in zip(vitreous, best_i)]))
print(json.dumps({"train": args.train, "queries": args.queries, "dim": args.dim, "k": args.k,
                  "vitreous_seconds": round(vitreous_seconds, 3), "numpy_seconds": round(numpy_seconds, 3),
                  "vitreous_over_numpy": round(vitreous_seconds / numpy_seconds, 3),
                  "top1_agreement": top1, "topk_overlap": round(sets, 5),
                  "numpy_threads": os.environ.get("OMP_NUM_THREADS", "default")}))
