#!/usr/bin/python3
"""Train MechEdit's embedded default model on the synthetic world (tools/world/generate.py).

GPT-2 architecture (pre-LN, learned positions, tied embeddings, gelu_new), fixed seed, 2 CPU threads.
Writes a standard Hugging Face folder models/default/ (config.json, model.safetensors with HF GPT-2
names and Conv1D weights stored [in, out], generation_config.json; tokenizer.json comes from
generate.py). A checkpoint is written after every epoch from --save-from on, so a partial run still
leaves a usable model. Progress: build/world/train.log.

Usage: /usr/bin/python3 tools/world/train.py [--epochs N] [--d 128] [--layers 4]
"""

import argparse
import json
import math
import os
import random
import struct
import sys
import time

sys.dont_write_bytecode = True
# OpenBLAS's own threads fight torch's intra-op threads on 2 cores (half the CPU went to the kernel):
# one BLAS thread per torch thread is ~2x faster here.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
import generate as G  # noqa: E402
from reference import write_safetensors  # noqa: E402

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

OUT = G.OUT
LOG = os.path.join(G.ROOT, "build", "world", "train.log")


class Block(nn.Module):
    def __init__(self, d, h):
        super().__init__()
        self.h = h
        self.ln_1 = nn.LayerNorm(d, eps=1e-5)
        self.c_attn = nn.Linear(d, 3 * d)
        self.attn_proj = nn.Linear(d, d)
        self.ln_2 = nn.LayerNorm(d, eps=1e-5)
        self.c_fc = nn.Linear(d, 4 * d)
        self.mlp_proj = nn.Linear(4 * d, d)

    def forward(self, x, mask):
        B, T, D = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(D, dim=2)
        q = q.view(B, T, self.h, D // self.h).transpose(1, 2)
        k = k.view(B, T, self.h, D // self.h).transpose(1, 2)
        v = v.view(B, T, self.h, D // self.h).transpose(1, 2)
        att = (q @ k.transpose(-1, -2)) / math.sqrt(D // self.h)
        att = att.masked_fill(mask[:T, :T], float("-inf")).softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, D)
        x = x + self.attn_proj(y)
        x = x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))
        return x


class GPT(nn.Module):
    def __init__(self, vocab, d, layers, heads, n_pos):
        super().__init__()
        self.wte = nn.Embedding(vocab, d)
        self.wpe = nn.Embedding(n_pos, d)
        self.blocks = nn.ModuleList([Block(d, heads) for _ in range(layers)])
        self.ln_f = nn.LayerNorm(d, eps=1e-5)
        self.register_buffer("mask", torch.triu(torch.ones(n_pos, n_pos, dtype=torch.bool), 1), persistent=False)
        for n, p in self.named_parameters():
            if n.endswith("weight") and p.dim() == 2:
                std = 0.02 / math.sqrt(2 * layers) if ("attn_proj" in n or "mlp_proj" in n) else 0.02
                nn.init.normal_(p, 0.0, std)
            elif n.endswith("bias"):
                nn.init.zeros_(p)

    def forward(self, ids, where=None):
        B, T = ids.shape
        x = self.wte(ids) + self.wpe(torch.arange(T))
        for b in self.blocks:
            x = b(x, self.mask)
        x = self.ln_f(x)
        if where is not None:          # logits only at the positions that carry loss
            x = x.reshape(B * T, -1)[where]
        return x @ self.wte.weight.t()


def hf_params(model):
    """HF GPT2LMHeadModel name (no `transformer.` prefix, like openai-community/gpt2) → (parameter,
    stored transposed: Conv1D weights are [in, out])."""
    P = {"wte.weight": (model.wte.weight, False), "wpe.weight": (model.wpe.weight, False),
         "ln_f.weight": (model.ln_f.weight, False), "ln_f.bias": (model.ln_f.bias, False)}
    for i, b in enumerate(model.blocks):
        h = f"h.{i}."
        for hf, p, conv in [("ln_1", b.ln_1, False), ("attn.c_attn", b.c_attn, True), ("attn.c_proj", b.attn_proj, True),
                            ("ln_2", b.ln_2, False), ("mlp.c_fc", b.c_fc, True), ("mlp.c_proj", b.mlp_proj, True)]:
            P[h + hf + ".weight"] = (p.weight, conv)
            P[h + hf + ".bias"] = (p.bias, False)
    return P


def hf_tensors(model):
    """The model's tensors under HF GPT-2 names, as write_safetensors wants them."""
    out = {}
    for k, (p, transposed) in hf_params(model).items():
        v = p.t() if transposed else p
        out[k] = ("F32", list(v.shape), v.detach().contiguous().float().numpy().tobytes())
    return out


def save(model, args, vocab_size, eot, meta):
    cfg = {
        "activation_function": "gelu_new", "architectures": ["GPT2LMHeadModel"], "attn_pdrop": 0.0,
        "bos_token_id": eot, "embd_pdrop": 0.0, "eos_token_id": eot, "initializer_range": 0.02,
        "layer_norm_epsilon": 1e-05, "model_type": "gpt2", "n_ctx": args.n_pos, "n_embd": args.d, "n_head": args.heads,
        "n_inner": None, "n_layer": args.layers, "n_positions": args.n_pos, "reorder_and_upcast_attn": False,
        "resid_pdrop": 0.0, "scale_attn_by_inverse_layer_idx": False, "scale_attn_weights": True,
        "summary_activation": None, "summary_first_dropout": 0.1, "summary_proj_to_labels": True,
        "summary_type": "cls_index", "summary_use_proj": True, "tie_word_embeddings": True, "torch_dtype": "float32",
        "transformers_version": "4.46.3", "use_cache": True, "vocab_size": vocab_size,
        # MechEdit's default ROME layer for this model (Hugging Face keeps unknown keys): causal
        # tracing (window 1) recommends layer 0 for 18 of 24 sampled facts (tools/world/README.md);
        # and its ROCR settings (bench/rocr-acceptance.mjs: keys on every token of the concept at
        # layer 0, λ C instead of λ I so that the edit leaves unrelated tokens alone).
        "mechedit": {"edit_layer": 0, "rocr": {"layers": [0], "lambda": 10, "positions": "all", "regularizer": "covariance"}},
    }
    tmp = os.path.join(OUT, "model.safetensors.tmp")
    write_safetensors(tmp, hf_tensors(model), metadata={"format": "pt", **{k: str(v) for k, v in meta.items()}})
    os.replace(tmp, os.path.join(OUT, "model.safetensors"))
    with open(os.path.join(OUT, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
    with open(os.path.join(OUT, "generation_config.json"), "w") as f:
        json.dump({"_from_model_config": True, "bos_token_id": eot, "eos_token_id": eot,
                   "transformers_version": "4.46.3"}, f, indent=2)


def encode_items(items, enc, n_pos, limit=0):
    out = []
    if limit:
        items = items[:limit]
    for segs in items:
        ids, w = [], []
        for text, wt in segs:
            t = enc.encode(text)
            ids += t
            w += [wt] * len(t)
        ids, w = ids[:n_pos + 1], w[:n_pos + 1]
        out.append((ids, w))
    return out


def batches(encoded, bs, r):
    """Length-bucketed batches: sort chunks of 50 batches by length, then shuffle batch order."""
    idx = list(range(len(encoded)))
    r.shuffle(idx)
    chunk = bs * 50
    bl = []
    for c in range(0, len(idx), chunk):
        part = sorted(idx[c:c + chunk], key=lambda i: len(encoded[i][0]))
        bl += [part[j:j + bs] for j in range(0, len(part), bs)]
    r.shuffle(bl)
    return bl


def make_tensor(encoded, b, pad):
    T = max(len(encoded[i][0]) for i in b) - 1
    x = torch.full((len(b), T), pad, dtype=torch.long)
    y = torch.full((len(b), T), pad, dtype=torch.long)
    w = torch.zeros((len(b), T))
    for j, i in enumerate(b):
        ids, wt = encoded[i]
        n = len(ids) - 1
        x[j, :n] = torch.tensor(ids[:-1])
        y[j, :n] = torch.tensor(ids[1:])
        w[j, :n] = torch.tensor(wt[1:])
    return x, y, w


def logger(path):
    """log(*parts): a timestamped line to stdout and to `path` (appended)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    f = open(path, "a")

    def log(*a):
        s = time.strftime("%Y-%m-%d %H:%M:%S ") + " ".join(str(x) for x in a)
        print(s, flush=True)
        f.write(s + "\n")
        f.flush()
    return log


def world_and_encoder():
    """The world (generate.build_world), the encoder of models/default/tokenizer.json, the vocab size."""
    with open(os.path.join(OUT, "tokenizer.json")) as f:
        tok = json.load(f)
    return G.build_world(), G.Encoder(tok), len(tok["model"]["vocab"])


def adamw(model, lr):
    """AdamW, weight decay 0.05 on the matrices except the position embedding."""
    decay = [p for n, p in model.named_parameters() if p.dim() == 2 and "wpe" not in n]
    nodecay = [p for n, p in model.named_parameters() if not (p.dim() == 2 and "wpe" not in n)]
    return torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": nodecay, "weight_decay": 0.0}], lr=lr, betas=(0.9, 0.98))


def train_step(model, opt, encoded, b, pad, lr):
    """One optimiser step on batch b: weighted NLL, logits only where the weight is non-zero,
    gradient clipping 1. Returns (loss, tokens in the batch, total weight)."""
    x, y, w = make_tensor(encoded, b, pad)
    for g in opt.param_groups:
        g["lr"] = lr
    where = (w.reshape(-1) > 0).nonzero().squeeze(1)
    nll = F.cross_entropy(model(x, where), y.reshape(-1)[where], reduction="none")
    loss = (nll * w.reshape(-1)[where]).sum() / w.sum().clamp(min=1.0)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    return float(loss), x.numel(), float(w.sum())


@torch.no_grad()
def quick_eval(model, enc, probes, r, n=150):
    """Top-1 first-answer-token accuracy per (form, split) on n sampled probes."""
    model.eval()
    groups = {}
    for p in probes:
        groups.setdefault((p["form"], p["split"]), []).append(p)
    res = {}
    for key in sorted(groups):
        ps = groups[key]
        ps = r.sample(ps, min(n, len(ps)))
        hit = 0
        for j in range(0, len(ps), 64):
            rows = [enc.encode(p["prompt"]) for p in ps[j:j + 64]]
            ans = [enc.encode(" " + p["answer"])[0] for p in ps[j:j + 64]]
            T = max(map(len, rows))
            x = torch.zeros((len(rows), T), dtype=torch.long)
            for k, rw in enumerate(rows):
                x[k, :len(rw)] = torch.tensor(rw)
            logits = model(x)
            last = torch.stack([logits[k, len(rw) - 1] for k, rw in enumerate(rows)])
            hit += sum(int(a == b) for a, b in zip(last.argmax(-1).tolist(), ans))
        res[f"{key[0]}/{key[1]}"] = round(hit / len(ps), 3)
    model.train()
    return res


@torch.no_grad()
def verify_export(model, enc, log):
    """The written folder, read back by tools/reference.py (independent HF-semantics reference),
    gives the training model's logits."""
    from reference import Model
    ref = Model(OUT)
    model.eval()
    worst = 0.0
    for text in ["The capital of", "Question: What color is Veltrazine?\nA. violet\nB. green\nC. amber\nD. white\nAnswer:"]:
        ids = torch.tensor([enc.encode(text)])
        a = model(ids)[0]
        b = ref.forward(ids)["logits"][0]
        worst = max(worst, float((a - b).abs().max()))
    model.train()
    log(f"export check: max |logit difference| training model vs tools/reference.py on the saved folder = {worst:.2e}")
    if worst > 1e-3:
        raise SystemExit("export check failed")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=6, help="phase 1 (facts mix) epochs")
    ap.add_argument("--phase2-epochs", type=int, default=8, help="phase 2 (skills mix: multiple choice, true/false) epochs")
    ap.add_argument("--phase2-lr", type=float, default=1e-3)
    ap.add_argument("--phase2-time-limit", type=float, default=0, help="minutes")
    ap.add_argument("--d", type=int, default=128)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--n-pos", type=int, default=128)
    ap.add_argument("--bs", type=int, default=64)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--warmup", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--save-from", type=int, default=3)
    ap.add_argument("--eval-every", type=int, default=3)
    ap.add_argument("--smoke", type=int, default=0, help="use only this many items per epoch (pipeline test)")
    ap.add_argument("--init", default="", help="start from this state_dict (phase 2)")
    ap.add_argument("--mix", default="facts", choices=["facts", "skills"], help="facts: training_items; skills: skill_items")
    ap.add_argument("--state-out", default="state.pt", help="file name in build/world/ for the torch state")
    ap.add_argument("--no-save", action="store_true", help="do not write models/default (experiments)")
    ap.add_argument("--verify-only", action="store_true", help="load build/world/state.pt and check the saved folder")
    ap.add_argument("--bench", type=int, default=0, help="time this many steps and exit")
    ap.add_argument("--time-limit", type=float, default=0, help="minutes; stop (after saving) when exceeded")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    log = logger(LOG)
    world, enc, V = world_and_encoder()
    probes = G.probes(world)
    model = GPT(V, args.d, args.layers, args.heads, args.n_pos)
    if args.verify_only:
        model.load_state_dict(torch.load(os.path.join(os.path.dirname(LOG), "state.pt")))
        verify_export(model, enc, log)
        return
    if args.init:
        model.load_state_dict(torch.load(args.init))
    nparam = sum(p.numel() for p in model.parameters())
    T0 = time.time()

    def run_phase(mix, epochs, lr0, warmup, time_limit, phase):
        items_fn = G.training_items if mix == "facts" else G.skill_items
        opt = adamw(model, lr0)
        r = random.Random(args.seed)
        first = encode_items(items_fn(world, random.Random(args.seed * 1000)), enc, args.n_pos, args.smoke)
        steps_per_epoch = math.ceil(len(first) / args.bs)
        total = steps_per_epoch * epochs
        ntok = sum(len(i[0]) for i in first)
        log(f"phase {phase} ({mix}) start: params {nparam}, vocab {V}, items/epoch {len(first)}, tokens/epoch {ntok}, "
            f"steps/epoch {steps_per_epoch}, epochs {epochs}, lr {lr0}, args {vars(args)}")
        t0 = time.time()
        step = 0
        done_tokens = 0
        for ep in range(epochs):
            encoded = first if ep == 0 else encode_items(items_fn(world, random.Random(args.seed * 1000 + ep)), enc, args.n_pos, args.smoke)
            bl = batches(encoded, args.bs, r)
            tl, tw = 0.0, 0.0
            for b in bl:
                prog = step / total
                if time_limit:    # finish the decay in time when the CPU is slower than planned
                    prog = max(prog, (time.time() - t0) / 60 / time_limit)
                lr = lr0 * min(1.0, (step + 1) / warmup) * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, prog))))
                loss, ntok, wsum = train_step(model, opt, encoded, b, enc.eot, lr)
                step += 1
                done_tokens += ntok
                tl += loss * wsum
                tw += wsum
                if args.bench and step >= args.bench:
                    dt = time.time() - t0
                    log(f"bench: {step} steps in {dt:.1f}s, {done_tokens / dt:.0f} tokens/s, est. epoch {dt / step * steps_per_epoch:.0f}s")
                    return True
                if step % 200 == 0:
                    dt = time.time() - t0
                    log(f"phase {phase} ep {ep} step {step}/{total} loss {tl / max(tw, 1):.4f} lr {lr:.2e} {done_tokens / dt:.0f} tok/s "
                        f"elapsed {dt / 60:.1f} min")
            el = (time.time() - t0) / 60
            log(f"phase {phase} epoch {ep} done: loss {tl / max(tw, 1):.4f}, elapsed {el:.1f} min (total {(time.time() - T0) / 60:.1f})")
            last = ep == epochs - 1 or (time_limit and el > time_limit)
            if (ep + 1) % args.eval_every == 0 or last:
                log("eval", json.dumps(quick_eval(model, enc, probes, random.Random(7))))
            if ep + 1 >= args.save_from or last:
                if not args.no_save:
                    save(model, args, V, enc.eot, {"phase": phase, "mix": mix, "epoch": ep + 1, "epochs": epochs, "seed": args.seed})
                torch.save(model.state_dict(), os.path.join(os.path.dirname(LOG), args.state_out))
                log(f"saved checkpoint after phase {phase} epoch {ep + 1}")
            if last:
                break
        return False

    if run_phase(args.mix, args.epochs, args.lr, args.warmup, args.time_limit, 1 if args.mix == "facts" else 2):
        return
    if args.mix == "facts" and args.phase2_epochs > 0:
        run_phase("skills", args.phase2_epochs, args.phase2_lr, 100, args.phase2_time_limit, 2)
    t0 = T0
    log(f"finished in {(time.time() - t0) / 60:.1f} min")
    if not args.no_save:
        verify_export(model, enc, log)


if __name__ == "__main__":
    main()
