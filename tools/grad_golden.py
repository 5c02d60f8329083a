#!/usr/bin/python3
"""Golden values for the "delta graph" loss and its gradients, by PyTorch autograd in float64.

The TypeScript runtime builds a graph that starts after the edit layer l: it takes the residual
stream `resid` (= blocks.{l}.resid_post), adds a vector `delta` at masked positions, runs blocks
l+1..L-1, final norm and unembedding, and computes NLL + KL (+ a mid-layer logit-lens KL) and
d loss / d delta. This script computes the same quantities with tools/reference.py (weights upcast
to float64; rotary tables in float32 as HF builds them) and writes test/fixtures/golden/grad.json.

Per model (gpt2-tiny, gptj-tiny, llama-gqa, mistral-tiny, qwen2-tiny; edit layer l = 0, mid m = 1):
  batch    3 right-padded rows, real lengths 7, 5, 9 (S = 9); ids seeded from [1, V); pads: id 0,
           mask 0, position 0; positions 0..len-1 on real tokens
  h        = resid + delta_mask[..., None] * delta                                    [3, 9, D]
  lp       = log_softmax(unembed(final_norm(blocks l+1..L-1 (h))))  -> lp_flat [27, V], row b*S + s
  lens     = log_softmax(unembed(final_norm(resid_post of layer m, computed from h)))  -> [27, V]
  loss_nll = -sum_i nll_weights[i] * lp_flat[nll_rows[i], nll_targets[i]]
  loss_kl  =  sum_k kl_weights[k] * sum_v exp(t[k, v]) * (t[k, v] - lp_flat[kl_rows[k], v]),  t = kl_teacher
  loss_mid =  the same with lens, mid_rows, mid_teacher, mid_weights
  loss     = loss_nll + loss_kl + loss_mid;  grad_delta = d loss / d delta,  grad_resid = d loss / d resid
delta and the teachers are rounded to float32 before use, so the stored values are the exact inputs;
resid is the float64 reference value (stored rounded to float32).

JSON layout (wire = {"dims": [...], "data": "<base64 of little-endian float32, C order>"}):
{
  "format": "mechedit-grad-golden/1",
  "generator": "tools/grad_golden.py + tools/reference.py (PyTorch <ver>, float64 compute)",
  "layer": 0, "mid": 1,
  "cases": [{
    "model": "llama-gqa", "model_dir": "test/fixtures/models/llama-gqa",
    "ids": [[int]*9]*3, "mask": [[0|1]*9]*3, "positions": [[int]*9]*3,
    "resid": wire [3, 9, D],          "delta": wire [D],          "delta_mask": wire [3, 9, 1],
    "nll_rows": [6 ints], "nll_targets": [6 ints], "nll_weights": [6 floats],
    "kl_rows": [3 ints],  "kl_teacher": wire [3, V],  "kl_weights": [3 floats],
    "mid_rows": [2 ints], "mid_teacher": wire [2, V], "mid_weights": [2 floats],
    "loss": float, "loss_nll": float, "loss_kl": float, "loss_mid": float,
    "nll_logprobs": [6 floats],       # lp_flat[nll_rows[i], nll_targets[i]]
    "grad_delta": wire [D],           "grad_resid": wire [3, 9, D]
  }, ...]
}

Self-checks (non-zero exit on failure):
  1. autograd grad_delta vs central finite differences (float64, step 1e-5) on 8 seeded coordinates:
     relative error |fd - ad| / |ad| < 1e-6.
  2. grad_delta == sum over masked positions of grad_resid (float64, < 1e-12 relative).
  3. delta = 0: the "start at block l+1" logits and mid-layer lens equal the full reference forward
     (no injection) to 1e-10, proving the truncated loop is the model.
  4. the JSON decodes back to the float32-rounded tensors. Output is deterministic (fixed seeds,
     one thread): two runs write identical bytes.
"""

import base64
import copy
import json
import os
import sys

sys.dont_write_bytecode = True   # no tools/__pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference import Model  # noqa: E402  (re-execs under /usr/bin/python3 if torch is missing)

import numpy as np  # noqa: E402
import torch  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = os.path.join(ROOT, "test", "fixtures", "models")
OUT = os.path.join(ROOT, "test", "fixtures", "golden", "grad.json")
NAMES = ["gpt2-tiny", "gptj-tiny", "llama-gqa", "mistral-tiny", "qwen2-tiny"]
LAYER, MID = 0, 1
LENS, S = [7, 5, 9], 9
DELTA_AT = [(0, 2), (1, 4), (2, 6), (2, 3)]                    # (row, pos) with delta_mask = 1
NLL_ROWS, NLL_WEIGHTS = [2, 3, 9 + 3, 9 + 4, 18 + 6, 18 + 7], [0.5, 0.5, 0.3, 0.7, 0.25, 0.75]
KL_ROWS, KL_WEIGHTS = [2, 9 + 4, 18 + 8], [0.2, 0.3, 0.5]
MID_ROWS, MID_WEIGHTS = [2, 18 + 6], [0.4, 0.6]
F64 = torch.float64


def wire(t):
    # float64 tensor (or array) -> {"dims", "data": base64 of little-endian float32, C order}
    a = torch.as_tensor(t).detach().to(torch.float32).contiguous().numpy().astype("<f4")
    return {"dims": list(a.shape), "data": base64.b64encode(a.tobytes()).decode("ascii")}


def unwire(w):
    return torch.from_numpy(np.frombuffer(base64.b64decode(w["data"]), dtype="<f4").copy().reshape(w["dims"]))


def f32(t):
    # round to float32 and back: the value a float32 consumer reads from the JSON
    return torch.as_tensor(t, dtype=F64).to(torch.float32).to(F64)


def run_tail(m, l, h, mask, positions):
    """Blocks l+1..L-1 of m on the residual stream h [B, S, D], by reference.Model.forward itself on a
    shallow copy: forward starts from x = wte[ids] (+ wpe[positions] for gpt2), so with
    wte := h.reshape(B*S, D), ids := arange(B*S) and wpe := 0 its loop starts from x = h exactly.
    Returns (logits [B, S, V], lens log-probs of layers l+1..L-1, each [B, S, V])."""
    s = copy.copy(m.spec)
    assert not getattr(s, "scale_by_inv_layer", False), "layer-index-dependent scale not supported"
    if hasattr(s, "sliding"):
        s.sliding = s.sliding[l + 1:]                              # per-layer windows follow the blocks
    t = copy.copy(m)
    t.spec, t.layers = s, m.layers[l + 1:]
    B, Sq, D = h.shape
    t.W = dict(m.W, wte=h.reshape(B * Sq, D))                      # unembed_w is bound separately
    if "wpe" in m.W:
        t.W["wpe"] = torch.zeros_like(m.W["wpe"])
    out = t.forward(torch.arange(B * Sq).view(B, Sq), mask, positions)
    return out["logits"], out["lens_logprobs"]


def kl(teacher, student):
    # teacher, student: [k, V] log-probs -> [k]: sum_v exp(t) (t - s)
    return (teacher.exp() * (teacher - student)).sum(-1)


def losses(m, resid, delta, dmask, inp):
    """resid [3, 9, D], delta [D], dmask [3, 9] -> (loss, loss_nll, loss_kl, loss_mid, nll_logprobs [6])."""
    h = resid + dmask[..., None] * delta                           # [3, 9, D]
    logits, lens = run_tail(m, LAYER, h, inp["mask"], inp["positions"])
    V = logits.shape[-1]
    lp = torch.log_softmax(logits, -1).reshape(-1, V)              # [27, V], row b*S + s
    lens_m = lens[MID - (LAYER + 1)].reshape(-1, V)                # [27, V]
    nll_lp = lp[torch.tensor(NLL_ROWS), inp["nll_targets"]]        # [6]
    loss_nll = -(torch.tensor(NLL_WEIGHTS, dtype=F64) * nll_lp).sum()
    loss_kl = (torch.tensor(KL_WEIGHTS, dtype=F64) * kl(inp["kl_teacher"], lp[KL_ROWS])).sum()
    loss_mid = (torch.tensor(MID_WEIGHTS, dtype=F64) * kl(inp["mid_teacher"], lens_m[MID_ROWS])).sum()
    return loss_nll + loss_kl + loss_mid, loss_nll, loss_kl, loss_mid, nll_lp


def case_for(name, seed):
    m = Model(os.path.join(MODELS, name), dtype=F64)               # rope tables f32, as HF
    D, V = m.spec.d_model, m.spec.vocab_size
    assert m.spec.n_layers > MID > LAYER
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(1, V, (3, S), generator=g)                 # [3, 9]
    mask = torch.zeros(3, S, dtype=torch.long)
    positions = torch.zeros(3, S, dtype=torch.long)
    for b, n in enumerate(LENS):
        mask[b, :n] = 1
        positions[b, :n] = torch.arange(n)
    ids = ids * mask                                               # pad slots: id 0
    delta = f32(0.5 * torch.randn(D, generator=g, dtype=F64))      # [D]
    inp = {"mask": mask, "positions": positions,
           "nll_targets": torch.randint(0, V, (len(NLL_ROWS),), generator=g),
           "kl_teacher": f32(torch.log_softmax(2 * torch.randn(len(KL_ROWS), V, generator=g, dtype=F64), -1)),
           "mid_teacher": f32(torch.log_softmax(2 * torch.randn(len(MID_ROWS), V, generator=g, dtype=F64), -1))}
    dmask = torch.zeros(3, S, dtype=F64)
    for b, p in DELTA_AT:
        dmask[b, p] = 1.0

    full = m.forward(ids, mask, positions)                         # no injection
    resid = full["taps"][f"blocks.{LAYER}.resid_post"].detach()    # [3, 9, D]
    checks = {}
    # check 3: delta = 0 through the truncated loop == the full model (all positions, pads included)
    with torch.no_grad():
        logits0, lens0 = run_tail(m, LAYER, resid + dmask[..., None] * torch.zeros(D, dtype=F64), mask, positions)
        checks["tail"] = max(float((logits0 - full["logits"]).abs().max()),
                             float((lens0[MID - LAYER - 1] - full["lens_logprobs"][MID]).abs().max()))

    r = resid.clone().requires_grad_(True)
    d = delta.clone().requires_grad_(True)
    loss, l_nll, l_kl, l_mid, nll_lp = losses(m, r, d, dmask, inp)
    grad_delta, grad_resid = torch.autograd.grad(loss, [d, r])     # [D], [3, 9, D]

    # check 2: grad_delta = sum over masked positions of grad_resid
    summed = (dmask[..., None] * grad_resid).sum((0, 1))
    checks["sum"] = float((summed - grad_delta).abs().max() / grad_delta.abs().max())
    # check 1: central finite differences on 8 seeded coordinates
    coords = torch.randperm(D, generator=torch.Generator().manual_seed(seed + 1))[:8].tolist()
    eps, fd_err = 1e-5, []
    with torch.no_grad():
        for j in coords:
            e = torch.zeros(D, dtype=F64)
            e[j] = eps
            fd = (losses(m, resid, delta + e, dmask, inp)[0] - losses(m, resid, delta - e, dmask, inp)[0]) / (2 * eps)
            fd_err.append(abs(float(fd) - float(grad_delta[j])) / abs(float(grad_delta[j])))
    checks["fd"] = max(fd_err)
    checks["fd_all"] = fd_err

    case = {
        "model": name, "model_dir": f"test/fixtures/models/{name}",
        "ids": ids.tolist(), "mask": mask.tolist(), "positions": positions.tolist(),
        "resid": wire(resid), "delta": wire(delta), "delta_mask": wire(dmask[..., None]),
        "nll_rows": NLL_ROWS, "nll_targets": inp["nll_targets"].tolist(), "nll_weights": NLL_WEIGHTS,
        "kl_rows": KL_ROWS, "kl_teacher": wire(inp["kl_teacher"]), "kl_weights": KL_WEIGHTS,
        "mid_rows": MID_ROWS, "mid_teacher": wire(inp["mid_teacher"]), "mid_weights": MID_WEIGHTS,
        "loss": float(loss), "loss_nll": float(l_nll), "loss_kl": float(l_kl), "loss_mid": float(l_mid),
        "nll_logprobs": [float(v) for v in nll_lp],
        "grad_delta": wire(grad_delta), "grad_resid": wire(grad_resid),
    }
    tensors = {"resid": resid, "delta": delta, "delta_mask": dmask[..., None], "kl_teacher": inp["kl_teacher"],
               "mid_teacher": inp["mid_teacher"], "grad_delta": grad_delta, "grad_resid": grad_resid}
    return case, tensors, checks


def main():
    torch.set_num_threads(1)                                       # same float64 reductions on every machine
    ok, cases, all_tensors = True, [], []
    print("checks: fd = max relative error of autograd grad_delta vs central differences (8 coords)")
    print("        sum = |grad_delta - sum_masked grad_resid| / max|grad_delta|; tail = delta 0 vs full forward")
    for i, name in enumerate(NAMES):
        case, tensors, c = case_for(name, 1000 + i)
        good = c["fd"] < 1e-6 and c["sum"] < 1e-12 and c["tail"] < 1e-10
        ok &= good
        cases.append(case)
        all_tensors.append(tensors)
        print(f"{name:13s} loss {case['loss']:.6f} (nll {case['loss_nll']:.6f}, kl {case['loss_kl']:.6f},"
              f" mid {case['loss_mid']:.6f}) | fd {c['fd']:.1e} | sum {c['sum']:.1e} | tail {c['tail']:.1e}"
              f" {'ok' if good else 'FAIL'}")
        print("              fd errors: " + " ".join(f"{e:.1e}" for e in c["fd_all"]))
    doc = {"format": "mechedit-grad-golden/1",
           "generator": f"tools/grad_golden.py + tools/reference.py (PyTorch {torch.__version__}, float64 compute)",
           "layer": LAYER, "mid": MID, "cases": cases}
    with open(OUT, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    # check 4: what was written decodes back to the float32-rounded tensors
    with open(OUT) as f:
        back = json.load(f)
    for case, tensors in zip(back["cases"], all_tensors):
        for k, t in tensors.items():
            if not torch.equal(unwire(case[k]), t.to(torch.float32)):
                ok = False
                print(f"{case['model']}: {k} does not decode back")
    print(f"wrote {os.path.relpath(OUT, ROOT)} ({os.path.getsize(OUT)} bytes)")
    if not ok:
        sys.exit("self-checks failed")


if __name__ == "__main__":
    main()
