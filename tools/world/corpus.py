#!/usr/bin/python3
"""Writes models/default/corpus.txt: the default corpus for key statistics C = E[kkᵀ]
(`mechedit stats --default`, ROME's and MEMIT's C, ROCR's covariance regulariser, edit health).

It holds every training item of facts.jsonl in every form the model was trained on (declarative
sentences, fill-in-the-blank, questions, multiple choice, true/false, two-hop), prompt and answer,
in a seeded random order, one document per paragraph (blank-line separated: a multiple-choice
item spans lines). C then covers the contexts the model is used in, the answer positions of
questions included, and not only declarative sentences.

  python3 tools/world/corpus.py
"""
import json
import os
import random

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODEL = os.path.join(ROOT, "models", "default")

seen = set()
docs = []
with open(os.path.join(MODEL, "facts.jsonl")) as f:
    for line in f:
        p = json.loads(line)
        if p["split"] != "train":
            continue
        end = "." if p["form"] in ("declarative", "two_hop") else ""
        doc = f"{p['prompt']} {p['answer']}{end}"
        if doc not in seen:
            seen.add(doc)
            docs.append(doc)
random.Random(0).shuffle(docs)
with open(os.path.join(MODEL, "corpus.txt"), "w") as f:
    f.write("\n\n".join(docs) + "\n")
print(f"{len(docs)} documents -> models/default/corpus.txt")
