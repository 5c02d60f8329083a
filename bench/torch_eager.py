#!/usr/bin/python3
"""PyTorch-eager side of bench/runtime.mjs: times the forward pass and KV-cache generation of a
checkpoint folder on the CPU, and prints one JSON object on stdout (progress goes to stderr).

The forward is tools/reference.py's Model.forward (the project's independent PyTorch
implementation of Hugging Face's modeling code, fp32, lens=False). Only the loading differs:
reference.py reads the whole file and copies every tensor (about 3x the weight bytes at peak,
too much for a 6 GB checkpoint on a 24 GB machine), so here the safetensors file is
memory-mapped (8-byte LE header length + JSON header + raw data) and the tensors are views of
the mapping, bound with Model._bind. reference.py has no KV cache, so generation uses a small
one written below from the same pieces (gpt2 and llama-family checkpoints).

Usage: python3 bench/torch_eager.py MODEL_DIR --threads N --ids-file F [--warmup W] [--runs N]
       [--gen N] [--logits-out FILE]          one-shot: prints one JSON object
       python3 bench/torch_eager.py MODEL_DIR --threads N --serve
                                              JSON-lines requests on stdin (used by runtime.mjs)
  F is JSON: {"forward": [ids...], "prompt": [ids...]}.
On Debian's python3-torch, GEMMs run on OpenBLAS's own pthreads while the other ops run on
OpenMP threads: set OPENBLAS_NUM_THREADS=N and OMP_WAIT_POLICY=PASSIVE as runtime.mjs does, or
the spinning OpenMP threads and OpenBLAS's threads fight over the cores (up to 10x slower).
"""

import argparse
import json
import math
import os
import statistics
import struct
import sys
import time
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))

# First: tools/reference.py re-executes this script with /usr/bin/python3 (Debian's python3-torch)
# when the python3 on PATH has no torch.
import reference as ref  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

# Views of a read-only mapping: torch warns that the array is not writable; nothing writes to it.
warnings.filterwarnings("ignore", message="The given NumPy array is not writable")

_NP = {"F32": "<f4", "F16": "<f2", "F64": "<f8", "I64": "<i8", "I32": "<i4"}


def log(msg):
    print(f"[torch] {msg}", file=sys.stderr, flush=True)


def proc_mem():
    """MB from /proc/self/status and /proc/self/smaps_rollup."""
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "RssAnon", "RssFile", "RssShmem", "VmHWM"):
                out[k] = int(v.split()[0]) / 1024
    try:
        with open("/proc/self/smaps_rollup") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("Pss", "Pss_Anon", "Pss_File", "Private_Dirty", "Private_Clean"):
                    out[k] = int(v.split()[0]) / 1024
    except OSError:
        pass
    return out


def mmap_checkpoint(folder, dtype=torch.float32):
    """{name: tensor} as views of memory-mapped safetensors files (F16/BF16 are upcast, i.e. copied)."""
    index = os.path.join(folder, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index) as f:
            files = sorted(set(json.load(f)["weight_map"].values()))
    else:
        files = ["model.safetensors"]
    out, dtypes = {}, {}
    for fn in files:
        path = os.path.join(folder, fn)
        mm = np.memmap(path, dtype=np.uint8, mode="r")
        (n,) = struct.unpack("<Q", bytes(mm[:8]))
        header = json.loads(bytes(mm[8:8 + n]).decode("utf-8"))
        header.pop("__metadata__", None)
        base = 8 + n
        for name, info in header.items():
            b, e = info["data_offsets"]
            raw = mm[base + b:base + e]
            dt = info["dtype"]
            if dt == "BF16":
                arr = (np.asarray(raw).view("<u2").astype(np.uint32) << 16).view(np.float32)
            elif dt in _NP:
                arr = raw.view(_NP[dt])
            else:
                raise ValueError(f"unsupported dtype {dt} for {name}")
            t = torch.from_numpy(arr.reshape(info["shape"]))
            out[name] = t if t.dtype == dtype or not t.is_floating_point() else t.to(dtype)
            dtypes[name] = dt
    return out, dtypes


def load_model(folder):
    m = ref.Model.__new__(ref.Model)
    m.folder = folder
    with open(os.path.join(folder, "config.json")) as f:
        m.cfg = json.load(f)
    m.spec = ref.Spec(m.cfg)
    m.dtype = torch.float32
    raw, m.stored_dtypes = mmap_checkpoint(folder)
    m._bind(raw)
    return m


class KVDecoder:
    """Greedy generation with a key/value cache (torch.cat per step, as HF's DynamicCache), built
    from reference.py's pieces; logits of the last position only (as HF's generate)."""

    def __init__(self, m):
        self.m = m
        s = m.spec
        if s.family not in ("gpt2", "llama"):
            raise ValueError(f"no KV-cache decoder for {s.family}")
        if s.family == "llama" and any(w is not None for w in s.sliding):
            raise ValueError("sliding-window attention is not supported here")

    def step(self, ids, past):
        """ids [1, S] (new tokens); past: list of (k, v) [1, Hkv, P, hd] or None -> (logits [V], past)."""
        m, s = self.m, self.m.spec
        B, S = ids.shape
        P = 0 if past is None else past[0][0].shape[2]
        T = P + S
        positions = torch.arange(P, T)[None]
        qi = torch.arange(P, T)[:, None]
        ki = torch.arange(T)[None, :]
        neg = torch.finfo(torch.float32).min
        bias = torch.where(ki <= qi, torch.zeros(()), torch.full((), neg))[None, None]  # [1,1,S,T]
        W = m.W
        x = W["wte"][ids]
        if s.family == "gpt2":
            x = x + W["wpe"][positions]
        scale = 1.0 / math.sqrt(s.head_dim)
        present = []
        for l, L in enumerate(m.layers):
            if s.family == "gpt2":
                a = ref.layer_norm(x, L["ln1_w"], L["ln1_b"], s.eps)
                q, k, v = ref.conv1d(a, L["c_attn_w"], L["c_attn_b"]).split(s.d_model, dim=-1)
                q, k, v = m._split(q, s.n_heads), m._split(k, s.n_heads), m._split(v, s.n_heads)
                sc = scale if s.scale_attn_weights else 1.0
                if s.scale_by_inv_layer:
                    sc = sc / float(l + 1)
            else:
                h = ref.rms_norm(x, L["ln1_w"], s.eps)
                q = m._rope(m._split(ref.linear(h, L["q_w"], L["q_b"]), s.n_heads), positions)
                k = m._rope(m._split(ref.linear(h, L["k_w"], L["k_b"]), s.n_kv_heads), positions)
                v = m._split(ref.linear(h, L["v_w"], L["v_b"]), s.n_kv_heads)
                sc = scale
            if past is not None:
                k = torch.cat([past[l][0], k], dim=2)
                v = torch.cat([past[l][1], v], dim=2)
            present.append((k, v))
            o = m._attend(q, k, v, bias, sc)
            if s.family == "gpt2":
                x = x + ref.conv1d(o, L["c_proj_w"], L["c_proj_b"])
                mm = ref.layer_norm(x, L["ln2_w"], L["ln2_b"], s.eps)
                x = x + ref.conv1d(ref._act(s.act)(ref.conv1d(mm, L["fc_w"], L["fc_b"])), L["proj_w"], L["proj_b"])
            else:
                x = x + ref.linear(o, L["o_w"], L["o_b"])
                h2 = ref.rms_norm(x, L["ln2_w"], s.eps)
                key = ref._act(s.act)(ref.linear(h2, L["gate_w"], L["gate_b"])) * ref.linear(h2, L["up_w"], L["up_b"])
                x = x + ref.linear(key, L["down_w"], L["down_b"])
        logits = m.unembed(m.final_norm(x[:, -1:]))[0, 0]
        return logits, present

    def generate(self, prompt, n_new):
        """Returns (new ids, seconds per step): step 0 is the prefill (prompt -> first token)."""
        past = None
        inp = torch.tensor([prompt])
        new, times = [], []
        for _ in range(n_new):
            t0 = time.perf_counter()
            logits, past = self.step(inp, past)
            nxt = int(torch.argmax(logits).item())
            times.append(time.perf_counter() - t0)
            new.append(nxt)
            inp = torch.tensor([[nxt]])
        return new, times


def forward_ms(m, x):
    t0 = time.perf_counter()
    out = m.forward(x, lens=False)
    return (time.perf_counter() - t0) * 1e3, out


def generate_stats(m, prompt, n):
    new, steps = KVDecoder(m).generate(prompt, n)
    return {
        "kv_cache": True,
        "ids": new,
        "prefill_ms": steps[0] * 1e3,
        "tokens_per_s": len(new) / sum(steps),
        "decode_tokens_per_s": (len(new) - 1) / sum(steps[1:]) if len(new) > 1 else None,
    }


def setup(threads):
    torch.set_grad_enabled(False)
    torch.set_num_threads(threads)
    torch.set_num_interop_threads(1)
    return {
        "torch": torch.__version__,
        "numpy": np.__version__,
        "threads": torch.get_num_threads(),
        "interop_threads": torch.get_num_interop_threads(),
        "env": {k: os.environ.get(k) for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "OMP_WAIT_POLICY")},
        "mem_start": proc_mem(),
    }


def serve(args, res):
    """JSON-lines protocol on stdin/stdout; replies are prefixed with @@ (see bench/runtime.mjs)."""
    def reply(obj):
        sys.stdout.write("@@" + json.dumps(obj) + "\n")
        sys.stdout.flush()

    t0 = time.perf_counter()
    m = load_model(args.model_dir)
    res["load_ms"] = (time.perf_counter() - t0) * 1e3
    res["mem_after_load"] = proc_mem()
    log(f"loaded {args.model_dir} in {res['load_ms']:.0f} ms (memory-mapped), {torch.get_num_threads()} threads")
    reply(res)
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        cmd = req["cmd"]
        if cmd == "forward":
            ms, out = forward_ms(m, torch.tensor([req["ids"]]))
            if req.get("logits_out"):
                out["logits"][0, -1].contiguous().numpy().astype("<f4").tofile(req["logits_out"])
            del out
            reply({"ms": ms})
        elif cmd == "generate":
            reply(generate_stats(m, req["prompt"], req["n"]))
        elif cmd == "mem":
            reply(proc_mem())
        elif cmd == "quit":
            reply({})
            return
        else:
            reply({"error": f"unknown command {cmd}"})


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model_dir")
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--serve", action="store_true", help="answer JSON-lines requests on stdin (bench/runtime.mjs)")
    ap.add_argument("--ids-file", help='JSON {"forward": [ids...], "prompt": [ids...]} (one-shot mode)')
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--gen", type=int, default=32)
    ap.add_argument("--logits-out", help="write the forward's last-position logits here (float32 LE)")
    args = ap.parse_args()
    res = setup(args.threads)
    if args.serve:
        serve(args, res)
        return
    if not args.ids_file:
        ap.error("--ids-file is required without --serve")
    with open(args.ids_file) as f:
        ids = json.load(f)

    t0 = time.perf_counter()
    m = load_model(args.model_dir)
    res["load_ms"] = (time.perf_counter() - t0) * 1e3
    res["mem_after_load"] = proc_mem()
    log(f"loaded {args.model_dir} in {res['load_ms']:.0f} ms (memory-mapped), {torch.get_num_threads()} threads")

    x = torch.tensor([ids["forward"]])
    times = []
    for i in range(args.warmup + args.runs):
        dt, out = forward_ms(m, x)
        if i == 0:
            res["first_forward_ms"] = dt
        if i >= args.warmup:
            times.append(dt)
        log(f"forward {i + 1}/{args.warmup + args.runs}: {dt:.0f} ms{' (warm-up)' if i < args.warmup else ''}")
    res["forward"] = {"median_ms": statistics.median(times), "min_ms": min(times), "times_ms": times}
    res["mem_after_forward"] = proc_mem()
    if args.logits_out:
        out["logits"][0, -1].contiguous().numpy().astype("<f4").tofile(args.logits_out)
    del out

    if args.gen > 0:
        generate_stats(m, ids["prompt"], 2)  # warm-up
        res["generate"] = generate_stats(m, ids["prompt"], args.gen)
        log(f"generated {args.gen} tokens: {res['generate']['tokens_per_s']:.2f} tok/s")
    res["mem_end"] = proc_mem()
    print(json.dumps(res))


if __name__ == "__main__":
    main()
