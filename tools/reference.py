#!/usr/bin/python3
"""Independent PyTorch reference for Hugging Face causal LMs (gpt2, gptj, llama, mistral, qwen2,
qwen3, gemma2, gemma3_text / gemma3, phi3, olmo2, smollm3).

Written from scratch (no `transformers`, no `safetensors` package) to follow the semantics of
Hugging Face transformers' modeling code, so that MechEdit's TypeScript/ONNX runtime can be
compared against it in golden tests.

  * Compute is float32 by default (float64 on request for self-checks). F16/BF16 weights are
    upcast to the compute dtype when loaded.
  * Loads a checkpoint folder: config.json + model.safetensors, or the shards listed in
    model.safetensors.index.json ("weight_map").
  * Batches with left or right padding: `mask` [batch, seq] (1 = real token) and, unless given,
    position ids = clamp(cumsum(mask) - 1, min=0), as HF builds them for generation.
  * Returns logits [batch, seq, vocab] and per-layer hidden states ("taps"):
        blocks.{l}.resid_pre   input of block l                                   [b, s, d_model]
        blocks.{l}.attn_out    attention output after its output projection (+bias),
                               before the residual add                            [b, s, d_model]
        blocks.{l}.mlp.key     input of the MLP output projection                  [b, s, d_mlp]
                               gpt2: gelu_new(c_fc(x)); gptj: gelu_new(fc_in(x));
                               llama-likes: act(gate_proj(x)) * up_proj(x) (phi3: the two
                               halves of gate_up_proj)
        blocks.{l}.attn_out    (for gemma2/3 and olmo2: before the post-attention norm)
        blocks.{l}.mlp_out     MLP output after its output projection (+bias)      [b, s, d_model]
                               (for gemma2/3 and olmo2: before the post-feed-forward norm)
        blocks.{l}.resid_post  output of block l                                  [b, s, d_model]
    and the logit lens of each resid_post: log_softmax(unembed(final_norm(resid_post))).

Library use:
    from reference import Model
    m = Model("test/fixtures/models/llama-gqa")
    out = m.forward(torch.tensor([[1, 2, 3]]))          # dict: logits, taps, lens_logprobs, positions
CLI (quick look):
    python3 tools/reference.py test/fixtures/models/gpt2-tiny --ids 5,17,300,2
"""

import json
import math
import os
import struct
import sys

try:
    import numpy as np
    import torch
except ImportError:  # pyenv's python3 may shadow Debian's, which has python3-torch
    if os.path.exists("/usr/bin/python3") and os.path.realpath(sys.executable) != os.path.realpath("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    raise

import torch.nn.functional as F


# ----------------------------------------------------------------------------------------------
# safetensors, by hand
# ----------------------------------------------------------------------------------------------
# File = u64 little-endian header length N | N bytes of JSON header | raw data.
# Header: {name: {"dtype": "F32"|"F16"|"BF16"|..., "shape": [...], "data_offsets": [begin, end]},
#          "__metadata__": {str: str}}; offsets are relative to the first byte after the header.

_ST_ITEMSIZE = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}


def read_safetensors_raw(path):
    """Returns ({name: (dtype, shape, raw bytes)}, metadata dict). Validates offsets."""
    with open(path, "rb") as f:
        buf = f.read()
    (n,) = struct.unpack("<Q", buf[:8])
    header = json.loads(buf[8:8 + n].decode("utf-8"))
    data = memoryview(buf)[8 + n:]
    meta = header.pop("__metadata__", {}) or {}
    out = {}
    for name, info in header.items():
        dtype, shape = info["dtype"], list(info["shape"])
        b, e = info["data_offsets"]
        count = 1
        for s in shape:
            count *= s
        if e - b != count * _ST_ITEMSIZE[dtype] or e > len(data):
            raise ValueError(f"{path}: bad data_offsets for {name}")
        out[name] = (dtype, shape, bytes(data[b:e]))
    return out, meta


def decode_tensor(dtype, shape, raw, to=torch.float32):
    """Raw little-endian bytes -> torch tensor in `to` (F16/BF16 upcast exactly)."""
    if dtype == "F32":
        arr = np.frombuffer(raw, dtype="<f4").astype(np.float32)
    elif dtype == "F16":
        arr = np.frombuffer(raw, dtype="<f2").astype(np.float32)  # exact
    elif dtype == "BF16":
        # bf16 is the top half of an f32: shift the 16 bits up and reinterpret (exact).
        arr = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
    elif dtype == "F64":
        arr = np.frombuffer(raw, dtype="<f8").astype(np.float64)
    elif dtype in ("I64", "I32", "I16", "I8", "U8", "BOOL"):
        np_dt = {"I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1", "U8": "u1", "BOOL": "u1"}[dtype]
        return torch.from_numpy(np.frombuffer(raw, dtype=np_dt).copy().reshape(shape))
    else:
        raise ValueError(f"unsupported dtype {dtype}")
    return torch.from_numpy(arr.copy().reshape(shape)).to(to)


def encode_tensor(t, dtype):
    """torch tensor -> (raw little-endian bytes) in safetensors dtype F32/F16/BF16 (round to nearest even)."""
    t = t.detach().contiguous().cpu()
    if dtype == "F32":
        return t.to(torch.float32).numpy().astype("<f4").tobytes()
    if dtype == "F16":
        return t.to(torch.float16).numpy().astype("<f2").tobytes()
    if dtype == "BF16":
        return t.to(torch.bfloat16).view(torch.int16).numpy().astype("<i2").tobytes()
    if dtype == "F64":
        return t.to(torch.float64).numpy().astype("<f8").tobytes()
    raise ValueError(f"unsupported dtype {dtype}")


def write_safetensors(path, tensors, metadata=None):
    """tensors: {name: (dtype, shape, raw bytes)} (written in sorted name order).
    Header JSON is padded with spaces to a multiple of 8 bytes, as the safetensors library does."""
    header = {}
    if metadata is not None:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    offset = 0
    names = sorted(tensors)
    for name in names:
        dtype, shape, raw = tensors[name]
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
    hjson = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hjson += b" " * ((8 - len(hjson) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        for name in names:
            f.write(tensors[name][2])


def load_checkpoint_tensors(folder, to=torch.float32):
    """{name: tensor in `to`} from model.safetensors or the shards in model.safetensors.index.json.
    Also returns {name: stored dtype}."""
    index = os.path.join(folder, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index) as f:
            weight_map = json.load(f)["weight_map"]
        files = sorted(set(weight_map.values()))
    else:
        files, weight_map = ["model.safetensors"], None
    out, dtypes = {}, {}
    for fn in files:
        raw, _ = read_safetensors_raw(os.path.join(folder, fn))
        for name, (dtype, shape, data) in raw.items():
            if weight_map is not None and weight_map.get(name) != fn:
                raise ValueError(f"{name} found in {fn} but weight_map says {weight_map.get(name)}")
            out[name] = decode_tensor(dtype, shape, data, to)
            dtypes[name] = dtype
    if weight_map is not None:
        missing = set(weight_map) - set(out)
        if missing:
            raise ValueError(f"tensors listed in the index but absent: {sorted(missing)[:5]}")
    return out, dtypes


# ----------------------------------------------------------------------------------------------
# Config normalisation
# ----------------------------------------------------------------------------------------------

def gelu_new(x):
    # HF "gelu_new" (= "gelu_pytorch_tanh" up to rounding): tanh approximation of GELU.
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


def _act(name):
    if name == "gelu_pytorch_tanh":
        return lambda x: F.gelu(x, approximate="tanh")
    if name in ("gelu_new", "gelu_fast"):
        return gelu_new
    if name in ("silu", "swish"):
        return F.silu
    if name == "gelu":
        return F.gelu  # exact erf GELU
    if name == "relu":
        return F.relu
    raise ValueError(f"unsupported activation {name}")


def llama3_inv_freq(inv_freq, rs):
    """HF _compute_llama3_parameters, tensor ops in the same order (dtype of inv_freq)."""
    factor = rs["factor"]
    low_freq_factor = rs["low_freq_factor"]
    high_freq_factor = rs["high_freq_factor"]
    old_context_len = rs["original_max_position_embeddings"]
    low_freq_wavelen = old_context_len / low_freq_factor
    high_freq_wavelen = old_context_len / high_freq_factor
    wavelen = 2 * math.pi / inv_freq
    # wavelen < high_freq_wavelen: keep; wavelen > low_freq_wavelen: divide by factor
    inv_freq_llama = torch.where(wavelen > low_freq_wavelen, inv_freq / factor, inv_freq)
    # in between: interpolate with a smooth factor
    smooth_factor = (old_context_len / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor)
    smoothed_inv_freq = (1 - smooth_factor) * inv_freq_llama / factor + smooth_factor * inv_freq_llama
    is_medium_freq = ~(wavelen < high_freq_wavelen) * ~(wavelen > low_freq_wavelen)
    return torch.where(is_medium_freq, smoothed_inv_freq, inv_freq_llama)


def rope_inv_freq(base, dim, rope_scaling=None, dtype=torch.float32):
    """Inverse frequencies [dim/2] as HF computes them (default / linear / llama3). HF does this in
    float32 whatever the model dtype; dtype=float64 is only for the reference's self-checks."""
    inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).to(dtype) / dim))
    rs = rope_scaling or {}
    rtype = rs.get("rope_type", rs.get("type", "default"))
    if rtype == "default":
        return inv_freq
    if rtype == "linear":
        return inv_freq / rs["factor"]
    if rtype == "llama3":
        return llama3_inv_freq(inv_freq, rs)
    raise ValueError(f"unsupported rope_type {rtype}")


def longrope(cfg, base, dim, dtype=torch.float32):
    """Phi-3's longrope (HF _compute_longrope_parameters): two tables, 1 / (ext * base^(2i/d)) with
    the short or long factors, the long one used when max(position_ids) + 1 exceeds the original
    context; cos and sin are both multiplied by the attention factor."""
    rs = cfg["rope_scaling"]
    maxpos = cfg.get("max_position_embeddings", 2048)
    if cfg.get("original_max_position_embeddings") is not None:
        orig = cfg["original_max_position_embeddings"]
        factor = maxpos / orig
    else:
        orig = rs.get("original_max_position_embeddings", maxpos)
        factor = rs.get("factor", 1.0)
    att = rs.get("attention_factor")
    if att is None:
        att = 1.0 if factor <= 1.0 else math.sqrt(1 + math.log(factor) / math.log(orig))
    shape = torch.arange(0, dim, 2, dtype=torch.int64).to(dtype) / dim   # float32 as HF; float64 for self-checks
    short = 1.0 / (torch.tensor(rs["short_factor"], dtype=dtype) * base ** shape)
    long = 1.0 / (torch.tensor(rs["long_factor"], dtype=dtype) * base ** shape)
    return {"inv_freq": short, "long_inv_freq": long, "original": orig, "attention_factor": att}


def legacy_rope_fields(cfg):
    """transformers 5 configs keep RoPE in `rope_parameters` (one dict, or one per layer type as
    Gemma 3 has); spelled here as rope_theta / rope_scaling / partial_rotary_factor /
    rope_local_base_freq, as older configs write them."""
    p = cfg.get("rope_parameters")
    if not isinstance(p, dict):
        return cfg
    full = p.get("full_attention", p) if isinstance(p.get("full_attention"), dict) else p
    out = dict(cfg)
    for k in ("rope_theta", "partial_rotary_factor"):
        if k in full:
            out[k] = full[k]
    out["rope_scaling"] = None if full.get("rope_type", full.get("type", "default")) == "default" else full
    local = p.get("sliding_attention") if isinstance(p.get("sliding_attention"), dict) else None
    if local and "rope_theta" in local:
        out["rope_local_base_freq"] = local["rope_theta"]
    return out


GEMMA3_DEFAULTS = {"vocab_size": 262208, "hidden_size": 2304, "intermediate_size": 9216, "num_hidden_layers": 26,
                   "num_attention_heads": 8, "num_key_value_heads": 4, "head_dim": 256,
                   "hidden_activation": "gelu_pytorch_tanh", "max_position_embeddings": 131072, "rms_norm_eps": 1e-6,
                   "tie_word_embeddings": True, "rope_theta": 1000000.0, "rope_local_base_freq": 10000.0,
                   "query_pre_attn_scalar": 256, "sliding_window": 4096, "final_logit_softcapping": None,
                   "attn_logit_softcapping": None, "rope_scaling": None}


MODERN = ("qwen3", "gemma2", "gemma3_text", "gemma3", "phi3", "olmo2", "smollm3")


def window_of(cfg, mt):
    """sliding_window; absent from a Gemma config, the config classes' default 4096."""
    if mt.startswith("gemma") and "sliding_window" not in cfg:
        return 4096
    return cfg.get("sliding_window")


def layer_kinds(cfg, mt, n_layers):
    """Per layer: True where attention slides (HF's layer_types and their defaults per model)."""
    if window_of(cfg, mt) is None:
        return [False] * n_layers
    lt = cfg.get("layer_types")
    if lt is not None:
        return [t == "sliding_attention" for t in lt]
    if mt in ("mistral", "phi3"):
        return [True] * n_layers
    if mt in ("qwen2", "qwen3"):
        if not cfg.get("use_sliding_window", False):
            return [False] * n_layers
        return [l >= cfg.get("max_window_layers", 0) for l in range(n_layers)]
    if mt == "gemma2":
        return [bool((l + 1) % 2) for l in range(n_layers)]
    if mt in ("gemma3_text", "gemma3"):
        pattern = cfg.get("sliding_window_pattern", cfg.get("_sliding_window_pattern", 6))
        return [bool((l + 1) % pattern) for l in range(n_layers)]
    return [False] * n_layers


class Spec:
    """Architecture facts read from config.json, in one vocabulary for all families."""

    def __init__(self, cfg, rope_dtype=torch.float32):
        self.cfg = cfg
        mt = cfg["model_type"]
        self.model_type = mt
        if mt == "gpt2":
            self.family = "gpt2"
            self.d_model = cfg["n_embd"]
            self.n_layers = cfg["n_layer"]
            self.n_heads = cfg["n_head"]
            self.n_kv_heads = self.n_heads
            self.head_dim = self.d_model // self.n_heads
            self.d_mlp = cfg.get("n_inner") or 4 * self.d_model
            self.eps = cfg.get("layer_norm_epsilon", 1e-5)
            self.act = cfg.get("activation_function", "gelu_new")
            self.n_positions = cfg.get("n_positions", 1024)
            self.tied = cfg.get("tie_word_embeddings", True)
            self.scale_attn_weights = cfg.get("scale_attn_weights", True)
            self.scale_by_inv_layer = cfg.get("scale_attn_by_inverse_layer_idx", False)
            self.rope = None
        elif mt == "gptj":
            self.family = "gptj"
            self.d_model = cfg["n_embd"]
            self.n_layers = cfg["n_layer"]
            self.n_heads = cfg["n_head"]
            self.n_kv_heads = self.n_heads
            self.head_dim = self.d_model // self.n_heads
            self.d_mlp = cfg.get("n_inner") or 4 * self.d_model
            self.eps = cfg.get("layer_norm_epsilon", 1e-5)
            self.act = cfg.get("activation_function", "gelu_new")
            self.n_positions = cfg.get("n_positions", 2048)
            self.tied = cfg.get("tie_word_embeddings", False)
            rot = cfg.get("rotary_dim") or self.head_dim
            # GPT-J: fixed base 10000, interleaved pairs (rotate_every_two) on the first rotary_dim dims
            self.rope = {"style": "interleaved", "dim": rot, "inv_freq": rope_inv_freq(10000, rot, None, rope_dtype)}
        elif mt in MODERN:
            self._modern(cfg, mt, rope_dtype)
        elif mt in ("llama", "mistral", "qwen2"):
            self.family = "llama"
            self.d_model = cfg["hidden_size"]
            self.n_layers = cfg["num_hidden_layers"]
            self.n_heads = cfg["num_attention_heads"]
            self.n_kv_heads = cfg.get("num_key_value_heads") or self.n_heads
            self.head_dim = cfg.get("head_dim") or self.d_model // self.n_heads
            self.d_mlp = cfg["intermediate_size"]
            self.eps = cfg.get("rms_norm_eps", 1e-6)
            self.act = cfg.get("hidden_act", "silu")
            self.tied = cfg.get("tie_word_embeddings", False)
            base = cfg.get("rope_theta", 10000.0)
            partial = cfg.get("partial_rotary_factor", 1.0)
            rot = int(self.head_dim * partial)
            # llama-likes: half-split pairs (rotate_half) over the whole head_dim
            self.rope = {"style": "half", "dim": rot, "inv_freq": rope_inv_freq(base, rot, cfg.get("rope_scaling"), rope_dtype)}
            self.qkv_bias = True if mt == "qwen2" else bool(cfg.get("attention_bias", False))
            self.o_bias = False if mt == "qwen2" else bool(cfg.get("attention_bias", False))
            self.mlp_bias = bool(cfg.get("mlp_bias", False)) if mt == "llama" else False
            # Sliding window: mistral uses it when set; qwen2 only with use_sliding_window and
            # only on layers >= max_window_layers.
            sw = cfg.get("sliding_window")
            if mt == "qwen2":
                if not cfg.get("use_sliding_window", False):
                    sw = None                      # Qwen2Config: sliding_window = None unless use_sliding_window
                lt = cfg.get("layer_types")        # newer configs spell it out per layer
                if lt is None:
                    lt = ["sliding_attention" if l >= cfg.get("max_window_layers", 0) else "full_attention"
                          for l in range(self.n_layers)]
                self.sliding = [sw if (sw is not None and lt[l] == "sliding_attention") else None
                                for l in range(self.n_layers)]
            elif mt == "mistral":
                self.sliding = [sw] * self.n_layers
            else:
                self.sliding = [None] * self.n_layers
            self._plain_llama()
        else:
            raise ValueError(f"unsupported model_type {mt}")
        self.vocab_size = cfg["vocab_size"]

    def _plain_llama(self):
        self.norm_offset = 0.0
        self.embed_scale = False
        self.qk_norm = None
        self.layout = "pre"
        self.fused = False
        self.attn_scale = 1.0 / math.sqrt(self.head_dim)
        self.attn_softcap = self.final_softcap = None
        self.ropes = [self.rope] * self.n_layers

    def _modern(self, cfg, mt, rope_dtype):
        """The architectures of issue 34, all in the llama family with these switches:
        norm_offset  RMSNorm x * rsqrt(mean x^2 + eps) * (offset + w): gemma 1 (x̂(1 + w)), else 0
        embed_scale  embeddings * sqrt(hidden_size) as a float32 tensor (gemma)
        qk_norm      'head': RMSNorm of q and k per head over head_dim before RoPE (qwen3, gemma3);
                     'proj': over the whole q / k projection before the head split (olmo2)
        layout       'pre' (llama); 'sandwich' (gemma: input norm, post-attention norm, pre- and
                     post-feed-forward norms); 'post' (olmo2: norms only after attention and MLP)
        fused        qkv_proj and gate_up_proj (phi3)
        ropes        per layer: a rotary dict or None (smollm3's no_rope_layers 0; gemma3's local
                     layers use rope_local_base_freq without rope_scaling)"""
        self.family = "llama"
        c = cfg
        self.d_model = c["hidden_size"]
        self.n_layers = c["num_hidden_layers"]
        self.n_heads = c["num_attention_heads"]
        self.n_kv_heads = c.get("num_key_value_heads") or self.n_heads
        self.head_dim = c.get("head_dim") or self.d_model // self.n_heads
        self.d_mlp = c["intermediate_size"]
        self.eps = c.get("rms_norm_eps", 1e-6)
        gemma = mt.startswith("gemma")
        self.act = (c.get("hidden_activation") or c.get("hidden_act", "gelu_pytorch_tanh")) if gemma else c.get("hidden_act", "silu")
        self.tied = c.get("tie_word_embeddings", gemma or mt == "smollm3")
        self.qkv_bias = self.o_bias = self.mlp_bias = False
        self.norm_offset = 1.0 if gemma else 0.0
        self.embed_scale = gemma
        self.qk_norm = {"qwen3": "head", "gemma3_text": "head", "gemma3": "head", "olmo2": "proj"}.get(mt)
        self.layout = "sandwich" if gemma else "post" if mt == "olmo2" else "pre"
        self.fused = mt == "phi3"
        # absent keys take the config classes' defaults (Gemma2Config / Gemma3TextConfig); null = no cap
        self.attn_scale = c.get("query_pre_attn_scalar", 256) ** -0.5 if gemma else 1.0 / math.sqrt(self.head_dim)
        caps = (50.0, 30.0) if mt == "gemma2" else (None, None)
        self.attn_softcap = c.get("attn_logit_softcapping", caps[0]) if gemma else None
        self.final_softcap = c.get("final_logit_softcapping", caps[1]) if gemma else None
        kinds = layer_kinds(c, mt, self.n_layers)
        sw = window_of(c, mt)
        self.sliding = [sw if k else None for k in kinds]
        base = c.get("rope_theta", 10000.0)
        rot = int(self.head_dim * c.get("partial_rotary_factor", 1.0))
        rs = c.get("rope_scaling")
        if rs and rs.get("rope_type", rs.get("type")) == "longrope":
            glob = dict(longrope(c, base, rot, rope_dtype), style="half", dim=rot)
        else:
            glob = {"style": "half", "dim": rot, "inv_freq": rope_inv_freq(base, rot, rs, rope_dtype)}
        self.rope = glob
        self.ropes = [glob] * self.n_layers
        if mt in ("gemma3_text", "gemma3"):
            local = {"style": "half", "dim": rot, "inv_freq": rope_inv_freq(c.get("rope_local_base_freq", 10000.0), rot, None, rope_dtype)}
            self.ropes = [local if k else glob for k in kinds]
        if mt == "smollm3":
            interval = c.get("no_rope_layer_interval", 4)
            use = c.get("no_rope_layers") or [int((l + 1) % interval != 0) for l in range(self.n_layers)]
            self.ropes = [glob if u else None for u in use]


# ----------------------------------------------------------------------------------------------
# The model
# ----------------------------------------------------------------------------------------------

def layer_norm(x, w, b, eps):
    # nn.LayerNorm: biased variance over the last dim
    return F.layer_norm(x, (x.shape[-1],), w, b, eps)


def rms_norm(x, w, eps):
    # LlamaRMSNorm: x * rsqrt(mean(x^2) + eps) * w
    var = x.pow(2).mean(-1, keepdim=True)
    return w * (x * torch.rsqrt(var + eps))


def linear(x, w, b=None):
    # nn.Linear: weight [out, in]
    y = torch.matmul(x, w.t())
    return y + b if b is not None else y


def conv1d(x, w, b):
    # GPT-2 Conv1D: weight stored [in, out]
    return torch.matmul(x, w) + b


def rotate_half(x):
    # [..., d] -> cat(-x[d/2:], x[:d/2])
    d = x.shape[-1] // 2
    return torch.cat((-x[..., d:], x[..., :d]), dim=-1)


def rotate_every_two(x):
    # [..., d] -> (-x1, x0, -x3, x2, ...)
    x1 = x[..., ::2]
    x2 = x[..., 1::2]
    return torch.stack((-x2, x1), dim=-1).flatten(-2)


class Model:
    def __init__(self, folder, dtype=torch.float32, rope_dtype=torch.float32):
        """dtype: compute dtype (float32; float64 for self-checks). rope_dtype: dtype of the rotary
        inverse frequencies and angles; float32 is what HF does (keep it for parity)."""
        self.folder = folder
        with open(os.path.join(folder, "config.json")) as f:
            self.cfg = json.load(f)
        cfg = self.cfg
        if cfg["model_type"] == "gemma3":  # multimodal: the language model's settings
            cfg = dict(cfg["text_config"], model_type="gemma3")
        if cfg["model_type"] in ("gemma3", "gemma3_text"):
            cfg = dict(GEMMA3_DEFAULTS, **cfg)   # Gemma3TextConfig's defaults under what config.json gives
        cfg = legacy_rope_fields(cfg)
        self.spec = Spec(cfg, rope_dtype)
        self.dtype = dtype
        raw, self.stored_dtypes = load_checkpoint_tensors(folder, to=dtype)
        self._raw = raw
        self._bind(raw)
        del self._raw

    # -- weights -> per-layer dicts -------------------------------------------------------------
    def _bind(self, raw):
        s = self.spec
        W = {}

        def get(name, required=True):
            if name in raw:
                return raw[name]
            if required:
                raise KeyError(f"missing weight {name}")
            return None

        L = []
        if s.family == "gpt2":
            # `transformer.` prefix is optional (openai-community/gpt2 has none; save_pretrained adds it)
            p = "transformer." if "transformer.wte.weight" in raw else ""
            W["wte"] = get(p + "wte.weight")                 # [vocab, d]
            W["wpe"] = get(p + "wpe.weight")                 # [n_positions, d]
            W["lnf_w"], W["lnf_b"] = get(p + "ln_f.weight"), get(p + "ln_f.bias")
            for i in range(s.n_layers):
                h = f"{p}h.{i}."
                L.append({
                    "ln1_w": get(h + "ln_1.weight"), "ln1_b": get(h + "ln_1.bias"),
                    "c_attn_w": get(h + "attn.c_attn.weight"),   # [d, 3d]  (Conv1D: [in, out])
                    "c_attn_b": get(h + "attn.c_attn.bias"),     # [3d]
                    "c_proj_w": get(h + "attn.c_proj.weight"),   # [d, d]
                    "c_proj_b": get(h + "attn.c_proj.bias"),
                    "ln2_w": get(h + "ln_2.weight"), "ln2_b": get(h + "ln_2.bias"),
                    "fc_w": get(h + "mlp.c_fc.weight"),          # [d, d_mlp]
                    "fc_b": get(h + "mlp.c_fc.bias"),
                    "proj_w": get(h + "mlp.c_proj.weight"),      # [d_mlp, d]
                    "proj_b": get(h + "mlp.c_proj.bias"),
                })
            lm = get("lm_head.weight", required=False)
            W["unembed_w"] = W["wte"] if (s.tied or lm is None) else lm   # [vocab, d]
            W["unembed_b"] = None
        elif s.family == "gptj":
            W["wte"] = get("transformer.wte.weight")
            W["lnf_w"], W["lnf_b"] = get("transformer.ln_f.weight"), get("transformer.ln_f.bias")
            for i in range(s.n_layers):
                h = f"transformer.h.{i}."
                L.append({
                    "ln1_w": get(h + "ln_1.weight"), "ln1_b": get(h + "ln_1.bias"),
                    "q_w": get(h + "attn.q_proj.weight"),         # [d, d]  ([out, in])
                    "k_w": get(h + "attn.k_proj.weight"),
                    "v_w": get(h + "attn.v_proj.weight"),
                    "o_w": get(h + "attn.out_proj.weight"),
                    "fc_in_w": get(h + "mlp.fc_in.weight"),       # [d_mlp, d]
                    "fc_in_b": get(h + "mlp.fc_in.bias"),
                    "fc_out_w": get(h + "mlp.fc_out.weight"),     # [d, d_mlp]
                    "fc_out_b": get(h + "mlp.fc_out.bias"),
                })
            if s.tied:
                W["unembed_w"], W["unembed_b"] = W["wte"], None
            else:
                W["unembed_w"] = get("lm_head.weight")            # [vocab, d]
                W["unembed_b"] = get("lm_head.bias", required=False)
        elif s.model_type in MODERN:
            self._bind_modern(get, W, L)
        else:
            W["wte"] = get("model.embed_tokens.weight")           # [vocab, d]
            W["norm_w"] = get("model.norm.weight")
            for i in range(s.n_layers):
                h = f"model.layers.{i}."
                a = h + "self_attn."
                m = h + "mlp."
                L.append({
                    "ln1_w": get(h + "input_layernorm.weight"),
                    "ln2_w": get(h + "post_attention_layernorm.weight"),
                    "q_w": get(a + "q_proj.weight"),               # [H*hd, d]
                    "k_w": get(a + "k_proj.weight"),               # [Hkv*hd, d]
                    "v_w": get(a + "v_proj.weight"),               # [Hkv*hd, d]
                    "o_w": get(a + "o_proj.weight"),               # [d, H*hd]
                    "q_b": get(a + "q_proj.bias") if s.qkv_bias else None,
                    "k_b": get(a + "k_proj.bias") if s.qkv_bias else None,
                    "v_b": get(a + "v_proj.bias") if s.qkv_bias else None,
                    "o_b": get(a + "o_proj.bias") if s.o_bias else None,
                    "gate_w": get(m + "gate_proj.weight"),         # [d_mlp, d]
                    "up_w": get(m + "up_proj.weight"),             # [d_mlp, d]
                    "down_w": get(m + "down_proj.weight"),         # [d, d_mlp]
                    "gate_b": get(m + "gate_proj.bias") if s.mlp_bias else None,
                    "up_b": get(m + "up_proj.bias") if s.mlp_bias else None,
                    "down_b": get(m + "down_proj.bias") if s.mlp_bias else None,
                })
            if s.tied:
                W["unembed_w"] = W["wte"]
            else:
                W["unembed_w"] = get("lm_head.weight")
            W["unembed_b"] = None
        self.W, self.layers = W, L

    def _bind_modern(self, get, W, L):
        s = self.spec
        p = "model.language_model." if "model.language_model.embed_tokens.weight" in self._raw else \
            "language_model.model." if "language_model.model.embed_tokens.weight" in self._raw else "model."
        W["wte"] = get(p + "embed_tokens.weight")
        W["norm_w"] = get(p + "norm.weight")
        opt = lambda n: get(n, required=False)
        for i in range(s.n_layers):
            h = f"{p}layers.{i}."
            a, m = h + "self_attn.", h + "mlp."
            P = {k: None for k in ("q_b", "k_b", "v_b", "o_b", "gate_b", "up_b", "down_b")}
            if s.fused:
                qkv = get(a + "qkv_proj.weight")                  # [(H + 2 Hkv) hd, d]: q | k | v
                qd, kd = s.n_heads * s.head_dim, s.n_kv_heads * s.head_dim
                P["q_w"], P["k_w"], P["v_w"] = qkv[:qd], qkv[qd:qd + kd], qkv[qd + kd:]
                gu = get(m + "gate_up_proj.weight")                # [2 d_mlp, d]: gate | up
                P["gate_w"], P["up_w"] = gu[:s.d_mlp], gu[s.d_mlp:]
            else:
                for n in ("q", "k", "v"):
                    P[n + "_w"] = get(a + n + "_proj.weight")
                P["gate_w"], P["up_w"] = get(m + "gate_proj.weight"), get(m + "up_proj.weight")
            P["o_w"], P["down_w"] = get(a + "o_proj.weight"), get(m + "down_proj.weight")
            P["q_norm"], P["k_norm"] = opt(a + "q_norm.weight"), opt(a + "k_norm.weight")
            if s.qk_norm and (P["q_norm"] is None or P["k_norm"] is None):
                raise KeyError(f"missing q/k norm in layer {i}")
            names = {"pre": ("input_layernorm", "post_attention_layernorm", None, None),
                     "sandwich": ("input_layernorm", "pre_feedforward_layernorm", "post_attention_layernorm", "post_feedforward_layernorm"),
                     "post": (None, None, "post_attention_layernorm", "post_feedforward_layernorm")}[s.layout]
            for key, n in zip(("ln1_w", "ln2_w", "post_attn_w", "post_mlp_w"), names):
                P[key] = get(h + n + ".weight") if n else None
            L.append(P)
        lm = opt("lm_head.weight") if "lm_head.weight" in self._raw else opt("language_model.lm_head.weight")
        W["unembed_w"] = W["wte"] if (s.tied and lm is None) or lm is None else lm
        W["unembed_b"] = None

    # -- pieces ---------------------------------------------------------------------------------
    def _norm(self, x, w):
        """RMSNorm; with norm_offset, Gemma's x̂ * (offset + w) computed in float32."""
        s = self.spec
        if w is None:
            return x
        if getattr(s, "norm_offset", 0.0):
            xf = x.float() if x.dtype != torch.float64 else x
            out = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + s.eps)
            return (out * (s.norm_offset + w.to(out.dtype))).to(x.dtype)
        return rms_norm(x, w, s.eps)

    def final_norm(self, x):
        s = self.spec
        if s.family == "llama":
            return self._norm(x, self.W["norm_w"])
        return layer_norm(x, self.W["lnf_w"], self.W["lnf_b"], s.eps)

    def unembed(self, x):
        # [b, s, d] -> [b, s, vocab]; Gemma 2 soft-caps the logits: tanh(logits / c) * c
        y = linear(x, self.W["unembed_w"], self.W["unembed_b"])
        cap = getattr(self.spec, "final_softcap", None)
        return y if cap is None else torch.tanh(y / cap) * cap

    def _rope(self, x, positions, r=None):
        """x [b, heads, s, hd]; positions [b, s] (long). Rotates the first rope['dim'] dims."""
        r = r or self.spec.rope
        dim = r["dim"]
        # angles in float32, as HF: inv_freq (f32) * position (f32), one rounding; cos/sin in f32
        inv = r["inv_freq"]
        if "long_inv_freq" in r and int(positions.max()) + 1 > r["original"]:
            inv = r["long_inv_freq"]
        ang = positions.to(inv.dtype)[:, :, None] * inv[None, None, :]                 # [b, s, dim/2]
        cos, sin = ang.cos(), ang.sin()
        if "attention_factor" in r:
            cos, sin = cos * r["attention_factor"], sin * r["attention_factor"]
        cos, sin = cos.to(x.dtype), sin.to(x.dtype)
        x_rot, x_pass = x[..., :dim], x[..., dim:]
        if r["style"] == "half":
            cos = torch.cat((cos, cos), dim=-1)[:, None]        # [b, 1, s, dim]
            sin = torch.cat((sin, sin), dim=-1)[:, None]
            x_rot = x_rot * cos + rotate_half(x_rot) * sin
        else:  # GPT-J interleaved: frequency i drives dims 2i and 2i+1
            cos = torch.repeat_interleave(cos, 2, dim=-1)[:, None]
            sin = torch.repeat_interleave(sin, 2, dim=-1)[:, None]
            x_rot = x_rot * cos + rotate_every_two(x_rot) * sin
        return torch.cat((x_rot, x_pass), dim=-1)

    def _attend(self, q, k, v, bias, scale, softcap=None):
        """q [b, H, s, hd], k/v [b, Hkv, s, hd], bias [b, 1, s, s] additive -> [b, s, H*hd]."""
        b, H, S, hd = q.shape
        rep = H // k.shape[1]
        if rep > 1:  # HF repeat_kv: query head h reads kv head h // rep
            k = k.repeat_interleave(rep, dim=1)
            v = v.repeat_interleave(rep, dim=1)
        scores = torch.matmul(q, k.transpose(-1, -2)) * scale
        if softcap is not None:                                          # Gemma 2: before the mask
            scores = torch.tanh(scores / softcap) * softcap
        scores = scores + bias                                           # [b, H, s, s]
        probs = torch.softmax(scores, dim=-1)
        out = torch.matmul(probs, v)                                     # [b, H, s, hd]
        return out.transpose(1, 2).reshape(b, S, H * hd)

    def _split(self, x, n):
        # [b, s, n*hd] -> [b, n, s, hd]
        b, S, _ = x.shape
        return x.view(b, S, n, self.spec.head_dim).transpose(1, 2)

    # -- forward ----------------------------------------------------------------------------------
    def forward(self, ids, mask=None, positions=None, lens=True, edits=None):
        """ids [b, s] long; mask [b, s] (1 = token, 0 = padding) or None; positions [b, s] or None.
        edits: optional {"{l}:mlp.out" | "{l}:attn.out": (U [r, d_out], V [r, d_in])}, low-rank
        updates of the output projections (MechEdit's edit inputs, ΔW = Uᵀ V): y = W x + b + (x Vᵀ) U.
        Returns {"logits": [b,s,V], "taps": {name: tensor}, "lens_logprobs": [L] of [b,s,V],
                 "positions": [b,s]}."""
        s = self.spec
        ids = torch.as_tensor(ids, dtype=torch.long)
        B, S = ids.shape
        mask = torch.ones(B, S, dtype=torch.long) if mask is None else torch.as_tensor(mask, dtype=torch.long)
        if positions is None:
            positions = (mask.cumsum(-1) - 1).clamp(min=0)                 # [b, s]
        positions = torch.as_tensor(positions, dtype=torch.long)
        dt = self.dtype
        neg = torch.finfo(dt).min
        qi = torch.arange(S)[:, None]
        ki = torch.arange(S)[None, :]
        causal = ki <= qi                                                  # [s, s]

        def attn_bias(window):
            allowed = causal[None] & mask[:, None, :].bool()               # [b, s(q), s(k)]
            if window is not None:
                allowed = allowed & ((qi - ki) < window)[None]             # HF: kv_idx > q_idx - window
            return torch.where(allowed, torch.zeros((), dtype=dt), torch.full((), neg, dtype=dt))[:, None]  # [b,1,s,s]

        W = self.W
        x = W["wte"][ids]                                                  # [b, s, d]
        if getattr(s, "embed_scale", False):                               # Gemma: * sqrt(d) in the dtype
            x = x * torch.tensor(s.d_model ** 0.5, dtype=x.dtype)
        if s.family == "gpt2":
            x = x + W["wpe"][positions]
        taps = {}
        lens_lp = []
        bias_cache = {}
        scale = 1.0 / math.sqrt(s.head_dim)
        edits = edits or {}

        def edit(l, module, x_in, y):
            # y + (x_in Vᵀ) U when the module has an edit (no op otherwise)
            e = edits.get(f"{l}:{module}")
            return y if e is None else y + torch.matmul(torch.matmul(x_in, e[1].t()), e[0])

        for l, P in enumerate(self.layers):
            taps[f"blocks.{l}.resid_pre"] = x
            if s.family == "gpt2":
                bias = bias_cache.setdefault(None, attn_bias(None))
                a = layer_norm(x, P["ln1_w"], P["ln1_b"], s.eps)
                qkv = conv1d(a, P["c_attn_w"], P["c_attn_b"])               # [b, s, 3d]
                q, k, v = qkv.split(s.d_model, dim=-1)
                sc = (scale if s.scale_attn_weights else 1.0)
                if s.scale_by_inv_layer:
                    sc = sc / float(l + 1)
                o = self._attend(self._split(q, s.n_heads), self._split(k, s.n_heads), self._split(v, s.n_heads), bias, sc)
                attn_out = edit(l, "attn.out", o, conv1d(o, P["c_proj_w"], P["c_proj_b"]))   # [b, s, d]
                x = x + attn_out
                m = layer_norm(x, P["ln2_w"], P["ln2_b"], s.eps)
                key = _act(s.act)(conv1d(m, P["fc_w"], P["fc_b"]))          # [b, s, d_mlp]
                mlp_out = edit(l, "mlp.out", key, conv1d(key, P["proj_w"], P["proj_b"]))     # [b, s, d]
                x = x + mlp_out
            elif s.family == "gptj":
                bias = bias_cache.setdefault(None, attn_bias(None))
                h = layer_norm(x, P["ln1_w"], P["ln1_b"], s.eps)            # one LN feeds attn and MLP
                q = self._rope(self._split(linear(h, P["q_w"]), s.n_heads), positions)
                k = self._rope(self._split(linear(h, P["k_w"]), s.n_heads), positions)
                v = self._split(linear(h, P["v_w"]), s.n_heads)
                o = self._attend(q, k, v, bias, scale)
                attn_out = edit(l, "attn.out", o, linear(o, P["o_w"]))
                key = _act(s.act)(linear(h, P["fc_in_w"], P["fc_in_b"]))   # [b, s, d_mlp]
                mlp_out = edit(l, "mlp.out", key, linear(key, P["fc_out_w"], P["fc_out_b"]))
                x = attn_out + mlp_out + x                                  # HF order
            else:
                win = s.sliding[l]
                if win is not None and win >= S:
                    win = None
                bias = bias_cache.setdefault(win, attn_bias(win))
                h = self._norm(x, P.get("ln1_w"))
                q = linear(h, P["q_w"], P["q_b"])
                k = linear(h, P["k_w"], P["k_b"])
                if s.qk_norm == "proj":                                    # OLMo 2: over the projection
                    q, k = self._norm(q, P["q_norm"]), self._norm(k, P["k_norm"])
                q, k = self._split(q, s.n_heads), self._split(k, s.n_kv_heads)
                if s.qk_norm == "head":                                    # Qwen3 / Gemma 3: per head
                    q, k = self._norm(q, P["q_norm"]), self._norm(k, P["k_norm"])
                rope = s.ropes[l]
                if rope is not None:
                    q, k = self._rope(q, positions, rope), self._rope(k, positions, rope)
                v = self._split(linear(h, P["v_w"], P["v_b"]), s.n_kv_heads)
                o = self._attend(q, k, v, bias, s.attn_scale, s.attn_softcap)
                attn_out = edit(l, "attn.out", o, linear(o, P["o_w"], P["o_b"]))
                x = x + self._norm(attn_out, P.get("post_attn_w"))
                h2 = self._norm(x, P.get("ln2_w"))
                key = _act(s.act)(linear(h2, P["gate_w"], P["gate_b"])) * linear(h2, P["up_w"], P["up_b"])
                mlp_out = edit(l, "mlp.out", key, linear(key, P["down_w"], P["down_b"]))
                x = x + self._norm(mlp_out, P.get("post_mlp_w"))
            taps[f"blocks.{l}.attn_out"] = attn_out
            taps[f"blocks.{l}.mlp.key"] = key
            taps[f"blocks.{l}.mlp_out"] = mlp_out
            taps[f"blocks.{l}.resid_post"] = x
            if lens:
                lens_lp.append(torch.log_softmax(self.unembed(self.final_norm(x)), dim=-1))
        logits = self.unembed(self.final_norm(x))                          # [b, s, V]
        return {"logits": logits, "taps": taps, "lens_logprobs": lens_lp, "positions": positions}

    def greedy(self, prompt_ids, n_new):
        """KV-cache-free greedy decoding: re-run the whole sequence each step, argmax of the last
        position's logits over the full vocab_size (ties -> lowest id). No EOS stopping."""
        seq = list(prompt_ids)
        new = []
        for _ in range(n_new):
            logits = self.forward(torch.tensor([seq]), lens=False)["logits"]
            nxt = int(torch.argmax(logits[0, -1]).item())
            seq.append(nxt)
            new.append(nxt)
        return new


def main():
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model_dir")
    ap.add_argument("--ids", required=True, help="comma-separated token ids")
    ap.add_argument("--top", type=int, default=5)
    args = ap.parse_args()
    torch.set_grad_enabled(False)
    m = Model(args.model_dir)
    ids = [int(t) for t in args.ids.split(",")]
    out = m.forward(torch.tensor([ids]))
    lp = torch.log_softmax(out["logits"][0, -1], -1)
    top = torch.topk(lp, args.top)
    print(f"{m.spec.model_type}: layers={m.spec.n_layers} d={m.spec.d_model} vocab={m.spec.vocab_size}")
    print("next-token top:", [(int(i), round(float(v), 5)) for v, i in zip(top.values, top.indices)])
    for name, t in out["taps"].items():
        print(f"  {name:24s} {list(t.shape)} norm={float(t.norm()):.5f}")


if __name__ == "__main__":
    main()
