#!/usr/bin/python3
"""Writes the default model's knowledge-probe cases, models/default/eval/probes.json (seeded,
byte-reproducible): counterfactual edits (s, r, o -> o*), each with the prompts that measure the
knowledge-paradigm problems (shared METHODS.md "Knowledge-paradigm probes"; the metrics are defined in
src/core/diagnostics/probes.ts, the reader is src/core/diagnostics/probesData.ts).

Record (the format `mechedit probes --cases FILE` reads):
  {"case_id": 0,
   "requested_rewrite": {"prompt": "{} was born in", "subject": s, "relation_id": "birthplace",
                         "target_new": {"str": o*}, "target_true": {"str": o}},
   "forms": [every template of r filled with s, and every question as "Question: …\\nAnswer:"],
   "candidates": [o*, o, other objects of r's type]      the answers each form's top-1 is taken over,
   "reversal": {"relation": "city_country", "prompts": [inverse templates / questions filled with o*],
                "answer": s, "answer_before": the world's answer for o*}
             | {"absent": "why there is no reversal probe"},
   "ripple": [{"relation": two-hop relation, "prompt": filled, "new": answer through o*, "old": through o}],
   "same_subject": [{"relation": r', "prompt": filled, "answer": o'}]}

Cases (54): 6 per person relation (birthplace, citizenship, occupation, employer, native_language;
o* as tools/world/fine_ked.py chooses it), 12 capital edits (country -> city; o* a city of another
country), and the 12 facts of the two hazard concepts (Veltrazine, Dravokine; creator, ingredient,
effect, origin, color, container) with o* = the fact of the concept ROCR redirects it to
(Brindlecake, Sunmallow): those cases are what a ROCR redirection edit does.

Reversal needs an inverse with one answer that the world teaches. In world.json the 1-to-1 relations
are capital, official_language and the concept relations (each object has one subject), but only
capital has a taught inverse: a capital city's city_country is its country ("{o} is a city in",
"Question: In which country is {o}?"). Person relations are many-to-one (e.g. 14 people share a
birth city), so "who was born in X?" has no single answer: their reversal is marked absent, as are
official_language and the concept relations (no language -> country or person -> concept relation
in the world: the model was never asked one).

Only what the bundled model knows is kept (top-1 on every answer token, teacher-forced, torch via
tools/reference.py, as fine_ked.py): the edit prompt (else the case is dropped), each form, the
reversal of the true fact ("{o} is a city in" -> s; else the reversal is marked absent), each ripple
question's old answer and each same-subject fact. So the file depends on models/default's weights.

Usage: /usr/bin/python3 tools/world/probes.py [--check]   (--check: rebuild and compare, write nothing)
"""
import json
import os
import random
import sys

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import fine_ked as FK  # noqa: E402  (Knows, new_object, the world's paths)
import generate as G  # noqa: E402
from output import write_or_check  # noqa: E402

OUT = os.path.join(FK.MODEL, "eval", "probes.json")
SEED = 20261204
PER_PERSON_RELATION = 6
CAPITALS = 12
MAX_CANDIDATES = 16
CONCEPT_RELS = ["creator", "ingredient", "effect", "origin", "color", "container"]
POOL = dict(FK.POOL, person="people", color="colors", container="containers", ingredient="ingredients", effect="effects")
MANY_TO_ONE = "{rel} is many-to-one in this world ({n} people share one {obj} at most): the inverse question has no single answer"
NO_INVERSE = "{rel} is one-to-one in this world, but the world has no inverse relation ({obj} -> {subj}): the model was never asked one"


def forms(spec, s):
    return [G.decl(t, s) for t in spec["templates"]] + [G.qa(q, s) for q in spec["questions"]]


def follow(F, start, path):
    x = start
    for rel in path:
        x = F[(x, rel)]
    return x


def build():
    world = json.load(open(FK.WORLD))
    rels, hops = world["relations"], world["two_hop_relations"]
    F = {(f["subject"], f["relation"]): f["object"] for f in world["facts"]}
    held = {(f["subject"], f["relation"]): f["heldout_template"] for f in world["facts"]}
    ents = world["entities"]
    people = list(ents["people"])
    knows = FK.Knows()
    r = random.Random(SEED)
    stats = {"dropped": 0, "forms": 0, "ripple": 0, "same": 0}

    def known(items, prompt, answer):
        keep = [x for x in items if knows(prompt(x), answer(x))]
        return keep, len(items) - len(keep)

    def candidates(rel, o, new):
        pool = [x for x in ents[POOL[rels[rel]["object_type"]]] if x not in (o, new)]
        pool = pool if isinstance(pool[0], str) else [x["name"] for x in pool]
        return [new, o] + sorted(r.sample(pool, min(MAX_CANDIDATES - 2, len(pool))))

    def ripple(s, rel, o, new):
        """Two-hop questions through the edited fact: paths starting with rel (s is the person), or
        (capital edits) paths ending with ... -> s -capital-> for people whose country is s."""
        out = []
        for name, spec in hops.items():
            path = spec["path"]
            if rel in world["relations"] and rels[rel]["subject_type"] == "person":
                if path[0] != rel:
                    continue
                subjects = [(s, follow(F, new, path[1:]), follow(F, o, path[1:]))]
            elif rel == "capital" and path[-1] == "capital":
                via = [p for p in people if follow(F, p, path[:-1]) == s]
                subjects = [(p, new, o) for p in sorted(r.sample(via, min(2, len(via))))]
            else:
                continue
            for subj, a_new, a_old in subjects:
                if a_new == a_old:
                    continue
                for p in forms(spec, subj):
                    out.append({"relation": name, "prompt": p, "new": a_new, "old": a_old})
        keep, lost = known(out, lambda x: x["prompt"], lambda x: x["old"])
        stats["ripple"] += lost
        return keep

    def same_subject(s, rel, others):
        facts = []
        for rel2 in others:
            if rel2 == rel or (s, rel2) not in F:
                continue
            t = r.choice([t for t in rels[rel2]["templates"] if t != held[(s, rel2)]])
            facts.append({"relation": rel2, "prompt": G.decl(t, s), "answer": F[(s, rel2)]})
        keep, lost = known(facts, lambda x: x["prompt"], lambda x: x["answer"])
        stats["same"] += lost
        return keep

    def reversal(s, rel, o, new):
        spec = rels[rel]
        if spec["subject_type"] == "person":
            n = max(sum(1 for x in people if F[(x, rel)] == y) for y in set(F[(x, rel)] for x in people))
            return {"absent": MANY_TO_ONE.format(rel=rel, n=n, obj=spec["object_type"])}
        if rel != "capital":
            return {"absent": NO_INVERSE.format(rel=rel, obj=spec["object_type"], subj=spec["subject_type"])}
        inv = rels["city_country"]
        if not all(knows(p, s) for p in forms(inv, o)):
            return {"absent": f"the model does not answer the inverse of the true fact ({o} is a city in {s})"}
        return {"relation": "city_country", "prompts": forms(inv, new), "answer": s, "answer_before": F[(new, "city_country")]}

    def case(s, rel, new, others):
        spec, o = rels[rel], F[(s, rel)]
        tmpl = [t for t in spec["templates"] if t != held[(s, rel)]][0]
        if not knows(G.decl(tmpl, s), o):
            stats["dropped"] += 1
            return None
        fs, lost = known(forms(spec, s), lambda p: p, lambda p: o)
        stats["forms"] += lost
        return {
            "case_id": 0,
            "requested_rewrite": {"prompt": tmpl, "subject": s, "relation_id": rel, "target_new": {"str": new}, "target_true": {"str": o}},
            "forms": fs,
            "candidates": candidates(rel, o, new),
            "reversal": reversal(s, rel, o, new),
            "ripple": ripple(s, rel, o, new),
            "same_subject": same_subject(s, rel, others),
        }

    cases = []
    order = people[:]
    r.shuffle(order)
    for rel in FK.PERSON_RELS:
        n = 0
        for s in order:
            if n == PER_PERSON_RELATION:
                break
            if any(c["requested_rewrite"]["subject"] == s for c in cases):
                continue
            c = case(s, rel, FK.new_object(world, F, s, rel, r), FK.PERSON_RELS)
            if c:
                cases.append(c)
                n += 1
    countries = sorted(ents["countries"])
    for s in sorted(r.sample(countries, CAPITALS)):
        o = F[(s, "capital")]
        new = r.choice(sorted(c for c in ents["cities"] if F[(c, "city_country")] != s))
        c = case(s, "capital", new, ["official_language"])
        if c:
            cases.append(c)
    for concept in ents["concepts"]:
        if "redirect" not in concept:
            continue
        for rel in CONCEPT_RELS:
            c = case(concept["name"], rel, F[(concept["redirect"], rel)], CONCEPT_RELS)
            if c:
                cases.append(c)
    for i, c in enumerate(cases):
        c["case_id"] = i
    with_rev = sum(1 for c in cases if "prompts" in c["reversal"])
    print(f"cases {len(cases)}: {with_rev} with a reversal probe, {sum(1 for c in cases if c['ripple'])} with ripple questions "
          f"({sum(len(c['ripple']) for c in cases)}), forms {sum(len(c['forms']) for c in cases)}, same-subject facts "
          f"{sum(len(c['same_subject']) for c in cases)}; left out as not known by the model: edit facts {stats['dropped']}, "
          f"forms {stats['forms']}, ripple questions {stats['ripple']}, same-subject facts {stats['same']} ({knows.asked} checked)")
    return cases


def main():
    write_or_check(OUT, build())


if __name__ == "__main__":
    main()
