#!/usr/bin/python3
"""Resumable, chunked CPU training of the multiple-choice skill (issue 4), for many sessions.

Multiple choice needs far more steps than one session's CPU gives (tools/world/README.md,
"Experiments"). This script trains in chunks of --minutes and keeps everything it needs to go on
(model, AdamW state, step, log) in build/world/skills/ (git-ignored), written atomically, so each
session adds a chunk and an interrupted chunk loses at most --save-every minutes.

The first chunk starts from the weights in models/default/model.safetensors (train.py's 4-layer
base when regenerating; the shipped model is this script's 6-layer export), grown to --layers blocks: the new blocks are appended after the shipped ones with zero output projections,
so the grown model computes exactly what the shipped one does. Mix per epoch: generate.skill_items
(all forms, multiple-choice / true-false heavy) plus --point pointing items per fact ("Which of
these is X?" over four options → the letter). Learning rate: warm-up then constant (--lr), so that
chunks can follow one another; --decay makes a chunk a final one (cosine to 5 %).

Every --eval-every steps it logs top-1 per (form, split) and the pointing accuracy to
build/world/skills/log.txt. It writes models/default only when asked (--export models/default),
once the table in the log meets issue 4's bars.

Usage: /usr/bin/python3 tools/world/train_skills.py --minutes 60 [--layers 6] [--lr 1e-3]
"""

import argparse
import json
import math
import os
import random
import sys
import time

sys.dont_write_bytecode = True
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
import generate as G  # noqa: E402
import train as T  # noqa: E402
from reference import load_checkpoint_tensors  # noqa: E402

import torch  # noqa: E402

DIR = os.path.join(G.ROOT, "build", "world", "skills")


def from_shipped(model):
    """Shipped HF GPT-2 tensors into the first blocks of `model`; the blocks beyond them get zero
    output projections (identity until trained). Returns the number of shipped blocks."""
    W, _ = load_checkpoint_tensors(G.OUT)
    with torch.no_grad():
        for name, (p, transposed) in T.hf_params(model).items():
            if name in W:
                p.copy_(W[name].t() if transposed else W[name])
    shipped = sum(1 for k in W if k.endswith(".ln_1.weight"))
    for b in model.blocks[shipped:]:
        torch.nn.init.zeros_(b.attn_proj.weight)
        torch.nn.init.zeros_(b.mlp_proj.weight)
    return shipped


def point_items(world, r, per_fact):
    """"Which of these is X?" with X among four options of its kind → the letter (then the option)."""
    items = []
    for (_, rel), _ in world["facts"].items():
        kind = G.REL[rel]["obj"]
        for _ in range(per_fact):
            x = r.choice(world["pools"][kind])
            prompt, letter, _ = G.mc_item(world, "Which of these is {}?", x, x, kind, r)
            items.append([(prompt, 0.0), (" " + letter, 5.0), (". " + x, 1.0)])
    return items


@torch.no_grad()
def pointing_accuracy(model, enc, world, n=200):
    model.eval()
    items = random.Random(99).sample(point_items(world, random.Random(98), 1), n)
    hit = sum(int(model(torch.tensor([enc.encode(it[0][0])]))[0, -1].argmax() == enc.encode(it[1][0])[0]) for it in items)
    model.train()
    return hit / n


def export(saved, V, enc, out):
    """The run's model as a Hugging Face folder (train.save), with models/default's world files."""
    import shutil
    model = T.GPT(V, 128, saved["layers"], 4, 128)
    model.load_state_dict(saved["model"])
    os.makedirs(out, exist_ok=True)
    if os.path.realpath(out) != os.path.realpath(G.OUT):  # exporting into models/default keeps its world files
        for name in ["tokenizer.json", "facts.jsonl", "world.json", "corpus.txt"]:
            shutil.copy(os.path.join(G.OUT, name), os.path.join(out, name))
        shutil.copytree(os.path.join(G.OUT, "eval"), os.path.join(out, "eval"), dirs_exist_ok=True)
    shipped_out = T.OUT
    T.OUT = out
    try:
        T.save(model, argparse.Namespace(n_pos=128, d=128, heads=4, layers=saved["layers"]), V, enc.eot,
               {"phase": "skills", "step": saved["step"], "epoch": saved["epoch"]})
    finally:
        T.OUT = shipped_out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, required=True, help="length of this chunk")
    ap.add_argument("--layers", type=int, default=6, help="blocks of the grown model (first chunk only)")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--point", type=int, default=2, help="pointing items per fact and epoch")
    ap.add_argument("--eval-every", type=int, default=600)
    ap.add_argument("--save-every", type=float, default=5, help="minutes")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--dir", default=DIR, help="state.pt and log.txt of the run")
    ap.add_argument("--decay", action="store_true", help="cosine-decay the learning rate to 5 %% over this chunk (a final chunk)")
    ap.add_argument("--export", default="", help="write the run's model as a checkpoint folder (with the world's files) and exit")
    args = ap.parse_args()
    STATE, LOG = os.path.join(args.dir, "state.pt"), os.path.join(args.dir, "log.txt")
    torch.set_num_threads(args.threads)
    log = T.logger(LOG)
    world, enc, V = T.world_and_encoder()
    probes = [p for p in G.probes(world) if p["form"] in ("multiple_choice", "true_false", "question", "declarative", "two_hop")]
    saved = torch.load(STATE) if os.path.exists(STATE) else None
    if args.export:
        export(saved, V, enc, args.export)
        log(f"exported step {saved['step']} ({saved['layers']} layers) to {args.export}")
        return
    layers = saved["layers"] if saved else args.layers
    model = T.GPT(V, 128, layers, 4, 128)
    opt = T.adamw(model, args.lr)
    if saved:
        model.load_state_dict(saved["model"])
        opt.load_state_dict(saved["opt"])
        step, epoch = saved["step"], saved["epoch"]
        log(f"resume at step {step}, epoch {epoch}, {layers} layers")
    else:
        shipped = from_shipped(model)
        step, epoch = 0, 0
        log(f"start from models/default ({shipped} layers) grown to {layers} layers; eval", json.dumps(T.quick_eval(model, enc, probes, random.Random(7), 150)),
            "pointing", pointing_accuracy(model, enc, world))

    def save():
        tmp = STATE + ".tmp"
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step, "epoch": epoch, "layers": layers}, tmp)
        os.replace(tmp, STATE)

    t0 = last_save = time.time()
    r = random.Random(step)
    while time.time() - t0 < args.minutes * 60:
        mix = G.skill_items(world, random.Random(5000 + epoch)) + point_items(world, random.Random(7000 + epoch), args.point)
        random.Random(epoch).shuffle(mix)
        encoded = T.encode_items(mix, enc, 128)
        for b in T.batches(encoded, 64, r):
            if time.time() - t0 >= args.minutes * 60:
                break
            lr = args.lr * min(1.0, (step + 1) / args.warmup)
            if args.decay:
                lr *= 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, (time.time() - t0) / 60 / args.minutes)))
            loss, _, _ = T.train_step(model, opt, encoded, b, enc.eot, lr)
            step += 1
            if step % args.eval_every == 0:
                log(f"step {step} epoch {epoch} loss {loss:.4f} eval", json.dumps(T.quick_eval(model, enc, probes, random.Random(7), 150)),
                    "pointing", pointing_accuracy(model, enc, world))
            if time.time() - last_save > args.save_every * 60:
                save()
                last_save = time.time()
        else:
            epoch += 1
    save()
    log(f"chunk done: step {step}, epoch {epoch}, {args.minutes} min")


if __name__ == "__main__":
    main()
