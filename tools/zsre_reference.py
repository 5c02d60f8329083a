#!/usr/bin/python3
"""zsRE token-level accuracy, computed independently, to check `mechedit zsre` against.

Written from MEMIT's / EasyEdit's evaluation code as read (kmeng01/memit experiments/py/
eval_utils_zsre.py; EasyEdit's test_prediction_acc and compute_locality_quality), not from
MechEdit's TypeScript. The bundled model's BPE is tools/world/generate.py's encoder, the forward
pass tools/reference.py's (an edit applied from its file's U / V), one unbatched sequence at a time.

  /usr/bin/python3 tools/zsre_reference.py [--edit test/fixtures/fine-ked/rome-case0.json]

1. Writes test/fixtures/zsre/world.json: 8 zsRE-form records {case_id, subject, src, rephrase, alt,
   answers, loc, loc_ans} from the bundled world (models/default/eval/counterfactuals.json: src = the
   request's question paraphrase, rephrase = its other paraphrase, alt = target, answers = [target_true];
   loc / loc_ans = an unrelated fact of "specificity"). Record 0 is the saved ROME edit's request, and
   its loc is a same-subject fact (FINE-KED's), so locality can move; record 7's loc_ans is a wrong
   answer, so locAnswer and locality differ.
2. Writes test/fixtures/golden/zsre.json: for run "none" (the checkpoint) and "edit" (the edit applied;
   reference: the checkpoint), per case, with the question's tokens then those of " " + answer fed:
   efficacy = mean over alt's tokens of [argmax at the previous position = token] after src;
   generalisation = the same after rephrase; locAnswer = the same for loc_ans after loc;
   locality = share of loc_ans positions whose argmax equals the checkpoint's argmax there.
"""
import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "world"))
sys.dont_write_bytecode = True
from reference import Model  # noqa: E402  (re-execs under /usr/bin/python3)
from fine_ked_reference import load_edit  # noqa: E402
import generate as G  # noqa: E402
import torch  # noqa: E402

REPO = os.path.dirname(HERE)
MODEL = os.path.join(REPO, "models", "default")
DATA = os.path.join("test", "fixtures", "zsre", "world.json")
GOLDEN = os.path.join("test", "fixtures", "golden", "zsre.json")


def records(edit_request):
    world = json.load(open(os.path.join(MODEL, "eval", "counterfactuals.json")))
    fine = json.load(open(os.path.join(MODEL, "eval", "fine_ked.json")))
    spec = world["specificity"]
    out = []

    def add(subject, question, rephrase, alt, true, loc, loc_ans):
        out.append({"case_id": len(out), "subject": subject, "src": question, "rephrase": rephrase, "alt": alt,
                    "answers": [true], "loc": loc, "loc_ans": loc_ans})

    s = edit_request["subject"]
    first = next(r for r in world["requests"] if r["subject"] == s and r["prompt"] == edit_request["prompt"])
    q = next(p for p in first["paraphrases"] if p.startswith("Question:"))
    other = next(p for p in first["paraphrases"] if not p.startswith("Question:"))
    fact = next(f for c in fine if c["requested_rewrite"]["subject"] == s for f in c["fine_grained"])
    add(s, q, other, edit_request["target"], first["target_true"], fact["prompt"], fact["answer"])
    for r in world["requests"]:
        if len(out) == 8:
            break
        qs = [p for p in r["paraphrases"] if p.startswith("Question:")]
        rest = [p for p in r["paraphrases"] if not p.startswith("Question:")]
        if r["subject"] == s or not qs or not rest:
            continue
        f = spec[len(out)]
        add(r["subject"], qs[0], rest[0], r["target"], r["target_true"], f["prompt"], f["answer"])
    # The last record's loc_ans is not the world's answer: locAnswer (against loc_ans) and locality
    # (against the model's own argmax) then differ.
    out[-1]["loc_ans"] = out[1]["alt"]
    return out


def argmax_tokens(model, enc, edits, prompt, answer):
    """(argmax ids at the answer positions, answer ids), teacher-forced."""
    p, a = enc.encode(prompt), enc.encode(" " + answer)
    logits = model.forward(torch.tensor([p + a]), lens=False, edits=edits)["logits"][0].double()
    return [int(logits[len(p) + j - 1].argmax()) for j in range(len(a))], a


def acc(pred, gold):
    return sum(1 for x, y in zip(pred, gold) if x == y) / len(gold)


def run(model, enc, edits, cases):
    out = []
    for c in cases:
        eff, alt = argmax_tokens(model, enc, edits, c["src"], c["alt"])
        gen, _ = argmax_tokens(model, enc, edits, c["rephrase"], c["alt"])
        loc, loc_ans = argmax_tokens(model, enc, edits, c["loc"], c["loc_ans"])
        before, _ = argmax_tokens(model, enc, None, c["loc"], c["loc_ans"])
        out.append({"caseId": c["case_id"], "efficacy": acc(eff, alt), "generalisation": acc(gen, alt),
                    "locality": acc(loc, before), "locAnswer": acc(loc, loc_ans), "locArgmax": loc, "locArgmaxBefore": before})
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--edit", default=os.path.join("test", "fixtures", "fine-ked", "rome-case0.json"))
    a = ap.parse_args()
    torch.set_grad_enabled(False)
    torch.set_num_threads(1)
    model = Model(MODEL)
    enc = G.Encoder(json.load(open(os.path.join(MODEL, "tokenizer.json"))))
    edit_doc = json.load(open(os.path.join(REPO, a.edit)))
    cases = records(edit_doc["request"])
    with open(os.path.join(REPO, DATA), "w") as f:
        json.dump(cases, f, indent=1)
        f.write("\n")
    runs = {"none": run(model, enc, None, cases), "edit": run(model, enc, load_edit(os.path.join(REPO, a.edit)), cases)}
    doc = {"format": "mechedit-zsre-golden/1", "model_dir": "models/default", "data": DATA.replace(os.sep, "/"), "edit": a.edit.replace(os.sep, "/"), "runs": runs}
    with open(os.path.join(REPO, GOLDEN), "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    for name, rs in runs.items():
        mean = lambda k: 100 * sum(r[k] for r in rs) / len(rs)  # noqa: E731
        print(f"{name}: efficacy {mean('efficacy'):.2f} generalisation {mean('generalisation'):.2f} locality {mean('locality'):.2f} locAnswer {mean('locAnswer'):.2f}")
    print(f"wrote {DATA} ({len(cases)} records) and {GOLDEN}")


if __name__ == "__main__":
    main()
