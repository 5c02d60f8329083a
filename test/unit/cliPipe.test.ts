// The CLI's output arrives whole through a pipe: a slow reader (here `cat`) must get every byte
// of a large --json document, not the first 64 KiB a pipe holds before the process exits.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';

const repo = path.join(__dirname, '..', '..', '..');
const cliPath = path.join(repo, 'out', 'src', 'cli', 'main.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-pipe-'));
const env = { ...process.env, MECHEDIT_CACHE: path.join(tmp, 'cache') };
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/**
 * Runs a shell command line in which $RUN is the CLI tracing a 57-token prompt on the bundled
 * model with the logit lens's top 40 at every layer and position: ~2.2 MB of JSON in a fraction
 * of a second.
 */
function sh(line: string): { status: number | null; stdout: string; stderr: string } {
  const run = `"${process.execPath}" "${cliPath}" trace --default --provider cpu --prompt "${'the cat sat on the mat '.repeat(8).trim()}" --top 40 --json`;
  return spawnSync('bash', ['-c', line.replaceAll('$RUN', run)], { encoding: 'utf8', env, maxBuffer: 64 * 1024 * 1024 });
}

test('a JSON document over 1 MB arrives whole through a pipe, with exit status 0', () => {
  const toFile = path.join(tmp, 'trace.json');
  const direct = sh(`$RUN > "${toFile}"`);
  assert.equal(direct.status, 0, direct.stderr);
  const bytes = fs.statSync(toFile).size;
  assert.ok(bytes >= 1_000_000, `the document is ${bytes} bytes; the test needs ≥ 1 MB`);
  assert.equal((JSON.parse(fs.readFileSync(toFile, 'utf8')).layers as unknown[]).length, 6, 'a whole JSON document');

  const piped = sh('set -o pipefail; $RUN | cat | wc -c');
  assert.equal(piped.status, 0, piped.stderr);
  assert.equal(Number(piped.stdout.trim()), bytes, 'bytes through `| cat` = bytes written to a file');

  // A reader slower than the writer: the pipe fills many times over and the CLI waits for it.
  const slow = sh('set -o pipefail; $RUN | (sleep 1; cat) | wc -c');
  assert.equal(slow.status, 0, slow.stderr);
  assert.equal(Number(slow.stdout.trim()), bytes);
});

test('a reader that stops early (head) ends the CLI quietly, with no stack trace', () => {
  const r = sh('$RUN | head -c 100 > /dev/null; echo "status ${PIPESTATUS[0]}"');
  assert.doesNotMatch(r.stderr, /Error|at .*\.js:\d+/, r.stderr);
  assert.match(r.stdout, /status (0|141)\n/, 'exits (0 or SIGPIPE), does not hang or crash');
});
