#!/usr/bin/python3
"""Golden values for the six unlearning losses at the `paper` preset and their gradients with
respect to LoRA factors: an independent transcription of open-unlearning's trainers
(locuslab/open-unlearning src/trainer/unlearn/{grad_ascent,grad_diff,npo,dpo,rmu}.py and
src/trainer/utils.py compute_dpo_loss / compute_batch_nll, TOFU configs; read, not copied) in
PyTorch autograd, float64, on tools/reference.py. Writes test/fixtures/golden/unlearn-losses.json.

Per model (gpt2-tiny, llama-gqa: tiny random checkpoints; default: the bundled model), one set of
seeded items, run one row at a time (no padding):
  forget   3 items, retain 2 items: prompt ids (3-5) then answer ids (2-4), seeded from [1, V);
           HF labels: -100 on the prompt, the ids on the answer (answer_start = first answer index)
  refusal  per forget item one "I don't know"-style answer (ids 2-4 seeded) after the same prompt:
           the IDK answer drawn for that item (RT, DPO)
  factors  rank 2 on every layer's mlp.out, U and V seeded non-zero (y = W x + b + (x Vᵀ) U);
           RMU trains the layers up to its layer only. π_ref = the model without the factors.
The losses, with nll(rows) = Hugging Face's outputs.loss (sum of the answer tokens' CE over the
rows / their count) and seq_nll(row) = compute_batch_nll (the sum), ratio = -(seq_nll - seq_nll_ref):
  ga        -nll(forget)
  graddiff  -nll(forget) + ALPHA * nll(retain)                                   (gamma = 1)
  npo       mean_i -2/BETA * logsigmoid(-BETA * ratio_i(forget)) + ALPHA * nll(retain)
  rt        nll(refusals)                       (TOFU's IDK fine-tuning; RWKU's RT has no retain term)
  dpo       mean_i -2/BETA * logsigmoid(BETA * (ratio_i(refusal) - ratio_i(forget))) + ALPHA * nll(retain)
  rmu       act(h_L(forget), c·u/|u|) + ALPHA * act(h_L(retain), h_L^ref(retain)),
            act(a, b) = mean over rows of [sum over the row's answer positions (labels != -100)
            of mean_d (a - b)^2] / (answer positions); L = floor(7/16 · layers) (layer 7 of 16),
            h_L = blocks.L.resid_post, c = STEERING = 2, u seeded uniform [0, 1) (torch.rand)
BETA 0.1, ALPHA 1, STEERING 2: configs/trainer/{NPO,DPO,GradDiff,RMU}.yaml.

JSON (wire = {"dims", "data": base64 of little-endian float32, C order}):
{ "format": "mechedit-unlearn-golden/1", "generator": ..., "constants": {beta, alpha, gamma, steering},
  "cases": [{ "model", "model_dir", "layers", "rmu_layer",
    "forget" | "retain" | "refusals": [{"ids": [int], "answer_start": int}],
    "edits": {"{l}:mlp.out": {"rank": 2, "U": wire [r, d_model], "V": wire [r, d_mlp]}},
    "direction": wire [d_model] (u before normalising),
    "objectives": {"ga": {"modules": [...], "loss": float, "grads": {key: {"U": wire, "V": wire}}}, ...} }] }

Self-checks (non-zero exit on failure): autograd vs central finite differences (float64, step
1e-6) on 3 seeded coordinates of the first module's U and V per objective (error < 1e-6 of the
largest gradient component); the JSON decodes back to the float32-rounded inputs.
"""

import json
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference import Model  # noqa: E402
from grad_golden import f32, unwire, wire  # noqa: E402  (the fixtures' float32 wire format)

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "test", "fixtures", "golden", "unlearn-losses.json")
MODELS = [("gpt2-tiny", "test/fixtures/models/gpt2-tiny"), ("llama-gqa", "test/fixtures/models/llama-gqa"), ("default", "models/default")]
BETA, ALPHA, GAMMA, STEERING = 0.1, 1.0, 1.0, 2.0
RANK = 2
F64 = torch.float64


def item(V, g, prompt=None):
    p = prompt if prompt is not None else torch.randint(1, V, (int(torch.randint(3, 6, (1,), generator=g)),), generator=g).tolist()
    a = torch.randint(1, V, (int(torch.randint(2, 5, (1,), generator=g)),), generator=g).tolist()
    return {"ids": p + a, "answer_start": len(p)}


def run(m, edits, it):
    """-> (logits [S, V], taps) of one unpadded row."""
    ids = torch.tensor([it["ids"]])
    out = m.forward(ids, None, None, lens=False, edits=edits)
    return out["logits"][0], out["taps"]


def labels_of(it):
    lab = torch.tensor(it["ids"])
    lab[: it["answer_start"]] = -100
    return lab


def token_ce(m, edits, it):
    """CE of each answer token (HF shift: logits[t-1] predicts labels[t]) -> [n_answer]."""
    logits, _ = run(m, edits, it)
    lab = labels_of(it)
    ce = F.cross_entropy(logits[:-1], lab[1:], ignore_index=-100, reduction="none")
    return ce[lab[1:] != -100]


def nll(m, edits, rows):
    ces = [token_ce(m, edits, r) for r in rows]
    return torch.cat(ces).sum() / sum(len(c) for c in ces)


def seq_nll(m, edits, r):
    return token_ce(m, edits, r).sum()


def pref(m, edits, lose, win=None):
    """compute_dpo_loss: mean over items of -2/β logsigmoid(β (win_ratio - lose_ratio))."""
    terms = []
    for i, r in enumerate(lose):
        with torch.no_grad():
            lose_ref = seq_nll(m, {}, r)
        lose_ratio = -(seq_nll(m, edits, r) - lose_ref)
        win_ratio = 0.0
        if win is not None:
            with torch.no_grad():
                win_ref = seq_nll(m, {}, win[i])
            win_ratio = -(seq_nll(m, edits, win[i]) - win_ref)
        terms.append(-2.0 / BETA * F.logsigmoid(BETA * (win_ratio - lose_ratio)))
    return torch.stack(terms).mean()


def act_loss(m, edits, rows, layer, target_of):
    """RMU's compute_activation_loss over rows at blocks.layer.resid_post, masked to answer positions."""
    per_row = []
    for k, r in enumerate(rows):
        _, taps = run(m, edits, r)
        h = taps[f"blocks.{layer}.resid_post"][0]                          # [S, D]
        mask = (labels_of(r) != -100).to(F64)                              # [S]
        sq = ((h - target_of(k, r)) ** 2).mean(-1)                         # [S]
        per_row.append((sq * mask).sum() / mask.sum())
    return torch.stack(per_row).mean()


def objective_loss(name, m, edits, c):
    fo, re_, rf = c["forget"], c["retain"], c["refusals"]
    if name == "ga":
        return -nll(m, edits, fo)
    if name == "graddiff":
        return GAMMA * -nll(m, edits, fo) + ALPHA * nll(m, edits, re_)
    if name == "npo":
        return GAMMA * pref(m, edits, fo) + ALPHA * nll(m, edits, re_)
    if name == "rt":
        return nll(m, edits, rf)
    if name == "dpo":
        return GAMMA * pref(m, edits, fo, rf) + ALPHA * nll(m, edits, re_)
    L = c["rmu_layer"]
    u = c["direction_t"]
    control = u / u.norm() * STEERING
    with torch.no_grad():
        refs = [run(m, {}, r)[1][f"blocks.{L}.resid_post"][0] for r in re_]
    forget = act_loss(m, edits, fo, L, lambda k, r: control)
    retain = act_loss(m, edits, re_, L, lambda k, r: refs[k])
    return GAMMA * forget + ALPHA * retain


def case_for(name, rel, seed):
    m = Model(os.path.join(ROOT, rel), dtype=F64)
    s = m.spec
    V, L, D = s.vocab_size, s.n_layers, s.d_model
    g = torch.Generator().manual_seed(seed)
    forget = [item(V, g) for _ in range(3)]
    retain = [item(V, g) for _ in range(2)]
    refusals = [item(V, g, prompt=f["ids"][: f["answer_start"]]) for f in forget]
    scale = 0.3 if name != "default" else 0.05
    edits = {}
    for l in range(L):
        U = f32(scale * torch.randn(RANK, D, generator=g, dtype=F64))
        V_ = f32(scale * torch.randn(RANK, s.d_mlp, generator=g, dtype=F64))
        edits[f"{l}:mlp.out"] = (U, V_)
    direction = f32(torch.rand(D, generator=g, dtype=F64))
    rmu_layer = (7 * L) // 16
    c = {"model": name, "model_dir": rel, "layers": L, "rmu_layer": rmu_layer, "forget": forget, "retain": retain,
         "refusals": refusals, "direction_t": direction}
    objectives = {}
    for obj in ["ga", "graddiff", "npo", "rt", "dpo", "rmu"]:
        keys = [k for k in edits if obj != "rmu" or int(k.split(":")[0]) <= rmu_layer]
        leaves = {k: (edits[k][0].clone().requires_grad_(True), edits[k][1].clone().requires_grad_(True)) for k in keys}
        loss = objective_loss(obj, m, leaves, c)
        grads = torch.autograd.grad(loss, [t for k in keys for t in leaves[k]])
        check_fd(obj, m, edits, keys, c, grads, g)
        objectives[obj] = {"modules": keys, "loss": float(loss),
                           "grads": {k: {"U": wire(grads[2 * i]), "V": wire(grads[2 * i + 1])} for i, k in enumerate(keys)}}
        print(f"{name} {obj}: loss {float(loss):.6g}", file=sys.stderr)
    del c["direction_t"]
    c.update({"edits": {k: {"rank": RANK, "U": wire(U), "V": wire(V_)} for k, (U, V_) in edits.items()},
              "direction": wire(direction), "objectives": objectives})
    return c, edits, direction


def check_fd(obj, m, edits, keys, c, grads, g):
    k0 = keys[0]
    for j, which in enumerate("UV"):
        gt = grads[j]
        big = gt.abs().max().item()
        for _ in range(3):
            idx = tuple(int(torch.randint(0, n, (1,), generator=g)) for n in gt.shape)
            vals = []
            for sgn in (1, -1):
                e = {k: (edits[k][0].clone(), edits[k][1].clone()) for k in keys}
                e[k0][j][idx] += sgn * 1e-6
                with torch.no_grad():
                    vals.append(float(objective_loss(obj, m, e, c)))
            fd = (vals[0] - vals[1]) / 2e-6
            if abs(fd - gt[idx].item()) > 1e-6 * big + 1e-12:
                sys.exit(f"check failed: {c['model']} {obj} {k0}.{which}{list(idx)}: fd {fd} vs autograd {gt[idx].item()}")


def main():
    torch.set_num_threads(1)
    cases = []
    for i, (name, rel) in enumerate(MODELS):
        c, edits, direction = case_for(name, rel, 31 + i)
        for k, (U, V_) in edits.items():
            assert torch.equal(unwire(c["edits"][k]["U"]).to(F64), U) and torch.equal(unwire(c["edits"][k]["V"]).to(F64), V_)
        assert torch.equal(unwire(c["direction"]).to(F64), direction)
        cases.append(c)
    out = {"format": "mechedit-unlearn-golden/1",
           "generator": f"tools/unlearn_golden.py + tools/reference.py (PyTorch {torch.__version__}, float64 compute)",
           "constants": {"beta": BETA, "alpha": ALPHA, "gamma": GAMMA, "steering": STEERING}, "cases": cases}
    with open(OUT, "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {os.path.relpath(OUT, ROOT)} ({os.path.getsize(OUT)} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
