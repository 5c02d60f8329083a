#!/usr/bin/python3
"""Writes the default model's FINE-KED cases, models/default/eval/fine_ked.json (seeded, byte-reproducible):
counterfactual edits (s, r, o -> o*) of people, each with the same subject's facts of the other person
relations (s, r', o'), graded easy / middle / hard by how close r' is to r (DiKE, ICLR 2026, FINE-KED).

Record (the format `mechedit fine-ked` reads; src/core/diagnostics/fineKedData.ts validates it):
  {"case_id": 0,
   "requested_rewrite": {"prompt": "{} was born in", "subject": s, "relation_id": "birthplace",
                         "target_new": {"str": o*}, "target_true": {"str": o}},
   "paraphrase_prompts": [the held-out template, another template]          (filled, CounterFact's),
   "neighborhood_prompts": [other people whose r is also o]                 (answer o, CounterFact's),
   "fine_grained": [{"relation": r', "level": "easy"|"middle"|"hard", "prompt": filled, "answer": o'}]}

Grading rule (how close r' is to r), from how generate.py ties the person relations' objects:
  hard    r and r' are places / languages tied directly in the world: birthplace-citizenship
          (citizenship = the birth city's country for 52.5 % of people; chance 6 %) and
          citizenship-native_language (native language = the citizenship's official language for
          43.6 %; chance 6 %).
  middle  the same domain, tied only indirectly or not at all: birthplace-native_language (through
          two steps, city -> country -> official language, 23.6 %), occupation-employer (both work;
          drawn independently).
  easy    different domains (work vs place / language): drawn independently.

o* is another object of the same type that does not trivially agree with the subject's other facts:
a birthplace in a country that is neither the old birth country nor the citizenship; a citizenship
that is not the birth country and whose official language is not the native language; a native
language that is the official language of neither the citizenship nor the birth country; another
occupation; an employer headquartered in another city.

Only facts the bundled model knows are kept: the edit fact, every fine-grained fact and every
neighbour prompt must be answered top-1 on every token (teacher-forced, tools/reference.py in
torch); a case loses the facts and neighbours that are not, and is dropped when its edit fact is
not. So the file depends on models/default's weights: regenerate it after retraining.

Reads models/default/world.json, tokenizer.json, model.safetensors.
Usage: /usr/bin/python3 tools/world/fine_ked.py [--check]   (--check: rebuild and compare, write nothing)
       /usr/bin/python3 tools/world/fine_ked.py --krd-world OUT.json   (world.json without the FINE-KED subjects:
       the shipped KRD module is trained on it, `mechedit dike train --facts OUT.json --layer 0`)
"""
import json
import os
import random
import sys

sys.dont_write_bytecode = True
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
import generate as G  # noqa: E402
from reference import Model  # noqa: E402
import torch  # noqa: E402
from output import write_or_check  # noqa: E402

MODEL = os.path.join(G.ROOT, "models", "default")
OUT = os.path.join(MODEL, "eval", "fine_ked.json")
WORLD = os.path.join(MODEL, "world.json")
SEED = 20261203
PER_RELATION = 30          # cases per edited relation (5 person relations -> 150 cases)
N_NEIGHBOURS = 3
PERSON_RELS = ["birthplace", "citizenship", "occupation", "employer", "native_language"]
HARD = [{"birthplace", "citizenship"}, {"citizenship", "native_language"}]
MIDDLE = [{"birthplace", "native_language"}, {"occupation", "employer"}]
POOL = {"city": "cities", "country": "countries", "org": "organisations", "language": "languages", "occupation": "occupations"}


def level(r, r2):
    pair = {r, r2}
    return "hard" if pair in HARD else "middle" if pair in MIDDLE else "easy"


def decl(t, s):
    return t.replace("{}", s)


def new_object(world, F, s, rel, r):
    """o*: same type as o, not trivially consistent with the subject's other facts (module docstring)."""
    ents = world["entities"]
    o = F[(s, rel)]
    pool = [x for x in ents[POOL[world["relations"][rel]["object_type"]]] if x != o]
    cc = lambda c: F[(c, "city_country")]
    ol = lambda k: F[(k, "official_language")]
    if rel == "birthplace":
        pool = [x for x in pool if cc(x) not in (cc(o), F[(s, "citizenship")])]
    elif rel == "citizenship":
        pool = [x for x in pool if x != cc(F[(s, "birthplace")]) and ol(x) != F[(s, "native_language")]]
    elif rel == "native_language":
        pool = [x for x in pool if x not in (ol(F[(s, "citizenship")]), ol(cc(F[(s, "birthplace")])))]
    elif rel == "employer":
        pool = [x for x in pool if F[(x, "headquarters")] != F[(o, "headquarters")]]
    return r.choice(pool)


class Knows:
    """Does the bundled model answer `prompt` with " " + answer, top-1 on every token (teacher-forced)?"""

    def __init__(self):
        torch.set_grad_enabled(False)
        torch.set_num_threads(1)
        self.model = Model(MODEL)
        self.enc = G.Encoder(json.load(open(os.path.join(MODEL, "tokenizer.json"))))
        self.asked = 0

    def __call__(self, prompt, answer):
        self.asked += 1
        p, a = self.enc.encode(prompt), self.enc.encode(" " + answer)
        logits = self.model.forward(torch.tensor([p + a]), lens=False)["logits"][0]
        top = logits[len(p) - 1: len(p) + len(a) - 1].argmax(-1).tolist()
        return top == a


def build():
    world = json.load(open(os.path.join(MODEL, "world.json")))
    rels = world["relations"]
    F = {(f["subject"], f["relation"]): f["object"] for f in world["facts"]}
    held = {(f["subject"], f["relation"]): f["heldout_template"] for f in world["facts"]}
    people = list(world["entities"]["people"])
    knows = Knows()
    r = random.Random(SEED)
    order = people[:]
    r.shuffle(order)
    cases, dropped, lost = [], 0, {"fine_grained": 0, "neighbours": 0}
    count = {rel: 0 for rel in PERSON_RELS}
    for k, s in enumerate(order):
        rel = PERSON_RELS[k % len(PERSON_RELS)]
        if count[rel] >= PER_RELATION:
            if all(v >= PER_RELATION for v in count.values()):
                break
            continue
        spec, o = rels[rel], F[(s, rel)]
        new = new_object(world, F, s, rel, r)
        trained = [t for t in spec["templates"] if t != held[(s, rel)]]
        tmpl = trained[0]
        para = [decl(held[(s, rel)], s), decl(r.choice(trained[1:]), s)]
        fine = []
        for rel2 in PERSON_RELS:
            if rel2 == rel:
                continue
            t2 = r.choice([t for t in rels[rel2]["templates"] if t != held[(s, rel2)]])
            fine.append({"relation": rel2, "level": level(rel, rel2), "prompt": decl(t2, s), "answer": F[(s, rel2)]})
        same = sorted(x for x in people if x != s and F[(x, rel)] == o)
        neigh = [decl(r.choice(spec["templates"]), x) for x in r.sample(same, min(N_NEIGHBOURS, len(same)))]
        if not knows(decl(tmpl, s), o):
            dropped += 1
            continue
        kept = [f for f in fine if knows(f["prompt"], f["answer"])]
        kept_n = [p for p in neigh if knows(p, o)]
        lost["fine_grained"] += len(fine) - len(kept)
        lost["neighbours"] += len(neigh) - len(kept_n)
        cases.append({
            "case_id": len(cases),
            "requested_rewrite": {"prompt": tmpl, "subject": s, "relation_id": rel, "target_new": {"str": new}, "target_true": {"str": o}},
            "paraphrase_prompts": para,
            "neighborhood_prompts": kept_n,
            "fine_grained": kept,
        })
        count[rel] += 1
    levels = {lv: sum(1 for c in cases for f in c["fine_grained"] if f["level"] == lv) for lv in ["easy", "middle", "hard"]}
    with_level = {lv: sum(1 for c in cases if any(f["level"] == lv for f in c["fine_grained"])) for lv in levels}
    print(f"cases {len(cases)} ({', '.join(f'{k} {v}' for k, v in count.items())}); fine-grained facts {levels}, "
          f"cases with each level {with_level}; left out as not known by the model: edit facts {dropped}, "
          f"fine-grained facts {lost['fine_grained']}, neighbour prompts {lost['neighbours']} ({knows.asked} facts checked)")
    return cases


def krd_training_world(cases, out):
    """world.json without the FINE-KED subjects' facts: what the shipped KRD module (DiKE) is trained on,
    so that FINE-KED measures DiKE on subjects its disentangler never saw (the paper's overlap: 1.39 %)."""
    world = json.load(open(WORLD))
    held = {c["requested_rewrite"]["subject"] for c in cases}
    world["facts"] = [f for f in world["facts"] if f["subject"] not in held]
    world["two_hop_facts"] = [f for f in world.get("two_hop_facts", []) if f.get("subject") not in held]
    with open(out, "w") as f:
        json.dump(world, f, indent=1)
    print(f"wrote {out}: {len(world['facts'])} facts, the {len(held)} FINE-KED subjects left out")


def main():
    if "--krd-world" in sys.argv:
        krd_training_world(json.load(open(OUT)), sys.argv[sys.argv.index("--krd-world") + 1])
        return
    write_or_check(OUT, build())


if __name__ == "__main__":
    main()
