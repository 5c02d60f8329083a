"""Writing a generated eval file, or checking that it is up to date (`--check`): shared by the generators."""
import json
import os
import sys


def write_or_check(out, data):
    """Writes `data` as indented JSON to `out`; with --check only compares and exits 1 when it differs."""
    text = json.dumps(data, indent=1) + "\n"
    name = os.path.basename(out)
    if "--check" in sys.argv:
        same = os.path.exists(out) and open(out).read() == text
        print(f"{name} is up to date" if same else f"{name} DIFFERS from a rebuild")
        sys.exit(0 if same else 1)
    with open(out, "w") as f:
        f.write(text)
    print(f"wrote {out}")
