#!/usr/bin/python3
"""Writes models/default/corpus.txt: the world's declarative training sentences (one per line),
the default corpus for key statistics C = E[kkᵀ] (`mechedit stats --default`, edit health).

  python3 tools/world/corpus.py
"""
import json
import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODEL = os.path.join(ROOT, "models", "default")

seen = set()
lines = []
with open(os.path.join(MODEL, "facts.jsonl")) as f:
    for line in f:
        p = json.loads(line)
        if p["form"] != "declarative" or p["split"] != "train":
            continue
        sentence = f"{p['prompt']} {p['answer']}."
        if sentence not in seen:
            seen.add(sentence)
            lines.append(sentence)
with open(os.path.join(MODEL, "corpus.txt"), "w") as f:
    f.write("\n".join(lines) + "\n")
print(f"{len(lines)} sentences -> models/default/corpus.txt")
