#!/usr/bin/python3
"""An independent PyTorch reading of SAELens-format SAEs, for MechEdit's SAE tests and figures.

SAELens's inference semantics, written here from its documentation (float64):
  x_in = x - b_dec            (when cfg apply_b_dec_to_input; else x)
  pre  = x_in @ W_enc + b_enc                         W_enc [d_in, d_sae]
  topk:     acts = relu of the k largest entries of pre, 0 elsewhere
  jumprelu: acts = pre * (pre > threshold), 0 elsewhere (threshold > 0)
  x_hat = acts @ W_dec + b_dec                         W_dec [d_sae, d_in]
  explained variance = 1 - sum |x - x_hat|^2 / sum |x - mean(x)|^2 ; L0 = mean count of acts != 0

Modes
  python3 tools/sae_reference.py
      Writes two SAELens-format folders made here with seeded random weights,
      test/fixtures/sae/ref-topk/ (gpt2-tiny blocks.1.hook_resid_post, d_sae 96, k 6; SAELens 6
      layout: hook_name only inside "metadata") and test/fixtures/sae/ref-jumprelu/ (gpt2-tiny
      blocks.0.mlp.hook_post, the MLP key, d_sae 256, apply_b_dec_to_input false as Gemma Scope),
      then runs gpt2-tiny (tools/reference.py) on seeded token ids and writes
      test/fixtures/golden/sae.json: for each folder under test/fixtures/sae/ (these two and the
      ones MechEdit wrote, ours-*), the hook's activations, pre-activations' margins, dense feature
      activations, reconstructions, explained variance, L0 and MSE.
  python3 tools/sae_reference.py --read DIR --acts FILE.safetensors
      Reads an SAE folder and activations (tensor "x" [n, d_in], as `mechedit sae eval
      --save-activations` writes) and prints {"explainedVariance", "l0", "mse", "dead", "tokens"}.

Golden JSON layout (tensors: {"dims", "data": base64 of little-endian float32, C order}):
  {"format": "mechedit-sae-golden/1", "model": "test/fixtures/models/gpt2-tiny",
   "ids": [[int]...],                                   # unpadded rows, run one at a time
   "saes": [{"folder": "test/fixtures/sae/<name>", "hook": "blocks.L.<tap>", "x": wire [n, d_in],
             "acts": wire [n, d_sae], "recon": wire [n, d_in], "explainedVariance": float,
             "l0": float, "mse": float, "margin": float}]}  # margin: min distance of a
             # pre-activation from the decision boundary (k-th vs k+1-th; threshold)
Checks: every folder reads back the tensors written; margins > 1e-4 (float32 cannot flip a
decision); the JSON decodes back exactly.
"""

import base64
import json
import os
import struct
import sys

if not os.path.exists("/usr/lib/python3/dist-packages/torch") and sys.executable != "/usr/bin/python3":
    os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import reference  # noqa: E402

F64 = torch.float64
SAE_DIR = os.path.join(ROOT, "test", "fixtures", "sae")
MODEL = os.path.join(ROOT, "test", "fixtures", "models", "gpt2-tiny")
GOLDEN = os.path.join(ROOT, "test", "fixtures", "golden", "sae.json")
TL = {"hook_resid_pre": "resid_pre", "hook_attn_out": "attn_out", "mlp.hook_post": "mlp.key",
      "hook_mlp_out": "mlp_out", "hook_resid_post": "resid_post"}


def wire(t):
    a = torch.as_tensor(t).detach().to(torch.float32).contiguous().numpy().astype("<f4")
    return {"dims": list(a.shape), "data": base64.b64encode(a.tobytes()).decode("ascii")}


def unwire(w):
    return torch.from_numpy(np.frombuffer(base64.b64decode(w["data"]), dtype="<f4").copy().reshape(w["dims"]))


def read_st(path):
    """safetensors by hand: {name: float64 tensor} (F32 / F16 / BF16)."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        body = f.read()
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        a, b = e["data_offsets"]
        raw = body[a:b]
        if e["dtype"] == "F32":
            t = torch.from_numpy(np.frombuffer(raw, dtype="<f4").copy())
        elif e["dtype"] == "F16":
            t = torch.from_numpy(np.frombuffer(raw, dtype="<f2").astype(np.float32))
        elif e["dtype"] == "BF16":
            u = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
            t = torch.from_numpy(u.view(np.float32).copy())
        else:
            raise SystemExit(f"{path}: {name} has dtype {e['dtype']}")
        out[name] = t.reshape(e["shape"]).to(F64)
    return out


def write_st(path, tensors):
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        b = t.to(torch.float32).contiguous().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def read_sae(folder):
    with open(os.path.join(folder, "cfg.json")) as f:
        cfg = json.load(f)
    w = read_st(os.path.join(folder, "sae_weights.safetensors"))
    hook = cfg.get("hook_name") or (cfg.get("metadata") or cfg.get("meta") or {}).get("hook_name")
    assert cfg.get("normalize_activations", "none") == "none", folder
    assert w["W_enc"].shape == (cfg["d_in"], cfg["d_sae"]) and w["W_dec"].shape == (cfg["d_sae"], cfg["d_in"]), folder
    return cfg, w, hook


def run_sae(cfg, w, x):
    """float64: (acts [n, d_sae], recon [n, d_in], margin)."""
    x_in = x - w["b_dec"] if cfg.get("apply_b_dec_to_input", True) else x
    pre = x_in @ w["W_enc"] + w["b_enc"]
    if cfg["architecture"] == "topk":
        k = cfg["k"]
        top = torch.topk(pre, k + 1, dim=-1)
        acts = torch.zeros_like(pre).scatter(-1, top.indices[:, :k], torch.relu(top.values[:, :k]))
        margin = float((top.values[:, k - 1] - top.values[:, k]).min())
    elif cfg["architecture"] == "jumprelu":
        th = w["threshold"]
        acts = pre * (pre > th)
        margin = float((pre - th).abs().min())
    else:
        raise SystemExit(f"architecture {cfg['architecture']}")
    recon = acts @ w["W_dec"] + w["b_dec"]
    return acts, recon, margin


def metrics(x, recon, acts):
    resid = ((x - recon) ** 2).sum()
    total = ((x - x.mean(0)) ** 2).sum()
    return {"explainedVariance": float(1 - resid / total), "l0": float((acts != 0).sum(-1).to(F64).mean()),
            "mse": float(resid / x.shape[0])}


def make_ref(name, hook, d_in, d_sae, arch, seed, apply_b_dec, k=None):
    g = torch.Generator().manual_seed(seed)
    W_dec = torch.randn(d_sae, d_in, generator=g, dtype=F64)
    W_dec /= W_dec.norm(dim=-1, keepdim=True)
    W_enc = W_dec.T.clone() * 1.3 + 0.05 * torch.randn(d_in, d_sae, generator=g, dtype=F64)
    tensors = {"W_enc": W_enc, "W_dec": W_dec, "b_enc": 0.05 * torch.randn(d_sae, generator=g, dtype=F64),
               "b_dec": 0.1 * torch.randn(d_in, generator=g, dtype=F64)}
    cfg = {"architecture": arch, "d_in": d_in, "d_sae": d_sae, "dtype": "float32", "device": "cpu",
           "apply_b_dec_to_input": apply_b_dec, "normalize_activations": "none", "reshape_activations": "none",
           "metadata": {"model_name": "gpt2-tiny", "hook_name": hook, "hook_head_index": None, "prepend_bos": False,
                        "sae_lens_version": "6.x (written by tools/sae_reference.py)"}}
    if arch == "topk":
        cfg["k"] = k
        cfg["rescale_acts_by_decoder_norm"] = False
    else:
        tensors["threshold"] = 0.3 + 0.4 * torch.rand(d_sae, generator=g, dtype=F64)
    folder = os.path.join(SAE_DIR, name)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "cfg.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    write_st(os.path.join(folder, "sae_weights.safetensors"), tensors)
    back = read_st(os.path.join(folder, "sae_weights.safetensors"))
    for n, t in tensors.items():
        assert torch.equal(back[n], t.to(torch.float32).to(F64)), f"{name}: {n} did not read back"


def hook_activations(model, ids, hook):
    layer, tap = hook.split(".", 2)[1], hook.split(".", 2)[2]
    tap = TL.get(tap, tap)
    name = f"blocks.{layer}.{tap}"
    xs = [model.forward(torch.tensor([row]), lens=False)["taps"][name][0] for row in ids]
    return torch.cat(xs, 0).to(F64), name


def fixtures():
    make_ref("ref-topk", "blocks.1.hook_resid_post", 48, 96, "topk", 1, True, k=6)
    make_ref("ref-jumprelu", "blocks.0.mlp.hook_post", 192, 256, "jumprelu", 2, False)
    model = reference.Model(MODEL)
    g = torch.Generator().manual_seed(7)
    ids = [torch.randint(0, 300, (n,), generator=g).tolist() for n in (12, 9, 15)]
    saes = []
    for name in sorted(os.listdir(SAE_DIR)):
        folder = os.path.join(SAE_DIR, name)
        cfg, w, hook = read_sae(folder)
        x, tap = hook_activations(model, ids, hook)
        x = x.to(torch.float32).to(F64)  # what a float32 consumer of the golden reads
        acts, recon, margin = run_sae(cfg, w, x)
        if margin <= 1e-4:
            raise SystemExit(f"{name}: decision margin {margin} too small for a float32 comparison")
        m = metrics(x, recon, acts)
        saes.append({"folder": os.path.relpath(folder, ROOT), "hook": tap, "x": wire(x), "acts": wire(acts),
                     "recon": wire(recon), "margin": margin, **m})
        print(f"{name}: {tap} EV {m['explainedVariance']:.6f} L0 {m['l0']:.3f} MSE {m['mse']:.6g} margin {margin:.2e}")
    out = {"format": "mechedit-sae-golden/1", "model": os.path.relpath(MODEL, ROOT), "generator":
           f"tools/sae_reference.py + tools/reference.py (PyTorch {torch.__version__}, float64 SAE)", "ids": ids, "saes": saes}
    text = json.dumps(out, indent=1) + "\n"
    with open(GOLDEN, "w") as f:
        f.write(text)
    back = json.loads(text)
    for a, b in zip(back["saes"], saes):
        assert torch.equal(unwire(a["recon"]), unwire(b["recon"])), "JSON round trip"
    print(f"wrote {os.path.relpath(GOLDEN, ROOT)}")


def read_mode(folder, acts_file):
    cfg, w, hook = read_sae(folder)
    x = read_st(acts_file)["x"]
    acts, recon, _ = run_sae(cfg, w, x)
    m = metrics(x, recon, acts)
    m["dead"] = int(((acts != 0).sum(0) == 0).sum())
    m["tokens"] = x.shape[0]
    m["hook"] = hook
    print(json.dumps(m))


if __name__ == "__main__":
    if "--read" in sys.argv:
        read_mode(sys.argv[sys.argv.index("--read") + 1], sys.argv[sys.argv.index("--acts") + 1])
    else:
        fixtures()
