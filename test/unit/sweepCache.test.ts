// The shared cache under concurrency (issue 36): 8 processes started together on a cold
// MECHEDIT_CACHE, each asking `mechedit stats` for the same key statistics of the bundled model.
// One computes them (cached: false), the other 7 wait on the lock (cacheLock.ts) and read the file
// (cached: true); all 8 hold the same bytes of C; no lock or temp file is left behind. Without the
// lock every process finds no file and computes its own (8 × cached: false).

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';

const repo = path.join(__dirname, '..', '..', '..');
const cliPath = path.join(repo, 'out', 'src', 'cli', 'main.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-race-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface StatsOut {
  cached: boolean;
  file: string;
  count: number;
  cSha256: string;
}

function statsProcess(cache: string): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cliPath, 'stats', '--default', '--provider', 'cpu', '--threads', '1', '--layer', '2', '--samples', '2048', '--json'], { env: { ...process.env, MECHEDIT_CACHE: cache } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

test('8 processes racing on a cold cache compute the key statistics once and all read the same bytes', async () => {
  const cache = path.join(tmp, 'cache');
  const runs = await Promise.all(Array.from({ length: 8 }, () => statsProcess(cache)));
  runs.forEach((r, i) => assert.equal(r.code, 0, `process ${i}: ${r.err}`));
  const results = runs.map((r) => JSON.parse(r.out) as StatsOut);
  const computed = results.filter((r) => !r.cached).length;
  assert.equal(computed, 1, `computations: ${computed} of 8 processes computed the statistics`);
  assert.equal(new Set(results.map((r) => r.file)).size, 1, 'one cache file');
  assert.equal(new Set(results.map((r) => r.cSha256)).size, 1, 'the same bytes of C in every process');
  assert.ok(results[0].count >= 2048, `count ${results[0].count}`);
  const left = filesUnder(cache).filter((f) => /\.lock$|\.tmp$|\.stale-/.test(f));
  assert.deepEqual(left, [], 'no lock or temp file left');
  const stats = filesUnder(path.join(cache, 'stats'));
  assert.deepEqual(stats, [results[0].file], 'exactly one statistics file');
});
