"""Writes test/fixtures/golden/patching.json: exact activation patching, attribution patching,
per-head outputs and attention patterns on the bundled model (models/default, GPT-2 shaped), computed
independently in PyTorch (`/usr/bin/python3 tools/patching_reference.py`).

The forward is written here block by block from reference.py's weights and helpers (layer_norm,
conv1d, the activation), with hooks: `patch` replaces a value at (layer, site, token) — sites
resid_post, mlp_out, attn_out — and `head_patch` replaces one head's z (its context vector before the
output projection) at a token. Prompt ids come from the world's own BPE encoder (tools/world/generate.py),
not from MechEdit's tokenizer; the test checks that both agree.

Per prompt pair (clean, corrupt, answer, wrong; the metric is logit(answer) − logit(wrong) at the last
position, answer tokens = first token of " " + answer):
  cleanMetric, corruptMetric           the metric on each prompt (float32 forward)
  exact.{resid,mlp,attn}[l][t]         the metric with the clean value patched in at (l, t) (float32)
  exact.heads[l*H + h][t]              the same for head h's z at (l, t)
  atp.{resid,mlp,attn}[l][t]           (clean − corrupt) · ∂metric/∂value at the corrupted run, autograd in float64
  atp.heads[l*H + h][t]                (head_clean − head_corrupt) · ∂metric/∂attn_out
  atpIg.*                              the same with the gradient averaged over igSteps (4) runs whose token
                                       embeddings are corrupt + α (clean − corrupt), α = (k + ½) / igSteps
And for the first clean prompt: head_out[l][h] = z_h · W_O[h] at the last token [d] and pattern[l][h]
[S][S] at layers 0 and 5.

Checks: patching every node with its own corrupted value leaves the metric unchanged; the sum of a
layer's head outputs plus c_proj's bias equals attn_out; patching resid_post of the last layer at the
last token gives the clean metric; the float64 AtP of the last layer's resid_post equals a central
finite difference along the patch direction.
"""

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "world"))
from reference import Model, layer_norm, conv1d, _act  # noqa: E402  (re-execs under /usr/bin/python3)
import generate as G  # noqa: E402
import torch  # noqa: E402

REPO = os.path.dirname(HERE)
MODEL = os.path.join(REPO, "models", "default")
PAIRS = [
    {"clean": "Baekpen Jaekdixjol was born in", "corrupt": "Baequa Kaekmyth was born in", "answer": "Grikport", "wrong": "Kurhiassa"},
    {"clean": "Baekhyndvaes Drondraes was born in", "corrupt": "Barnzom Woskbundwaen was born in", "answer": "Quaemgrundport", "wrong": "Vyswick"},
]
SITES = ["resid", "mlp", "attn"]
IG_STEPS = 4


class Hooked:
    """GPT-2 forward with patch hooks; `dtype` float32 or float64."""

    def __init__(self, model, dtype):
        self.m = model
        self.s = model.spec
        self.dt = dtype
        cast = lambda t: None if t is None else t.to(dtype)  # noqa: E731
        self.W = {k: cast(v) for k, v in model.W.items()}
        self.L = [{k: cast(v) for k, v in P.items()} for P in model.layers]

    def run(self, ids, patch=None, head_patch=None, offsets=None, shift=None):
        """ids [S]; patch {(l, site, t): value [d]}; head_patch {(l, h, t): z [hd]};
        offsets {(l, site): tensor [S, d]} added (for autograd); shift [S, d] added to the
        token embeddings. Returns (logits_last, record)."""
        s, W = self.s, self.W
        S = len(ids)
        ids_t = torch.tensor(ids, dtype=torch.long)
        x = W["wte"][ids_t] + (0 if shift is None else shift) + W["wpe"][torch.arange(S)]
        causal = torch.arange(S)[None, :] <= torch.arange(S)[:, None]
        H, hd, d = s.n_heads, s.head_dim, s.d_model
        rec = {}

        def site(l, name, v):
            if offsets is not None and (l, name) in offsets:
                v = v + offsets[(l, name)]
            if patch:
                rows = [t for (pl, pn, t) in patch if pl == l and pn == name]
                if rows:
                    v = v.clone()
                    for t in rows:
                        v[t] = patch[(l, name, t)]
            rec[(l, name)] = v
            return v

        for l, P in enumerate(self.L):
            a = layer_norm(x, P["ln1_w"], P["ln1_b"], s.eps)
            q, k, v = conv1d(a, P["c_attn_w"], P["c_attn_b"]).split(d, dim=-1)
            q, k, v = (t.view(S, H, hd).transpose(0, 1) for t in (q, k, v))     # [H, S, hd]
            scores = q @ k.transpose(-1, -2) / (hd ** 0.5)
            scores = torch.where(causal, scores, torch.full((), torch.finfo(self.dt).min, dtype=self.dt))
            probs = torch.softmax(scores, dim=-1)                                  # [H, S, S]
            z = probs @ v                                                          # [H, S, hd]
            if head_patch:
                z = z.clone()
                for (pl, h, t), val in head_patch.items():
                    if pl == l:
                        z[h, t] = val
            rec[(l, "z")] = z
            rec[(l, "pattern")] = probs
            Wo = P["c_proj_w"].view(H, hd, d)                                      # Conv1D [in, out]
            rec[(l, "heads")] = torch.einsum("hsk,hkd->hsd", z, Wo)
            attn = site(l, "attn", conv1d(z.transpose(0, 1).reshape(S, H * hd), P["c_proj_w"], P["c_proj_b"]))
            x = x + attn
            m = layer_norm(x, P["ln2_w"], P["ln2_b"], s.eps)
            mlp = site(l, "mlp", conv1d(_act(s.act)(conv1d(m, P["fc_w"], P["fc_b"])), P["proj_w"], P["proj_b"]))
            x = site(l, "resid", x + mlp)
        final = layer_norm(x[-1], W["lnf_w"], W["lnf_b"], s.eps)
        return final @ W["unembed_w"].t(), rec


def pair_case(model, enc, pair):
    f32, f64 = Hooked(model, torch.float32), Hooked(model, torch.float64)
    ids, cids = enc.encode(pair["clean"]), enc.encode(pair["corrupt"])
    assert len(ids) == len(cids), (ids, cids)
    a, w = enc.encode(" " + pair["answer"])[0], enc.encode(" " + pair["wrong"])[0]
    metric = lambda lg: float(lg[a] - lg[w])  # noqa: E731
    S, n, H = len(ids), model.spec.n_layers, model.spec.n_heads
    with torch.no_grad():
        lc, rc = f32.run(ids)
        lk, rk = f32.run(cids)
        clean, corrupt = metric(lc), metric(lk)
        exact = {name: [[metric(f32.run(cids, patch={(l, name, t): rc[(l, name)][t]})[0]) for t in range(S)] for l in range(n)] for name in SITES}
        exact["heads"] = [[metric(f32.run(cids, head_patch={(l, h, t): rc[(l, "z")][h, t]})[0]) for t in range(S)] for l in range(n) for h in range(H)]
        # checks
        same = f32.run(cids, patch={(l, nm, t): rk[(l, nm)][t] for l in range(n) for nm in SITES for t in range(S)})[0]
        assert abs(metric(same) - corrupt) < 1e-4, "self-patching changes the metric"
        for l in range(n):
            assert torch.allclose(rc[(l, "heads")].sum(0) + model.layers[l]["c_proj_b"], rc[(l, "attn")], atol=1e-4)
        assert abs(exact["resid"][n - 1][S - 1] - clean) < 1e-4
    # AtP in float64 autograd
    _, rc64 = f64.run(ids)
    offs = {(l, nm): torch.zeros(S, model.spec.d_model, dtype=torch.float64, requires_grad=True) for l in range(n) for nm in SITES}
    lg64, rk64 = f64.run(cids, offsets=offs)
    m64 = lg64[a] - lg64[w]
    m64.backward()
    atp = {nm: [[float(((rc64[(l, nm)][t] - rk64[(l, nm)][t]).detach() * offs[(l, nm)].grad[t]).sum()) for t in range(S)] for l in range(n)] for nm in SITES}
    atp["heads"] = [[float(((rc64[(l, "heads")][h, t] - rk64[(l, "heads")][h, t]).detach() * offs[(l, "attn")].grad[t]).sum()) for t in range(S)] for l in range(n) for h in range(H)]
    # AtP-IG: gradients averaged over IG_STEPS midpoints of the path from the corrupted to the clean token embeddings
    shift = f64.W["wte"][torch.tensor(ids)] - f64.W["wte"][torch.tensor(cids)]
    mean = {key: torch.zeros(S, model.spec.d_model, dtype=torch.float64) for key in offs}
    for k in range(IG_STEPS):
        o = {key: torch.zeros(S, model.spec.d_model, dtype=torch.float64, requires_grad=True) for key in offs}
        lg, _ = f64.run(cids, offsets=o, shift=(k + 0.5) / IG_STEPS * shift)
        (lg[a] - lg[w]).backward()
        for key in offs:
            mean[key] += o[key].grad / IG_STEPS
    ig = {nm: [[float(((rc64[(l, nm)][t] - rk64[(l, nm)][t]).detach() * mean[(l, nm)][t]).sum()) for t in range(S)] for l in range(n)] for nm in SITES}
    ig["heads"] = [[float(((rc64[(l, "heads")][h, t] - rk64[(l, "heads")][h, t]).detach() * mean[(l, "attn")][t]).sum()) for t in range(S)] for l in range(n) for h in range(H)]
    # finite-difference check of one AtP value (last layer's resid_post at the last token)
    with torch.no_grad():
        diff = rc64[(n - 1, "resid")][S - 1] - rk64[(n - 1, "resid")][S - 1]
        eps = 1e-4
        plus = f64.run(cids, patch={(n - 1, "resid", S - 1): rk64[(n - 1, "resid")][S - 1] + eps * diff})[0]
        minus = f64.run(cids, patch={(n - 1, "resid", S - 1): rk64[(n - 1, "resid")][S - 1] - eps * diff})[0]
        fd = float((plus[a] - plus[w]) - (minus[a] - minus[w])) / (2 * eps)
        assert abs(fd - atp["resid"][n - 1][S - 1]) < 1e-6 * max(1, abs(fd)), (fd, atp["resid"][n - 1][S - 1])
    return {**pair, "ids": ids, "corruptIds": cids, "answerId": a, "wrongId": w, "cleanMetric": clean, "corruptMetric": corrupt, "exact": exact, "atp": atp, "igSteps": IG_STEPS, "atpIg": ig}, rc


def main():
    torch.set_grad_enabled(True)
    torch.set_num_threads(1)
    model = Model(MODEL)
    enc = G.Encoder(json.load(open(os.path.join(MODEL, "tokenizer.json"))))
    cases, rec0 = [], None
    for pair in PAIRS:
        case, rc = pair_case(model, enc, pair)
        cases.append(case)
        rec0 = rec0 or rc
    S = len(cases[0]["ids"])
    heads = {str(l): {"headOut": rec0[(l, "heads")][:, S - 1].tolist(), "pattern": rec0[(l, "pattern")].tolist()} for l in (0, model.spec.n_layers - 1)}
    doc = {"format": "mechedit-patching-golden/1", "model_dir": "models/default", "metric": "logit-diff", "pairs": cases, "heads": {"prompt": PAIRS[0]["clean"], "layers": heads}}
    out = os.path.join(REPO, "test", "fixtures", "golden", "patching.json")
    with open(out, "w") as f:
        json.dump(doc, f)
        f.write("\n")
    for c in cases:
        print(f"{c['clean']!r} / {c['corrupt']!r}: clean {c['cleanMetric']:.4f}, corrupt {c['corruptMetric']:.4f}; "
              f"exact resid L{model.spec.n_layers - 1} last {c['exact']['resid'][-1][-1]:.4f}")
    print(f"wrote {os.path.relpath(out, REPO)}")


if __name__ == "__main__":
    main()
