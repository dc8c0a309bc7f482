#!/usr/bin/env python3
"""Writes Tests/VitreousRepairTests/Fixtures/pca.json: ground truth for PCABasis from NumPy (float64).

The data are 157 float32 vectors of 23 dimensions with well-separated leading variances (so each eigenvector
is determined up to sign), made from a seeded NumPy generator. NumPy computes the mean, the sample covariance
(divisor n - 1), its eigenpairs (numpy.linalg.eigh, LAPACK's dsyevd) and the projections; the test compares
Vitreous's PCA with these, sign-invariantly. Run: python3 Scripts/make-pca-fixture.py (NumPy 2.x).
"""
import json
import pathlib

import numpy as np

rng = np.random.default_rng(21)
n, d = 157, 23
basis, _ = np.linalg.qr(rng.standard_normal((d, d)))
scales = np.array([6.0, 3.5, 2.0] + [0.6] * (d - 3))
latent = rng.standard_normal((n, d)) * scales
data = (latent @ basis.T + rng.standard_normal(d) * 2).astype(np.float32)

x = data.astype(np.float64)
mean = x.mean(axis=0)
cov = np.cov(x, rowvar=False, ddof=1)
values, vectors = np.linalg.eigh(cov)
order = np.argsort(values)[::-1][:3]
components = vectors[:, order].T
projection = (x - mean) @ components.T

out = {
    "provenance": f"Scripts/make-pca-fixture.py, NumPy {np.__version__}",
    "count": n,
    "dimension": d,
    "data": [float(v) for v in data.ravel()],
    "mean": mean.tolist(),
    "eigenvalues": values[order].tolist(),
    "total_variance": float(np.trace(cov)),
    "components": components.tolist(),
    "projection": projection.ravel().tolist(),
}
path = pathlib.Path(__file__).resolve().parent.parent / "Tests/VitreousRepairTests/Fixtures/pca.json"
path.write_text(json.dumps(out) + "\n")
print(f"wrote {path}")
