#!/usr/bin/env bash
# Sets up and runs every test: the README's test command, and what CI (.ci/run) runs.
# Works on a fresh Debian 12 machine with Node 20 / npm 11 and only the npm registry and Debian's
# packages reachable: it installs what it needs itself.
#   1. npm ci (onnxruntime-node's CUDA download is skipped: ONNXRUNTIME_NODE_INSTALL=skip)
#   2. build (esbuild bundles), compile (tsc → out/), type-check, lint (the layer rules)
#   3. unit tests (node:test)
#   4. the .vsix (vsce)
#   5. the integration suite inside a real VS Code (code-server + Chromium, set up by scripts/vscode/setup.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n=== %s\n' "$*"; }

step "npm ci"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund
else
  echo "node_modules is up to date"
fi

step "build, compile, type-check, lint"
npm run --silent build
npm run --silent compile
npm run --silent typecheck
npm run --silent lint

step "unit tests (node:test)"
npm run --silent test:unit

step "package the .vsix"
npm run --silent package 2>&1 | grep -E 'DONE|ERROR|WARNING' || true
test -f dist/mechedit-linux-x64.vsix

step "VS Code integration suite (code-server)"
bash scripts/vscode/setup.sh
npm run --silent test:vscode
