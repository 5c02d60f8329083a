#!/usr/bin/python3
"""Write tiny random Hugging Face checkpoints into test/fixtures/models/ (deterministic).

Each folder is a standard HF checkpoint: config.json, model.safetensors (or shards +
model.safetensors.index.json), tokenizer.json (one small byte-level BPE shared by all), and for
llama3-scaled a generation_config.json. Also writes hf-cache/models--mechedit--tiny-llama/, a copy
of llama-gqa in the Hugging Face cache layout (blobs/<sha256>, refs/main, snapshots/<rev>/ with
relative symlinks).

Weights: fixed seeds per model; matrices ~N(0, 0.2^2), embeddings ~N(0, 0.3^2), norm weights
1 + N(0, 0.15^2), biases ~N(0, 0.1^2). Master weights are float32 and rounded to the stored dtype
(F16/BF16) when written; the reference reads back what was stored.

Self-checks run at the end (non-zero exit on failure):
  * every safetensors file written reads back bit-exactly (raw bytes and decoded values, the BF16
    decoder checked against torch's own bf16 -> f32 conversion);
  * the tokenizer: a Python BPE encoder over the written tokenizer.json round-trips the training
    sentences, and, when node and node_modules/@huggingface/tokenizers exist, the JS tokenizer
    gives the same ids on a set of strings.

Usage: python3 tools/make_tiny_checkpoints.py      (from the repository root or anywhere)
"""

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True   # no tools/__pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference import decode_tensor, encode_tensor, read_safetensors_raw, write_safetensors  # noqa: E402  (re-execs under /usr/bin/python3 if torch is missing)

import torch  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = os.path.join(ROOT, "test", "fixtures", "models")
TRANSFORMERS_VERSION = "4.46.3"   # recorded in configs, as save_pretrained does; informational

# ----------------------------------------------------------------------------------------------
# Tokenizer: byte-level BPE like GPT-2's
# ----------------------------------------------------------------------------------------------

CORPUS = [
    "The quick brown fox jumps over the lazy dog.",
    "The Eiffel Tower is located in the city of Paris.",
    "The capital of France is Paris, and the capital of Italy is Rome.",
    "Language models store facts in the weights of their layers.",
    "In 1969, the first people walked on the Moon.",
    "She said that it's the best thing they've ever seen!",
    "The theory of relativity was developed by Albert Einstein.",
    "There is a house on the hill where the old painter lives.",
    "The river flows through the center of the town, then into the sea.",
    "Is the answer to the question in the other book?",
]
N_MERGES = 60
EOT = "<|endoftext|>"

# GPT-2's pre-tokenisation regex, restricted to ASCII classes (\p{L} -> [A-Za-z], \p{N} -> [0-9]);
# identical to the real one on the ASCII corpus above.
PRETOK = re.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?[A-Za-z]+| ?[0-9]+| ?[^\sA-Za-z0-9]+|\s+(?!\S)|\s+""")


def bytes_to_unicode():
    """GPT-2's reversible byte -> printable unicode char map; returns (bs order list, dict)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return bs, {b: chr(c) for b, c in zip(bs, cs)}


def train_bpe():
    """Returns (vocab {token: id}, merges [(a, b)]). Ids 0..255: the byte symbols in GPT-2's order
    (byte b has GPT-2's id for it, e.g. ' ' -> 'Ġ' = 220); then one id per merge; then <|endoftext|>."""
    bs, b2u = bytes_to_unicode()
    vocab = {b2u[b]: i for i, b in enumerate(bs)}
    words = {}
    for line in CORPUS:
        for w in PRETOK.findall(line):
            sym = tuple(b2u[b] for b in w.encode("utf-8"))
            words[sym] = words.get(sym, 0) + 1
    merges = []
    for _ in range(N_MERGES):
        counts = {}
        for w, c in words.items():
            for a, b in zip(w, w[1:]):
                counts[(a, b)] = counts.get((a, b), 0) + c
        if not counts:
            break
        # most frequent pair; ties -> lexicographically smallest (deterministic)
        best = min(counts, key=lambda p: (-counts[p], p))
        new_tok = best[0] + best[1]
        assert new_tok not in vocab, new_tok
        vocab[new_tok] = len(vocab)
        merges.append(best)
        nw = {}
        for w, c in words.items():
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and (w[i], w[i + 1]) == best:
                    out.append(new_tok)
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            nw[tuple(out)] = nw.get(tuple(out), 0) + c
        words = nw
    vocab[EOT] = len(vocab)
    return vocab, merges


def tokenizer_json(vocab, merges):
    bl = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [{"id": vocab[EOT], "content": EOT, "single_word": False, "lstrip": False,
                          "rstrip": False, "normalized": True, "special": True}],
        "normalizer": None,
        "pre_tokenizer": bl,
        "post_processor": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                  "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False,
                  "vocab": vocab, "merges": [f"{a} {b}" for a, b in merges]},  # GPT-2 style "a b" strings
    }


def py_bpe_encode(tok, text):
    """Minimal independent encoder for the written tokenizer.json (ASCII text, no special tokens)."""
    _, b2u = bytes_to_unicode()
    vocab = tok["model"]["vocab"]
    ranks = {tuple(m.split(" ")): i for i, m in enumerate(tok["model"]["merges"])}
    ids = []
    for w in PRETOK.findall(text):
        sym = [b2u[b] for b in w.encode("utf-8")]
        while len(sym) > 1:
            pairs = [(ranks.get((a, b), 1 << 30), i) for i, (a, b) in enumerate(zip(sym, sym[1:]))]
            r, i = min(pairs)
            if r == 1 << 30:
                break
            sym = sym[:i] + [sym[i] + sym[i + 1]] + sym[i + 2:]
        ids += [vocab[s] for s in sym]
    return ids


def py_bpe_decode(tok, ids):
    bs, b2u = bytes_to_unicode()
    u2b = {u: b for b, u in b2u.items()}
    inv = {i: t for t, i in tok["model"]["vocab"].items()}
    return bytes(u2b[c] for i in ids for c in inv[i]).decode("utf-8")


# ----------------------------------------------------------------------------------------------
# Weights
# ----------------------------------------------------------------------------------------------

class Rand:
    def __init__(self, seed):
        self.g = torch.Generator().manual_seed(seed)

    def mat(self, *shape, std=0.2):
        return torch.randn(*shape, generator=self.g) * std

    def emb(self, *shape):
        return self.mat(*shape, std=0.3)

    def norm(self, n):
        return 1.0 + self.mat(n, std=0.15)

    def bias(self, n):
        return self.mat(n, std=0.1)


def gpt2_weights(c, seed, prefix=""):
    r, d, f = Rand(seed), c["n_embd"], c["n_inner"] or 4 * c["n_embd"]
    W = {f"{prefix}wte.weight": r.emb(c["vocab_size"], d), f"{prefix}wpe.weight": r.emb(c["n_positions"], d)}
    for i in range(c["n_layer"]):
        h = f"{prefix}h.{i}."
        W.update({
            h + "ln_1.weight": r.norm(d), h + "ln_1.bias": r.bias(d),
            h + "attn.c_attn.weight": r.mat(d, 3 * d), h + "attn.c_attn.bias": r.bias(3 * d),   # Conv1D [in, out]
            h + "attn.c_proj.weight": r.mat(d, d), h + "attn.c_proj.bias": r.bias(d),
            h + "ln_2.weight": r.norm(d), h + "ln_2.bias": r.bias(d),
            h + "mlp.c_fc.weight": r.mat(d, f), h + "mlp.c_fc.bias": r.bias(f),
            h + "mlp.c_proj.weight": r.mat(f, d, std=0.1), h + "mlp.c_proj.bias": r.bias(d),
        })
    W[f"{prefix}ln_f.weight"], W[f"{prefix}ln_f.bias"] = r.norm(d), r.bias(d)
    return W   # lm_head tied to wte: not stored (as GPT2LMHeadModel.save_pretrained does)


def gptj_weights(c, seed):
    r, d, f = Rand(seed), c["n_embd"], c["n_inner"] or 4 * c["n_embd"]
    W = {"transformer.wte.weight": r.emb(c["vocab_size"], d)}
    for i in range(c["n_layer"]):
        h = f"transformer.h.{i}."
        W.update({
            h + "ln_1.weight": r.norm(d), h + "ln_1.bias": r.bias(d),
            h + "attn.q_proj.weight": r.mat(d, d), h + "attn.k_proj.weight": r.mat(d, d),      # [out, in], no bias
            h + "attn.v_proj.weight": r.mat(d, d), h + "attn.out_proj.weight": r.mat(d, d),
            h + "mlp.fc_in.weight": r.mat(f, d), h + "mlp.fc_in.bias": r.bias(f),
            h + "mlp.fc_out.weight": r.mat(d, f, std=0.1), h + "mlp.fc_out.bias": r.bias(d),
        })
    W["transformer.ln_f.weight"], W["transformer.ln_f.bias"] = r.norm(d), r.bias(d)
    W["lm_head.weight"], W["lm_head.bias"] = r.mat(c["vocab_size"], d), r.bias(c["vocab_size"])
    return W


def llama_like_weights(c, seed, qkv_bias=False):
    r, d, f = Rand(seed), c["hidden_size"], c["intermediate_size"]
    H, Hkv = c["num_attention_heads"], c["num_key_value_heads"]
    hd = c.get("head_dim") or d // H
    W = {"model.embed_tokens.weight": r.emb(c["vocab_size"], d)}
    for i in range(c["num_hidden_layers"]):
        h = f"model.layers.{i}."
        W.update({
            h + "input_layernorm.weight": r.norm(d),
            h + "self_attn.q_proj.weight": r.mat(H * hd, d),
            h + "self_attn.k_proj.weight": r.mat(Hkv * hd, d),
            h + "self_attn.v_proj.weight": r.mat(Hkv * hd, d),
            h + "self_attn.o_proj.weight": r.mat(d, H * hd),
            h + "post_attention_layernorm.weight": r.norm(d),
            h + "mlp.gate_proj.weight": r.mat(f, d),
            h + "mlp.up_proj.weight": r.mat(f, d),
            h + "mlp.down_proj.weight": r.mat(d, f),
        })
        if qkv_bias:
            W[h + "self_attn.q_proj.bias"] = r.bias(H * hd)
            W[h + "self_attn.k_proj.bias"] = r.bias(Hkv * hd)
            W[h + "self_attn.v_proj.bias"] = r.bias(Hkv * hd)
    W["model.norm.weight"] = r.norm(d)
    if not c["tie_word_embeddings"]:
        W["lm_head.weight"] = r.mat(c["vocab_size"], d)
    return W


def modern_weights(c, seed):
    """qwen3, gemma2, gemma3_text, smollm3, olmo2, phi3: the llama layout with each one's extra
    norms (gemma's (1 + w) norms are stored as small w, as Gemma initialises them to zero), phi3's
    fused qkv_proj / gate_up_proj."""
    mt = c["model_type"]
    r, d, f = Rand(seed), c["hidden_size"], c["intermediate_size"]
    H, Hkv = c["num_attention_heads"], c["num_key_value_heads"]
    hd = c.get("head_dim") or d // H
    gemma = mt.startswith("gemma")
    nrm = (lambda n: r.mat(n, std=0.15)) if gemma else r.norm
    W = {"model.embed_tokens.weight": r.emb(c["vocab_size"], d)}
    for i in range(c["num_hidden_layers"]):
        h = f"model.layers.{i}."
        a, m = h + "self_attn.", h + "mlp."
        if mt == "phi3":
            W[a + "qkv_proj.weight"] = r.mat((H + 2 * Hkv) * hd, d)
            W[m + "gate_up_proj.weight"] = r.mat(2 * f, d)
        else:
            W.update({a + "q_proj.weight": r.mat(H * hd, d), a + "k_proj.weight": r.mat(Hkv * hd, d),
                      a + "v_proj.weight": r.mat(Hkv * hd, d),
                      m + "gate_proj.weight": r.mat(f, d), m + "up_proj.weight": r.mat(f, d)})
        W[a + "o_proj.weight"] = r.mat(d, H * hd)
        W[m + "down_proj.weight"] = r.mat(d, f)
        if mt in ("qwen3", "gemma3_text"):
            W[a + "q_norm.weight"], W[a + "k_norm.weight"] = nrm(hd), nrm(hd)
        if mt == "olmo2":
            W[a + "q_norm.weight"], W[a + "k_norm.weight"] = nrm(H * hd), nrm(Hkv * hd)
        if mt != "olmo2":
            W[h + "input_layernorm.weight"] = nrm(d)
        W[h + "post_attention_layernorm.weight"] = nrm(d)
        if gemma:
            W[h + "pre_feedforward_layernorm.weight"] = nrm(d)
        if gemma or mt == "olmo2":
            W[h + "post_feedforward_layernorm.weight"] = nrm(d)
    W["model.norm.weight"] = nrm(d)
    if not c["tie_word_embeddings"]:
        W["lm_head.weight"] = r.mat(c["vocab_size"], d)
    return W


# ----------------------------------------------------------------------------------------------
# Configs
# ----------------------------------------------------------------------------------------------

def modern_configs(eot):
    """Issue 34's architectures: odd sizes, GQA, and sliding windows (6 or 7) shorter than the
    golden prompts (9, 11 and 20 tokens)."""
    V = 320
    base = {"attention_bias": False, "attention_dropout": 0.0, "bos_token_id": eot, "eos_token_id": eot,
            "initializer_range": 0.02, "transformers_version": TRANSFORMERS_VERSION, "use_cache": True,
            "vocab_size": V}
    return {
        # head_dim 12 with 4 heads (48 != hidden 36); sliding on layers >= max_window_layers
        "qwen3-tiny": ("F32", dict(base, **{
            "architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3", "hidden_act": "silu",
            "hidden_size": 36, "intermediate_size": 56, "num_hidden_layers": 3, "num_attention_heads": 4,
            "num_key_value_heads": 2, "head_dim": 12, "max_position_embeddings": 128, "rms_norm_eps": 1e-06,
            "rope_scaling": None, "rope_theta": 1000000.0, "use_sliding_window": True, "sliding_window": 6,
            "max_window_layers": 1, "tie_word_embeddings": True, "torch_dtype": "float32"})),
        # sliding on layers 0 and 2 (HF's default alternation); both soft-caps, small enough that
        # tanh bends the values (logits here reach about 5), the final one above ln(vocab) so that a
        # confident prediction stays expressible (at 5, no logit could win more than ~30 %)
        "gemma2-tiny": ("F32", dict(base, **{
            "architectures": ["Gemma2ForCausalLM"], "model_type": "gemma2", "hidden_activation": "gelu_pytorch_tanh",
            "hidden_act": "gelu_pytorch_tanh", "hidden_size": 40, "intermediate_size": 60,
            "num_hidden_layers": 3, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 12,
            "query_pre_attn_scalar": 20, "attn_logit_softcapping": 3.0, "final_logit_softcapping": 10.0,
            "max_position_embeddings": 128, "rms_norm_eps": 1e-06, "rope_theta": 10000.0,
            "sliding_window": 6, "tie_word_embeddings": True, "torch_dtype": "float32"})),
        # sliding_window_pattern 3: layers 0, 1, 3 local (rope_local_base_freq), layer 2 global
        # (rope_theta with linear scaling); q/k norms; stored BF16 like the released weights
        "gemma3-tiny": ("BF16", dict(base, **{
            "architectures": ["Gemma3ForCausalLM"], "model_type": "gemma3_text", "hidden_activation": "gelu_pytorch_tanh",
            "hidden_size": 48, "intermediate_size": 64, "num_hidden_layers": 4, "num_attention_heads": 3,
            "num_key_value_heads": 1, "head_dim": 20, "query_pre_attn_scalar": 24,
            "attn_logit_softcapping": None, "final_logit_softcapping": None, "max_position_embeddings": 128,
            "rms_norm_eps": 1e-06, "rope_theta": 1000000.0, "rope_local_base_freq": 10000.0,
            "rope_scaling": {"factor": 8.0, "rope_type": "linear"}, "sliding_window": 6,
            "sliding_window_pattern": 3, "tie_word_embeddings": True, "torch_dtype": "bfloat16"})),
        # no RoPE on layer 3 (no_rope_layers: 1 = uses RoPE)
        "smollm3-tiny": ("F32", dict(base, **{
            "architectures": ["SmolLM3ForCausalLM"], "model_type": "smollm3", "hidden_act": "silu",
            "hidden_size": 36, "intermediate_size": 50, "num_hidden_layers": 4, "num_attention_heads": 6,
            "num_key_value_heads": 2, "max_position_embeddings": 128, "rms_norm_eps": 1e-06,
            "rope_scaling": None, "rope_theta": 5000000.0, "no_rope_layers": [1, 1, 1, 0],
            "use_sliding_window": False, "sliding_window": None, "tie_word_embeddings": True,
            "torch_dtype": "float32"})),
        # post-norms inside the residual, q/k norms over the whole projections (40 and 20 wide)
        "olmo2-tiny": ("F32", dict(base, **{
            "architectures": ["Olmo2ForCausalLM"], "model_type": "olmo2", "hidden_act": "silu",
            "hidden_size": 40, "intermediate_size": 44, "num_hidden_layers": 3, "num_attention_heads": 4,
            "num_key_value_heads": 2, "max_position_embeddings": 128, "rms_norm_eps": 1e-06,
            "rope_scaling": None, "rope_theta": 500000.0, "tie_word_embeddings": False,
            "torch_dtype": "float32"})),
        # fused projections, 6 of 10 head dims rotate, longrope (long factors past 8 positions),
        # sliding window 7 on every layer
        "phi3-tiny": ("F32", dict(base, **{
            "architectures": ["Phi3ForCausalLM"], "model_type": "phi3", "hidden_act": "silu",
            "hidden_size": 40, "intermediate_size": 52, "num_hidden_layers": 3, "num_attention_heads": 4,
            "num_key_value_heads": 2, "partial_rotary_factor": 0.6, "max_position_embeddings": 64,
            "original_max_position_embeddings": 8, "rms_norm_eps": 1e-05, "rope_theta": 10000.0,
            "rope_scaling": {"type": "longrope", "short_factor": [1.0, 1.25, 2.0], "long_factor": [1.5, 3.0, 6.0]},
            "sliding_window": 7, "resid_pdrop": 0.0, "embd_pdrop": 0.0, "tie_word_embeddings": False,
            "torch_dtype": "float32"})),
    }


def configs(n_tok, eot):
    """n_tok: tokenizer size (317). vocab_size is n_tok for gpt2-tiny, 320 (> tokenizer) elsewhere."""
    V = 320
    common_llama = {"hidden_act": "silu", "initializer_range": 0.02, "pretraining_tp": 1, "use_cache": True,
                    "attention_bias": False, "attention_dropout": 0.0, "mlp_bias": False,
                    "bos_token_id": eot, "eos_token_id": eot, "transformers_version": TRANSFORMERS_VERSION}
    return {
        "gpt2-tiny": ("F32", {
            "activation_function": "gelu_new", "architectures": ["GPT2LMHeadModel"], "attn_pdrop": 0.1,
            "bos_token_id": eot, "embd_pdrop": 0.1, "eos_token_id": eot, "initializer_range": 0.02,
            "layer_norm_epsilon": 1e-05, "model_type": "gpt2", "n_ctx": 64, "n_embd": 48, "n_head": 3,
            "n_inner": None, "n_layer": 3, "n_positions": 64, "reorder_and_upcast_attn": False,
            "resid_pdrop": 0.1, "scale_attn_by_inverse_layer_idx": False, "scale_attn_weights": True,
            "summary_activation": None, "summary_first_dropout": 0.1, "summary_proj_to_labels": True,
            "summary_type": "cls_index", "summary_use_proj": True, "tie_word_embeddings": True,
            "torch_dtype": "float32", "transformers_version": TRANSFORMERS_VERSION, "use_cache": True,
            "vocab_size": n_tok}),
        "gptj-tiny": ("F32", {
            "activation_function": "gelu_new", "architectures": ["GPTJForCausalLM"], "attn_pdrop": 0.0,
            "bos_token_id": eot, "embd_pdrop": 0.0, "eos_token_id": eot, "initializer_range": 0.02,
            "layer_norm_epsilon": 1e-05, "model_type": "gptj", "n_embd": 48, "n_head": 3, "n_inner": None,
            "n_layer": 2, "n_positions": 64, "resid_pdrop": 0.0, "rotary_dim": 8,
            "tie_word_embeddings": False, "torch_dtype": "float32",
            "transformers_version": TRANSFORMERS_VERSION, "use_cache": True, "vocab_size": V}),
        "llama-gqa": ("F32", dict(common_llama, **{
            "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 40,
            "intermediate_size": 72, "num_hidden_layers": 3, "num_attention_heads": 4,
            "num_key_value_heads": 2, "head_dim": 16, "max_position_embeddings": 64, "rms_norm_eps": 1e-06,
            "rope_scaling": None, "rope_theta": 10000.0, "tie_word_embeddings": False,
            "torch_dtype": "float32", "vocab_size": V})),
        "llama3-scaled": ("BF16", dict(common_llama, **{
            "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 64,
            "intermediate_size": 96, "num_hidden_layers": 2, "num_attention_heads": 4,
            "num_key_value_heads": 2, "max_position_embeddings": 128, "rms_norm_eps": 1e-05,
            "rope_scaling": {"factor": 8.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                             "original_max_position_embeddings": 16, "rope_type": "llama3"},
            "rope_theta": 500000.0, "tie_word_embeddings": True, "torch_dtype": "bfloat16",
            "vocab_size": V})),
        "mistral-tiny": ("F32", {
            "architectures": ["MistralForCausalLM"], "attention_dropout": 0.0, "bos_token_id": eot,
            "eos_token_id": eot, "hidden_act": "silu", "hidden_size": 32, "initializer_range": 0.02,
            "intermediate_size": 64, "max_position_embeddings": 256, "model_type": "mistral",
            "num_attention_heads": 4, "num_hidden_layers": 2, "num_key_value_heads": 1,
            "rms_norm_eps": 1e-03, "rope_theta": 1000000.0, "sliding_window": None,
            "tie_word_embeddings": False, "torch_dtype": "float32",
            "transformers_version": TRANSFORMERS_VERSION, "use_cache": True, "vocab_size": V}),
        **modern_configs(eot),
        "qwen2-tiny": ("F16", {
            "architectures": ["Qwen2ForCausalLM"], "attention_dropout": 0.0, "bos_token_id": eot,
            "eos_token_id": eot, "hidden_act": "silu", "hidden_size": 32, "initializer_range": 0.02,
            "intermediate_size": 48, "max_position_embeddings": 128, "max_window_layers": 1,
            "model_type": "qwen2", "num_attention_heads": 4, "num_hidden_layers": 2,
            "num_key_value_heads": 2, "rms_norm_eps": 1e-06, "rope_scaling": None, "rope_theta": 1000000.0,
            # sliding_window is set but use_sliding_window is false: HF ignores it (as in Qwen2.5 configs)
            "sliding_window": 4, "use_sliding_window": False, "tie_word_embeddings": True,
            "torch_dtype": "float16", "transformers_version": TRANSFORMERS_VERSION, "use_cache": True,
            "vocab_size": V}),
    }


SEEDS = {"gpt2-tiny": 1001, "gptj-tiny": 1002, "llama-gqa": 1003, "llama3-scaled": 1004,
         "mistral-tiny": 1005, "qwen2-tiny": 1006, "qwen3-tiny": 1007, "gemma2-tiny": 1008,
         "gemma3-tiny": 1009, "gemma3mm-tiny": 1013, "smollm3-tiny": 1010, "olmo2-tiny": 1011, "phi3-tiny": 1012}


def make_weights(name, cfg):
    mt = cfg["model_type"]
    if mt == "gpt2":
        return gpt2_weights(cfg, SEEDS[name], prefix="")   # no `transformer.` prefix, like openai-community/gpt2
    if mt == "gptj":
        return gptj_weights(cfg, SEEDS[name])
    if mt in ("qwen3", "gemma2", "gemma3_text", "smollm3", "olmo2", "phi3"):
        return modern_weights(cfg, SEEDS[name])
    return llama_like_weights(cfg, SEEDS[name], qkv_bias=(mt == "qwen2"))


# ----------------------------------------------------------------------------------------------
# Writing + checks
# ----------------------------------------------------------------------------------------------

WRITTEN = []   # (path, {name: (dtype, master fp32 tensor)}) for the read-back check


def write_st(path, weights, dtype):
    tensors = {n: (dtype, list(t.shape), encode_tensor(t, dtype)) for n, t in weights.items()}
    write_safetensors(path, tensors, metadata={"format": "pt"})
    WRITTEN.append((path, {n: (dtype, t) for n, t in weights.items()}, tensors))
    return sum(len(v[2]) for v in tensors.values())


def write_json(path, obj, indent=2, sort_keys=False):
    with open(path, "w") as f:
        json.dump(obj, f, indent=indent, ensure_ascii=False, sort_keys=sort_keys)
        f.write("\n")


def check_readback():
    """Every file: header parses, offsets are contiguous and cover the data, raw bytes equal what was
    encoded, decoded values equal torch's own conversion of the master weights to the stored dtype."""
    worst = 0
    n = 0
    for path, master, encoded in WRITTEN:
        raw, meta = read_safetensors_raw(path)
        assert meta == {"format": "pt"}, meta
        assert set(raw) == set(master), path
        with open(path, "rb") as f:
            buf = f.read()
        hlen = int.from_bytes(buf[:8], "little")
        assert hlen % 8 == 0
        ends = sorted(json.loads(buf[8:8 + hlen])[k]["data_offsets"] for k in raw)
        pos = 0
        for b, e in ends:
            assert b == pos, (path, b, pos)
            pos = e
        assert 8 + hlen + pos == len(buf), path
        for name, (dtype, shape, data) in raw.items():
            assert data == encoded[name][2], (path, name)
            got = decode_tensor(dtype, shape, data, torch.float32)
            tdt = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}[dtype]
            want = master[name][1].to(tdt).to(torch.float32)       # torch's own rounding + upcast
            assert torch.equal(got.view(torch.int32), want.view(torch.int32)), (path, name)
            worst = max(worst, float((got - master[name][1]).abs().max()))
            n += 1
    return n, worst


def check_tokenizer(tok):
    inv = {i: t for t, i in tok["model"]["vocab"].items()}
    for line in CORPUS:
        ids = py_bpe_encode(tok, line)
        assert py_bpe_decode(tok, ids) == line
    samples = CORPUS + ["Hello world", "  two  spaces\tand a tab\n", "Paris is the capital of France.",
                        "it's 2024; they'll see", "The the THE theory"]
    py = [py_bpe_encode(tok, s) for s in samples]
    report = {"python_roundtrip": "ok", "corpus_tokens": sum(len(py_bpe_encode(tok, s)) for s in CORPUS),
              "corpus_bytes": sum(len(s.encode()) for s in CORPUS)}
    node_mod = os.path.join(ROOT, "node_modules", "@huggingface", "tokenizers")
    if shutil.which("node") and os.path.isdir(node_mod):
        js = r"""
import { Tokenizer } from '@huggingface/tokenizers';
import fs from 'node:fs';
const [tokPath, samplesPath] = process.argv.slice(1);
const t = new Tokenizer(JSON.parse(fs.readFileSync(tokPath, 'utf8')), {});
const samples = JSON.parse(fs.readFileSync(samplesPath, 'utf8'));
const out = samples.map(s => { const ids = t.encode(s, { add_special_tokens: false }).ids; return { ids, back: t.decode(ids) }; });
out.push({ ids: t.encode('a<|endoftext|>b', { add_special_tokens: false }).ids, back: '' });
console.log(JSON.stringify(out));
"""
        tmp = os.path.join(MODELS, ".tok_samples.json")
        write_json(tmp, samples)
        try:
            res = subprocess.run(["node", "--input-type=module", "-e", js, os.path.join(MODELS, "gpt2-tiny", "tokenizer.json"), tmp],
                                 cwd=ROOT, capture_output=True, text=True, timeout=60)
        finally:
            os.remove(tmp)
        if res.returncode != 0:
            raise SystemExit("node tokenizer check failed:\n" + res.stderr)
        out = json.loads(res.stdout)
        for s, p, o in zip(samples, py, out):
            assert o["ids"] == p, (s, o["ids"], p)
            assert o["back"] == s, (s, o["back"])
        eot = tok["model"]["vocab"][EOT]
        special = out[-1]["ids"]
        assert special == [tok["model"]["vocab"]["a"], eot, tok["model"]["vocab"]["b"]], special
        report["js_@huggingface/tokenizers"] = f"{len(samples)} strings: same ids as the Python encoder, decode round-trips; special token ok"
    else:
        report["js_@huggingface/tokenizers"] = "skipped (node or node_modules missing)"
    report["example"] = {"text": "The capital of France is Paris.",
                         "tokens": [inv[i] for i in py_bpe_encode(tok, "The capital of France is Paris.")]}
    return report


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def make_hf_cache(src):
    """Copy of `src` in the HF hub cache layout, with relative symlinks snapshots/<rev>/x -> ../../blobs/<sha256>."""
    base = os.path.join(MODELS, "hf-cache", "models--mechedit--tiny-llama")
    if os.path.exists(base):
        shutil.rmtree(base)
    files = ["config.json", "model.safetensors", "tokenizer.json"]
    shas = {f: sha256(os.path.join(src, f)) for f in files}
    rev = hashlib.sha1("".join(shas[f] for f in files).encode()).hexdigest()   # 40 hex, deterministic
    os.makedirs(os.path.join(base, "blobs"))
    os.makedirs(os.path.join(base, "refs"))
    snap = os.path.join(base, "snapshots", rev)
    os.makedirs(snap)
    for f in files:
        shutil.copyfile(os.path.join(src, f), os.path.join(base, "blobs", shas[f]))
        os.symlink(os.path.join("..", "..", "blobs", shas[f]), os.path.join(snap, f))
    with open(os.path.join(base, "refs", "main"), "w") as fh:
        fh.write(rev)                      # no trailing newline, as huggingface_hub writes it
    for f in files:                         # resolve through the links
        assert sha256(os.path.join(snap, f)) == shas[f]
    return rev


def folder_size(path):
    total = 0
    for dp, _, fns in os.walk(path):
        for fn in fns:
            p = os.path.join(dp, fn)
            if not os.path.islink(p):
                total += os.path.getsize(p)
    return total


def write_multimodal_gemma3(W, text_cfg, dtype, tok):
    """gemma3mm-tiny: gemma3-tiny's weights as the language model of a multimodal Gemma 3
    checkpoint (model_type gemma3, text_config, weights under model.language_model., as
    transformers >= 4.52 saves Gemma3ForConditionalGeneration), with two small stand-in vision
    weights that a text-only reader must leave alone. Its logits equal gemma3-tiny's."""
    d = os.path.join(MODELS, "gemma3mm-tiny")
    if os.path.exists(d):
        shutil.rmtree(d)
    os.makedirs(d)
    r = Rand(SEEDS["gemma3mm-tiny"])
    weights = {"model.language_model." + k[len("model."):]: v for k, v in W.items()}
    weights["model.vision_tower.vision_model.embeddings.patch_embedding.weight"] = r.mat(8, 3, 2, 2)
    weights["model.multi_modal_projector.mm_input_projection_weight"] = r.mat(8, text_cfg["hidden_size"])
    # The text_config is sparse, as Hugging Face writes a nested config: keys equal to
    # Gemma3TextConfig's defaults are left out (the reader must fill them in).
    defaults = {"rms_norm_eps": 1e-06, "rope_theta": 1000000.0, "rope_local_base_freq": 10000.0,
                "hidden_activation": "gelu_pytorch_tanh", "final_logit_softcapping": None,
                "attn_logit_softcapping": None, "tie_word_embeddings": True}
    sparse = {k: v for k, v in text_cfg.items() if k != "architectures" and not (k in defaults and defaults[k] == v)}
    cfg = {"architectures": ["Gemma3ForConditionalGeneration"], "model_type": "gemma3",
           "text_config": sparse, "vision_config": {"model_type": "siglip_vision_model", "hidden_size": 8},
           "mm_tokens_per_image": 4, "torch_dtype": "bfloat16", "transformers_version": TRANSFORMERS_VERSION}
    write_json(os.path.join(d, "config.json"), cfg, sort_keys=True)
    write_json(os.path.join(d, "tokenizer.json"), tok, indent=None)
    write_st(os.path.join(d, "model.safetensors"), weights, dtype)


def main():
    torch.set_grad_enabled(False)
    vocab, merges = train_bpe()
    tok = tokenizer_json(vocab, merges)
    n_tok, eot = len(vocab), vocab[EOT]
    cfgs = configs(n_tok, eot)
    os.makedirs(MODELS, exist_ok=True)
    for name, (dtype, cfg) in cfgs.items():
        d = os.path.join(MODELS, name)
        if os.path.exists(d):
            shutil.rmtree(d)
        os.makedirs(d)
        write_json(os.path.join(d, "config.json"), cfg, sort_keys=True)   # sorted, as save_pretrained writes it
        write_json(os.path.join(d, "tokenizer.json"), tok, indent=None)
        W = make_weights(name, cfg)
        if name == "mistral-tiny":
            # two shards: embeddings + layer 0 | layer 1 + final norm + lm_head
            s1 = {k: v for k, v in W.items() if k.startswith("model.embed_tokens") or k.startswith("model.layers.0.")}
            s2 = {k: v for k, v in W.items() if k not in s1}
            f1, f2 = "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"
            total = write_st(os.path.join(d, f1), s1, dtype) + write_st(os.path.join(d, f2), s2, dtype)
            wm = {k: f1 for k in s1}
            wm.update({k: f2 for k in s2})
            write_json(os.path.join(d, "model.safetensors.index.json"),
                       {"metadata": {"total_size": total}, "weight_map": dict(sorted(wm.items()))})
        else:
            write_st(os.path.join(d, "model.safetensors"), W, dtype)
        if name == "gemma3-tiny":
            write_multimodal_gemma3(W, cfg, dtype, tok)
        if name == "llama3-scaled":
            write_json(os.path.join(d, "generation_config.json"), {
                "_from_model_config": False, "bos_token_id": eot, "do_sample": True, "eos_token_id": [eot],
                "temperature": 0.6, "top_p": 0.9, "transformers_version": TRANSFORMERS_VERSION}, sort_keys=True)
    rev = make_hf_cache(os.path.join(MODELS, "llama-gqa"))

    n, worst = check_readback()
    print(f"safetensors read-back: {n} tensors in {len(WRITTEN)} files bit-exact "
          f"(max |stored - fp32 master| = {worst:.3g}, from F16/BF16 rounding)")
    print("tokenizer:", json.dumps(check_tokenizer(tok)))
    print(f"tokenizer: {n_tok} tokens (256 bytes + {len(merges)} merges + {EOT} = id {eot})")
    print(f"hf-cache revision: {rev}")
    for name in list(cfgs) + ["gemma3mm-tiny", "hf-cache"]:
        print(f"  {name:14s} {folder_size(os.path.join(MODELS, name)) / 1024:7.1f} KiB")


if __name__ == "__main__":
    main()
