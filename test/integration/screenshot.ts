// Screenshots of the workbench, requested from a test running in the extension host.
//
// Handshake with scripts/vscode/run-tests.mjs (which owns the browser):
//   1. The test writes <requests>/<id>.json = {"name": "<name>", "path": "<results>/<name>.png"}
//      (written to a temp name and renamed, so the runner never reads half a file).
//   2. The runner polls <requests>, takes a full-page screenshot to "path", then writes
//      <requests>/<id>.done = {"ok": true} or {"ok": false, "error": "..."}.
//   3. The test sees the .done file, removes both files and resolves.
// <requests> = $MECHEDIT_SCREENSHOT_REQUESTS and <results> = $MECHEDIT_TEST_RESULTS, both set by
// run-tests.mjs for code-server; fallbacks: <repo>/test-results/.requests and <repo>/test-results.
// Never fails a test: after ~20 s without an answer (e.g. no runner, as under
// @vscode/test-electron) it logs a warning and resolves.
import * as fs from 'node:fs';
import * as path from 'node:path';

const WAIT_MS = 20_000;
const POLL_MS = 100;
let counter = 0;

function repoRoot(): string {
  // Compiled to <repo>/out/test/integration/; the first folder up with a package.json is the repo.
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) {
    dir = path.dirname(dir);
  }
  return dir;
}

/** Saves `<results>/<name>.png` (name: letters, digits, `.`, `_`, `-`; others become `-`). */
export async function screenshot(name: string): Promise<void> {
  const safe = name.replace(/[^A-Za-z0-9._-]/g, '-') || 'screenshot';
  const results = process.env.MECHEDIT_TEST_RESULTS || path.join(repoRoot(), 'test-results');
  const requests = process.env.MECHEDIT_SCREENSHOT_REQUESTS || path.join(results, '.requests');
  const target = path.join(results, `${safe}.png`);
  const id = `${Date.now()}-${process.pid}-${counter++}`;
  const request = path.join(requests, `${id}.json`);
  const done = path.join(requests, `${id}.done`);

  fs.mkdirSync(requests, { recursive: true });
  fs.mkdirSync(results, { recursive: true });
  fs.writeFileSync(`${request}.tmp`, JSON.stringify({ name: safe, path: target }));
  fs.renameSync(`${request}.tmp`, request);

  const deadline = Date.now() + WAIT_MS;
  while (Date.now() < deadline) {
    if (fs.existsSync(done)) {
      let answer: { ok?: boolean; error?: string } = {};
      try {
        answer = JSON.parse(fs.readFileSync(done, 'utf8')) as typeof answer;
      } catch {
        // a .done file is written atomically; treat an unreadable one as an error answer
      }
      fs.rmSync(done, { force: true });
      fs.rmSync(request, { force: true });
      if (!answer.ok) {
        console.warn(`[screenshot] ${safe}: ${answer.error ?? 'runner reported a failure'}`);
      }
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  fs.rmSync(request, { force: true });
  console.warn(`[screenshot] ${safe}: no answer from the test runner within ${WAIT_MS / 1000} s; skipped`);
}
