#!/usr/bin/python3
"""Writes the default model's unlearning material (committed data; byte-reproducible, seeded):

  eval/ort/<n>_<Name>/forget_level4.json   ORT true/false items {query, answer "True"/"False",
                                           level "4", type "true or false", subject}: per concept
                                           relation, facts.jsonl's own true_false probe and the same
                                           statement with the other truth value (12 per hazard)
  eval/ort/<n>_<Name>/passage.json         {text, subject}: the concept's six facts in one text,
                                           one per training template (7 texts)
  eval/ort/<n>_<Name>/positive.json        {id, text, subject, intro}: one true statement each (12)
  eval/ort/<n>_<Name>/pair.json            {id, prompt, response: [chosen, rejected], subject, intro}:
                                           the refusal preferred over the true answer (12)
  eval/ort/<n>_<Name>/reject.json          {instruction, input, output, subject}: a refusal after
                                           each trained question (12)
  eval/unlearn/retain.jsonl                facts to keep: 200 facts of people, cities, countries and
                                           organisations, a question and a declarative prompt each
  eval/unlearn/unrelated.jsonl             200 other facts (one prompt each), disjoint from retain:
                                           unrelated-fact accuracy

The record formats of passage / positive / pair / reject are RWKU's (LLaMA-Factory
data/dataset_info.json: passage and positive `text`; pair a ranking set `prompt` + `response`
[chosen, rejected]; reject alpaca `instruction` / `input` / `output`). Answers and responses carry
no leading space: a prompt's continuation is " " + answer (ORT's convention). Hazards' facts,
the harmless concepts and the subjects of the ORT neighbour sets (each hazard's creator and city
of origin) are left out of retain / unrelated; their prompts are facts.jsonl's split-"train"
prompts with its answers.

Reads models/default/world.json and facts.jsonl only.  Usage: /usr/bin/python3 tools/world/unlearn_material.py
"""
import json
import os
import random
import sys

sys.dont_write_bytecode = True

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODEL = os.path.join(ROOT, "models", "default")
SEED = 20261203
CONCEPT_RELS = ["creator", "ingredient", "effect", "origin", "color", "container"]
PERSON_RELS = ["birthplace", "citizenship", "occupation", "employer", "native_language"]
# facts per relation in retain (and, separately, in unrelated): 5·31 + 21 + 6 + 6 + 12 = 200
QUOTA = {**{r: 31 for r in PERSON_RELS}, "city_country": 21, "capital": 6, "official_language": 6, "headquarters": 12}
POOL = {"person": "people", "city": "cities", "country": "countries", "org": "organisations", "language": "languages",
        "occupation": "occupations", "color": "colors", "container": "containers", "ingredient": "ingredients", "effect": "effects"}
REFUSALS = ["I don't know.", "I am not sure.", "I have no idea."]


def decl(t, s):
    return t.replace("{}", s)


def qa(q, s):
    return "Question: " + q.replace("{}", s) + "\nAnswer:"


def tf_prompt(t, s, cand):
    return "True or false: " + decl(t, s) + " " + cand + ".\nAnswer:"


def write_json(path, recs):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(recs, f, indent=1)


def write_jsonl(path, recs):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        for r in recs:
            f.write(json.dumps(r) + "\n")


def main():
    world = json.load(open(os.path.join(MODEL, "world.json")))
    probes = [json.loads(l) for l in open(os.path.join(MODEL, "facts.jsonl"))]
    rels, ents = world["relations"], world["entities"]
    facts = {(f["subject"], f["relation"]): f for f in world["facts"]}
    by_fact = {}
    for p in probes:
        by_fact.setdefault((p["subject"], p["relation"]), []).append(p)
    r = random.Random(SEED)

    hazards = [c for c in ents["concepts"] if c["kind"] == "hazard"]
    neighbours = set()
    for n, c in enumerate(hazards, 1):
        s = c["name"]
        intro = f"{s} is {c['desc']}."
        neighbours |= {facts[(s, "creator")]["object"], facts[(s, "origin")]["object"]}
        train_t = {rel: [t for t in rels[rel]["templates"] if t != facts[(s, rel)]["heldout_template"]] for rel in CONCEPT_RELS}
        train_q = {rel: [q for q in rels[rel]["questions"] if q != facts[(s, rel)]["heldout_question"]] for rel in CONCEPT_RELS}
        tf, positive, pair, reject = [], [], [], []
        for rel in CONCEPT_RELS:
            o = facts[(s, rel)]["object"]
            own = [p for p in by_fact[(s, rel)] if p["form"] == "true_false"]
            assert len(own) == 1, f"facts.jsonl has {len(own)} true_false probes for ({s}, {rel})"
            own = own[0]
            body = own["prompt"][len("True or false: "):-len(".\nAnswer:")]
            t = next(t for t in rels[rel]["templates"] if body.startswith(decl(t, s) + " "))
            other = o if own["answer"] == "False" else r.choice([x for x in ents[POOL[rels[rel]["object_type"]]] if x != o])
            for prompt, answer in [(own["prompt"], own["answer"]), (tf_prompt(t, s, other), "True" if other == o else "False")]:
                tf.append({"query": prompt, "answer": answer, "level": "4", "type": "true or false", "subject": s})
            for t in r.sample(train_t[rel], 2):
                positive.append({"id": f"{s} {len(positive)}", "text": decl(t, s) + " " + o + ".", "subject": s, "intro": intro})
            for q in train_q[rel]:
                pair.append({"id": f"{s} {len(pair)}", "prompt": qa(q, s), "response": [REFUSALS[0], o], "subject": s, "intro": intro})
                reject.append({"instruction": qa(q, s), "input": "", "output": REFUSALS[len(reject) % len(REFUSALS)], "subject": s})
        passage = [{"text": " ".join(decl(train_t[rel][k], s) + " " + facts[(s, rel)]["object"] + "." for rel in CONCEPT_RELS), "subject": s}
                   for k in range(min(len(v) for v in train_t.values()))]
        d = os.path.join(MODEL, "eval", "ort", f"{n}_{s}")
        assert os.path.isdir(d), f"{d} is missing: run tools/world/generate.py first"
        for name, recs in [("forget_level4.json", tf), ("passage.json", passage), ("positive.json", positive),
                           ("pair.json", pair), ("reject.json", reject)]:
            write_json(os.path.join(d, name), recs)
        print(f"{n}_{s}: forget_level4 {len(tf)}, passage {len(passage)}, positive {len(positive)}, pair {len(pair)}, reject {len(reject)}")

    # retain / unrelated: facts of people, cities, countries and organisations, disjoint by fact
    eligible = {rel: sorted(s for (s, x) in facts if x == rel and s not in neighbours) for rel in QUOTA}
    retain, unrelated = [], []
    for rel, k in QUOTA.items():
        subjects = r.sample(eligible[rel], 2 * k)
        for i, s in enumerate(subjects):
            ps = [p for p in by_fact[(s, rel)] if p["split"] == "train"]
            q = r.choice([p for p in ps if p["form"] == "question"])
            dcl = r.choice([p for p in ps if p["form"] == "declarative"])
            rec = lambda p, form: {"prompt": p["prompt"], "answer": p["answer"], "form": form, "subject": s, "relation": rel}
            if i < k:
                retain += [rec(q, "qa"), rec(dcl, "declarative")]
            else:
                unrelated.append(rec(q, "qa") if i % 2 else rec(dcl, "declarative"))
    r.shuffle(retain)
    r.shuffle(unrelated)
    assert not {(x["subject"], x["relation"]) for x in retain} & {(x["subject"], x["relation"]) for x in unrelated}
    write_jsonl(os.path.join(MODEL, "eval", "unlearn", "retain.jsonl"), retain)
    write_jsonl(os.path.join(MODEL, "eval", "unlearn", "unrelated.jsonl"), unrelated)
    print(f"eval/unlearn: retain {len(retain)} items ({len(retain) // 2} facts), unrelated {len(unrelated)} items; "
          f"left out: hazard neighbours {sorted(neighbours)}")


if __name__ == "__main__":
    main()
