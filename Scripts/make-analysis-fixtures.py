#!/usr/bin/env python3
"""Writes Tests/VitreousAnalysisTests/Fixtures/analysis.json: ground truth for VitreousAnalysis from NumPy and
scikit-learn (float64), each measure computed the way its paper's reference code does, not by Vitreous's loops.

- attention distance / entropy and the DINO 60 % masks: from the softmax attention maps that PyTorch and
  transformers wrote (output_attentions, last block) for the seeded random models of
  Tests/VitreousModelTests/Fixtures (see its PROVENANCE.md); torch itself is not needed here.
- minibatch linear CKA: the unbiased HSIC estimator written out in matrix form (Nguyen et al. 2021).
- frequency: numpy.fft.fft2, a roll by half the grid, and the half diagonal, as Park et al.'s code does.
- NCC: class means and Euclidean argmin (NumPy).
- k-NN: the DINO weighted vote with NumPy; the unweighted vote by sklearn's KNeighborsClassifier (cosine,
  brute force) as a cross-check of the neighbour sets.
Features are seeded random clusters. Run: python3 Scripts/make-analysis-fixtures.py (NumPy 2.x, scikit-learn 1.x).
"""
import json
import pathlib

import numpy as np
import sklearn
from sklearn.neighbors import KNeighborsClassifier

root = pathlib.Path(__file__).resolve().parent.parent
models = root / "Tests/VitreousModelTests/Fixtures"
rng = np.random.default_rng(28)


def load_npy(path):
    return np.load(path).astype(np.float64)


# Attention distance and entropy (ViT paper / Park et al.), DINO masks, from transformers' attention maps.
def attention_case(model, case, grid, patch, first):
    attn = load_npy(models / model / case / "attn_last.npy")  # [B, H, T, T]
    gh, gw = grid
    ys, xs = np.meshgrid(np.arange(gh), np.arange(gw), indexing="ij")
    centres = np.stack([ys.ravel(), xs.ravel()], axis=1) * patch
    dist = np.linalg.norm(centres[:, None, :] - centres[None, :, :], axis=-1)
    n = gh * gw
    patches = attn[:, :, first:first + n, first:first + n]
    distance = (patches * dist).sum(-1).mean(-1).mean(0)  # per head
    with np.errstate(divide="ignore", invalid="ignore"):
        plogp = np.where(attn > 0, attn * np.log(attn), 0.0)
    entropy = (-plogp.sum(-1)).mean(-1).mean(0)
    # DINO's visualize_attention.py: CLS row over the patches, sort, normalise, cumsum, keep > 1 - 0.6.
    masks, truths, jaccard = [], [], np.zeros(attn.shape[1])
    for b in range(attn.shape[0]):
        cls = attn[b, :, 0, first:first + n]
        idx = np.argsort(cls, axis=1, kind="stable")
        val = np.take_along_axis(cls, idx, axis=1)
        val = val / val.sum(axis=1, keepdims=True)
        kept_sorted = np.cumsum(val, axis=1) > (1 - 0.6)
        kept = np.zeros_like(kept_sorted)
        np.put_along_axis(kept, idx, kept_sorted, axis=1)
        truth = rng.random(n) < 0.4
        inter = (kept & truth).sum(1)
        union = (kept | truth).sum(1)
        jaccard += np.where(union > 0, inter / np.maximum(union, 1), 1.0)
        masks.append(kept.astype(int).ravel().tolist())
        truths.append(truth.astype(int).tolist())
    return {
        "model": model, "case": case, "shape": list(attn.shape), "grid": list(grid), "patch": patch, "first": first,
        "attention": attn.astype(np.float32).ravel().tolist(),
        "distance": distance.tolist(), "entropy": entropy.tolist(),
        "masks": masks, "truths": truths, "jaccard": (jaccard / attn.shape[0]).tolist(),
    }


attention = [
    attention_case("tiny", "tiny56", (4, 4), 14, 1),
    attention_case("tiny", "tiny84x112", (6, 8), 14, 1),
    attention_case("tiny_reg4", "tiny56", (4, 4), 14, 5),
]


# Minibatch linear CKA with the unbiased HSIC estimator.
def hsic1(k, l):
    m = k.shape[0]
    k, l = k.copy(), l.copy()
    np.fill_diagonal(k, 0)
    np.fill_diagonal(l, 0)
    one = np.ones(m)
    return (np.trace(k @ l) + (one @ k @ one) * (one @ l @ one) / ((m - 1) * (m - 2))
            - 2 / (m - 2) * (one @ k @ l @ one)) / (m * (m - 3))


cka_dims, cka_n, cka_minibatch = [8, 12, 8, 16], 37, 10
base = rng.standard_normal((cka_n, 6))
cka_features = []
for i, d in enumerate(cka_dims):
    mix = rng.standard_normal((6, d))
    cka_features.append((base @ mix * (1 + i) + 0.5 * i * rng.standard_normal((cka_n, d))).astype(np.float32))
groups = [range(s, min(s + cka_minibatch, cka_n)) for s in range(0, cka_n, cka_minibatch)]
groups = [g for g in groups if len(g) >= 4]
L = len(cka_dims)
sums = np.zeros((L, L))
for g in groups:
    grams = [f[list(g)].astype(np.float64) @ f[list(g)].astype(np.float64).T for f in cka_features]
    for a in range(L):
        for b in range(L):
            sums[a, b] += hsic1(grams[a], grams[b])
cka = sums / np.sqrt(np.outer(np.diag(sums), np.diag(sums)))
# The estimator is invariant to an orthogonal map of the features: a sanity check of the formula above.
q, _ = np.linalg.qr(rng.standard_normal((8, 8)))
x = cka_features[0].astype(np.float64)
assert abs(hsic1(x @ x.T, (x @ q) @ (x @ q).T) / hsic1(x @ x.T, x @ x.T) - 1) < 1e-9

# Frequency: relative log amplitude along the half diagonal of the centred spectrum.
freq_maps = rng.standard_normal((3, 6, 8, 5)).astype(np.float32)
fm = freq_maps.astype(np.float64)
b_, h, w, c = fm.shape
spectrum = np.log(np.abs(np.fft.fft2(fm, axes=(1, 2))) + 1e-6)
spectrum = np.roll(spectrum, shift=(h // 2, w // 2), axis=(1, 2)).mean(axis=(0, 3))
steps = min(h - h // 2, w - w // 2)
diagonal = np.array([spectrum[h // 2 + k, w // 2 + k] for k in range(steps)])
relative = diagonal - diagonal[0]

# NCC and k-NN on clustered features.
classes, dim = 6, 16
centres = rng.standard_normal((classes, dim)) * 0.45
train_labels = np.repeat(np.arange(classes), 10)
rng.shuffle(train_labels)
test_labels = rng.integers(0, classes, 25)
train = (centres[train_labels] + rng.standard_normal((len(train_labels), dim))).astype(np.float32)
test = (centres[test_labels] + rng.standard_normal((len(test_labels), dim))).astype(np.float32)
tr, te = train.astype(np.float64), test.astype(np.float64)
means = np.stack([tr[train_labels == k].mean(0) for k in range(classes)])
ncc_pred = np.argmin(((te[:, None, :] - means[None]) ** 2).sum(-1), axis=1)

k, temperature = 20, 0.07
trn = tr / np.linalg.norm(tr, axis=1, keepdims=True)
ten = te / np.linalg.norm(te, axis=1, keepdims=True)
sim = ten @ trn.T
nearest = np.argsort(-sim, axis=1, kind="stable")[:, :k]
top_sim = np.take_along_axis(sim, nearest, axis=1)
scores = np.zeros((len(test), classes))
for qi in range(len(test)):
    for s, j in zip(top_sim[qi], nearest[qi]):
        scores[qi, train_labels[j]] += np.exp(s / temperature)
ranked = np.argsort(-scores, axis=1, kind="stable")
top1 = float(np.mean(ranked[:, 0] == test_labels))
top5 = float(np.mean([test_labels[i] in ranked[i, :5] for i in range(len(test))]))
knn = KNeighborsClassifier(n_neighbors=k, metric="cosine", algorithm="brute", weights="uniform").fit(train, train_labels)
uniform_pred = knn.predict(test)
counts = np.stack([np.bincount(train_labels[nearest[i]], minlength=classes) for i in range(len(test))])
assert (np.argmax(counts, axis=1) == uniform_pred).all(), "NumPy neighbours disagree with scikit-learn"

out = {
    "provenance": f"Scripts/make-analysis-fixtures.py, NumPy {np.__version__}, scikit-learn {sklearn.__version__}",
    "attention": attention,
    "cka": {"dimensions": cka_dims, "rows": cka_n, "minibatch": cka_minibatch,
            "features": [f.ravel().tolist() for f in cka_features], "cka": cka.tolist()},
    "frequency": {"shape": list(freq_maps.shape), "maps": freq_maps.ravel().tolist(), "relative": relative.tolist()},
    "classification": {
        "classes": classes, "dimension": dim, "k": k, "temperature": temperature,
        "train": train.ravel().tolist(), "train_labels": train_labels.tolist(),
        "test": test.ravel().tolist(), "test_labels": test_labels.tolist(),
        "ncc_centres": means.ravel().tolist(), "ncc_predictions": ncc_pred.tolist(),
        "ncc_accuracy": float(np.mean(ncc_pred == test_labels)),
        "knn_similarities": top_sim.ravel().tolist(), "knn_ranked": ranked.tolist(),
        "knn_top1": top1, "knn_top5": top5, "uniform_predictions": uniform_pred.tolist(),
    },
}
path = root / "Tests/VitreousAnalysisTests/Fixtures/analysis.json"
path.parent.mkdir(parents=True, exist_ok=True)
path.write_text(json.dumps(out) + "\n")
print(f"wrote {path}: NCC {out['classification']['ncc_accuracy']:.3f}, k-NN top-1 {top1:.3f} top-5 {top5:.3f}")
