// The CLI's output arrives whole through a pipe: a slow reader (here `cat`) must get every byte
// of a large --json document, not the first 64 KiB a pipe holds before the process exits.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';

const repo = path.join(__dirname, '..', '..', '..');
const cliPath = path.join(repo, 'out', 'src', 'cli', 'main.js');
const model = path.join(repo, 'test', 'fixtures', 'models', 'gpt2-tiny');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-pipe-'));
const env = { ...process.env, MECHEDIT_CACHE: path.join(tmp, 'cache') };

/** Runs a shell command line with the CLI as $CLI, the model as $MODEL and the text as $TEXT. */
function sh(line: string, text: string): { status: number | null; stdout: string; stderr: string } {
  return spawnSync('bash', ['-c', line], { encoding: 'utf8', env: { ...env, CLI: cliPath, MODEL: model, TEXT: text, NODE: process.execPath }, maxBuffer: 64 * 1024 * 1024 });
}

test('a JSON document over 1 MB arrives whole through a pipe, with exit status 0', () => {
  // 120 000 characters (under Linux's 128 KiB limit for one argument) → 120 000 tokens → ~2 MB of JSON.
  const text = 'a 1 '.repeat(30_000);
  const toFile = path.join(tmp, 'tokens.json');
  const direct = sh(`"$NODE" "$CLI" tokenize --model "$MODEL" --text "$TEXT" --json > "${toFile}"`, text);
  assert.equal(direct.status, 0, direct.stderr);
  const bytes = fs.statSync(toFile).size;
  assert.ok(bytes >= 1_000_000, `the document is ${bytes} bytes; the test needs ≥ 1 MB`);
  assert.equal((JSON.parse(fs.readFileSync(toFile, 'utf8')).ids as number[]).length, 120_000);

  const piped = sh(`set -o pipefail; "$NODE" "$CLI" tokenize --model "$MODEL" --text "$TEXT" --json | cat | wc -c`, text);
  assert.equal(piped.status, 0, piped.stderr);
  assert.equal(Number(piped.stdout.trim()), bytes, 'bytes through `| cat` = bytes written to a file');

  // A reader slower than the writer: the pipe fills many times over and the CLI waits for it.
  const slow = sh(`set -o pipefail; "$NODE" "$CLI" tokenize --model "$MODEL" --text "$TEXT" --json | (sleep 1; cat) | wc -c`, text);
  assert.equal(slow.status, 0, slow.stderr);
  assert.equal(Number(slow.stdout.trim()), bytes);
});

test('a reader that stops early (head) ends the CLI quietly, with no stack trace', () => {
  const r = sh(`"$NODE" "$CLI" tokenize --model "$MODEL" --text "$TEXT" --json | head -c 100 > /dev/null; echo "status \${PIPESTATUS[0]}"`, 'a 1 '.repeat(30_000));
  assert.doesNotMatch(r.stderr, /Error|at .*\.js:\d+/, r.stderr);
  assert.match(r.stdout, /status (0|141)\n/, 'exits (0 or SIGPIPE), does not hang or crash');
});
