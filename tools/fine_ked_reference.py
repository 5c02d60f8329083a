#!/usr/bin/python3
"""An independent implementation of the FINE-KED metrics, to check `mechedit fine-ked` against.

Written from the metric's definition (src/core/diagnostics/fineKed.ts's header, shared METHODS.md
"DiKE and FINE-KED"), not from MechEdit's TypeScript: the bundled model's BPE is generate.py's
Python encoder, the forward pass tools/reference.py's (an edit applied from its file's U / V
tensors as y = W x + b + (x Vᵀ) U), one unbatched sequence at a time, in float64 log-softmax.

  /usr/bin/python3 tools/fine_ked_reference.py [--cases 4] [--edit test/fixtures/fine-ked/rome-case0.json]
      [--out test/fixtures/golden/fine-ked.json]

For the first --cases records of models/default/eval/fine_ked.json it writes two runs:
  none   the checkpoint as it is (measured and reference model: the checkpoint)
  edit   the checkpoint with the edit file applied (reference: the checkpoint without it)
each with every pair's mean log-probability and per-token top-1 flags, and the per-case metrics:
  efficacy / paraphrase: success = mean over prompts of [logP(o*) > logP(o)], top1 = every token of o* top-1,
                         magnitude = mean over prompts of P(o*) - P(o) (CounterFact's, P = exp(mean log-prob));
  neighbourhood: success = [logP(o) > logP(o*)], top1 = every token of o top-1, magnitude = mean P(o) - P(o*);
  facts: known = reference predicts every token of o' top-1; rloc = share of o' tokens top-1 after;
         top1 = all of them; wins = [logP(o') > logP(o*)].
test/unit/fineKed.test.ts compares MechEdit's scores and metrics with this file.
"""
import argparse
import json
import math
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "world"))
sys.dont_write_bytecode = True
from reference import Model, decode_tensor, read_safetensors_raw  # noqa: E402  (re-execs under /usr/bin/python3)
import generate as G  # noqa: E402
import torch  # noqa: E402

REPO = os.path.dirname(HERE)
MODEL = os.path.join(REPO, "models", "default")


def load_edit(path):
    """{"{layer}:{module}": (U [r, d_out], V [r, d_in])} from a MechEdit edit file."""
    doc = json.load(open(path))
    raw, _ = read_safetensors_raw(os.path.join(os.path.dirname(path), doc["vectors"]))
    edits = {}
    for t in doc["targets"]:
        U, V = (decode_tensor(*raw[t[k]]) for k in ("U", "V"))
        edits[f"{t['layer']}:{t['module']}"] = (U.reshape(t["rank"], -1), V.reshape(t["rank"], -1))
    return edits


class Scorer:
    def __init__(self, model, enc, edits=None):
        self.model, self.enc, self.edits = model, enc, edits

    def __call__(self, prompt, answer):
        """(mean log-prob of " " + answer after prompt, [top-1 flag per answer token])."""
        p, a = self.enc.encode(prompt), self.enc.encode(" " + answer)
        logits = self.model.forward(torch.tensor([p + a]), lens=False, edits=self.edits)["logits"][0].double()
        lp = torch.log_softmax(logits, -1)
        rows = [len(p) + j - 1 for j in range(len(a))]
        lps = [float(lp[r, t]) for r, t in zip(rows, a)]
        top = [int(lp[r].argmax()) == t for r, t in zip(rows, a)]
        return sum(lps) / len(lps), top


def case_metrics(case, score, ref_score, log):
    rr = case["requested_rewrite"]
    s, new, true = rr["subject"], rr["target_new"]["str"], rr["target_true"]["str"]

    def pair(prompt, answer):
        lp, top = score(prompt, answer)
        log.append({"prompt": prompt, "answer": answer, "meanLogprob": lp, "tokenTop": top})
        return lp, top

    def task(prompts, want, other):
        succ = top1 = mag = 0.0
        for p in prompts:
            lw, tw = pair(p, want)
            lo, _ = pair(p, other)
            succ += (1.0 if lw > lo else 0.0) / len(prompts)
            top1 += (1.0 if all(tw) else 0.0) / len(prompts)
            mag += (math.exp(lw) - math.exp(lo)) / len(prompts)
        return {"success": succ, "top1": top1, "magnitude": mag, "prompts": len(prompts)}

    out = {"caseId": case["case_id"], "efficacy": task([rr["prompt"].replace("{}", s)], new, true)}
    if case.get("paraphrase_prompts"):
        out["paraphrase"] = task(case["paraphrase_prompts"], new, true)
    if case.get("neighborhood_prompts"):
        out["neighbourhood"] = task(case["neighborhood_prompts"], true, new)
    facts = []
    for f in case["fine_grained"]:
        lk, tk = pair(f["prompt"], f["answer"])
        lt, _ = pair(f["prompt"], new)
        _, tref = ref_score(f["prompt"], f["answer"])
        facts.append({"level": f["level"], "known": all(tref), "rloc": sum(tk) / len(tk), "top1": 1 if all(tk) else 0, "wins": 1 if lk > lt else 0})
    out["facts"] = facts
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cases", type=int, default=4)
    ap.add_argument("--edit", default=os.path.join("test", "fixtures", "fine-ked", "rome-case0.json"))
    ap.add_argument("--out", default=os.path.join("test", "fixtures", "golden", "fine-ked.json"))
    a = ap.parse_args()
    torch.set_grad_enabled(False)
    torch.set_num_threads(1)
    model = Model(MODEL)
    enc = G.Encoder(json.load(open(os.path.join(MODEL, "tokenizer.json"))))
    data_rel = os.path.join("models", "default", "eval", "fine_ked.json")
    cases = json.load(open(os.path.join(REPO, data_rel)))[: a.cases]
    plain = Scorer(model, enc)
    edited = Scorer(model, enc, load_edit(os.path.join(REPO, a.edit)))
    runs = {}
    for name, score in [("none", plain), ("edit", edited)]:
        log = []
        runs[name] = {"cases": [case_metrics(c, score, plain, log) for c in cases], "pairs": log}
    doc = {"format": "mechedit-fine-ked-golden/1", "model_dir": "models/default", "data": data_rel, "edit": a.edit, "cases": a.cases, "runs": runs}
    with open(os.path.join(REPO, a.out), "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    e = runs["edit"]["cases"]
    print(f"wrote {a.out}: {a.cases} cases; with the edit: efficacy {[c['efficacy']['success'] for c in e]}, "
          f"facts lost {sum(1 for c in e for x in c['facts'] if not x['top1'])} of {sum(len(c['facts']) for c in e)}")


if __name__ == "__main__":
    main()
