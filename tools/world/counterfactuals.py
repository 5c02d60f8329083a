#!/usr/bin/python3
"""Writes the default model's counterfactual requests for sequential editing,
models/default/eval/counterfactuals.json (seeded, byte-reproducible): one counterfactual edit for
every single-hop fact of world.json (1,934), so no two requests share a (subject, relation), and the
fixed probes `mechedit sequential` measures the model with as edits pile up.

File (src/core/diagnostics/sequentialData.ts reads it):
  {"seed": …, "about": "…",
   "requests": [{"case_id": 0, "subject": s, "relation": r, "prompt": "{} was born in",
                 "target": o*, "target_true": o,
                 "paraphrases": [the held-out template filled, "Question: <held-out question>\\nAnswer:"]}, …],
   "specificity": [{"subject", "relation", "prompt", "answer"}, …],
   "skills": {"choice": [{"subject", "relation", "prompt", "answer"}], "trueFalse": [...], "twoHop": [...]}}

requests   `prompt` is a training template of the relation (drawn per fact, never the fact's held-out
           one) with "{}" for the subject: the request format of `mechedit edit` (requests.ts).
           o* is another entity of the relation's object type whose first token differs from o's
           (so "o* is top-1 on its first token" cannot hold before the edit). `paraphrases` are the
           prompts world.json holds out for this fact (its held-out template, its held-out question
           in the QA form the model was trained on), filled, ending where o* should come.
           Order: shuffled (seeded) so that any first N mix relations and subject types; the facts
           of the RESERVED people come last (they are never edited by a run of N <= 1,734).
specificity the 200 facts of 40 reserved people (seeded; 5 person relations each) at a training
           template, answer o: "unrelated facts", subjects no run of N <= 1,734 edits.
skills     the general skills of the bundled model on the reserved people, facts.jsonl's own probes:
           4-option multiple choice (letter answer), true / false, two-hop (the first declarative
           template of each two-hop relation): 200 each.

Reads models/default/world.json, facts.jsonl, tokenizer.json (no torch).
Usage: /usr/bin/python3 tools/world/counterfactuals.py [--check]   (--check: rebuild and compare, write nothing)
"""
import json
import os
import random
import sys

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import generate as G  # noqa: E402
from output import write_or_check  # noqa: E402

MODEL = os.path.join(G.ROOT, "models", "default")
OUT = os.path.join(MODEL, "eval", "counterfactuals.json")
SEED = 20261204
RESERVED = 40
POOL = {"person": "people", "city": "cities", "country": "countries", "org": "organisations", "language": "languages",
        "occupation": "occupations", "ingredient": "ingredients", "effect": "effects", "color": "colors",
        "container": "containers", "concept": "concepts"}
PERSON_RELS = ["birthplace", "citizenship", "occupation", "employer", "native_language"]


def build():
    world = json.load(open(os.path.join(MODEL, "world.json")))
    enc = G.Encoder(json.load(open(os.path.join(MODEL, "tokenizer.json"))))
    first = lambda o: enc.encode(" " + o)[0]  # noqa: E731
    rng = random.Random(SEED)
    ents = world["entities"]
    rels = world["relations"]
    people = sorted({f["subject"] for f in world["facts"] if f["relation"] in PERSON_RELS})
    reserved = set(rng.sample(people, RESERVED))
    requests = []
    for f in world["facts"]:
        r = rels[f["relation"]]
        s, o = f["subject"], f["object"]
        pool = [x for x in ents[POOL[r["object_type"]]] if x != o and first(x) != first(o)]
        train = [t for t in r["templates"] if t != f["heldout_template"]]
        requests.append({
            "subject": s, "relation": f["relation"], "prompt": rng.choice(train), "target": rng.choice(pool), "target_true": o,
            "paraphrases": [G.decl(f["heldout_template"], s), G.qa(f["heldout_question"], s)],
        })
    keys = {(q["subject"], q["relation"]) for q in requests}
    assert len(keys) == len(requests), "two facts on one (subject, relation)"
    rng.shuffle(requests)
    requests = [q for q in requests if q["subject"] not in reserved] + [q for q in requests if q["subject"] in reserved]
    for i, q in enumerate(requests):
        q["case_id"] = i
    requests = [{k: q[k] for k in ["case_id", "subject", "relation", "prompt", "target", "target_true", "paraphrases"]} for q in requests]
    specificity = [{"subject": q["subject"], "relation": q["relation"], "prompt": q["prompt"].replace("{}", q["subject"]), "answer": q["target_true"]}
                   for q in requests if q["subject"] in reserved]
    probes = [json.loads(line) for line in open(os.path.join(MODEL, "facts.jsonl"))]
    pick = lambda form: [{k: p[k] for k in ["subject", "relation", "prompt", "answer"]}  # noqa: E731
                         for p in probes if p["form"] == form and p["subject"] in reserved]
    two_hop, seen = [], set()
    for p in pick("two_hop"):
        if (p["subject"], p["relation"]) not in seen:
            seen.add((p["subject"], p["relation"]))
            two_hop.append(p)
    skills = {"choice": pick("multiple_choice"), "trueFalse": pick("true_false"), "twoHop": two_hop}
    about = (f"{len(requests)} counterfactual requests, one per single-hop fact of world.json (seed {SEED}); the last "
             f"{len(specificity)} are the facts of {RESERVED} reserved people, whose facts and skill probes are the "
             "unrelated facts and general skills measured by mechedit sequential. Written by tools/world/counterfactuals.py.")
    return {"seed": SEED, "about": about, "requests": requests, "specificity": specificity, "skills": skills}


def main():
    write_or_check(OUT, build())


if __name__ == "__main__":
    main()
