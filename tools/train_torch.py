#!/usr/bin/python3
"""PyTorch side of bench/train-speed.mjs: trains LoRA factors U, V at output projections with
torch.optim.AdamW, eager float32 on the CPU, and prints one JSON object on stdout.

The forward is tools/reference.py's Model.forward (the project's independent PyTorch
implementation of Hugging Face's modeling code) with its `edits` hook: at module "{l}:{module}"
(mlp.out | attn.out) y = W x + b + (x Vᵀ) U, U [r, d_out], V [r, d_in] (MechEdit's edit inputs).
Only U and V require gradients. The loss is the training graph's token head (trainLoss.ts):
  lp[b,s] = log_softmax(logits[b,s,:])[target_ids[b,s]]
  seq[b]  = sum_s seq_mask[b,s] * lp[b,s]
  z[p]    = sum_b pref_matrix[p,b] * (seq[b] - seq_ref[b])
  loss    = sum_{b,s} token_weights[b,s] * lp[b,s] + sum_p pref_coef[p] * softplus(z[p])
so GA (token_weights +1/(F n_i) on forget answers), GradDiff (GA plus -λ/(R n_j) on retain answers)
and NPO (preference rows: pref_matrix β on a forget row, pref_coef 2/(β F), seq_ref = π_ref's
sequence log-probs) are all given by the batches' feeds, as MechEdit's objectives.ts builds them.

Per step k: batch k mod len(batches); zero_grad; loss.backward(); clip_grad_norm_(U, V; clip) when
clip > 0; AdamW(lr, betas, eps, weight_decay).step(). Constant learning rate. A step's time covers
all of that (tensors are built from the JSON before the first step).

Usage: python3 tools/train_torch.py MODEL_DIR BATCHES.json [--threads N] [--steps N]
BATCHES.json:
{
  "settings": {"modules": ["0:mlp.out", ...], "rank": 8, "lr": 2e-3, "steps": 30,
               "objective": "ga" | "graddiff" | "npo",
               optional: "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0, "clip": 1.0,
                         "threads": 2, "seed": 1, "warmup": 2},
  "init": {"0:mlp.out": {"V": [r*d_in floats, row-major]}, ...}     optional; else V is LoRA's
          kaiming-uniform U(-1/sqrt(d_in), 1/sqrt(d_in)) from torch.manual_seed(seed); U = 0 always
  "batches": [{"ids": [[int]*S]*B, "mask": [[0|1]*S]*B, "positions": [[int]*S]*B,
               "target_ids": [[int]*S]*B, "token_weights": [[float]*S]*B,
               optional (NPO: required): "seq_mask": [[float]*S]*B, "seq_ref": [float]*B,
               "pref_matrix": [[float]*B]*P, "pref_coef": [float]*P}, ...]
}
Output: {"msPerStep": median ms over the steps after `warmup`, "losses": [loss before each update],
         "msSteps": [...], "steps", "threads", "warmup", "objective", "forward", "torch",
         "refCheck": max |seq - seq_ref| over preference rows at step 0 (U = 0, so π_θ = π_ref;
                     null without preference rows)}
Threads: torch.set_num_threads(N), and OMP_NUM_THREADS / OPENBLAS_NUM_THREADS = N with
OMP_WAIT_POLICY=PASSIVE (Debian's torch runs GEMMs on OpenBLAS threads; see bench/torch_eager.py).
"""

import argparse
import json
import math
import os
import statistics
import sys
import time


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model_dir")
    ap.add_argument("batches")
    ap.add_argument("--threads", type=int, help="CPU threads (default: settings.threads, else 2)")
    ap.add_argument("--steps", type=int, help="override settings.steps")
    return ap.parse_args()


ARGS = parse_args()
with open(ARGS.batches) as _f:
    DOC = json.load(_f)
THREADS = ARGS.threads or DOC.get("settings", {}).get("threads", 2)
# Before torch (and numpy's BLAS) load; reference.py may re-exec under /usr/bin/python3, which
# inherits this environment.
for _k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_k] = str(THREADS)
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

sys.dont_write_bytecode = True   # no tools/__pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference import Model  # noqa: E402

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

OBJECTIVES = ("ga", "graddiff", "npo")


def bad(msg, field, hint=""):
    sys.exit(f"{ARGS.batches}: {field}: {msg}" + (f" ({hint})" if hint else ""))


def module_shape(m, key):
    """(d_out, d_in) of "{l}:{module}", checked."""
    try:
        l_s, module = key.split(":")
        layer = int(l_s)
    except ValueError:
        bad(f'bad module key "{key}"', "settings.modules", 'expected "{layer}:mlp.out" or "{layer}:attn.out"')
    s = m.spec
    if not 0 <= layer < s.n_layers or module not in ("mlp.out", "attn.out"):
        bad(f'bad module key "{key}"', "settings.modules", f"layer in 0..{s.n_layers - 1}, module mlp.out | attn.out")
    return (s.d_model, s.d_mlp) if module == "mlp.out" else (s.d_model, s.n_heads * s.head_dim)


def tensors_of(b, i, npo):
    """One batch's JSON -> tensors (shape-checked)."""
    where = f"batches[{i}]"
    for k in ("ids", "mask", "positions", "target_ids", "token_weights"):
        if k not in b:
            bad("missing", f"{where}.{k}", "every batch needs ids, mask, positions, target_ids, token_weights")
    t = {"ids": torch.tensor(b["ids"], dtype=torch.long), "mask": torch.tensor(b["mask"], dtype=torch.long),
         "positions": torch.tensor(b["positions"], dtype=torch.long),
         "target_ids": torch.tensor(b["target_ids"], dtype=torch.long),
         "token_weights": torch.tensor(b["token_weights"], dtype=torch.float32)}
    B, S = t["ids"].shape
    for k in ("mask", "positions", "target_ids", "token_weights"):
        if tuple(t[k].shape) != (B, S):
            bad(f"shape {list(t[k].shape)}, expected [{B}, {S}] like ids", f"{where}.{k}")
    has_pref = "pref_matrix" in b and len(b["pref_matrix"]) > 0 and any(c != 0 for c in b.get("pref_coef", []))
    if npo and not has_pref:
        bad("NPO needs preference rows", f"{where}.pref_matrix", "give seq_mask, seq_ref, pref_matrix and pref_coef")
    if has_pref:
        t["seq_mask"] = torch.tensor(b["seq_mask"], dtype=torch.float32)
        t["seq_ref"] = torch.tensor(b["seq_ref"], dtype=torch.float32)
        t["pref_matrix"] = torch.tensor(b["pref_matrix"], dtype=torch.float32)
        t["pref_coef"] = torch.tensor(b["pref_coef"], dtype=torch.float32)
        P = t["pref_coef"].shape[0]
        for k, want in (("seq_mask", (B, S)), ("seq_ref", (B,)), ("pref_matrix", (P, B))):
            if tuple(t[k].shape) != want:
                bad(f"shape {list(t[k].shape)}, expected {list(want)}", f"{where}.{k}")
    return t


def token_loss(m, edits, t):
    """-> (loss, seq [B] or None)."""
    logits = m.forward(t["ids"], t["mask"], t["positions"], lens=False, edits=edits)["logits"]
    lp = torch.log_softmax(logits, -1).gather(-1, t["target_ids"][..., None])[..., 0]   # [B, S]
    loss = (t["token_weights"] * lp).sum()
    seq = None
    if "pref_matrix" in t:
        seq = (t["seq_mask"] * lp).sum(-1)                                               # [B]
        loss = loss + (t["pref_coef"] * F.softplus(t["pref_matrix"] @ (seq - t["seq_ref"]))).sum()
    return loss, seq


def main():
    torch.set_num_threads(THREADS)
    st = DOC.get("settings", {})
    objective = st.get("objective")
    if objective not in OBJECTIVES:
        bad(f"{objective!r} is not one of {', '.join(OBJECTIVES)}", "settings.objective")
    modules, rank = st.get("modules") or [], st.get("rank")
    if not modules:
        bad("no modules to train", "settings.modules", 'e.g. ["0:mlp.out"]')
    if not isinstance(rank, int) or rank < 1:
        bad(f"rank must be a positive whole number (got {rank!r})", "settings.rank")
    steps = ARGS.steps or st.get("steps", 30)
    warmup = st.get("warmup", 2)
    if steps <= warmup:
        bad(f"steps ({steps}) must exceed the warm-up steps ({warmup})", "settings.steps")
    if not DOC.get("batches"):
        bad("no batches", "batches")

    m = Model(ARGS.model_dir, dtype=torch.float32)
    batches = [tensors_of(b, i, objective == "npo") for i, b in enumerate(DOC["batches"])]

    torch.manual_seed(st.get("seed", 1))
    init = DOC.get("init", {})
    edits, params = {}, []
    for key in modules:
        d_out, d_in = module_shape(m, key)
        U = torch.zeros(rank, d_out, requires_grad=True)
        if key in init:
            V = torch.tensor(init[key]["V"], dtype=torch.float32)
            if V.numel() != rank * d_in:
                bad(f"{V.numel()} values, expected rank × d_in = {rank * d_in}", f"init.{key}.V")
            V = V.reshape(rank, d_in).requires_grad_(True)
        else:
            bound = 1 / math.sqrt(d_in)
            V = torch.empty(rank, d_in).uniform_(-bound, bound).requires_grad_(True)
        edits[key] = (U, V)
        params += [U, V]
    opt = torch.optim.AdamW(params, lr=st.get("lr", 2e-3), betas=tuple(st.get("betas", (0.9, 0.999))),
                            eps=st.get("eps", 1e-8), weight_decay=st.get("weight_decay", 0.0))
    clip = st.get("clip", 1.0)

    losses, ms, ref_check = [], [], None
    for k in range(steps):
        t = batches[k % len(batches)]
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss, seq = token_loss(m, edits, t)
        loss.backward()
        if clip > 0:
            torch.nn.utils.clip_grad_norm_(params, clip)
        opt.step()
        ms.append((time.perf_counter() - t0) * 1000)
        losses.append(float(loss))
        if k == 0 and seq is not None:
            rows = (t["pref_matrix"] != 0).any(0)                                         # rows in a preference
            ref_check = float((seq.detach() - t["seq_ref"])[rows].abs().max())
        print(f"[torch] step {k}: loss {float(loss):.6f}, {ms[-1]:.1f} ms", file=sys.stderr, flush=True)

    print(json.dumps({
        "msPerStep": statistics.median(ms[warmup:]), "losses": losses, "msSteps": ms, "steps": steps,
        "threads": THREADS, "warmup": warmup, "objective": objective,
        "forward": "tools/reference.py Model.forward (float32 eager, edits hook)", "torch": torch.__version__,
        "refCheck": ref_check,
    }))


if __name__ == "__main__":
    main()
