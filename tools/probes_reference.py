#!/usr/bin/python3
"""An independent implementation of the knowledge-paradigm probes, to check `mechedit probes` against.

Written from the metrics' definitions (src/core/diagnostics/probes.ts's header, shared METHODS.md
"Knowledge-paradigm probes"), not from MechEdit's TypeScript: generate.py's Python BPE, tools/reference.py's
forward pass (an edit applied from its file's U / V tensors), one unbatched sequence at a time,
float64 log-softmax; scoring as tools/fine_ked_reference.py's Scorer.

  /usr/bin/python3 tools/probes_reference.py [--cases 1,30] [--edit test/fixtures/probes/rome-case30.json]
      [--out test/fixtures/golden/probes.json]

For the chosen records of models/default/eval/probes.json it writes two runs:
  none   the measured model is the checkpoint
  edit   the checkpoint with the edit file applied
each case with its parametric view (the measured model, plain prompts), its in-context view (the
checkpoint, "Imagine that {statement}.\\n" before every prompt, the statement "<edit prompt> o*") and
the conflict (the old fact stated before the edit prompt on the measured model; the new fact on the
checkpoint). The R-Loc reference (which same-subject facts are known) is the checkpoint.
test/unit/probes.test.ts compares MechEdit's figures with this file (< 1e-4).
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
from reference import Model  # noqa: E402
from fine_ked_reference import Scorer, load_edit  # noqa: E402
import generate as G  # noqa: E402
import torch  # noqa: E402

REPO = os.path.dirname(HERE)
MODEL = os.path.join(REPO, "models", "default")
FRAME = "Imagine that {}.\n"


def mean(xs):
    return sum(xs) / len(xs) if xs else 0.0


def view(case, score, ref, prefix):
    rr = case["requested_rewrite"]
    s, new, old = rr["subject"], rr["target_new"]["str"], rr["target_true"]["str"]
    edit_prompt = rr["prompt"].replace("{}", s)
    ln, tn = score(prefix + edit_prompt, new)
    lo, _ = score(prefix + edit_prompt, old)
    eff = {"success": float(ln > lo), "top1": float(all(tn)), "pNew": math.exp(ln), "pOld": math.exp(lo)}
    answers = []
    for form in case["forms"]:
        lps = [score(prefix + form, a)[0] for a in case["candidates"]]
        answers.append(case["candidates"][max(range(len(lps)), key=lambda k: (lps[k], -k))])
    n = len(answers)
    counts = {a: answers.count(a) for a in answers}
    cons = {"forms": n, "answers": answers, "agreement": max(counts.values()) / n, "newShare": counts.get(new, 0) / n,
            "entropy": -sum(k / n * math.log2(k / n) for k in counts.values())}
    out = {"efficacy": eff, "consistency": cons}
    rev = case["reversal"]
    if "prompts" in rev:
        wins, tops, ps = [], [], []
        for p in rev["prompts"]:
            la, ta = score(prefix + p, rev["answer"])
            lb, _ = score(prefix + p, rev["answer_before"])
            wins.append(float(la > lb))
            tops.append(float(all(ta)))
            ps.append(math.exp(la))
        out["reversal"] = {"prompts": len(ps), "success": mean(wins), "top1": mean(tops), "pSubject": mean(ps), "gap": eff["success"] - mean(wins)}
    if case["ripple"]:
        wins, tops, pn, po = [], [], [], []
        for q in case["ripple"]:
            la, ta = score(prefix + q["prompt"], q["new"])
            lb, _ = score(prefix + q["prompt"], q["old"])
            wins.append(float(la > lb))
            tops.append(float(all(ta)))
            pn.append(math.exp(la))
            po.append(math.exp(lb))
        out["ripple"] = {"questions": len(wins), "success": mean(wins), "top1": mean(tops), "pNew": mean(pn), "pOld": mean(po)}
    kept = []
    for f in case["same_subject"]:
        if all(ref(f["prompt"], f["answer"])[1]):
            top = score(prefix + f["prompt"], f["answer"])[1]
            kept.append(sum(top) / len(top))
    out["rloc"] = {"facts": len(case["same_subject"]), "known": len(kept), "rloc": mean(kept)}
    return out


def conflict(case, score, plain):
    rr = case["requested_rewrite"]
    s, new, old = rr["subject"], rr["target_new"]["str"], rr["target_true"]["str"]
    p = rr["prompt"].replace("{}", s)
    res = {}
    for key, model_score, stated, win_if_new in [("oldInContext", score, old, "memory"), ("newInContext", plain, new, "context")]:
        prompt = FRAME.format(p + " " + stated) + p
        ln, lo = model_score(prompt, new)[0], model_score(prompt, old)[0]
        lose = "context" if win_if_new == "memory" else "memory"
        res[key] = {"pNew": math.exp(ln), "pOld": math.exp(lo), "winner": win_if_new if ln > lo else lose}
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cases", default="1,30")
    ap.add_argument("--edit", default=os.path.join("test", "fixtures", "probes", "rome-case30.json"))
    ap.add_argument("--out", default=os.path.join("test", "fixtures", "golden", "probes.json"))
    a = ap.parse_args()
    torch.set_grad_enabled(False)
    torch.set_num_threads(1)
    model = Model(MODEL)
    enc = G.Encoder(json.load(open(os.path.join(MODEL, "tokenizer.json"))))
    data_rel = os.path.join("models", "default", "eval", "probes.json")
    ids = [int(x) for x in a.cases.split(",")]
    cases = [c for c in json.load(open(os.path.join(REPO, data_rel))) if c["case_id"] in ids]
    plain = Scorer(model, enc)
    edited = Scorer(model, enc, load_edit(os.path.join(REPO, a.edit)))
    runs = {}
    for name, score in [("none", plain), ("edit", edited)]:
        runs[name] = [{"caseId": c["case_id"], "parametric": view(c, score, plain, ""), "conflict": conflict(c, score, plain),
                       "inContext": view(c, plain, plain, FRAME.format(c["requested_rewrite"]["prompt"].replace("{}", c["requested_rewrite"]["subject"]) + " " + c["requested_rewrite"]["target_new"]["str"]))}
                      for c in cases]
    doc = {"format": "mechedit-probes-golden/1", "model_dir": "models/default", "data": data_rel, "edit": a.edit, "cases": ids, "frame": FRAME, "runs": runs}
    with open(os.path.join(REPO, a.out), "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    for name, rs in runs.items():
        print(name, [(r["caseId"], r["parametric"]["efficacy"]["success"], r["parametric"].get("reversal", {}).get("gap"), r["conflict"]["oldInContext"]["winner"]) for r in rs])
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
