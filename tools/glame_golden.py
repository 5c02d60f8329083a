#!/usr/bin/python3
"""Golden for GLAME's relational graph network (src/core/edits/rgcn.ts), written as the reference's
UnionRGCNLayer computes it: per edge a message (h_src + r_rel) @ W_neighbor, a self loop per node
(relation embedding zero), the sum divided by the in-degree counted with the self loop, plus
h @ W_loop (W_evolve for nodes no edge points to), then F.rrelu in its functional default
(training=False). Two layers on a hand-written graph of 7 nodes (one without incoming edges, a
repeated edge, a node with two relations), seeded weights and features; the loss is
sum(C * out) + 0.5 * sum(out ** 2), and torch autograd gives its gradient with respect to every
parameter, in float64.

"dropout": the same network in training mode with GLAME's cf dropout (gnn_feat_drop p = 0.3, the
paper preset): inverted dropout after each layer's activation, the last one included. The masks are
data: per layer one uniform u in [0, 1) per unit [N, d] (row-major), drawn here; a unit is dropped
where u < p and kept units are scaled by 1 / (1 - p). rgcn.ts draws its masks from `drop.rand()` in
the same order with the same rule, so the test feeds it these uniforms.

"loop": GLAME's optimisation on the GNN weights (vstar.ts optimiseDelta with a non-linear basis),
written as the reference's loop runs it: θ starts at the weights above; each step takes
δ = clamp(GNN(θ)[s]) at the subject node s = 1 with dropout p = 0.3 (fresh masks per forward, from
the stored uniforms, `steps` × layers × N × d of them), clamp δ = raw · M / ‖raw‖ where
‖raw‖ > M = 4 ‖v_init‖ (autograd through it: the exact gradient), loss
sum(c δ) + 0.5 sum(δ²) (a stand-in for the model's loss); stops on the last step, else one
torch.optim.AdamW step (lr 0.5, weight decay 0.1, default betas and eps). After the loop, δ from the
eval-mode network (no dropout), clamped, and its loss. Recorded: the loss per step, whether the
clamp acted, the final θ, δ and loss. v_init is float32-representable (the test's stand-in model
hands it over in float32).

    /usr/bin/python3 tools/glame_golden.py   # writes test/fixtures/golden/glame.json
"""
import json
import pathlib

import numpy as np
import torch
import torch.nn.functional as F

d, n_nodes, n_rel, layers = 5, 7, 3, 2
# (src, dst, rel): edges object -> subject, as GLAME reverses its triples.
edges = [(1, 0, 0), (2, 1, 1), (3, 1, 2), (4, 1, 1), (2, 5, 0), (2, 5, 0), (6, 3, 2), (0, 6, 1)]
rng = np.random.default_rng(18)
x = rng.standard_normal((n_nodes, d))
rel = rng.standard_normal((n_rel, d)) * 0.5
bound = np.sqrt(6 / d)
weights = [rng.uniform(-bound, bound, (d, d)) for _ in range(3 * layers)]  # per layer: W_nb, W_loop, W_evolve
C = rng.standard_normal((n_nodes, d))

src = torch.tensor([e[0] for e in edges])
dst = torch.tensor([e[1] for e in edges])
et = torch.tensor([e[2] for e in edges])
indeg = torch.zeros(n_nodes, dtype=torch.float64).index_add_(0, dst, torch.ones(len(edges), dtype=torch.float64))
has_in = (indeg > 0).unsqueeze(1)


def forward(W, masks=None):
    """The network's output [N, d]; masks: per layer 0 or 1 / (1 - p) per unit, or None (eval mode)."""
    h = torch.tensor(x)
    R = torch.tensor(rel)
    for layer in range(layers):
        w_nb, w_loop, w_ev = W[3 * layer: 3 * layer + 3]
        msg = (h[src] + R[et]) @ w_nb
        self_msg = h @ w_nb  # the self loop, relation embedding zero
        agg = (torch.zeros(n_nodes, d, dtype=torch.float64).index_add(0, dst, msg) + self_msg) / (indeg + 1).unsqueeze(1)
        loop = torch.where(has_in, h @ w_loop, h @ w_ev)
        h = F.rrelu(agg + loop)  # functional default: training=False, slope (1/8 + 1/3) / 2
        if masks is not None:
            h = h * masks[layer]
    return h


def loss_of(out):
    return (torch.tensor(C) * out).sum() + 0.5 * (out ** 2).sum()


W = [torch.tensor(w, requires_grad=True) for w in weights]
out = forward(W)
loss = loss_of(out)
loss.backward()

p_drop = 0.3
uniforms = rng.uniform(0, 1, (layers, n_nodes, d))
masks = [torch.tensor(np.where(u < p_drop, 0.0, 1 / (1 - p_drop))) for u in uniforms]
Wd = [torch.tensor(w, requires_grad=True) for w in weights]
out_d = forward(Wd, masks)
loss_d = loss_of(out_d)
loss_d.backward()

# GLAME's loop on the GNN weights.
loop_steps, subject = 6, 1
loop_uniforms = rng.uniform(0, 1, (loop_steps, layers, n_nodes, d))
c_loop = rng.standard_normal(d)
v_dir = rng.standard_normal(d)
# ‖v_init‖ such that the clamp lets the first step's δ through (later steps grow past it).
mask0 = [torch.tensor(np.where(u < p_drop, 0.0, 1 / (1 - p_drop))) for u in loop_uniforms[0]]
raw0 = forward([torch.tensor(w) for w in weights], mask0)[subject].norm().item()
v_init = (v_dir / np.linalg.norm(v_dir) * 1.2 * raw0 / 4).astype(np.float32).astype(np.float64)
max_norm = 4 * np.linalg.norm(v_init)
theta = [torch.tensor(w, requires_grad=True) for w in weights]
opt = torch.optim.AdamW(theta, lr=0.5, weight_decay=0.1)


def clamped(raw):
    n = raw.norm()
    return (raw * max_norm / n, True) if n.item() > max_norm else (raw, False)


loop_losses, loop_clamped = [], []
for it in range(loop_steps):
    m = [torch.tensor(np.where(u < p_drop, 0.0, 1 / (1 - p_drop))) for u in loop_uniforms[it]]
    delta, acted = clamped(forward(theta, m)[subject])
    loss_it = (torch.tensor(c_loop) * delta).sum() + 0.5 * (delta ** 2).sum()
    loop_losses.append(float(loss_it))
    loop_clamped.append(acted)
    if it == loop_steps - 1:
        break
    opt.zero_grad()
    loss_it.backward()
    opt.step()
with torch.no_grad():
    final_delta, _ = clamped(forward(theta)[subject])
    final_loss = float((torch.tensor(c_loop) * final_delta).sum() + 0.5 * (final_delta ** 2).sum())

flat = lambda ws: [float(v) for w in ws for v in np.asarray(w).ravel()]
res = {
    "d": d, "nodes": n_nodes, "layers": layers,
    "edges": [{"src": s, "dst": t, "rel": r} for s, t, r in edges],
    "x": [float(v) for v in x.ravel()], "rel": [float(v) for v in rel.ravel()],
    "theta": flat(weights), "C": [float(v) for v in C.ravel()],
    "out": [float(v) for v in out.detach().numpy().ravel()], "loss": float(loss),
    "grads": flat([w.grad.numpy() for w in W]),
    "negativePre": int((out.detach() < 0).sum()),
    "dropout": {
        "p": p_drop, "uniforms": [float(v) for v in uniforms.ravel()],
        "dropped": [int((u < p_drop).sum()) for u in uniforms],
        "out": [float(v) for v in out_d.detach().numpy().ravel()], "loss": float(loss_d),
        "grads": flat([w.grad.numpy() for w in Wd]),
    },
    "loop": {
        "steps": loop_steps, "subject": subject, "p": p_drop, "lr": 0.5, "weightDecay": 0.1, "clamp": 4,
        "uniforms": [float(v) for v in loop_uniforms.ravel()], "c": [float(v) for v in c_loop],
        "vInit": [float(v) for v in v_init], "losses": loop_losses, "clamped": loop_clamped,
        "theta": flat([w.detach().numpy() for w in theta]),
        "finalDelta": [float(v) for v in final_delta.numpy()], "finalLoss": final_loss,
    },
}
path = pathlib.Path(__file__).resolve().parent.parent / "test" / "fixtures" / "golden" / "glame.json"
path.write_text(json.dumps(res) + "\n")
print(f"wrote {path}: loss {float(loss):.6f}, {res['negativePre']} negative outputs of {n_nodes * d}; "
      f"dropout p {p_drop}: loss {float(loss_d):.6f}, dropped per layer {res['dropout']['dropped']}; "
      f"loop: losses {[round(v, 4) for v in loop_losses]}, clamp acted {loop_clamped}, final loss {final_loss:.4f}")
