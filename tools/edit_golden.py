#!/usr/bin/python3
"""Golden values for MechEdit's edit algorithms (issue 31, item 3), written independently in
PyTorch (float64) from the papers' reference code: ROME (kmeng01/rome compute_u / compute_v),
MEMIT (kmeng01/memit memit_main, compute_ks), AlphaEdit (jianghoucheng/AlphaEdit AlphaEdit_main),
DiKE (arXiv 2505.18774 §4, METHODS.md "DiKE") and ROCR (METHODS.md "ROCR").

    /usr/bin/python3 tools/edit_golden.py   # writes test/fixtures/golden/edits.json

Per model (gpt2-tiny, llama-gqa, models/default), with tools/reference.py's model in float64:
  C_l       key statistics E[k kᵀ] of blocks.{l}.mlp.key for l = 0, 1 over corpus rows (random ids
            for the tiny models, the first lines of corpus.txt for the bundled one); stored as
            float32, and every computation below uses the stored (rounded) values, so both sides
            read identical inputs;
  requests  two facts with fixed context templates ("{}" first); token ids from an independent
            byte-level BPE encoder (make_tiny_checkpoints.py py_bpe_encode), stored beside the text;
  ridge     every C⁻¹ is (C + ρ I)⁻¹ with ρ = 1e-6 · trace C / d, MechEdit's documented deviation
            (stats.ts solveC); the MEMIT cases record how far the references' C⁻¹ would move ΔW;
  rome      k̄ = mean over the templates of the key at the subject's last token, k = the bare
            prompt's; u = C⁻¹k̄ / ‖C⁻¹k̄‖ (compute_u, no ridge); ΔW = (v* − W k − b) uᵀ / (uᵀk) for a
            given v* (compute_v's right vector);
  vstar     compute_v's loop for N steps on request 0 at layer 0: δ added to the MLP output at each
            row's lookup (rewrite rows and the "{} is a" row), NLL mean over rows and target tokens,
            KL = kl_factor · KL(p_current ‖ p_init) (torch kl_div(init, current, log_target)),
            weight decay v_wd · ‖δ‖ / ‖v_init‖², Adam (lr 0.5), clamp 4 · ‖v_init‖;
            also the same loop with MechEdit's KL direction KL(p_init ‖ p_current), and the float32
            run of the reference form: at N = 20 (the papers' budget) float32 stays within 3e-6 of float64;
  vstarMemit the same loop as MEMIT's compute_z: request 1, δ added to the residual after layer 1
            (the last MEMIT layer), v_init that residual, clamp 0.75; vstarClamped: ROME's loop on
            request 2 with clamp 0.5, where the clamp acts (not a paper value: it tests the clamp);
  memit     layers [0, 1], two requests, z_j = h_1(bare) + a seeded perturbation (given);
            per layer i: K_i = ½ bare key + ½ mean of the prefixed templates' keys (compute_ks),
            R_i = (z − h_1(current)) / (2 − i) recomputed with the earlier layers' updates in place,
            ΔW_i = R_i K_iᵀ (λ C_i + K_i K_iᵀ)⁻¹, λ = (20000 / 6400) · d_mlp (GPT-2 XL's per d_mlp);
  alphaedit P = U_s U_sᵀ (stored as P K, P applied to the two keys) (eigenvectors of C_0 below τ; τ the geometric mean of the two eigenvalues
            around the largest relative gap in the middle half of the spectrum), and
            ΔW = R ((P (K Kᵀ + K_p K_pᵀ) + L2 I)⁻¹ P K)ᵀ with K_p 3 keys (Woodbury path) or
            d_mlp / 4 + 1 keys (dense path) from the corpus, L2 = 0.1 · mean ‖P k‖²;
  rocr      x = (P (K Kᵀ + C_prev) + λ I)⁻¹ P Σ_j k_j (identity regulariser, with and without P)
            and x = (K Kᵀ + C_prev + λ C)⁻¹ Σ_j k_j (covariance), K the keys of 3 templates;
  dike      (bundled model, krd-L0.safetensors): U = (I + W3ᵀW3)⁻¹ W5 δ, V = (λ C + k kᵀ)⁻¹ k for a
            given δ, and the KRD's L_ctr (InfoNCE), L_recon and L_con (NLL of the object with h_s
            replaced by z_r, and of the subject's other fact with h_s := z_u, the model above layer 0)
            with the gradient of L_ctr + α L_con + β L_recon by autograd, on 6 facts of 3 subjects
            (a birthplace and another relation each, from facts.jsonl).
Wire format of a tensor: {"dims", "data": base64 of little-endian float32, C order}.
"""

import json
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference import Model, read_safetensors_raw, decode_tensor  # noqa: E402
from make_tiny_checkpoints import py_bpe_encode  # noqa: E402
from grad_golden import f32, run_tail, wire  # noqa: E402

import torch  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "test", "fixtures", "golden", "edits.json")
F64 = torch.float64
VSTEPS = int(os.environ.get("EDIT_GOLDEN_STEPS", "20"))  # v* steps compared: the papers' budget (19 Adam updates); float32 stays within ~2e-6 of float64 (main prints it)
TEMPLATES = ["{}", "The cat sat. {}", "It was a long day and then. {}"]
MEMIT_LAYERS = [0, 1]


def ridged(C):
    """C + ρ I, ρ = 1e-6 · trace C / d: MechEdit's documented deviation (stats.ts solveC). The
    references invert C itself; where C has eigenvalues below float32's resolution of its entries
    (the bundled model's layer 1 has 18 below 1e-6 × the mean) that inverse is rounding noise."""
    d = C.shape[0]
    return C + 1e-6 * torch.trace(C) / d * torch.eye(d, dtype=F64)


class Case:
    def __init__(self, name, folder, requests, corpus_rows):
        self.name, self.folder = name, folder
        self.m = Model(folder, dtype=F64)
        with open(os.path.join(folder, "tokenizer.json")) as f:
            self.tok = json.load(f)
        self.requests = requests
        self.corpus_rows = corpus_rows

    def enc(self, text):
        return py_bpe_encode(self.tok, text)

    def with_subject(self, text, subject):
        at = text.index("{}")
        return self.enc(text.replace("{}", subject)), len(self.enc(text[:at] + subject)) - 1

    def run(self, rows, edits=None):
        S = max(len(r) for r in rows)
        ids = torch.tensor([r + [0] * (S - len(r)) for r in rows])
        mask = torch.tensor([[1] * len(r) + [0] * (S - len(r)) for r in rows])
        out = self.m.forward(ids, mask, lens=False, edits=edits)
        return out, mask, out["positions"]

    def tap_at(self, rows, lookups, tap, edits=None):
        out, _, _ = self.run(rows, edits)
        return torch.stack([out["taps"][tap][b, p] for b, p in enumerate(lookups)])


def key_stats(c, layers):
    """C_l = mean over every real token of k kᵀ, per layer; and the keys themselves."""
    keys = {l: [] for l in layers}
    for i in range(0, len(c.corpus_rows), 8):
        rows = c.corpus_rows[i:i + 8]
        out, mask, _ = c.run(rows)
        for l in layers:
            k = out["taps"][f"blocks.{l}.mlp.key"]
            keys[l].append(k[mask.bool()])
    K = {l: torch.cat(keys[l]) for l in layers}
    return {l: f32(K[l].T @ K[l] / K[l].shape[0]) for l in layers}, K


def request_keys(c, req, layer, templates, edits=None):
    """Per template, the key at the subject's last token (rows: template ∘ prompt up to the subject)."""
    rows, looks = [], []
    for t in templates:
        ids, look = c.with_subject(t.replace("{}", req["prompt"]), req["subject"])
        rows.append(ids[:look + 1])
        looks.append(look)
    return c.tap_at(rows, looks, f"blocks.{layer}.mlp.key", edits)


def out_weight(c, layer):
    """W [d_model, d_mlp] and b of the MLP output projection (the reference's orientation y = W k + b)."""
    P = c.m.layers[layer]
    fam = c.m.spec.family
    if fam == "gpt2":
        return P["proj_w"].T, P["proj_b"]
    if fam == "gptj":
        return P["fc_out_w"], P["fc_out_b"]
    return P["down_w"], P["down_b"] if P.get("down_b") is not None else torch.zeros(P["down_w"].shape[0], dtype=F64)


# ---- ROME ---------------------------------------------------------------------------------------

def rome_case(c, C0, seed):
    req = c.requests[0]
    ks = request_keys(c, req, 0, TEMPLATES)
    kbar, kbare = f32(ks.mean(0)), f32(ks[0])
    u = torch.linalg.solve(ridged(C0), kbar)
    u = u / u.norm()
    W, b = out_weight(c, 0)
    g = torch.Generator().manual_seed(seed)
    vstar = f32(W @ kbare + b + 0.3 * torch.randn(W.shape[0], generator=g, dtype=F64) * (W @ kbare + b).norm() / W.shape[0] ** 0.5)
    dW = torch.outer(vstar - W @ kbare - b, u) / (u @ kbare)
    return {"kbar": wire(kbar), "kbare": wire(kbare), "vstar": wire(vstar), "u": wire(u), "dW": wire(dW)}


def vstar_problem(c, req):
    tgt = c.enc(" " + req["target"])
    rows, looks, nll = [], [], []
    for b, t in enumerate(TEMPLATES):
        ids, look = c.with_subject(t.replace("{}", req["prompt"]), req["subject"])
        rows.append(ids + tgt[:-1])
        looks.append(look)
        nll += [(b, len(ids) - 1 + j, tok) for j, tok in enumerate(tgt)]
    kl_ids, kl_look = c.with_subject("{} is a", req["subject"])
    rows.append(kl_ids)
    looks.append(kl_look)
    return {"rows": rows, "lookups": looks, "nll": nll, "targets": len(tgt)}


def vstar_run(c, prob, steps, kl_form, dtype, hp):
    """compute_v's loop; returns δ after `steps` evaluations and the losses."""
    m = c.m if dtype == F64 else Model(c.folder, dtype=torch.float32)
    rows, looks = prob["rows"], prob["lookups"]
    S = max(len(r) for r in rows)
    ids = torch.tensor([r + [0] * (S - len(r)) for r in rows])
    mask = torch.tensor([[1] * len(r) + [0] * (S - len(r)) for r in rows])
    with torch.no_grad():
        out = m.forward(ids, mask, lens=False)
    l = hp["layer"]
    resid = out["taps"][f"blocks.{l}.resid_post"].detach()
    v_init = out["taps"][f"blocks.{l}.{hp['init']}"][0, looks[0]].detach()
    dmask = torch.zeros(len(rows), S, dtype=dtype)
    for r, p in enumerate(looks):
        dmask[r, p] = 1
    P = len(rows) - 1
    nll_idx = torch.tensor([[b, p, t] for b, p, t in prob["nll"]])
    delta = torch.zeros(resid.shape[-1], dtype=dtype, requires_grad=True)
    opt = torch.optim.Adam([delta], lr=hp["lr"])
    init = None
    losses = []
    for it in range(steps):
        opt.zero_grad()
        logits, _ = run_tail(m, l, resid + dmask[..., None] * delta, mask, out["positions"])
        lp = torch.log_softmax(logits, -1)
        kl_lp = lp[P, looks[P]][None]
        if init is None:
            init = kl_lp.detach().clone()
        nll = -lp[nll_idx[:, 0], nll_idx[:, 1], nll_idx[:, 2]].sum() / (P * prob["targets"])
        if kl_form == "reference":   # torch kl_div(init, current, log_target=True): Σ p_cur (log p_cur − log p_init)
            kl = (kl_lp.exp() * (kl_lp - init)).sum()
        else:                        # MechEdit's v* graph: Σ p_init (log p_init − log p_cur)
            kl = (init.exp() * (init - kl_lp)).sum()
        loss = nll + hp["klFactor"] * kl + hp["weightDecay"] * delta.norm() / v_init.norm() ** 2
        losses.append(float(loss))
        if it == steps - 1:
            break
        loss.backward()
        opt.step()
        mx = hp["clamp"] * v_init.norm()
        if delta.norm() > mx:
            with torch.no_grad():
                delta[...] = delta * mx / delta.norm()
    return delta.detach().to(F64), losses, v_init.to(F64)


def vstar_case(c, req, hp):
    """The loop in the reference's form, in MechEdit's KL form and in float32 (for the choice of N)."""
    prob = vstar_problem(c, req)
    d_ref, losses, v_init = vstar_run(c, prob, VSTEPS, "reference", F64, hp)
    d_mech, _, _ = vstar_run(c, prob, VSTEPS, "mechedit", F64, hp)
    d_f32, _, _ = vstar_run(c, prob, VSTEPS, "reference", torch.float32, hp)
    rel = lambda a, b: float((a - b).norm() / b.norm())  # noqa: E731
    return {**prob, "hparams": hp, "steps": VSTEPS, "delta": wire(d_ref), "deltaMechKl": wire(d_mech),
            "losses": losses, "vInit": wire(v_init), "clampActive": bool(d_ref.norm() > (1 - 1e-9) * hp["clamp"] * v_init.norm()),
            "float32Error": rel(d_f32, d_ref), "klFormDifference": rel(d_mech, d_ref)}


# ---- MEMIT --------------------------------------------------------------------------------------

def memit_keys(c, req, layer, edits):
    ks = request_keys(c, req, layer, TEMPLATES, edits)
    return 0.5 * ks[0] + 0.5 * ks[1:].mean(0)


def h_last(c, req, edits):
    ids, look = c.with_subject(req["prompt"], req["subject"])
    return c.tap_at([ids[:look + 1]], [look], f"blocks.{MEMIT_LAYERS[-1]}.resid_post", edits)[0]


def memit_case(c, Cs, seed):
    d_mlp = Cs[0].shape[0]
    lam = 20000 / 6400 * d_mlp
    g = torch.Generator().manual_seed(seed)
    h0 = [h_last(c, r, None) for r in c.requests]
    zs = [f32(h + 0.5 * h.norm() / h.shape[0] ** 0.5 * torch.randn(h.shape[0], generator=g, dtype=F64)) for h in h0]
    edits, layers = {}, []
    for i, l in enumerate(MEMIT_LAYERS):
        K = torch.stack([memit_keys(c, r, l, edits) for r in c.requests]).T            # [d_mlp, n]
        R = torch.stack([(z - h_last(c, r, edits)) / (len(MEMIT_LAYERS) - i) for z, r in zip(zs, c.requests)]).T  # [d, n]
        adj = torch.linalg.solve(lam * ridged(Cs[l]) + K @ K.T, K)                      # [d_mlp, n]
        dW = R @ adj.T
        bare = R @ torch.linalg.solve(lam * Cs[l] + K @ K.T, K).T                        # the references' C⁻¹, no ridge
        edits[f"{l}:mlp.out"] = (R.T.contiguous(), adj.T.contiguous())                  # ΔW = Uᵀ V
        layers.append({"layer": l, "K": wire(K.T), "R": wire(R.T), "dW": wire(dW),
                       "ridgeEffect": float((bare - dW).norm() / dW.norm())})
    return {"lambda": lam, "zs": wire(torch.stack(zs)), "layers": layers}


# ---- AlphaEdit and ROCR ------------------------------------------------------------------------

def projector(C):
    w, U = torch.linalg.eigh(C)
    d = len(w)
    lo, hi = d // 4, 3 * d // 4
    ratios = (w[lo + 1:hi + 1] / w[lo:hi]).log()
    k = lo + 1 + int(torch.argmax(ratios))            # eigenvalues 0…k−1 below τ
    tau = float((w[k - 1] * w[k]).sqrt())
    Us = U[:, w < tau]
    return f32(Us @ Us.T), tau, int((w < tau).sum()), float(min(abs(w / tau - 1)))


def alphaedit_case(c, C0, Kcorpus, ks, seed):
    P, tau, dim, nearest = projector(C0)
    d_mlp = C0.shape[0]
    g = torch.Generator().manual_seed(seed)
    cases = []
    for count in (3, d_mlp // 4 + 1):
        idx = torch.randperm(Kcorpus.shape[0], generator=g)[:count]
        Kp = f32(Kcorpus[idx]).T                                                       # [d_mlp, count]
        K = ks.T                                                                       # [d_mlp, n]
        L2 = 0.1 * float(((P @ K) ** 2).sum(0).mean())
        R = f32(torch.randn(c.m.spec.d_model, K.shape[1], generator=g, dtype=F64))
        X = torch.linalg.solve(P @ (K @ K.T + Kp @ Kp.T) + L2 * torch.eye(d_mlp, dtype=F64), P @ K)
        cases.append({"Kp": wire(Kp.T), "L2": L2, "R": wire(R.T), "dW": wire(R @ X.T)})
    return {"tau": tau, "dimension": dim, "nearest": nearest, "keys": wire(ks), "PK": wire((P @ ks.T).T), "cases": cases}, P


def rocr_case(c, C0, P, Kcorpus):
    rows, looks = [], []
    concept = c.requests[0]["subject"]
    for t in ["{}", "Tell me about {}.", "Write something about {}."]:
        ids, look = c.with_subject(t, concept)
        rows.append(ids[:look + 1])
        looks.append(look)
    K = f32(c.tap_at(rows, looks, "blocks.0.mlp.key")).T                                 # [d_mlp, 3]
    prev = f32(Kcorpus[:2]).T
    A = K @ K.T + prev @ prev.T
    ksum = K.sum(1)
    d = A.shape[0]
    I = torch.eye(d, dtype=F64)
    lam_id, lam_cov = 10.0, 10.0
    return {
        "keys": wire(K.T), "prev": wire(prev.T), "lambdaIdentity": lam_id, "lambdaCovariance": lam_cov,
        "identity": wire(torch.linalg.solve(A + lam_id * I, ksum)),
        "projected": wire(torch.linalg.solve(P @ A + lam_id * I, P @ ksum)),
        "covariance": wire(torch.linalg.solve(A + lam_cov * ridged(C0), ksum)),
    }


# ---- DiKE ---------------------------------------------------------------------------------------

def gelu_tanh(x):
    return 0.5 * x * (1 + torch.tanh((2 / torch.pi) ** 0.5 * (x + 0.044715 * x ** 3)))


def krd_weights(path):
    raw, meta = read_safetensors_raw(path)
    return [decode_tensor(*raw[f"W{i}"], to=F64) for i in range(1, 7)], meta


def krd_losses(W, h, q, groups, tau, beta):
    """L_ctr (InfoNCE on cosine / τ: anchor z_r resp. z_u, positive h_s, negatives the other component
    and the h_s of other subjects; mean over both anchors and the batch) and L_recon (‖h − ĥ‖² / ‖h‖²)."""
    zr = gelu_tanh(h @ W[0].T + q @ W[1].T)
    zu = gelu_tanh(h @ W[2].T + q @ W[3].T)
    hhat = zr @ W[4].T + zu @ W[5].T
    cos = lambda a, b: (a @ b) / (a.norm() * b.norm())  # noqa: E731
    B = h.shape[0]
    ctr = 0
    for i in range(B):
        for x, y in ((zr[i], zu[i]), (zu[i], zr[i])):
            cands = [h[i], y] + [h[j] for j in range(B) if groups[j] != groups[i]]
            logits = torch.stack([cos(x, v) for v in cands]) / tau
            ctr = ctr - torch.log_softmax(logits, 0)[0] / (2 * B)
    recon = (((hhat - h) ** 2).sum(1) / (h ** 2).sum(1)).mean()
    return ctr, recon, ctr + beta * recon


def krd_facts():
    facts = [json.loads(l) for l in open(os.path.join(ROOT, "models", "default", "facts.jsonl"))]
    out, subjects = [], []
    for f in facts:
        if f["form"] == "declarative" and f["prompt"].startswith(f["subject"] + " ") and f["subject"] not in subjects:
            other = [g for g in facts if g["subject"] == f["subject"] and g["relation"] != f["relation"]
                     and g["form"] == "declarative" and g["prompt"].startswith(f["subject"] + " ")]
            if other:
                subjects.append(f["subject"])
                out += [f, other[0]]
        if len(subjects) == 3:
            return out
    raise SystemExit("not enough facts for the KRD case")


def krd_con(c, enc, con_rows, zr, zu, B):
    """L_con = Σ over rows of the mean NLL of the row's object with h_s (resid_post of layer 0 at the
    subject's last token) replaced by z_r (the sample's own fact) or z_u (the subject's other fact), / B."""
    rows = [enc[j]["ids"] + enc[j]["target"][:-1] for _, _, j in con_rows]
    S = max(len(r) for r in rows)
    ids = torch.tensor([r + [0] * (S - len(r)) for r in rows])
    mask = torch.tensor([[1] * len(r) + [0] * (S - len(r)) for r in rows])
    with torch.no_grad():
        out = c.m.forward(ids, mask, lens=False)
    resid = out["taps"]["blocks.0.resid_post"]
    hrows = []
    for r, (i, part, j) in enumerate(con_rows):
        look = enc[j]["lookup"]
        z = zr[i] if part == "r" else zu[i]
        hrows.append(torch.cat([resid[r, :look], z[None], resid[r, look + 1:]]))
    logits, _ = run_tail(c.m, 0, torch.stack(hrows), mask, out["positions"])
    lp = torch.log_softmax(logits, -1)
    con = 0
    for r, (_, _, j) in enumerate(con_rows):
        e = enc[j]
        n = len(e["ids"])
        con = con - sum(lp[r, n - 1 + k, t] for k, t in enumerate(e["target"])) / (len(e["target"]) * B)
    return con


def dike_case(c, C0):
    W, meta = krd_weights(os.path.join(c.folder, "krd-L0.safetensors"))
    d = W[0].shape[1]
    dz = W[0].shape[0]
    req = c.requests[0]
    ks = request_keys(c, req, 0, ["{}"] + TEMPLATES[1:])
    k = f32(0.5 * ks[0] + 0.5 * ks[1:].mean(0))
    lam = 20000 / 6400 * C0.shape[0]
    g = torch.Generator().manual_seed(5)
    delta = f32(torch.randn(dz, generator=g, dtype=F64))
    r = W[4] @ delta
    U = torch.linalg.solve(torch.eye(d, dtype=F64) + W[2].T @ W[2], r)
    V = torch.linalg.solve(lam * ridged(C0) + torch.outer(k, k), k)
    # KRD losses on real facts: 3 subjects, each with two facts of different relations (declarative).
    facts = krd_facts()
    enc = []
    for f in facts:
        ids, look = c.with_subject("{}" + f["prompt"][len(f["subject"]):], f["subject"])
        enc.append({"ids": ids, "lookup": look, "target": c.enc(" " + f["answer"])})
    hs, qs = [], []
    for e in enc:
        out, _, _ = c.run([e["ids"]])
        x = out["taps"]["blocks.0.resid_post"][0]
        hs.append(x[e["lookup"]])
        qs.append(x[len(e["ids"]) - 1])
    groups = [i // 2 for i in range(len(facts))]
    h, q = f32(torch.stack(hs)), f32(torch.stack(qs))
    tau, beta, alpha = float(meta.get("tau", 0.1)), 1.0, 1.0
    Wg = [w.clone().requires_grad_(True) for w in W]
    ctr, recon, total = krd_losses(Wg, h, q, groups, tau, beta)
    # L_con: per sample, its own fact with h_s := z_r, and the subject's other fact with h_s := z_u.
    zr = gelu_tanh(h @ Wg[0].T + q @ Wg[1].T)
    zu = gelu_tanh(h @ Wg[2].T + q @ Wg[3].T)
    con_rows = [(i, "r", i) for i in range(len(facts))] + [(i, "u", i ^ 1) for i in range(len(facts))]
    con_rows = [r for i in range(len(facts)) for r in con_rows if r[0] == i]     # per sample: its r row, then its u row
    con = krd_con(c, enc, con_rows, zr, zu, len(facts))
    (total + alpha * con).backward()
    krd = {"facts": [{"subject": f["subject"], "prompt": f["prompt"], "answer": f["answer"]} for f in facts],
           "ids": [e["ids"] for e in enc], "lookups": [e["lookup"] for e in enc], "targets": [e["target"] for e in enc],
           "rows": [[i, part, j] for i, part, j in con_rows],
           "h": wire(h), "q": wire(q), "groups": groups, "tau": tau, "beta": beta, "alpha": alpha,
           "ctr": float(ctr), "recon": float(recon), "con": float(con), "grads": [wire(w.grad) for w in Wg]}
    return {
        "lambda": lam, "key": wire(k), "delta": wire(delta), "U": wire(U), "V": wire(V),
        "krd": krd,
    }


# ---- main ---------------------------------------------------------------------------------------

def tiny_requests():
    return [
        {"subject": "the old dog", "prompt": "{} is in", "target": "the park"},
        {"subject": "a small bird", "prompt": "{} lives in", "target": "the tree"},
        {"subject": "the red car", "prompt": "In the morning {} was", "target": "fast"},
    ]


def default_requests():
    facts = [json.loads(l) for l in open(os.path.join(ROOT, "models", "default", "facts.jsonl"))]
    seen, out = set(), []
    for f in facts:
        if f["relation"] == "birthplace" and f["prompt"].startswith(f["subject"]) and f["subject"] not in seen:
            seen.add(f["subject"])
            out.append({"subject": f["subject"], "prompt": "{}" + f["prompt"][len(f["subject"]):], "target": "Daekgrad"})
        if len(out) == 3:
            break
    return out


def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(31)
    out = {"format": "mechedit-edit-golden/1", "generator": f"tools/edit_golden.py (PyTorch {torch.__version__}, float64)",
           "templates": TEMPLATES, "vstarSteps": VSTEPS, "memitLayers": MEMIT_LAYERS, "cases": []}
    specs = [("gpt2-tiny", os.path.join(ROOT, "test", "fixtures", "models", "gpt2-tiny")),
             ("llama-gqa", os.path.join(ROOT, "test", "fixtures", "models", "llama-gqa")),
             ("default", os.path.join(ROOT, "models", "default"))]
    hp = {"lr": 0.5, "weightDecay": 0.5, "clamp": 4.0, "klFactor": 0.0625}
    for si, (name, folder) in enumerate(specs):
        if name == "default":
            tok = json.load(open(os.path.join(folder, "tokenizer.json")))
            lines = [l.strip() for l in open(os.path.join(folder, "corpus.txt")) if l.strip()][:600]
            rows = [py_bpe_encode(tok, l)[:48] for l in lines]
            reqs = default_requests()
        else:
            vocab = 317
            rows = [torch.randint(1, vocab - 1, (40,), generator=g).tolist() for _ in range(40)]
            reqs = tiny_requests()
        c = Case(name, folder, reqs, rows)
        Cs, Kc = key_stats(c, MEMIT_LAYERS)
        d_mlp = Cs[0].shape[0]
        case = {"model": name, "dir": os.path.relpath(folder, ROOT), "dMlp": d_mlp, "keyCount": int(Kc[0].shape[0]),
                "C": [wire(Cs[l]) for l in MEMIT_LAYERS], "requests": reqs}
        case["rome"] = rome_case(c, Cs[0], 100 + si)
        case["vstar"] = vstar_case(c, reqs[0], {"layer": 0, "init": "mlp_out", **hp})
        case["vstarMemit"] = vstar_case(c, reqs[1], {"layer": MEMIT_LAYERS[-1], "init": "resid_post", **hp, "clamp": 0.75})
        case["vstarClamped"] = vstar_case(c, reqs[2], {"layer": 0, "init": "mlp_out", **hp, "clamp": 0.5})
        case["memit"] = memit_case(c, Cs, 200 + si)
        ks = torch.stack([f32(memit_keys(c, r, 0, {})) for r in reqs[:2]])
        case["alphaedit"], P = alphaedit_case(c, Cs[0], Kc[0], ks, 300 + si)
        case["rocr"] = rocr_case(c, Cs[0], P, Kc[0][100:])
        if os.path.exists(os.path.join(folder, "krd-L0.safetensors")):
            case["dike"] = dike_case(c, Cs[0])
        v, z = case["vstar"], case["vstarMemit"]
        losses = v["losses"]
        a = case["alphaedit"]
        ridge = ", ".join("%.1e" % x["ridgeEffect"] for x in case["memit"]["layers"])
        print(f"{name}: d_mlp {d_mlp}, {case['keyCount']} keys; v* loss {losses[0]:.4f} → {losses[-1]:.4f}{' (clamp active)' if v['clampActive'] else ''}, "
              f"float32 vs float64 {v['float32Error']:.2e}, KL(cur‖init) vs KL(init‖cur) {v['klFormDifference']:.2e}; "
              f"MEMIT z (clamp 0.75{', active' if z['clampActive'] else ''}) {z['float32Error']:.2e}, {z['klFormDifference']:.2e}; "
              f"clamp 0.5{' active' if case['vstarClamped']['clampActive'] else ' NOT active'}; MEMIT ΔW without the ridge {ridge}; "
              f"AlphaEdit τ {a['tau']:.3g}, dimension {a['dimension']}, nearest eigenvalue {100 * a['nearest']:.1f} % from τ")
        out["cases"].append(case)
    with open(OUT, "w") as f:
        f.write(json.dumps(out) + "\n")
    print(f"wrote {OUT} ({os.path.getsize(OUT) // 1024} KiB)")


if __name__ == "__main__":
    main()
