#!/usr/bin/python3
"""Checks `mechedit predict` and `mechedit trace` on any checkpoint against tools/reference.py.

For each prompt: token ids from `mechedit tokenize`, then
  - predict: the top-10 next-token ids must be the reference's top-10 (same order where the
    reference's log-probs differ by more than the tolerance), log-probs within --tol (1e-3);
  - trace: the logit-lens top-1 id of every layer and position must equal the reference's
    (positions where the reference's top-2 margin is below --tol are reported, not failed).
Prints a table; exits 1 on any failure. Needs `npm run build` (dist/cli.js) and python3-torch.

  python3 tools/check_cli.py MODEL_DIR "prompt one" "prompt two" ...
"""
import json
import os
import subprocess
import sys

if "torch" not in sys.modules and sys.executable != "/usr/bin/python3" and os.path.exists("/usr/bin/python3"):
    try:
        import torch  # noqa: F401
    except ImportError:
        os.execv("/usr/bin/python3", ["/usr/bin/python3", *sys.argv])

import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference import Model  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLI = os.path.join(REPO, "dist", "cli.js")


def cli(*args):
    r = subprocess.run(["node", CLI, *args, "--json"], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"mechedit {' '.join(args[:1])} failed ({r.returncode}): {r.stderr.strip()}")
    return json.loads(r.stdout)


def main():
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model_dir")
    ap.add_argument("prompts", nargs="+")
    ap.add_argument("--tol", type=float, default=1e-3)
    a = ap.parse_args()
    torch.set_grad_enabled(False)
    ref = Model(a.model_dir)
    failures = 0
    print(f"| prompt | tokens | top-10 ids equal | max abs Δ log-prob | lens top-1 equal | ambiguous lens cells |")
    print("|---|---|---|---|---|---|")
    for prompt in a.prompts:
        ids = cli("tokenize", "--model", a.model_dir, "--text", prompt)["ids"]
        out = ref.forward(torch.tensor([ids]))
        lp = torch.log_softmax(out["logits"][0, -1].double(), -1)
        ref_top = torch.topk(lp, 10)
        ours = cli("predict", "--model", a.model_dir, "--prompt", prompt, "--top", "10")["next"]
        our_ids = [n["id"] for n in ours]
        delta = max(abs(n["logprob"] - float(lp[n["id"]])) for n in ours)
        # Same set, and the same order wherever the reference separates neighbours by more than tol.
        ids_ok = set(our_ids) == set(int(i) for i in ref_top.indices) and all(
            float(lp[our_ids[i]]) >= float(lp[our_ids[i + 1]]) - a.tol for i in range(9))
        trace = cli("trace", "--model", a.model_dir, "--prompt", prompt, "--top", "1")
        lens_total = lens_ok = ambiguous = 0
        for layer in trace["layers"]:
            ref_lp = out["lens_logprobs"][layer["layer"]][0]  # [s, V]
            for pos, cell in enumerate(layer["lens"]):
                lens_total += 1
                top2 = torch.topk(ref_lp[pos], 2)
                if cell["id"] == int(top2.indices[0]):
                    lens_ok += 1
                elif float(top2.values[0] - top2.values[1]) < a.tol:
                    ambiguous += 1
        ok = ids_ok and delta <= a.tol and lens_ok + ambiguous == lens_total
        failures += not ok
        short = prompt if len(prompt) <= 40 else prompt[:37] + "..."
        print(f"| {json.dumps(short)} | {len(ids)} | {'yes' if ids_ok else 'NO'} | {delta:.2e} | {lens_ok}/{lens_total} | {ambiguous} |")
    print(f"\n{'all agree' if not failures else f'{failures} prompt(s) disagree'} (tolerance {a.tol})")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
