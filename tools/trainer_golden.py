#!/usr/bin/python3
"""Golden values for the core trainer (src/core/train/trainer.ts), by PyTorch in float64.

Each case trains two parameter tensors, W [C, F] (weight decay) and b [C] (no decay), for `steps`
optimizer steps with torch.optim.AdamW (two param groups), torch.optim.lr_scheduler.LambdaLR with
Hugging Face's schedule lambdas (copied below from transformers' optimization.py: cosine, linear
and constant with warm-up; transformers itself is not needed) stepped after every optimizer step,
and torch.nn.utils.clip_grad_norm_ when clip > 0. Per step k the batch is data.x[k] [B, F] with
targets data.y[k]; the loss is evaluated at the parameters before step k's update:
  softmax-ce     loss = mean_i -log softmax(x_i W^T + b)[y_i]             y[k]: [B] class ids
  least-squares  loss = mean_i 0.5 * ||x_i W^T + b - y_i||^2              y[k]: [B, C]
Gradients come from autograd. Initial values and data are rounded to float32 (so the TypeScript
side, which keeps parameters as Float32Array, starts from exactly the same numbers); everything
after that is float64.

JSON layout (plain numbers; flat arrays in C order):
{
  "format": "mechedit-trainer-golden/1",
  "generator": "tools/trainer_golden.py (PyTorch <ver>, float64)",
  "cases": [{
    "name": "cosine-clip", "objective": "softmax-ce" | "least-squares", "classes": C, "features": F,
    "hparams": {"steps", "lr", "weightDecay", "betas": [b1, b2], "eps", "warmup",
                "schedule": "cosine" | "linear" | "constant", "clip"},    # as TrainerHparams
    "params": [{"name": "W", "dims": [C, F], "decay": true,  "init": [C*F floats]},
               {"name": "b", "dims": [C],    "decay": false, "init": [C floats]}],
    "data": {"x": [steps][B][F], "y": [steps][B] | [steps][B][C]},
    "lr": [steps],            # the learning rate used at step k (param_groups[0]["lr"] before step())
    "loss": [steps],          # loss at step k
    "grad_norm": [steps],     # clip_grad_norm_'s total norm (before clipping)
    "clipped": [steps bools], # whether clipping scaled the gradients at step k
    "final": {"W": [C*F], "b": [C]}
  }, ...]
}

Self-checks (non-zero exit on failure):
  1. a hand-written AdamW / schedule / clipping loop (the formulas in the module docstring of
     trainer.ts) reproduces torch's per-step lr, grad norms and final parameters to 1e-12;
  2. the cosine case clips on some steps and not on others (so the golden covers both);
  3. the JSON decodes back to the same numbers. Output is deterministic (fixed seeds).
"""

import json
import math
import os
import sys

sys.dont_write_bytecode = True
try:
    import torch
except ImportError:  # pyenv python3 on PATH: restart under Debian's, which has python3-torch
    if sys.executable != "/usr/bin/python3" and os.path.exists("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3", *sys.argv])
    raise

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "test", "fixtures", "golden", "trainer.json")
F64 = torch.float64

CASES = [
    # name, objective, C, F, B, hparams, data seed
    ("cosine-clip", "softmax-ce", 3, 4, 6,
     dict(steps=30, lr=0.05, weightDecay=0.1, betas=[0.9, 0.999], eps=1e-8, warmup=5,
          schedule="cosine", clip=1.2), 11),
    ("linear", "least-squares", 2, 3, 5,
     dict(steps=30, lr=0.02, weightDecay=0.01, betas=[0.8, 0.99], eps=1e-6, warmup=3,
          schedule="linear", clip=0), 12),
    ("constant-clip", "least-squares", 3, 4, 4,
     dict(steps=25, lr=0.03, weightDecay=0.05, betas=[0.9, 0.95], eps=1e-8, warmup=4,
          schedule="constant", clip=2.0), 13),
]


# Hugging Face transformers.optimization, the lambdas behind get_*_schedule_with_warmup.
def hf_lambda(schedule, warmup, steps):
    def cosine(k):
        if k < warmup:
            return float(k) / float(max(1, warmup))
        progress = float(k - warmup) / float(max(1, steps - warmup))
        return max(0.0, 0.5 * (1.0 + math.cos(math.pi * 0.5 * 2.0 * progress)))

    def linear(k):
        if k < warmup:
            return float(k) / float(max(1, warmup))
        return max(0.0, float(steps - k) / float(max(1, steps - warmup)))

    def constant(k):
        if k < warmup:
            return float(k) / float(max(1.0, warmup))
        return 1.0

    return {"cosine": cosine, "linear": linear, "constant": constant}[schedule]


def f32(t):
    return t.to(torch.float32).to(F64)


def make_data(loss, C, F, B, steps, seed):
    g = torch.Generator().manual_seed(seed)
    w_true = torch.randn(C, F, generator=g, dtype=F64)
    b_true = torch.randn(C, generator=g, dtype=F64)
    x = f32(2.0 * torch.randn(steps, B, F, generator=g, dtype=F64))
    if loss == "softmax-ce":
        y = (x @ w_true.T + b_true).argmax(-1)                            # [steps, B]
    else:
        y = f32(x @ w_true.T + b_true + 0.1 * torch.randn(steps, B, C, generator=g, dtype=F64))
    w0 = f32(0.3 * torch.randn(C, F, generator=g, dtype=F64))
    b0 = f32(0.3 * torch.randn(C, generator=g, dtype=F64))
    return x, y, w0, b0


def loss_fn(loss, W, b, x, y):
    z = x @ W.T + b
    if loss == "softmax-ce":
        return torch.nn.functional.cross_entropy(z, y)
    return 0.5 * ((z - y) ** 2).sum(-1).mean()


def run_torch(loss, hp, x, y, w0, b0):
    W = w0.clone().requires_grad_(True)
    b = b0.clone().requires_grad_(True)
    opt = torch.optim.AdamW(
        [{"params": [W], "weight_decay": hp["weightDecay"]}, {"params": [b], "weight_decay": 0.0}],
        lr=hp["lr"], betas=tuple(hp["betas"]), eps=hp["eps"])
    sched = torch.optim.lr_scheduler.LambdaLR(opt, hf_lambda(hp["schedule"], hp["warmup"], hp["steps"]))
    rec = {"lr": [], "loss": [], "grad_norm": [], "clipped": []}
    for k in range(hp["steps"]):
        opt.zero_grad()
        L = loss_fn(loss, W, b, x[k], y[k])
        L.backward()
        if hp["clip"] > 0:
            norm = float(torch.nn.utils.clip_grad_norm_([W, b], hp["clip"]))
        else:
            norm = float(torch.cat([W.grad.reshape(-1), b.grad]).norm())
        rec["lr"].append(opt.param_groups[0]["lr"])
        rec["loss"].append(float(L))
        rec["grad_norm"].append(norm)
        rec["clipped"].append(bool(hp["clip"] > 0 and hp["clip"] / (norm + 1e-6) < 1.0))
        opt.step()
        sched.step()
    return rec, W.detach(), b.detach()


def run_by_hand(loss, hp, x, y, w0, b0):
    # The formulas of trainer.ts, written out, as a check that torch does what the contract says.
    params = [w0.clone(), b0.clone()]
    decay = [True, False]
    m = [torch.zeros_like(p) for p in params]
    v = [torch.zeros_like(p) for p in params]
    b1, b2 = hp["betas"]
    lam = hf_lambda(hp["schedule"], hp["warmup"], hp["steps"])
    lrs, norms = [], []
    for k in range(hp["steps"]):
        ps = [p.clone().requires_grad_(True) for p in params]
        loss_fn(loss, ps[0], ps[1], x[k], y[k]).backward()
        grads = [p.grad.detach() for p in ps]
        total = math.sqrt(sum(float((g * g).sum()) for g in grads))
        if hp["clip"] > 0 and hp["clip"] / (total + 1e-6) < 1.0:
            grads = [g * (hp["clip"] / (total + 1e-6)) for g in grads]
        lr = hp["lr"] * lam(k)
        t = k + 1
        for i, g in enumerate(grads):
            if decay[i]:
                params[i] = params[i] * (1 - lr * hp["weightDecay"])
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g * g
            params[i] = params[i] - lr * (m[i] / (1 - b1 ** t)) / ((v[i] / (1 - b2 ** t)).sqrt() + hp["eps"])
        lrs.append(lr)
        norms.append(total)
    return lrs, norms, params


def main():
    torch.set_num_threads(1)
    failures = []
    cases = []
    for name, loss, C, F, B, hp, seed in CASES:
        x, y, w0, b0 = make_data(loss, C, F, B, hp["steps"], seed)
        rec, W, b = run_torch(loss, hp, x, y, w0, b0)
        lrs, norms, (Wh, bh) = run_by_hand(loss, hp, x, y, w0, b0)
        err = max(max(abs(a - c) for a, c in zip(lrs, rec["lr"])),
                  max(abs(a - c) / c for a, c in zip(norms, rec["grad_norm"])),
                  float((Wh - W).abs().max()), float((bh - b).abs().max()))
        print(f"{name}: final loss {rec['loss'][-1]:.6f} (first {rec['loss'][0]:.6f}), "
              f"clipped {sum(rec['clipped'])}/{hp['steps']}, by-hand vs torch {err:.2e}")
        if err > 1e-12:
            failures.append(f"{name}: by-hand loop differs from torch by {err:.2e}")
        if name.endswith("-clip") and not (0 < sum(rec["clipped"]) < hp["steps"]):
            failures.append(f"{name}: clipping should be active on some steps only")
        cases.append({
            "name": name, "objective": loss, "classes": C, "features": F,
            "hparams": hp,
            "params": [{"name": "W", "dims": [C, F], "decay": True, "init": w0.reshape(-1).tolist()},
                       {"name": "b", "dims": [C], "decay": False, "init": b0.tolist()}],
            "data": {"x": x.tolist(), "y": y.tolist()},
            **rec,
            "final": {"W": W.reshape(-1).tolist(), "b": b.tolist()},
        })
    doc = {"format": "mechedit-trainer-golden/1",
           "generator": f"tools/trainer_golden.py (PyTorch {torch.__version__}, float64)",
           "cases": cases}
    text = json.dumps(doc, separators=(",", ":")) + "\n"
    if json.loads(text) != json.loads(json.dumps(doc)):
        failures.append("JSON does not decode back")
    if "--check-only" not in sys.argv:
        os.makedirs(os.path.dirname(OUT), exist_ok=True)
        with open(OUT, "w") as f:
            f.write(text)
        print(f"wrote {os.path.relpath(OUT, ROOT)} ({len(text)} bytes)")
    for msg in failures:
        print("FAIL:", msg, file=sys.stderr)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
