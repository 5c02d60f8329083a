#!/usr/bin/env bash
# Sets up and runs every test: the README's test command, and what CI (.ci/run) runs.
# Works on a fresh Debian 12 machine with Node 20 / npm 11 and only the npm registry and Debian's
# packages reachable: it installs what it needs itself.
#   1. npm ci (onnxruntime-node's CUDA download is skipped: ONNXRUNTIME_NODE_INSTALL=skip), then
#      scripts/vscode/setup.sh: Chromium (+ its SwiftShader Vulkan driver and libvulkan1 for the
#      WebGPU tests), Node 24 and code-server, cached under .vscode-test/
#   2. build (esbuild bundles), compile (tsc → out/), type-check, lint (the layer rules), while
#      step 1's setup runs
#   3. unit tests (node:test), with golden tests against the PyTorch reference's fixtures, and
#      bench/gpu-check.sh in its "no GPU" mode (CI has no GPU) and its CPU-only mode (--small)
#   4. a one-node Slurm (scripts/slurm/setup.sh: Debian's slurm-wlm + munge) and the sweep test
#      through it (test/slurm/, while the unit tests run); where setup.sh cannot run (not root, no apt) it prints why and the
#      test prints that reason and skips; where it started Slurm, a missing Slurm fails the test
#   5. the .vsix (vsce)
#   6. the integration suite inside a real VS Code (code-server + Chromium)
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n=== %s\n' "$*"; }

step "npm ci"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund
else
  echo "node_modules is up to date"
fi

# The machine has few cores: work that mostly waits runs beside work that computes. Each
# background job writes its log to .ci-logs/ and is waited for (and its exit status checked)
# before anything that needs it.
mkdir -p .ci-logs
trap 'kill $(jobs -p) 2>/dev/null || true' EXIT   # a failed step leaves no background job running
elapsed() { echo "($((SECONDS - $1)) s)"; }

step "system packages, Node 24 and code-server (scripts/vscode/setup.sh), beside build, compile, type-check, lint"
t0=$SECONDS
bash scripts/vscode/setup.sh > .ci-logs/setup.log 2>&1 &
setup_pid=$!
npm run --silent build
npm run --silent compile
npm run --silent typecheck
npm run --silent lint
echo "build, compile, type-check, lint done $(elapsed "$t0")"
if ! wait "$setup_pid"; then cat .ci-logs/setup.log; echo "scripts/vscode/setup.sh failed" >&2; exit 1; fi
cat .ci-logs/setup.log
echo "setup done $(elapsed "$t0")"

step "Slurm: a one-node cluster (scripts/slurm/setup.sh); its sweep test (test/slurm/) runs beside the unit tests"
t0=$SECONDS
set +e
slurm_log=$(bash scripts/slurm/setup.sh 2>&1)
slurm_rc=$?
set -e
printf '%s\n' "$slurm_log"
case $slurm_rc in
  0) export MECHEDIT_SLURM=1 ;;
  3) export MECHEDIT_SLURM_SKIP="$(printf '%s\n' "$slurm_log" | sed -n 's/^slurm setup: skipped: //p' | tail -n 1)" ;;
  *) echo "scripts/slurm/setup.sh failed (exit $slurm_rc)" >&2; exit 1 ;;
esac
npm run --silent test:slurm > .ci-logs/slurm.log 2>&1 &
slurm_pid=$!

step "unit tests (node:test, two test files at a time: each mostly uses one core)"
npm run --silent test:unit

step "Slurm sweep test (started before the unit tests)"
slurm_ok=0
wait "$slurm_pid" || slurm_ok=$?
cat .ci-logs/slurm.log
[ "$slurm_ok" = 0 ] || { echo "the Slurm sweep test failed (exit $slurm_ok)" >&2; exit 1; }
echo "Slurm step $(elapsed "$t0")"

step "GPU check (bench/gpu-check.sh): 'no GPU' here, then its table on the CPU alone (tiny shapes)"
if [ -e /dev/nvidiactl ]; then
  echo "an NVIDIA device is present: run bash bench/gpu-check.sh by hand (it takes minutes)"
else
  out=$(bash bench/gpu-check.sh)
  echo "$out"
  [[ "$out" == "no GPU: "* ]]
fi
table=$(bash bench/gpu-check.sh --providers cpu --small 2>/dev/null)
echo "$table"
grep -q '^| opens |  | ✓ |$' <<<"$table" && grep -q '^| unlearning step' <<<"$table" && ! grep -q '✗' <<<"$table"

step "package the .vsix"
npm run --silent package 2>&1 | grep -E 'DONE|ERROR|WARNING' || true
test -f dist/mechedit-linux-x64.vsix

step "VS Code integration suite (code-server)"
npm run --silent test:vscode
