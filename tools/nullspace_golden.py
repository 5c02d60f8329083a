#!/usr/bin/python3
"""Golden for AlphaEdit's null-space projector (src/core/edits/nullspace.ts): key statistics
C = Kᵀ K / m of seeded random keys whose scales span four decades, a threshold τ between two
eigenvalues, and the exact projector P = U_s U_sᵀ from numpy's eigh (eigenvalues below τ).

    /usr/bin/python3 tools/nullspace_golden.py   # writes test/fixtures/golden/nullspace.json
"""
import json
import pathlib

import numpy as np

n, m = 40, 400
rng = np.random.default_rng(17)
Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
scales = np.logspace(-2, 1, n)  # directions of C from 1e-4 to 1e2 (squared)
K = rng.standard_normal((m, n)) * scales @ Q.T
C = K.T @ K / m
w, U = np.linalg.eigh(C)
# τ: the geometric mean of the two eigenvalues around the 15th, so that none is within a few % of it.
k = 15
tau = float(np.sqrt(w[k - 1] * w[k]))
P = U[:, w < tau] @ U[:, w < tau].T
out = {
    "n": n, "tau": tau, "dimension": int((w < tau).sum()),
    "nearest": float(min(abs(w / tau - 1))),
    "C": [float(x) for x in C.ravel()], "P": [float(x) for x in P.ravel()], "eigenvalues": [float(x) for x in w],
}
path = pathlib.Path(__file__).resolve().parent.parent / "test" / "fixtures" / "golden" / "nullspace.json"
path.write_text(json.dumps(out) + "\n")
print(f"wrote {path}: n {n}, τ {tau:.4g}, dimension {out['dimension']}, nearest eigenvalue {100 * out['nearest']:.1f} % from τ")
