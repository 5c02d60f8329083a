// The run commands as a user types them: `mechedit ort` with --shard / --resume / --limit,
// `mechedit merge` of its shards, and bad run folders refused with exit 2 and an error that names
// the file (never a stack trace).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';

const repo = path.join(__dirname, '..', '..', '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-runcli-'));
const env = { ...process.env, MECHEDIT_CACHE: path.join(tmp, 'cache') };
const targets = path.join(repo, 'models', 'default', 'eval', 'ort');
const evokeData = path.join(repo, 'models', 'default', 'eval', 'evoke.json');

interface Reply {
  status: number | null;
  json: { error?: { code: string; message: string; file?: string; field?: string }; [k: string]: unknown };
  stderr: string;
}

function cli(...args: string[]): Reply {
  const r = spawnSync(process.execPath, [path.join(repo, 'out', 'src', 'cli', 'main.js'), ...args, '--json'], { encoding: 'utf8', env });
  return { status: r.status, json: r.stdout ? JSON.parse(r.stdout) : {}, stderr: r.stderr };
}

function refused(r: Reply, file: string | undefined, message: RegExp): void {
  assert.equal(r.status, 2, r.stderr);
  assert.equal(r.json.error?.code, 'bad-input');
  assert.equal(r.json.error?.file, file);
  assert.match(r.json.error!.message, message);
  assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
}

test('mechedit ort --shard i/n, --resume and mechedit merge', () => {
  const shards = [0, 1].map((i) => path.join(tmp, `ort-${i}`));
  for (const [i, out] of shards.entries()) {
    const r = cli('ort', '--default', '--provider', 'cpu', '--target', targets, '--shard', `${i}/2`, '--out', out);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual((r.json.targets as { target: string }[]).map((t) => t.target), [['1_Veltrazine'], ['2_Dravokine']][i]);
  }
  const again = cli('ort', '--default', '--provider', 'cpu', '--target', targets, '--shard', '0/2', '--out', shards[0], '--resume');
  assert.equal(again.status, 0, again.stderr);
  refused(cli('ort', '--default', '--provider', 'cpu', '--target', targets, '--shard', '1/2', '--out', shards[0], '--resume'), path.join(shards[0], 'run.json'), /different run \(shard: 0\/2 ≠ 1\/2\)/);
  const merged = cli('merge', '--out', path.join(tmp, 'ort-merged'), ...shards);
  assert.equal(merged.status, 0, merged.stderr);
  assert.equal(merged.json.tool, 'ort');
  assert.equal(merged.json.cases, 2);
  refused(cli('merge', '--out', path.join(tmp, 'ort-merged-1'), shards[1]), undefined, /Shard 0\/2 is missing/);
  refused(cli('merge', '--out', path.join(tmp, 'ort-merged'), ...shards), path.join(tmp, 'ort-merged'), /already holds a run/);
  const none = cli('merge', '--out', path.join(tmp, 'nothing'));
  assert.equal(none.status, 2);
  assert.match(none.json.error!.message, /Nothing to merge/);
});

test('mechedit evoke --resume on a damaged cases.jsonl names the file and line', () => {
  const out = path.join(tmp, 'evoke');
  const first = cli('evoke', '--default', '--provider', 'cpu', '--data', evokeData, '--limit', '2', '--out', out);
  assert.equal(first.status, 0, first.stderr);
  const file = path.join(out, 'cases.jsonl');
  const [a, b] = fs.readFileSync(file, 'utf8').trim().split('\n');
  fs.writeFileSync(file, `${a}\n{oops\n${b}\n`);
  const r = cli('evoke', '--default', '--provider', 'cpu', '--data', evokeData, '--limit', '2', '--out', out, '--resume');
  refused(r, file, /Line 2 is not JSON/);
  assert.equal(r.json.error?.field, 'line 2');
});
