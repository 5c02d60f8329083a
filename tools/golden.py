#!/usr/bin/python3
"""Golden outputs of the PyTorch reference (tools/reference.py) for the tiny fixture models.

Writes test/fixtures/golden/<model>.json for every folder made by tools/make_tiny_checkpoints.py,
then runs self-checks (non-zero exit on failure). Inputs are TOKEN IDS; no tokenizer is involved.

JSON layout (all tensors: base64 of little-endian float32, row-major/C order, shape in "dims"):

{
  "format": "mechedit-golden/1",
  "model": "llama-gqa",                              # folder name under test/fixtures/models/
  "model_dir": "test/fixtures/models/llama-gqa",
  "generator": "tools/golden.py + tools/reference.py (PyTorch <ver>, float32 compute)",
  "config": { ...config.json verbatim... },
  "dims": {"n_layers": L, "d_model": D, "d_mlp": F, "n_heads": H, "n_kv_heads": Hkv,
           "head_dim": hd, "vocab_size": V},
  "taps": ["resid_pre", "attn_out", "mlp.key", "mlp_out", "resid_post"],  # per layer, see below
  "cases": [
    {
      "name": "len1" | "len9" | "len20" | "batch_right_pad" | "batch_left_pad",
      "ids":       [[int, ...], ...],                # [b][s]  (padding slots hold pad ids, see "mask")
      "mask":      [[1, 1, 0, ...], ...] | null,     # [b][s]  1 = real token; null = no padding
      "positions": [[int, ...], ...],                # [b][s]  = clamp(cumsum(mask) - 1, min 0)
      "logprobs":  {"dims": [b, s, V], "data": "<b64>"},          # log_softmax(logits) at every position
      "taps": {
        "blocks.{l}.resid_pre":  {"dims": [b, s, D], "data": "<b64>"},   # input of block l
        "blocks.{l}.attn_out":   {"dims": [b, s, D], "data": "<b64>"},   # attention after out proj (+bias)
        "blocks.{l}.mlp.key":    {"dims": [b, s, F], "data": "<b64>"},   # input of the MLP out projection
        "blocks.{l}.mlp_out":    {"dims": [b, s, D], "data": "<b64>"},   # MLP after out proj (+bias)
        "blocks.{l}.resid_post": {"dims": [b, s, D], "data": "<b64>"},   # output of block l
        ...                                           # for every l in 0..L-1
      },
      "lens_top1":  [[[int]*s]*L]*b,      # argmax_v log_softmax(unembed(final_norm(resid_post_l)))
      "resid_norm": [[[float]*s]*L]*b     # L2 norm over d_model of blocks.{l}.resid_post
    }, ...
  ],
  "greedy": {"prompt_ids": [4 ints], "new_ids": [8 ints]}   # argmax over the full vocab_size,
                                                             # KV-cache-free, no EOS stopping
}

Cases: len1, len9, len20 (one sequence each, mask null, positions 0..s-1); batch_right_pad and
batch_left_pad: the same two rows (lengths 5 and 11) padded to 11 with id 0 (PAD_ID) on the right /
left, mask given, positions from the mask (left padding: the short row's tokens have positions
0..4 at indices 6..10). Row r of a batch case equals that row run alone, at its mask == 1 indices.

Notes for consumers:
  * In the batch cases the values at mask == 0 positions are what the reference computes (right
    padding: the pad query attends to the real tokens before it; left padding: the pad query has no
    allowed key and gets uniform attention over all keys, as an additive finfo.min mask gives), but
    they are not meaningful for HF parity: compare only where mask == 1.
  * The self-checks below bound the reference's own float32 error (|fp32 - fp64| on logprobs is
    ~1e-6); a TS/ONNX float32 runtime should match within ~1e-4 absolute on logprobs and hidden
    states of these magnitudes (most values are O(1), resid norms O(10)).

Self-checks (printed; run `python3 tools/golden.py --check-only` to skip writing):
  1. naive: for every model, an independent naive formulation (float64, explicit loops over
     positions and heads, element-wise rotary with Python math, explicit norms) vs the reference
     run in float64 (with float64 rotary angles: must agree < 1e-9; with HF's float32 rotary
     tables: reported, < 1e-4): max |diff| over logits and all taps.
  2. padding: rows of a left-padded and of a right-padded batch vs the same rows run alone, over
     real positions, logits + all taps + lens: float64 must agree < 1e-10 (this is the test of
     the masking/position logic); float32 relative (|diff| / max|tensor|) must be <= 1e-5; float32
     absolute differences (~1e-6..2e-5, from BLAS blocking that depends on the batch shape) are
     reported.
  3. precision: reference float32 vs float64 (max |diff| of logprobs).
  4. the golden JSON decodes back to the tensors it was made from (bit-exact).
  5. margins: the top-1 vs top-2 gap behind every exact-match value (lens_top1 at mask == 1
     positions, each greedy step) must exceed 1e-4, so float32 noise cannot flip them.
"""

import base64
import json
import math
import os
import sys

sys.dont_write_bytecode = True   # no tools/__pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference import Model, load_checkpoint_tensors  # noqa: E402  (re-execs under /usr/bin/python3 if torch is missing)
from naive_modern import naive_modern  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = os.path.join(ROOT, "test", "fixtures", "models")
GOLDEN = os.path.join(ROOT, "test", "fixtures", "golden")
NAMES = ["gpt2-tiny", "gptj-tiny", "llama-gqa", "llama3-scaled", "mistral-tiny", "qwen2-tiny",
         "qwen3-tiny", "gemma2-tiny", "gemma3-tiny", "smollm3-tiny", "olmo2-tiny", "phi3-tiny", "gemma3mm-tiny"]
TAPS = ["resid_pre", "attn_out", "mlp.key", "mlp_out", "resid_post"]
EOT = 316            # <|endoftext|> in the fixture tokenizer; kept out of the random inputs
PAD_ID = 0           # id placed in padding slots of the golden batch


def b64(t):
    # float32 tensor -> base64 of its little-endian bytes, row-major
    return base64.b64encode(t.detach().to(torch.float32).contiguous().numpy().astype("<f4").tobytes()).decode("ascii")


def unb64(s, dims):
    return torch.from_numpy(np.frombuffer(base64.b64decode(s), dtype="<f4").copy().reshape(dims))


def rand_ids(seed, n):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, EOT, (n,), generator=g).tolist()


# ----------------------------------------------------------------------------------------------
# Golden file
# ----------------------------------------------------------------------------------------------

def run_case(m, name, rows, pad_side="right"):
    """rows: list of id lists (unequal lengths are padded on `pad_side` with PAD_ID)."""
    S = max(len(r) for r in rows)
    ids, mask = [], []
    for r in rows:
        pad = S - len(r)
        if pad_side == "right":
            ids.append(r + [PAD_ID] * pad)
            mask.append([1] * len(r) + [0] * pad)
        else:
            ids.append([PAD_ID] * pad + r)
            mask.append([0] * pad + [1] * len(r))
    batched = any(len(r) != S for r in rows)
    out = m.forward(torch.tensor(ids), torch.tensor(mask) if batched else None)
    lp = torch.log_softmax(out["logits"], dim=-1)                               # [b, s, V]
    taps = {}
    for l in range(m.spec.n_layers):
        for t in TAPS:
            x = out["taps"][f"blocks.{l}.{t}"]
            taps[f"blocks.{l}.{t}"] = {"dims": list(x.shape), "data": b64(x)}
    lens = torch.stack([x.argmax(-1) for x in out["lens_logprobs"]], dim=1)     # [b, L, s]
    norms = torch.stack([out["taps"][f"blocks.{l}.resid_post"].norm(dim=-1)
                         for l in range(m.spec.n_layers)], dim=1)               # [b, L, s]
    case = {
        "name": name,
        "ids": ids,
        "mask": mask if batched else None,
        "positions": out["positions"].tolist(),
        "logprobs": {"dims": list(lp.shape), "data": b64(lp)},
        "taps": taps,
        "lens_top1": lens.tolist(),
        "resid_norm": [[[float(v) for v in row] for row in layer] for layer in norms],
    }
    return case, out, lp


def golden_for(name, write=True):
    folder = os.path.join(MODELS, name)
    m = Model(folder)
    s = m.spec
    cases, checks = [], []
    specs = [("len1", [rand_ids(11, 1)]), ("len9", [rand_ids(12, 9)]), ("len20", [rand_ids(13, 20)]),
             ("batch_right_pad", [rand_ids(14, 5), rand_ids(15, 11)], "right"),
             ("batch_left_pad", [rand_ids(14, 5), rand_ids(15, 11)], "left")]
    for cname, rows, *side in specs:
        case, out, lp = run_case(m, cname, rows, *side)
        cases.append(case)
        checks.append((case, out, lp))
    prompt = rand_ids(16, 4)
    # check 5: exact-match outputs (lens top-1, greedy ids) must not sit on near-ties
    margin = 1e9
    for case, out, _ in checks:
        for lp in out["lens_logprobs"]:
            top2 = lp.topk(2, dim=-1).values
            gap = top2[..., 0] - top2[..., 1]                                   # [b, s]
            if case["mask"] is not None:
                gap = gap.masked_fill(torch.tensor(case["mask"]) == 0, 1e9)
            margin = min(margin, float(gap.min()))
    new_ids = m.greedy(prompt, 8)
    seq = list(prompt)
    for t in new_ids:
        top2 = m.forward(torch.tensor([seq]), lens=False)["logits"][0, -1].topk(2).values
        margin = min(margin, float(top2[0] - top2[1]))
        seq.append(t)
    doc = {
        "format": "mechedit-golden/1",
        "model": name,
        "model_dir": f"test/fixtures/models/{name}",
        "generator": f"tools/golden.py + tools/reference.py (PyTorch {torch.__version__}, float32 compute)",
        "config": m.cfg,
        "dims": {"n_layers": s.n_layers, "d_model": s.d_model, "d_mlp": s.d_mlp, "n_heads": s.n_heads,
                 "n_kv_heads": s.n_kv_heads, "head_dim": s.head_dim, "vocab_size": s.vocab_size},
        "taps": TAPS,
        "cases": cases,
        "greedy": {"prompt_ids": prompt, "new_ids": new_ids},
    }
    path = os.path.join(GOLDEN, f"{name}.json")
    if write:
        os.makedirs(GOLDEN, exist_ok=True)
        with open(path, "w") as f:
            json.dump(doc, f, separators=(",", ":"))
            f.write("\n")
        # check 4: decode what was written
        with open(path) as f:
            back = json.load(f)
        for case, (_, out, lp) in zip(back["cases"], checks):
            assert torch.equal(unb64(case["logprobs"]["data"], case["logprobs"]["dims"]), lp)
            for k, v in case["taps"].items():
                assert torch.equal(unb64(v["data"], v["dims"]), out["taps"][k]), k
    return doc, path, margin


# ----------------------------------------------------------------------------------------------
# Check 1: naive formulation (float64, loops), written independently of reference.Model
# ----------------------------------------------------------------------------------------------

def naive_forward(folder, ids):
    """One unpadded sequence. Returns (logits [S, V], taps {name: [S, *]}) in float64."""
    with open(os.path.join(folder, "config.json")) as f:
        c = json.load(f)
    W, _ = load_checkpoint_tensors(folder, to=torch.float64)
    mt = c["model_type"]
    if mt == "gemma3":
        return None   # gemma3mm-tiny: gemma3-tiny's weights, checked there
    if mt not in ("gpt2", "gptj", "llama", "mistral", "qwen2"):
        return naive_modern(c, W, ids)   # issue 34's architectures (tools/naive_modern.py)
    S = len(ids)

    def ln(v, w, b, eps):                           # v [n]
        mu = sum(v.tolist()) / len(v)
        var = sum((x - mu) ** 2 for x in v.tolist()) / len(v)
        return (v - mu) / math.sqrt(var + eps) * w + b

    def rms(v, w, eps):
        ms = sum(x * x for x in v.tolist()) / len(v)
        return v / math.sqrt(ms + eps) * w

    def gelu_tanh(v):
        return torch.tensor([0.5 * x * (1 + math.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3))) for x in v.tolist()],
                            dtype=torch.float64)

    def silu(v):
        return torch.tensor([x / (1 + math.exp(-x)) for x in v.tolist()], dtype=torch.float64)

    def attend(qs, ks, vs, scale):
        """qs [S][hd] of one head, ks/vs [S][hd] of its kv head: causal softmax attention, loops."""
        out = []
        for t in range(S):
            sc = [float(qs[t] @ ks[j]) * scale for j in range(t + 1)]
            mx = max(sc)
            e = [math.exp(x - mx) for x in sc]
            z = sum(e)
            o = sum((e[j] / z) * vs[j] for j in range(t + 1))
            out.append(o)
        return out

    def rotate(v, pos, inv_freq, style):
        """v [hd] -> rotated copy; only the first 2*len(inv_freq) dims are rotated."""
        v = v.clone()
        r = 2 * len(inv_freq)
        src = v[:r].clone()
        for i, f in enumerate(inv_freq):
            a = pos * f
            cs, sn = math.cos(a), math.sin(a)
            if style == "half":       # pair (i, i + r/2)
                x0, x1 = float(src[i]), float(src[i + r // 2])
                v[i], v[i + r // 2] = x0 * cs - x1 * sn, x1 * cs + x0 * sn
            else:                     # GPT-J: pair (2i, 2i+1)
                x0, x1 = float(src[2 * i]), float(src[2 * i + 1])
                v[2 * i], v[2 * i + 1] = x0 * cs - x1 * sn, x1 * cs + x0 * sn
        return v

    taps = {}
    if mt == "gpt2":
        p = "transformer." if "transformer.wte.weight" in W else ""
        d, H = c["n_embd"], c["n_head"]
        hd, eps = d // H, c["layer_norm_epsilon"]
        x = [W[p + "wte.weight"][t] + W[p + "wpe.weight"][i] for i, t in enumerate(ids)]
        for l in range(c["n_layer"]):
            h = f"{p}h.{l}."
            taps[f"blocks.{l}.resid_pre"] = torch.stack(x)
            a = [ln(v, W[h + "ln_1.weight"], W[h + "ln_1.bias"], eps) for v in x]
            qkv = [v @ W[h + "attn.c_attn.weight"] + W[h + "attn.c_attn.bias"] for v in a]
            heads = []
            for hh in range(H):
                q = [v[hh * hd:(hh + 1) * hd] for v in qkv]
                k = [v[d + hh * hd:d + (hh + 1) * hd] for v in qkv]
                vv = [v[2 * d + hh * hd:2 * d + (hh + 1) * hd] for v in qkv]
                heads.append(attend(q, k, vv, 1 / math.sqrt(hd)))
            merged = [torch.cat([heads[hh][t] for hh in range(H)]) for t in range(S)]
            ao = [v @ W[h + "attn.c_proj.weight"] + W[h + "attn.c_proj.bias"] for v in merged]
            x = [xi + ai for xi, ai in zip(x, ao)]
            m2 = [ln(v, W[h + "ln_2.weight"], W[h + "ln_2.bias"], eps) for v in x]
            key = [gelu_tanh(v @ W[h + "mlp.c_fc.weight"] + W[h + "mlp.c_fc.bias"]) for v in m2]
            mo = [v @ W[h + "mlp.c_proj.weight"] + W[h + "mlp.c_proj.bias"] for v in key]
            x = [xi + mi for xi, mi in zip(x, mo)]
            taps.update({f"blocks.{l}.attn_out": torch.stack(ao), f"blocks.{l}.mlp.key": torch.stack(key),
                         f"blocks.{l}.mlp_out": torch.stack(mo), f"blocks.{l}.resid_post": torch.stack(x)})
        fin = [ln(v, W[p + "ln_f.weight"], W[p + "ln_f.bias"], eps) for v in x]
        logits = torch.stack([W[p + "wte.weight"] @ v for v in fin])
        return logits, taps

    if mt == "gptj":
        d, H = c["n_embd"], c["n_head"]
        hd, eps, rd = d // H, c["layer_norm_epsilon"], c["rotary_dim"] or d // H
        inv_freq = [1.0 / 10000 ** (2 * i / rd) for i in range(rd // 2)]
        x = [W["transformer.wte.weight"][t] for t in ids]
        for l in range(c["n_layer"]):
            h = f"transformer.h.{l}."
            taps[f"blocks.{l}.resid_pre"] = torch.stack(x)
            a = [ln(v, W[h + "ln_1.weight"], W[h + "ln_1.bias"], eps) for v in x]
            Q = [W[h + "attn.q_proj.weight"] @ v for v in a]
            K = [W[h + "attn.k_proj.weight"] @ v for v in a]
            V = [W[h + "attn.v_proj.weight"] @ v for v in a]
            heads = []
            for hh in range(H):
                sl = slice(hh * hd, (hh + 1) * hd)
                q = [rotate(Q[t][sl], t, inv_freq, "interleaved") for t in range(S)]
                k = [rotate(K[t][sl], t, inv_freq, "interleaved") for t in range(S)]
                heads.append(attend(q, k, [V[t][sl] for t in range(S)], 1 / math.sqrt(hd)))
            merged = [torch.cat([heads[hh][t] for hh in range(H)]) for t in range(S)]
            ao = [W[h + "attn.out_proj.weight"] @ v for v in merged]
            key = [gelu_tanh(W[h + "mlp.fc_in.weight"] @ v + W[h + "mlp.fc_in.bias"]) for v in a]
            mo = [W[h + "mlp.fc_out.weight"] @ v + W[h + "mlp.fc_out.bias"] for v in key]
            x = [xi + ai + mi for xi, ai, mi in zip(x, ao, mo)]
            taps.update({f"blocks.{l}.attn_out": torch.stack(ao), f"blocks.{l}.mlp.key": torch.stack(key),
                         f"blocks.{l}.mlp_out": torch.stack(mo), f"blocks.{l}.resid_post": torch.stack(x)})
        fin = [ln(v, W["transformer.ln_f.weight"], W["transformer.ln_f.bias"], eps) for v in x]
        logits = torch.stack([W["lm_head.weight"] @ v + W["lm_head.bias"] for v in fin])
        return logits, taps

    # llama / mistral / qwen2
    d, H = c["hidden_size"], c["num_attention_heads"]
    Hkv = c.get("num_key_value_heads") or H
    hd = c.get("head_dim") or d // H
    eps, base = c["rms_norm_eps"], c.get("rope_theta", 10000.0)
    inv_freq = []
    for i in range(hd // 2):
        f = 1.0 / base ** (2 * i / hd)
        rs = c.get("rope_scaling")
        if rs and rs.get("rope_type", rs.get("type")) == "llama3":
            old = rs["original_max_position_embeddings"]
            lo_w, hi_w = old / rs["low_freq_factor"], old / rs["high_freq_factor"]
            wl = 2 * math.pi / f
            if wl < hi_w:
                pass
            elif wl > lo_w:
                f = f / rs["factor"]
            else:
                sm = (old / wl - rs["low_freq_factor"]) / (rs["high_freq_factor"] - rs["low_freq_factor"])
                f = (1 - sm) * f / rs["factor"] + sm * f
        inv_freq.append(f)
    bias = mt == "qwen2"
    tied = c.get("tie_word_embeddings", False)
    x = [W["model.embed_tokens.weight"][t] for t in ids]
    for l in range(c["num_hidden_layers"]):
        h = f"model.layers.{l}."
        taps[f"blocks.{l}.resid_pre"] = torch.stack(x)
        a = [rms(v, W[h + "input_layernorm.weight"], eps) for v in x]

        def proj(nm, v):
            y = W[h + f"self_attn.{nm}.weight"] @ v
            return y + W[h + f"self_attn.{nm}.bias"] if bias and nm != "o_proj" else y
        Q = [proj("q_proj", v) for v in a]
        K = [proj("k_proj", v) for v in a]
        V = [proj("v_proj", v) for v in a]
        heads = []
        for hh in range(H):
            g = hh // (H // Hkv)                     # GQA: kv head of query head hh
            q = [rotate(Q[t][hh * hd:(hh + 1) * hd], t, inv_freq, "half") for t in range(S)]
            k = [rotate(K[t][g * hd:(g + 1) * hd], t, inv_freq, "half") for t in range(S)]
            heads.append(attend(q, k, [V[t][g * hd:(g + 1) * hd] for t in range(S)], 1 / math.sqrt(hd)))
        merged = [torch.cat([heads[hh][t] for hh in range(H)]) for t in range(S)]
        ao = [proj("o_proj", v) for v in merged]
        x = [xi + ai for xi, ai in zip(x, ao)]
        m2 = [rms(v, W[h + "post_attention_layernorm.weight"], eps) for v in x]
        key = [silu(W[h + "mlp.gate_proj.weight"] @ v) * (W[h + "mlp.up_proj.weight"] @ v) for v in m2]
        mo = [W[h + "mlp.down_proj.weight"] @ v for v in key]
        x = [xi + mi for xi, mi in zip(x, mo)]
        taps.update({f"blocks.{l}.attn_out": torch.stack(ao), f"blocks.{l}.mlp.key": torch.stack(key),
                     f"blocks.{l}.mlp_out": torch.stack(mo), f"blocks.{l}.resid_post": torch.stack(x)})
    fin = [rms(v, W["model.norm.weight"], eps) for v in x]
    U = W["model.embed_tokens.weight"] if tied else W["lm_head.weight"]
    logits = torch.stack([U @ v for v in fin])
    return logits, taps


def maxdiff(a, b):
    return float((a.to(torch.float64) - b.to(torch.float64)).abs().max())


def check_naive(name):
    """Naive float64 vs reference float64. rope64: reference with float64 rotary angles (same math
    as the naive one: a structural check, expect ~1e-13); rope32: reference with HF's float32
    rotary tables (the remaining gap is only the f32 cos/sin rounding)."""
    folder = os.path.join(MODELS, name)
    ids = rand_ids(21, 12)
    got = naive_forward(folder, ids)
    if got is None:
        return None
    nl, nt = got
    res = {}
    for tag, rdt in (("rope64", torch.float64), ("rope32", torch.float32)):
        ref = Model(folder, dtype=torch.float64, rope_dtype=rdt).forward(torch.tensor([ids]))
        assert set(nt) == set(ref["taps"])
        res[tag] = max(maxdiff(ref["logits"][0], nl), max(maxdiff(ref["taps"][k][0], v) for k, v in nt.items()))
    return res


def check_padding(name):
    """Left- and right-padded batches (pad ids nonzero and varied) vs each row run alone, over real
    positions: logits, every tap, every logit-lens row. Float64 (exact masking logic, expect ~1e-14)
    and float32 (absolute; and relative = |diff| / max|tensor|, BLAS blocking differs by batch shape)."""
    rows = [rand_ids(31, 3), rand_ids(32, 7), rand_ids(33, 12), rand_ids(34, 1)]
    with open(os.path.join(MODELS, name, "config.json")) as f:
        rs = json.load(f).get("rope_scaling") or {}
    if rs.get("rope_type", rs.get("type")) == "longrope":
        # longrope picks its table by the batch's longest position (HF): rows alone agree with the
        # batch only when every row is past original_max_position_embeddings (8) as well
        rows = [rand_ids(31, 9), rand_ids(32, 10), rand_ids(33, 12), rand_ids(34, 14)]
    S = max(len(r) for r in rows)
    res = {}
    for dt in (torch.float64, torch.float32):
        m = Model(os.path.join(MODELS, name), dtype=dt)
        alone = [m.forward(torch.tensor([r])) for r in rows]
        worst_abs, worst_rel, worst_lp = 0.0, 0.0, 0.0
        for side in ("left", "right"):
            ids, mask = [], []
            for i, r in enumerate(rows):
                pad = [7 + i] * (S - len(r))
                ids.append(pad + r if side == "left" else r + pad)
                mask.append([0] * len(pad) + [1] * len(r) if side == "left" else [1] * len(r) + [0] * len(pad))
            out = m.forward(torch.tensor(ids), torch.tensor(mask))
            for i, r in enumerate(rows):
                sl = slice(S - len(r), S) if side == "left" else slice(0, len(r))
                pairs = [(out["logits"][i, sl], alone[i]["logits"][0])]
                pairs += [(v[i, sl], alone[i]["taps"][k][0]) for k, v in out["taps"].items()]
                pairs += [(out["lens_logprobs"][l][i, sl], alone[i]["lens_logprobs"][l][0]) for l in range(m.spec.n_layers)]
                for a, b in pairs:
                    d = maxdiff(a, b)
                    worst_abs = max(worst_abs, d)
                    worst_rel = max(worst_rel, d / float(b.abs().max()))
                lp_a = torch.log_softmax(out["logits"][i, sl], -1)
                lp_b = torch.log_softmax(alone[i]["logits"][0], -1)
                worst_lp = max(worst_lp, maxdiff(lp_a, lp_b))
        res["f64" if dt == torch.float64 else "f32"] = (worst_abs, worst_rel, worst_lp)
    return res


def check_precision(name):
    folder = os.path.join(MODELS, name)
    ids = torch.tensor([rand_ids(13, 20)])
    a = torch.log_softmax(Model(folder).forward(ids)["logits"], -1)
    b = torch.log_softmax(Model(folder, dtype=torch.float64).forward(ids)["logits"], -1)
    return maxdiff(a, b)


def main():
    torch.set_grad_enabled(False)
    check_only = "--check-only" in sys.argv
    ok = True
    print("checks: naive = naive f64 vs reference f64 (rope64 | HF f32 rope), max |diff| over logits + all taps")
    print("        pad   = padded batch rows (left+right) vs rows alone over real positions: f64 abs | f32 abs,"
          " f32 rel, f32 logprobs abs")
    print("        prec  = reference f32 vs f64, logprobs, len-20 input")
    print("        margin = smallest top-1 minus top-2 gap behind an exact-match golden (lens_top1 at real"
          " positions, greedy steps); must be > 1e-4")
    for name in NAMES:
        doc, path, margin = golden_for(name, write=not check_only)
        size = os.path.getsize(path) if os.path.exists(path) else 0
        nv = check_naive(name)
        pad = check_padding(name)
        prec = check_precision(name)
        naive = "n/a    | n/a    " if nv is None else f"{nv['rope64']:.1e} | {nv['rope32']:.1e}"
        nv = nv or {"rope64": 0.0, "rope32": 0.0}
        good = (nv["rope64"] < 1e-9 and nv["rope32"] < 1e-4 and pad["f64"][0] < 1e-10 and
                pad["f32"][1] <= 1e-5 and prec < 1e-4 and margin > 1e-4)
        ok &= good
        print(f"{name:14s} golden {size / 1024:4.0f} KiB | naive {naive}"
              f" | pad {pad['f64'][0]:.1e} | {pad['f32'][0]:.1e}, {pad['f32'][1]:.1e}, {pad['f32'][2]:.1e}"
              f" | prec {prec:.1e} | margin {margin:.1e} | greedy {doc['greedy']['new_ids']} {'ok' if good else 'FAIL'}")
    if not ok:
        sys.exit("self-checks failed")


if __name__ == "__main__":
    main()
