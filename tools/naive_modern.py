"""Naive float64 forward of issue 34's architectures (qwen3, gemma2, gemma3_text, smollm3, olmo2,
phi3) for tools/golden.py's check 1: one unpadded sequence, loops over positions and heads,
rotary element by element, Python floats for the norms, written from the architectures'
descriptions (docs/models.md) without reference.py's code. Returns (logits [S, V], taps)."""

import math

import torch


def naive_modern(c, W, ids):
    mt = c["model_type"]
    S, d, L = len(ids), c["hidden_size"], c["num_hidden_layers"]
    H, Hkv = c["num_attention_heads"], c["num_key_value_heads"]
    hd = c.get("head_dim") or d // H
    F = c["intermediate_size"]
    eps = c.get("rms_norm_eps", 1e-6)
    gemma = mt.startswith("gemma")
    off = 1.0 if gemma else 0.0

    def rms(v, w):
        ms = sum(x * x for x in v.tolist()) / len(v)
        return v / math.sqrt(ms + eps) * (off + w)

    def act(v):
        if gemma:   # tanh GELU
            return torch.tensor([0.5 * x * (1 + math.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3))) for x in v.tolist()], dtype=torch.float64)
        return torch.tensor([x / (1 + math.exp(-x)) for x in v.tolist()], dtype=torch.float64)

    # which layers slide, and by how much
    sw = c.get("sliding_window")
    if sw is None or (mt in ("qwen3", "smollm3") and not c.get("use_sliding_window")):
        slide = [False] * L
    elif mt == "qwen3":
        slide = [l >= c.get("max_window_layers", 0) for l in range(L)]
    elif mt == "gemma2":
        slide = [l % 2 == 0 for l in range(L)]
    elif mt == "gemma3_text":
        slide = [(l + 1) % c.get("sliding_window_pattern", 6) != 0 for l in range(L)]
    else:
        slide = [True] * L

    # rotary: (inverse frequencies, cos/sin factor) per layer, or None
    rot = int(hd * c.get("partial_rotary_factor", 1.0))

    def freqs(base, scale=1.0, ext=None):
        return [1.0 / ((ext[i] if ext else 1.0) * base ** (2 * i / rot)) / scale for i in range(rot // 2)]
    rs = c.get("rope_scaling") or {}
    base = c.get("rope_theta", 10000.0)
    factor = 1.0
    if rs.get("rope_type", rs.get("type")) == "linear":
        glob = (freqs(base, rs["factor"]), 1.0)
    elif rs.get("rope_type", rs.get("type")) == "longrope":
        orig = c["original_max_position_embeddings"]
        factor = c["max_position_embeddings"] / orig
        af = math.sqrt(1 + math.log(factor) / math.log(orig)) if factor > 1 else 1.0
        glob = (freqs(base, ext=rs["long_factor"] if S > orig else rs["short_factor"]), af)
    else:
        glob = (freqs(base), 1.0)
    ropes = [glob] * L
    if mt == "gemma3_text":
        ropes = [(freqs(c.get("rope_local_base_freq", 10000.0)), 1.0) if slide[l] else glob for l in range(L)]
    if mt == "smollm3":
        ropes = [glob if u else None for u in c["no_rope_layers"]]

    def rotate(v, pos, rope):
        if rope is None:
            return v
        inv, af = rope
        v = v.clone()
        src = v[:rot].clone()
        for i, f in enumerate(inv):
            cs, sn = math.cos(pos * f) * af, math.sin(pos * f) * af
            x0, x1 = float(src[i]), float(src[i + rot // 2])
            v[i], v[i + rot // 2] = x0 * cs - x1 * sn, x1 * cs + x0 * sn
        return v

    scale = c["query_pre_attn_scalar"] ** -0.5 if gemma else 1 / math.sqrt(hd)
    cap = c.get("attn_logit_softcapping") if gemma else None

    def attend(qs, ks, vs, window):
        out = []
        for t in range(S):
            js = [j for j in range(t + 1) if window is None or t - j < window]
            sc = []
            for j in js:
                s = float(qs[t] @ ks[j]) * scale
                sc.append(math.tanh(s / cap) * cap if cap else s)
            mx = max(sc)
            e = [math.exp(x - mx) for x in sc]
            z = sum(e)
            out.append(sum((e[n] / z) * vs[j] for n, j in enumerate(js)))
        return out

    x = [W["model.embed_tokens.weight"][t] * (math.sqrt(d) if gemma else 1.0) for t in ids]
    taps = {}
    for l in range(L):
        h = f"model.layers.{l}."
        a_, m_ = h + "self_attn.", h + "mlp."
        taps[f"blocks.{l}.resid_pre"] = torch.stack(x)
        a = [rms(v, W[h + "input_layernorm.weight"]) for v in x] if mt != "olmo2" else x
        if mt == "phi3":
            qkv = W[a_ + "qkv_proj.weight"]
            Wq, Wk, Wv = qkv[:H * hd], qkv[H * hd:(H + Hkv) * hd], qkv[(H + Hkv) * hd:]
        else:
            Wq, Wk, Wv = W[a_ + "q_proj.weight"], W[a_ + "k_proj.weight"], W[a_ + "v_proj.weight"]
        Q, K, V = [Wq @ v for v in a], [Wk @ v for v in a], [Wv @ v for v in a]
        if mt == "olmo2":
            Q = [rms(v, W[a_ + "q_norm.weight"]) for v in Q]
            K = [rms(v, W[a_ + "k_norm.weight"]) for v in K]
        heads = []
        for hh in range(H):
            g = hh // (H // Hkv)
            q = [Q[t][hh * hd:(hh + 1) * hd] for t in range(S)]
            k = [K[t][g * hd:(g + 1) * hd] for t in range(S)]
            if mt in ("qwen3", "gemma3_text"):
                q = [rms(v, W[a_ + "q_norm.weight"]) for v in q]
                k = [rms(v, W[a_ + "k_norm.weight"]) for v in k]
            q = [rotate(q[t], t, ropes[l]) for t in range(S)]
            k = [rotate(k[t], t, ropes[l]) for t in range(S)]
            heads.append(attend(q, k, [V[t][g * hd:(g + 1) * hd] for t in range(S)], sw if slide[l] else None))
        ao = [W[a_ + "o_proj.weight"] @ torch.cat([heads[hh][t] for hh in range(H)]) for t in range(S)]
        post = h + "post_attention_layernorm.weight"
        x = [xi + (rms(ai, W[post]) if gemma or mt == "olmo2" else ai) for xi, ai in zip(x, ao)]
        pre = h + ("pre_feedforward_layernorm.weight" if gemma else "post_attention_layernorm.weight")
        m2 = [rms(v, W[pre]) for v in x] if mt != "olmo2" else x
        if mt == "phi3":
            gu = W[m_ + "gate_up_proj.weight"]
            key = [act(gu[:F] @ v) * (gu[F:] @ v) for v in m2]
        else:
            key = [act(W[m_ + "gate_proj.weight"] @ v) * (W[m_ + "up_proj.weight"] @ v) for v in m2]
        mo = [W[m_ + "down_proj.weight"] @ v for v in key]
        pf = h + "post_feedforward_layernorm.weight"
        x = [xi + (rms(mi, W[pf]) if gemma or mt == "olmo2" else mi) for xi, mi in zip(x, mo)]
        taps.update({f"blocks.{l}.attn_out": torch.stack(ao), f"blocks.{l}.mlp.key": torch.stack(key),
                     f"blocks.{l}.mlp_out": torch.stack(mo), f"blocks.{l}.resid_post": torch.stack(x)})
    fin = [rms(v, W["model.norm.weight"]) for v in x]
    U = W["lm_head.weight"] if "lm_head.weight" in W else W["model.embed_tokens.weight"]
    logits = torch.stack([U @ v for v in fin])
    fcap = c.get("final_logit_softcapping") if gemma else None
    if fcap:
        logits = torch.tanh(logits / fcap) * fcap
    return logits, taps
