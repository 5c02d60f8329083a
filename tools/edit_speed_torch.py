#!/usr/bin/python3
"""PyTorch side of bench/edit-speed.mjs: ROME, MEMIT and AlphaEdit written independently in
PyTorch (eager, float32 model, float64 solves) on a GPT-2-architecture checkpoint, timed per edit.
Prints one JSON object on stdout.

The weights come from tools/reference.py (its safetensors reader and its per-layer weight dicts);
the blocks are run here, truncated after a layer or started after one, as MechEdit's graphs do.
The key statistics are MechEdit's own cached C (safetensors, tensor "C" [d_mlp, d_mlp]), so both
sides use the same statistics; tokenisation and the context templates come from MechEdit as ids.
The algorithms (METHODS.md; MechEdit's choices as recorded in the edit's hparams):
  ROME       k̄ = mean over the templates of the key at the subject's last token; u = C⁻¹k̄/‖C⁻¹k̄‖;
             with updateInLoop δ is added at every position scaled by uᵀk/uᵀk_bare, else at the
             subject's last token; v* by Adam on δ (NLL of the target over the templates, bare
             prompt weighing bareWeight, + klFactor · KL on "{s} is a" + weightDecay · ‖δ‖/‖v_init‖²,
             clamp · ‖v_init‖); W += u (δ / uᵀk_bare)ᵀ.
  MEMIT      z_j = resid_post(last layer) + δ_j (δ at the subject's last token); per layer i:
             keys K_i (½ bare + ½ mean of the other templates), R_i = (z − h_last)/(layers left),
             ΔW_i = R_i K̃_iᵀ, K̃ = (λC + KKᵀ)⁻¹K by Woodbury over C's Cholesky factor.
  AlphaEdit  MEMIT's z and keys; P = projector on C's eigenvectors with eigenvalue < τ;
             ΔW_i = R_i Xᵀ, X = (P A P + λ I)⁻¹ P K1, A = K_p K_pᵀ + K1 K1ᵀ (Woodbury over
             M = P[K_p K1]); K_p accumulates the keys of every earlier edit.
Each method starts from the unedited weights. Each v* step is one forward + backward (every step, as MechEdit's graph returns both), exactly
`steps` of them per request (MechEdit's count for the same request). Edits are applied to the
weights as they are made (sequential editing).

Usage: python3 tools/edit_speed_torch.py JOB.json [--threads N]
JOB.json:
{ "model": DIR, "threads": 2,
  "stats": {"<layer>": FILE.safetensors}, "statsRows": [[ids]], "statsBatch": rows per forward   (optional: time C at these rows),
  "edits": [{"method": "rome"|"memit"|"alphaedit", "layers": [l…],
             "hp": {"lr", "weightDecay", "clamp", "klFactor", "bareWeight"?, "updateInLoop"?,
                    "lambda"?  (MEMIT: λ; AlphaEdit: absolute λ per layer in "lambdas"), "taus"?},
             "requests": [{"templates": [{"ids": [...], "lookup": n}], "target": [ids],
                           "kl": {"ids": [...], "lookup": n}, "steps": S}]}] }
Output: {"edits": [{"ms", "vstarMs", "steps", "loss": [final loss per request], "deltaNorm": [...]}],
         "statsMs" (the second, warm pass), "statsFirstMs", "statsKeys", "setupMs", "threads", "torch"}
"""

import json
import math
import os
import sys
import time

if __name__ == "__main__":
    # Debian's torch runs GEMMs on OpenBLAS threads (bench/torch_eager.py): set them before import.
    _t = sys.argv[sys.argv.index("--threads") + 1] if "--threads" in sys.argv else "2"
    for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(k, _t)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference import Model, layer_norm, conv1d, gelu_new, read_safetensors_raw, decode_tensor  # noqa: E402
import torch  # noqa: E402

F64 = torch.float64


class Runner:
    """GPT-2 blocks on right-padded batches: from the embeddings up to a layer, or from a layer's
    resid_post to the end. `dW[l]` [d_mlp, d_model] is added to block l's c_proj (the edits)."""

    def __init__(self, m):
        if m.spec.family != "gpt2":
            raise SystemExit(f"edit_speed_torch.py: GPT-2 checkpoints only, got {m.spec.family}")
        self.m, self.s = m, m.spec
        self.dW = {}

    def batch(self, rows):
        S = max(len(r) for r in rows)
        ids = torch.zeros(len(rows), S, dtype=torch.long)
        mask = torch.zeros(len(rows), S, dtype=torch.long)
        for b, r in enumerate(rows):
            ids[b, : len(r)] = torch.tensor(r)
            mask[b, : len(r)] = 1
        causal = torch.tril(torch.ones(S, S, dtype=torch.bool))
        allowed = causal[None] & mask[:, None, :].bool()
        bias = torch.where(allowed, 0.0, torch.finfo(torch.float32).min)[:, None]
        return ids, mask, bias

    def block(self, l, x, bias):
        s, P = self.s, self.m.layers[l]
        a = layer_norm(x, P["ln1_w"], P["ln1_b"], s.eps)
        q, k, v = conv1d(a, P["c_attn_w"], P["c_attn_b"]).split(s.d_model, dim=-1)
        sc = 1.0 / math.sqrt(s.head_dim) if s.scale_attn_weights else 1.0
        if s.scale_by_inv_layer:
            sc /= float(l + 1)
        o = self.m._attend(self.m._split(q, s.n_heads), self.m._split(k, s.n_heads), self.m._split(v, s.n_heads), bias, sc)
        x = x + conv1d(o, P["c_proj_w"], P["c_proj_b"])
        key = gelu_new(conv1d(layer_norm(x, P["ln2_w"], P["ln2_b"], s.eps), P["fc_w"], P["fc_b"]))
        w = P["proj_w"] if l not in self.dW else P["proj_w"] + self.dW[l]
        out = conv1d(key, w, P["proj_b"])
        return x + out, key, out

    def upto(self, rows, layer):
        """{key, mlp_out, resid_post} of block `layer` [b, s, ·], and the batch."""
        ids, mask, bias = self.batch(rows)
        W = self.m.W
        x = W["wte"][ids] + W["wpe"][torch.arange(ids.shape[1])[None]]
        for l in range(layer + 1):
            x, key, out = self.block(l, x, bias)
        return {"key": key, "mlp_out": out, "resid_post": x}, (ids, mask, bias)

    def after(self, layer, h, bias):
        for l in range(layer + 1, self.s.n_layers):
            h, _, _ = self.block(l, h, bias)
        return h

    def logprobs(self, rows_h):
        W = self.m.W
        return torch.log_softmax(layer_norm(rows_h, W["lnf_w"], W["lnf_b"], self.s.eps) @ W["unembed_w"].t(), dim=-1)


def rewrite_rows(req):
    tgt = req["target"]
    return [t["ids"] + tgt[:-1] for t in req["templates"]] + [req["kl"]["ids"]]


def optimise(R, req, layer, hp, init, scales=None):
    """v*: exactly req["steps"] forward + backward runs; Adam on δ; returns (δ, v_init, final loss)."""
    rows = rewrite_rows(req)
    tpl, tgt = req["templates"], req["target"]
    P, m = len(tpl), len(tgt)
    with torch.no_grad():
        taps, (ids, mask, bias) = R.upto(rows, layer)
        resid = taps["resid_post"]
        S = ids.shape[1]
        v_init = taps[init][0, tpl[0]["lookup"]].clone()
        kl_at = P * S + req["kl"]["lookup"]
        teacher = R.logprobs(R.after(layer, resid, bias).reshape(-1, R.s.d_model)[kl_at : kl_at + 1])
    dm = torch.zeros(len(rows), S)
    if scales is not None:
        dm[: scales.shape[0], : scales.shape[1]] = scales
    else:
        for b, t in enumerate(tpl):
            dm[b, t["lookup"]] = 1.0
        dm[P, req["kl"]["lookup"]] = 1.0
    bw = hp.get("bareWeight")
    wrow = [(1.0 / P) if bw is None or P == 1 else (bw if b == 0 else (1 - bw) / (P - 1)) for b in range(P)]
    nll_at = torch.tensor([b * S + len(t["ids"]) - 1 + j for b, t in enumerate(tpl) for j in range(m)])
    nll_tg = torch.tensor([tgt[j] for _ in tpl for j in range(m)])
    nll_w = torch.tensor([wrow[b] / m for b in range(P) for _ in range(m)])
    n2 = float(v_init.double().pow(2).sum())
    delta = torch.zeros(R.s.d_model, requires_grad=True)
    opt = torch.optim.Adam([delta], lr=hp["lr"])
    loss_v = None
    for it in range(req["steps"]):
        opt.zero_grad()
        h = R.after(layer, resid + dm[..., None] * delta, bias).reshape(-1, R.s.d_model)
        lp = R.logprobs(h[torch.cat([nll_at, torch.tensor([kl_at])])])
        nll = -(lp[:-1].gather(1, nll_tg[:, None])[:, 0] * nll_w).sum()
        kl = hp["klFactor"] * (teacher.exp() * (teacher - lp[-1:])).sum()
        norm = delta.norm() if it > 0 else torch.zeros(())  # δ = 0 at the first step (‖·‖ has no gradient there)
        loss = nll + kl + hp["weightDecay"] * norm / n2
        loss.backward()
        loss_v = float(loss)
        if it == req["steps"] - 1:
            break
        opt.step()
        with torch.no_grad():
            mx = hp["clamp"] * math.sqrt(n2)
            nn = float(delta.norm())
            if nn > mx:
                delta.mul_(mx / nn)
    return delta.detach().double(), v_init.double(), loss_v


def keys_at(R, req, layer):
    """(mean over the templates, bare) key at the subject's last token."""
    with torch.no_grad():
        rows = [t["ids"][: t["lookup"] + 1] for t in req["templates"]]
        taps, _ = R.upto(rows, layer)
        ks = torch.stack([taps["key"][b, t["lookup"]] for b, t in enumerate(req["templates"])]).double()
    return ks.mean(0), ks[0]


class Solvers:
    """Per-layer factorisations of C (Cholesky; AlphaEdit's projector), made once like MechEdit's caches."""

    def __init__(self, stats_files):
        self.C, self.L, self.P, self.Kp = {}, {}, {}, {}
        for layer, f in stats_files.items():
            raw, _ = read_safetensors_raw(f)
            dt, shape, data = raw["C"]
            self.C[int(layer)] = decode_tensor(dt, shape, data, to=F64)

    def chol(self, l):
        if l not in self.L:
            # MechEdit's solveC factorises C + ρI, ρ = 1e-6 × the mean eigenvalue, and like its
            # cholesky() retries with 10 ρ (up to 8 times) while C + ρI is not positive definite in
            # floating point (statistics from fewer keys than d_mlp are singular); the same here.
            C = self.C[l]
            ridge = 1e-6 * torch.trace(C).item() / C.shape[0]
            eye = torch.eye(C.shape[0], dtype=F64)
            for _ in range(9):
                L, info = torch.linalg.cholesky_ex(C + ridge * eye)
                if info.item() == 0:
                    break
                ridge *= 10
            else:
                raise SystemExit(f"layer {l}: C is not positive definite even with a ridge of {ridge / 10}")
            self.L[l] = L
        return self.L[l]

    def projector(self, l, tau):
        if l not in self.P:
            w, U = torch.linalg.eigh(self.C[l])
            Un = U[:, w < tau]
            self.P[l] = Un @ Un.t()
            self.Kp[l] = torch.zeros(self.C[l].shape[0], 0, dtype=F64)
        return self.P[l]


def rome(R, Sv, e, req):
    l, hp = e["layers"][0], e["hp"]
    k_mean, k_bare = keys_at(R, req, l)
    x = torch.cholesky_solve(k_mean[:, None], Sv.chol(l))[:, 0]
    u = x / x.norm()
    scale = float(k_bare @ u)
    scales = None
    if hp.get("updateInLoop"):
        with torch.no_grad():
            taps, _ = R.upto(rewrite_rows(req), l)
            scales = (taps["key"].double() @ u / scale).float() * R.batch(rewrite_rows(req))[1]
    t = time.perf_counter()
    delta, _, loss = optimise(R, req, l, hp, "mlp_out", scales)
    vms = (time.perf_counter() - t) * 1e3
    dW = torch.outer(u, delta / scale).float()
    R.dW[l] = R.dW.get(l, 0) + dW
    return vms, loss, float(delta.norm())


def batch_edit(R, Sv, e, reqs):
    """MEMIT (and AlphaEdit's shared part): z per request, then the layer loop."""
    layers, hp = e["layers"], e["hp"]
    last = layers[-1]
    t = time.perf_counter()
    zs, losses, norms = [], [], []
    for req in reqs:
        delta, v_init, loss = optimise(R, req, last, hp, "resid_post")
        zs.append(v_init + delta)
        losses.append(loss)
        norms.append(float(delta.norm()))
    vms = (time.perf_counter() - t) * 1e3
    for i, l in enumerate(layers):
        keys, res = [], []
        for req, z in zip(reqs, zs):
            k_mean, k_bare = keys_at(R, req, l)
            T = len(req["templates"])
            keys.append(0.5 * k_bare + 0.5 * (T * k_mean - k_bare) / (T - 1))
            with torch.no_grad():
                taps, _ = R.upto([req["templates"][0]["ids"][: req["templates"][0]["lookup"] + 1]], last)
            res.append((z - taps["resid_post"][0, -1].double()) / (len(layers) - i))
        K = torch.stack(keys, 1)  # [d_mlp, n]
        Rm = torch.stack(res, 1)  # [d_model, n]
        if e["method"] == "memit":
            lam = hp["lambda"]
            Y = torch.cholesky_solve(K, Sv.chol(l)) / lam  # (λC)⁻¹K
            X = Y @ torch.linalg.solve(torch.eye(K.shape[1], dtype=F64) + K.t() @ Y, torch.eye(K.shape[1], dtype=F64))
        else:
            lam = hp["lambdas"][i]
            Pm = Sv.projector(l, hp["taus"][i])
            PK = Pm @ K
            M = torch.cat([Sv.Kp[l], PK], 1)  # P[K_p K1]
            # (λI + MMᵀ)⁻¹ b = (b − M (λI + MᵀM)⁻¹ Mᵀ b) / λ
            inner = lam * torch.eye(M.shape[1], dtype=F64) + M.t() @ M
            X = (PK - M @ torch.linalg.solve(inner, M.t() @ PK)) / lam
            Sv.Kp[l] = M
        R.dW[l] = R.dW.get(l, 0) + (X @ Rm.t()).float()  # [d_mlp, d_model]
    return vms, losses, norms


def stats_time(R, rows, layer, batch):
    """C = E[k kᵀ] over the non-pad keys of `rows` at `layer`, `batch` rows per forward: ms and count."""
    t = time.perf_counter()
    d = R.m.layers[layer]["fc_w"].shape[1]
    C = torch.zeros(d, d, dtype=F64)
    n = 0
    with torch.no_grad():
        for i in range(0, len(rows), batch):
            chunk = rows[i : i + batch]
            taps, (_, mask, _) = R.upto(chunk, layer)
            k = taps["key"][mask.bool()]
            C += (k.t() @ k).double()
            n += k.shape[0]
    return (time.perf_counter() - t) * 1e3, n


def main():
    job = json.load(open(sys.argv[1]))
    threads = int(sys.argv[sys.argv.index("--threads") + 1]) if "--threads" in sys.argv else job.get("threads", 2)
    torch.set_num_threads(threads)
    torch.set_num_interop_threads(1)
    t0 = time.perf_counter()
    R = Runner(Model(job["model"]))
    Sv = Solvers(job["stats"])
    for e in job["edits"]:  # factorisations once, as MechEdit caches them
        for i, l in enumerate(e["layers"]):
            if e["method"] == "alphaedit":
                Sv.projector(l, e["hp"]["taus"][i])
            else:
                Sv.chol(l)
    setup = (time.perf_counter() - t0) * 1e3
    out = {"edits": [], "setupMs": setup, "threads": torch.get_num_threads(), "torch": torch.__version__}
    if job.get("statsRows"):
        # Twice: the first pass warms the thread pool and allocator; the second is what MechEdit's warm pass compares with.
        args = (R, job["statsRows"], job["statsLayer"], job["statsBatch"])
        out["statsFirstMs"], _ = stats_time(*args)
        out["statsMs"], out["statsKeys"] = stats_time(*args)
    previous = None
    for e in job["edits"]:
        if e["method"] != previous:  # each method edits the unedited model (MechEdit: a fresh stack)
            R.dW = {}
            Sv.Kp = {l: torch.zeros(p.shape[0], 0, dtype=F64) for l, p in Sv.P.items()}
            previous = e["method"]
        t = time.perf_counter()
        if e["method"] == "rome":
            vms, loss, nrm = rome(R, Sv, e, e["requests"][0])
            losses, norms = [loss], [nrm]
        else:
            vms, losses, norms = batch_edit(R, Sv, e, e["requests"])
        out["edits"].append({"method": e["method"], "ms": (time.perf_counter() - t) * 1e3, "vstarMs": vms, "steps": sum(r["steps"] for r in e["requests"]), "loss": losses, "deltaNorm": norms})
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
