#!/usr/bin/python3
"""An independent computation of CounterFact's ES / PS / NS scores and magnitudes, to check MechEdit's.

Written from ROME / MEMIT's evaluation code as read (kmeng01/memit experiments/py/
eval_utils_counterfact.py test_batch_prediction and experiments/summarize.py), not from MechEdit's
TypeScript. The bundled model's BPE is tools/world/generate.py's Python encoder; the forward pass is
tools/reference.py's, one unbatched sequence at a time, log-softmax in float64.

  /usr/bin/python3 tools/counterfact_reference.py [--cases 20]
      [--data ../shared/datasets/evoke/evoke_main.json] [--out test/fixtures/golden/counterfact.json]

As the reference does it, per prompt and target t in (target_new, target_true):
  the input is the tokens of f"{prompt} {t}" (tokenised as one text), the answer tokens are those of
  f" {t}" tokenised alone and read at positions len(tokens(prompt)) + j - 1;
  NLL(t) = mean over the answer tokens of -log softmax(logits)[token]  (length-normalised);
  correct(t) = every answer token is the argmax.
Per case (the first --cases records of the file, on the unedited model):
  efficacy / paraphrase: score = mean over prompts of [NLL(true) > NLL(new)],
                         magnitude = mean over prompts of exp(-NLL(new)) - exp(-NLL(true)),
                         top1 = mean over prompts of correct(new);
  neighbourhood:         score = mean of [NLL(true) < NLL(new)],
                         magnitude = mean of exp(-NLL(true)) - exp(-NLL(new)), top1 = mean correct(true).
Summary: the mean over cases of each, x 100, and Score = harmonic mean of the three scores.
The script refuses a prompt whose joint tokenisation is not tokens(prompt) + tokens(" " + t)
(the reference's positions assume it). test/unit/counterfact.test.ts compares MechEdit with the file.
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
from reference import Model  # noqa: E402  (re-execs under /usr/bin/python3)
import generate as G  # noqa: E402
import torch  # noqa: E402

REPO = os.path.dirname(HERE)
MODEL = os.path.join(REPO, "models", "default")
VERSION = "counterfact-v1"


def nll_and_correct(model, enc, prompt, target):
    """(NLL per answer token, all answer tokens argmax), as test_batch_prediction computes them."""
    prefix = enc.encode(prompt)
    joint = enc.encode(f"{prompt} {target}")
    answer = enc.encode(f" {target}")
    if joint != prefix + answer:
        raise SystemExit(f"joint tokenisation differs from prompt + answer: {prompt!r} / {target!r}")
    logits = model.forward(torch.tensor([joint]), lens=False)["logits"][0].double()
    lp = torch.log_softmax(logits, -1)
    rows = [len(prefix) + j - 1 for j in range(len(answer))]
    nll = sum(-float(lp[r, t]) for r, t in zip(rows, answer)) / len(answer)
    correct = all(int(lp[r].argmax()) == t for r, t in zip(rows, answer))
    return nll, correct


def case_metrics(model, enc, record):
    rr = record["requested_rewrite"]
    new, true = rr["target_new"]["str"], rr["target_true"]["str"]
    groups = {
        "efficacy": [rr["prompt"].format(rr["subject"])],
        "paraphrase": record["paraphrase_prompts"],
        "neighbourhood": record["neighborhood_prompts"],
    }
    out = {"caseId": record["case_id"], "prompts": {}}
    for name, prompts in groups.items():
        rows = []
        for p in prompts:
            n_new, c_new = nll_and_correct(model, enc, p, new)
            n_true, c_true = nll_and_correct(model, enc, p, true)
            rows.append({"prompt": p, "nllNew": n_new, "nllTrue": n_true, "correctNew": c_new, "correctTrue": c_true})
        out["prompts"][name] = rows
        if not rows:
            continue
        n = len(rows)
        if name == "neighbourhood":
            score = sum(1.0 for r in rows if r["nllTrue"] < r["nllNew"]) / n
            magnitude = sum(math.exp(-r["nllTrue"]) - math.exp(-r["nllNew"]) for r in rows) / n
            top1 = sum(1.0 for r in rows if r["correctTrue"]) / n
        else:
            score = sum(1.0 for r in rows if r["nllTrue"] > r["nllNew"]) / n
            magnitude = sum(math.exp(-r["nllNew"]) - math.exp(-r["nllTrue"]) for r in rows) / n
            top1 = sum(1.0 for r in rows if r["correctNew"]) / n
        out[name] = {"score": score, "magnitude": magnitude, "top1": top1, "prompts": n}
    return out


def summarize(cases):
    out = {"version": VERSION}
    for name in ("efficacy", "paraphrase", "neighbourhood"):
        ts = [c[name] for c in cases if name in c]
        mean = lambda k: 100 * sum(t[k] for t in ts) / len(ts)  # noqa: E731
        out[name] = {"cases": len(ts), "score": mean("score"), "magnitude": mean("magnitude"), "top1": mean("top1")}
    scores = [out[k]["score"] for k in ("efficacy", "paraphrase", "neighbourhood")]
    if all(s > 0 for s in scores):
        out["score"] = 3 / sum(1 / s for s in scores)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cases", type=int, default=20)
    ap.add_argument("--data", default=os.path.join("..", "shared", "datasets", "evoke", "evoke_main.json"))
    ap.add_argument("--out", default=os.path.join("test", "fixtures", "golden", "counterfact.json"))
    a = ap.parse_args()
    torch.set_grad_enabled(False)
    torch.set_num_threads(1)
    model = Model(MODEL)
    enc = G.Encoder(json.load(open(os.path.join(MODEL, "tokenizer.json"))))
    records = json.load(open(os.path.join(REPO, a.data)))[: a.cases]
    cases = [case_metrics(model, enc, r) for r in records]
    doc = {"format": "mechedit-counterfact-golden/1", "model_dir": "models/default", "data": a.data.replace(os.sep, "/"), "cases": a.cases,
           "summary": summarize(cases), "perCase": cases}
    with open(os.path.join(REPO, a.out), "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    s = doc["summary"]
    print(f"wrote {a.out}: {a.cases} cases; ES {s['efficacy']['score']:.2f} PS {s['paraphrase']['score']:.2f} NS {s['neighbourhood']['score']:.2f}; "
          f"EM {s['efficacy']['magnitude']:.4f} PM {s['paraphrase']['magnitude']:.4f} NM {s['neighbourhood']['magnitude']:.4f}; Score {s.get('score', float('nan')):.2f}")


if __name__ == "__main__":
    main()
