// Preemption (issue 36): SIGTERM to a running `mechedit evoke` (ROME per case, a real child
// process) stops it at the next case boundary with its records flushed and exit code 75; the same
// command with --resume then finishes, and its run folder holds the same results as an
// uninterrupted run's (every case line, and the summary's figures).

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';

const repo = path.join(__dirname, '..', '..', '..');
const cliPath = path.join(repo, 'out', 'src', 'cli', 'main.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-preempt-'));
const env = { ...process.env, MECHEDIT_CACHE: path.join(tmp, 'cache') };
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const args = (out: string) => [cliPath, 'evoke', '--default', '--provider', 'cpu', '--threads', '1', '--method', 'rome', '--preset', 'paper', '--limit', '4', '--out', out];
const lines = (dir: string) => (fs.existsSync(path.join(dir, 'cases.jsonl')) ? fs.readFileSync(path.join(dir, 'cases.jsonl'), 'utf8').split('\n').filter(Boolean) : []);
const sorted = (dir: string) => lines(dir).map((l) => JSON.parse(l) as { kind: string; caseId: number }).sort((a, b) => (a.kind === b.kind ? a.caseId - b.caseId : a.kind < b.kind ? -1 : 1));
function figures(dir: string): unknown {
  const { config: _c, ...rest } = JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8')) as Record<string, unknown>;
  return rest;
}

test('SIGTERM mid-run exits 75 with the finished cases saved; --resume gives the uninterrupted result', async () => {
  const whole = path.join(tmp, 'whole');
  const ref = spawnSync(process.execPath, args(whole), { env, encoding: 'utf8' });
  assert.equal(ref.status, 0, ref.stderr);
  const total = lines(whole).length;
  assert.ok(total >= 6, `the reference run has ${total} cases`);

  const cut = path.join(tmp, 'cut');
  const child = spawn(process.execPath, args(cut), { env });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  // SIGTERM once the first case is on disk (the key statistics are cached by the reference run).
  for (let t = 0; lines(cut).length < 1; t++) {
    assert.ok(t < 1200, `no case written within 120 s: ${err}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGTERM');
  const code = await exited;
  assert.equal(code, 75, `exit code after SIGTERM (stderr: ${err.slice(-500)})`);
  assert.match(err, /SIGTERM: stopping at the next case boundary/);
  const kept = lines(cut).length;
  assert.ok(kept >= 1 && kept < total, `${kept} of ${total} cases saved before the stop`);
  assert.ok(!fs.existsSync(path.join(cut, 'summary.json')), 'a stopped run has no summary.json');
  assert.ok(fs.readFileSync(path.join(cut, 'cases.jsonl'), 'utf8').endsWith('\n'), 'every saved line is complete');

  const resumed = spawnSync(process.execPath, [...args(cut), '--resume'], { env, encoding: 'utf8' });
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.deepEqual(sorted(cut), sorted(whole), 'the same case results as the uninterrupted run');
  assert.deepEqual(figures(cut), figures(whole), 'the same summary');
});
