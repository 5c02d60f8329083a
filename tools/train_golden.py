#!/usr/bin/python3
"""Golden values for the training graph (forward.ts option `train`, src/core/graph/trainLoss.ts):
the loss heads and their gradients with respect to the LoRA factors U, V of the trained modules,
by PyTorch autograd in float64 on tools/reference.py (weights upcast; rotary tables in float32 as HF
builds them). Writes test/fixtures/golden/train-grad.json.

Edit inputs (taps.ts): at output projection "{l}:{module}" (module mlp.out | attn.out),
U [r, d_out], V [r, d_in], y = W x + b + (x Vᵀ) U, i.e. ΔW = Uᵀ V (reference.Model.forward(edits=)).

Per model (gpt2-tiny, gptj-tiny, llama-gqa, mistral-tiny, qwen2-tiny), two cases:
  batch   3 right-padded rows, real lengths 7, 5, 9 (S = 9); ids seeded from [1, V); pads: id 0,
          mask 0, position 0; positions 0..len-1 on real tokens (as tools/grad_golden.py)
  token   modules "0:mlp.out" (rank 2) and "{L-1}:attn.out" (rank 3), U and V seeded non-zero
          lp[b,s]  = log_softmax(logits[b,s,:])[target_ids[b,s]]
          seq[b]   = sum_s seq_mask[b,s] * lp[b,s]
          z[p]     = sum_b pref_matrix[p,b] * (seq[b] - seq_ref[b])
          loss     = sum_{b,s} token_weights[b,s] * lp[b,s] + sum_p pref_coef[p] * softplus(z[p])
          target_ids seeded from [0, V) on real tokens (0 on pads); token_weights seeded, both signs,
          0 on pads and on the first 2 positions of rows 0 and 2 (untrained positions, where the
          graph may skip the unembedding and output lp = top = 0); seq_mask = 1 on the last 3 real
          tokens of each row; P = 2 preference rows
          mixing the batch rows; seq_ref = seq of the unedited model + seeded noise (so z is small
          and softplus is in its curved part).
  rmu     layer L = 1, module "0:mlp.out" (rank 2); h = blocks.1.resid_post
          loss = sum_{b,s} rmu_weights[b,s] * sum_d (h[b,s,d] - rmu_target[b,s,d])^2
          rmu_target seeded [3, 9, D]; rmu_weights seeded in [0.2, 1.2) on real tokens, 0 on pads.
Every input (U, V, weights, targets, references) is rounded to float32 before use, so the stored
values are the exact inputs.

JSON layout (wire = {"dims": [...], "data": "<base64 of little-endian float32, C order>"}):
{
  "format": "mechedit-train-golden/1",
  "generator": "tools/train_golden.py + tools/reference.py (PyTorch <ver>, float64 compute)",
  "cases": [{
    "model": "llama-gqa", "model_dir": "test/fixtures/models/llama-gqa",
    "head": "token" | "rmu", "modules": ["0:mlp.out", "2:attn.out"], "rmu": 1 (rmu head only),
    "ids": [[int]*9]*3, "mask": [[0|1]*9]*3, "positions": [[int]*9]*3,
    "edits": {"0:mlp.out": {"rank": 2, "U": wire [r, d_out], "V": wire [r, d_in]}, ...},
    token head:  "target_ids": [[int]*9]*3, "token_weights": wire [3, 9], "seq_mask": wire [3, 9],
                 "seq_ref": wire [3], "pref_matrix": wire [2, 3], "pref_coef": wire [2],
                 "token_logprobs": wire [3, 9], "top_logprobs": wire [3, 9], "seq_logprobs": wire [3]
                 (token_logprobs and top_logprobs at every position, pads and untrained ones included)
    rmu head:    "rmu_target": wire [3, 9, D], "rmu_weights": wire [3, 9]
    "loss": float,
    "grads": {"0:mlp.out": {"U": wire [r, d_out], "V": wire [r, d_in]}, ...}
  }, ...]
}

Self-checks (non-zero exit on failure):
  1. autograd vs central finite differences (float64, step 1e-5) on 4 seeded coordinates of each
     U and each V: |fd - ad| / max|grad of that tensor| < 1e-7.
  2. the edit hook is ΔW = Uᵀ V: the reference with the edits equals the reference with
     W + Uᵀ V merged into the weights (logits, float64, < 1e-10 relative).
  3. the JSON decodes back to the float32-rounded tensors; output is deterministic (fixed seeds,
     one thread): two runs write identical bytes on one machine.
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
import torch.nn.functional as F  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = os.path.join(ROOT, "test", "fixtures", "models")
OUT = os.path.join(ROOT, "test", "fixtures", "golden", "train-grad.json")
NAMES = ["gpt2-tiny", "gptj-tiny", "llama-gqa", "mistral-tiny", "qwen2-tiny"]
LENS, S = [7, 5, 9], 9
RMU_LAYER = 1
F64 = torch.float64


def wire(t):
    # float64 tensor -> {"dims", "data": base64 of little-endian float32, C order}
    a = t.detach().to(torch.float32).contiguous().numpy().astype("<f4")
    return {"dims": list(t.shape), "data": base64.b64encode(a.tobytes()).decode("ascii")}


def unwire(w):
    return torch.from_numpy(np.frombuffer(base64.b64decode(w["data"]), dtype="<f4").copy().reshape(w["dims"]))


def f32(t):
    # round to float32 and back: the value a float32 consumer reads from the JSON
    return t.to(torch.float32).to(F64)


def module_dims(m, l, module):
    """(d_out, d_in) of the output projection "{l}:{module}"."""
    s = m.spec
    if module == "mlp.out":
        return s.d_model, s.d_mlp
    return s.d_model, s.n_heads * s.head_dim


def token_loss(m, edits, inp):
    """-> (loss, lp [B, S], top [B, S], seq [B]) of the token head."""
    logits = m.forward(inp["ids"], inp["mask"], inp["positions"], lens=False, edits=edits)["logits"]
    logp = torch.log_softmax(logits, -1)                                   # [B, S, V]
    lp = logp.gather(-1, inp["target_ids"][..., None])[..., 0]             # [B, S]
    seq = (inp["seq_mask"] * lp).sum(-1)                                   # [B]
    z = inp["pref_matrix"] @ (seq - inp["seq_ref"])                        # [P]
    loss = (inp["token_weights"] * lp).sum() + (inp["pref_coef"] * F.softplus(z)).sum()
    return loss, lp, logp.max(-1).values, seq


def rmu_loss(m, edits, inp):
    """-> loss of the activation head at blocks.RMU_LAYER.resid_post (later blocks do not matter)."""
    taps = m.forward(inp["ids"], inp["mask"], inp["positions"], lens=False, edits=edits)["taps"]
    h = taps[f"blocks.{RMU_LAYER}.resid_post"]                             # [B, S, D]
    return (inp["rmu_weights"] * ((h - inp["rmu_target"]) ** 2).sum(-1)).sum()


def merged(m, edits):
    """A shallow copy of m with W + Uᵀ V merged into the edited projections (check 2)."""
    t = copy.copy(m)
    t.layers = [dict(P) for P in m.layers]
    fam = m.spec.family
    names = {"gpt2": ("c_proj_w", "proj_w"), "gptj": ("o_w", "fc_out_w"), "llama": ("o_w", "down_w")}[fam]
    for key, (U, V) in edits.items():
        l, module = key.split(":")
        P = t.layers[int(l)]
        name = names[0] if module == "attn.out" else names[1]
        dW = U.t() @ V                                                     # [d_out, d_in]
        P[name] = P[name] + (dW.t() if fam == "gpt2" else dW)              # Conv1D stores [in, out]
    return t


def batch(V, g):
    ids = torch.randint(1, V, (3, S), generator=g)                         # [3, 9]
    mask = torch.zeros(3, S, dtype=torch.long)
    positions = torch.zeros(3, S, dtype=torch.long)
    for b, n in enumerate(LENS):
        mask[b, :n] = 1
        positions[b, :n] = torch.arange(n)
    return ids * mask, mask, positions                                      # pad slots: id 0


def case_for(name, head, seed):
    m = Model(os.path.join(MODELS, name), dtype=F64)                       # rope tables f32, as HF
    D, V, L = m.spec.d_model, m.spec.vocab_size, m.spec.n_layers
    g = torch.Generator().manual_seed(seed)
    ids, mask, positions = batch(V, g)
    maskf = mask.to(F64)
    inp = {"ids": ids, "mask": mask, "positions": positions}
    if head == "token":
        modules = [("0:mlp.out", 2), (f"{L - 1}:attn.out", 3)]
    else:
        assert L > RMU_LAYER
        modules = [("0:mlp.out", 2)]
    edits = {}
    for key, r in modules:
        d_out, d_in = module_dims(m, int(key.split(":")[0]), key.split(":")[1])
        U = f32(0.3 * torch.randn(r, d_out, generator=g, dtype=F64))
        V_ = f32(0.3 * torch.randn(r, d_in, generator=g, dtype=F64))
        edits[key] = (U, V_)

    if head == "token":
        inp["target_ids"] = torch.randint(0, V, (3, S), generator=g) * mask
        inp["token_weights"] = f32(0.5 * torch.randn(3, S, generator=g, dtype=F64)) * maskf
        inp["token_weights"][[0, 0, 2, 2], [0, 1, 0, 1]] = 0.0                # untrained real positions
        seq_mask = torch.zeros(3, S, dtype=F64)
        for b, n in enumerate(LENS):
            seq_mask[b, n - 3:n] = 1.0
        inp["seq_mask"] = seq_mask
        inp["pref_matrix"] = f32(torch.tensor([[1.0, -1.0, 0.0], [0.5, 0.5, -1.0]], dtype=F64)
                                 + 0.1 * torch.randn(2, 3, generator=g, dtype=F64))
        inp["pref_coef"] = f32(torch.tensor([0.7, -0.4], dtype=F64))
        inp["seq_ref"] = torch.zeros(3, dtype=F64)
        with torch.no_grad():
            seq0 = token_loss(m, {}, inp)[3]                               # unedited seq log-probs
        inp["seq_ref"] = f32(seq0 + 0.5 * torch.randn(3, generator=g, dtype=F64))
        fn = lambda e: token_loss(m, e, inp)[0]                            # noqa: E731
    else:
        inp["rmu_target"] = f32(torch.randn(3, S, D, generator=g, dtype=F64))
        inp["rmu_weights"] = f32(0.2 + torch.rand(3, S, generator=g, dtype=F64)) * maskf
        fn = lambda e: rmu_loss(m, e, inp)                                 # noqa: E731

    leaves = {k: (U.clone().requires_grad_(True), V_.clone().requires_grad_(True)) for k, (U, V_) in edits.items()}
    if head == "token":
        loss, lp, top, seq = token_loss(m, leaves, inp)
    else:
        loss = rmu_loss(m, leaves, inp)
    flat = [t for pair in leaves.values() for t in pair]
    grads = torch.autograd.grad(loss, flat)
    gmap = {k: (grads[2 * i], grads[2 * i + 1]) for i, k in enumerate(leaves)}

    checks = {}
    # check 1: central finite differences on 4 seeded coordinates of every U and V
    eps, errs = 1e-5, []
    gc = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for k, (U, V_) in edits.items():
            for which, base, gr in (("U", U, gmap[k][0]), ("V", V_, gmap[k][1])):
                scale = float(gr.abs().max())
                assert scale > 0, f"{name} {head} {k}.{which}: zero gradient"
                for j in torch.randperm(base.numel(), generator=gc)[:4].tolist():
                    e = torch.zeros(base.numel(), dtype=F64)
                    e[j] = eps
                    e = e.view_as(base)
                    plus = dict(edits, **{k: (U + e, V_) if which == "U" else (U, V_ + e)})
                    minus = dict(edits, **{k: (U - e, V_) if which == "U" else (U, V_ - e)})
                    fd = (float(fn(plus)) - float(fn(minus))) / (2 * eps)
                    errs.append(abs(fd - float(gr.reshape(-1)[j])) / scale)
    checks["fd"] = max(errs)
    # check 2: the hook equals the merged weights
    with torch.no_grad():
        a = m.forward(ids, mask, positions, lens=False, edits=edits)["logits"]
        b = merged(m, edits).forward(ids, mask, positions, lens=False)["logits"]
        checks["merge"] = float((a - b).abs().max() / b.abs().max())

    case = {"model": name, "model_dir": f"test/fixtures/models/{name}", "head": head,
            "modules": [k for k, _ in modules]}
    if head == "rmu":
        case["rmu"] = RMU_LAYER
    case.update({"ids": ids.tolist(), "mask": mask.tolist(), "positions": positions.tolist(),
                 "edits": {k: {"rank": r, "U": wire(edits[k][0]), "V": wire(edits[k][1])} for k, r in modules}})
    tensors = {}
    if head == "token":
        case["target_ids"] = inp["target_ids"].tolist()
        for k in ("token_weights", "seq_mask", "seq_ref", "pref_matrix", "pref_coef"):
            case[k] = wire(inp[k])
            tensors[k] = inp[k]
        for k, t in (("token_logprobs", lp), ("top_logprobs", top), ("seq_logprobs", seq)):
            case[k] = wire(t)
    else:
        for k in ("rmu_target", "rmu_weights"):
            case[k] = wire(inp[k])
            tensors[k] = inp[k]
    case["loss"] = float(loss)
    case["grads"] = {k: {"U": wire(gu), "V": wire(gv)} for k, (gu, gv) in gmap.items()}
    for k, (U, V_) in edits.items():
        tensors[f"edit {k} U"], tensors[f"edit {k} V"] = U, V_
    return case, tensors, checks


def lookup(case, key):
    if key.startswith("edit "):
        _, mod, which = key.split(" ")
        return case["edits"][mod][which]
    return case[key]


def main():
    torch.set_num_threads(1)                                               # same float64 reductions on every run
    ok, cases, all_tensors = True, [], []
    print("checks: fd = max |autograd - central difference| / max|grad| over 4 coords of each U, V")
    print("        merge = edits as inputs vs W + U^T V merged into the weights (logits, relative)")
    for i, name in enumerate(NAMES):
        for head in ("token", "rmu"):
            case, tensors, c = case_for(name, head, 2000 + 10 * i + (head == "rmu"))
            good = c["fd"] < 1e-7 and c["merge"] < 1e-10
            ok &= good
            cases.append(case)
            all_tensors.append(tensors)
            gnorm = " ".join(f"{k}:|gU| {float(unwire(v['U']).abs().max()):.2e} |gV| {float(unwire(v['V']).abs().max()):.2e}"
                             for k, v in case["grads"].items())
            print(f"{name:13s} {head:5s} loss {case['loss']:+.6f} | {gnorm} | fd {c['fd']:.1e} | merge {c['merge']:.1e}"
                  f" {'ok' if good else 'FAIL'}")
    doc = {"format": "mechedit-train-golden/1",
           "generator": f"tools/train_golden.py + tools/reference.py (PyTorch {torch.__version__}, float64 compute)",
           "cases": cases}
    with open(OUT, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    # check 3: what was written decodes back to the float32-rounded tensors
    with open(OUT) as f:
        back = json.load(f)
    for case, tensors in zip(back["cases"], all_tensors):
        for k, t in tensors.items():
            if not torch.equal(unwire(lookup(case, k)), t.to(torch.float32)):
                ok = False
                print(f"{case['model']} {case['head']}: {k} does not decode back")
    print(f"wrote {os.path.relpath(OUT, ROOT)} ({os.path.getsize(OUT)} bytes)")
    if not ok:
        sys.exit("self-checks failed")


if __name__ == "__main__":
    main()
