#!/usr/bin/python3
"""How far can a rank-one edit of one layer's MLP output projection move a target at all?

For each layer, optimises a free rank-one update of the down projection, ΔW = d kᵀ / kᵀk with k the
key at the prompt's last position (so the MLP output there moves by exactly d), with Adam (lr 0.5,
400 steps, no clamp, no KL, no weight decay) on -log P(target | prompt) of reference.py's forward,
and prints the P(target) reached and |d|. An upper-bound probe for what ROME's v* can reach on a
checkpoint (docs/models.md: gemma2-tiny).

    /usr/bin/python3 tools/edit_reach.py test/fixtures/models/gemma2-tiny --ids 262,272,278,220,82,278,315,258 --target 305
"""
import argparse
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference import Model  # noqa: E402
import torch  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model_dir")
    ap.add_argument("--ids", required=True, help="prompt token ids, comma-separated")
    ap.add_argument("--target", type=int, required=True)
    ap.add_argument("--steps", type=int, default=400)
    a = ap.parse_args()
    torch.manual_seed(0)
    m = Model(a.model_dir)
    ids = torch.tensor([[int(t) for t in a.ids.split(",")]])
    with torch.no_grad():
        base = m.forward(ids, lens=False)
    p0 = float(torch.softmax(base["logits"][0, -1], -1)[a.target])
    for layer in range(m.spec.n_layers):
        key = base["taps"][f"blocks.{layer}.mlp.key"][0, -1]
        V = (key / key.dot(key))[None, :]
        d = torch.zeros(m.spec.d_model, requires_grad=True)
        opt = torch.optim.Adam([d], lr=0.5)
        for _ in range(a.steps):
            out = m.forward(ids, lens=False, edits={f"{layer}:mlp.out": (d[None, :], V)})
            loss = -torch.log_softmax(out["logits"][0, -1], -1)[a.target]
            opt.zero_grad()
            loss.backward()
            opt.step()
        print(f"layer {layer}: P(target) {p0:.4f} -> {float(torch.exp(-loss)):.4f}, |d| {float(d.norm()):.1f}")


if __name__ == "__main__":
    main()
