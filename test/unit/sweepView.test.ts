// What the panels show of a sweep root (core/jobs/sweepView.ts, the engine's 'sweep/view'): an
// EVOKE sweep (--method none, 2 shards, --limit 2, shards run by hand with the CLI, no Slurm)
// before anything ran (all missing, nothing to merge), after its shards (all finished, ready to
// merge), after `sweep merge` (the comparison read back equals what the merge returned and wrote to
// comparison.csv); and a sequential sweep's curves read from curve.jsonl, a half-written last line
// left out.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { sweepView } from '../../src/core/jobs/sweepView';

const repo = path.join(__dirname, '..', '..', '..');
const cliPath = path.join(repo, 'out', 'src', 'cli', 'main.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-sweepview-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const cli = (...args: string[]) => {
  const r = spawnSync(process.execPath, [cliPath, ...args], { encoding: 'utf8', env: { ...process.env, MECHEDIT_CACHE: path.join(tmp, 'cache') } });
  assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};

test('an EVOKE sweep: missing, then finished and mergeable, then merged with the comparison sweep merge wrote', () => {
  const root = path.join(tmp, 'evoke');
  cli('sweep', '--diagnostic', 'evoke', '--default', '--method', 'none', '--shards', '2', '--root', root, '--', '--limit', '2');
  const empty = sweepView(root);
  assert.deepEqual(empty.status.counts, { finished: 0, running: 0, stopped: 0, missing: 2 });
  assert.equal(empty.mergeable, false);
  assert.equal(empty.merged, undefined);
  assert.equal(empty.curves, undefined, 'EVOKE has no curves');

  for (const s of [0, 1]) cli('evoke', '--default', '--method', 'none', '--limit', '2', '--shard', `${s}/2`, '--resume', '--out', path.join(root, 'cells', 'none', `shard-${s}of2`));
  const done = sweepView(root);
  assert.deepEqual(done.status.counts, { finished: 2, running: 0, stopped: 0, missing: 0 });
  assert.equal(done.mergeable, true);
  assert.equal(done.merged, undefined, 'not merged yet');

  const merged = JSON.parse(cli('sweep', 'merge', root, '--json')) as { merge: { columns: string[]; cells: { cell: string; cases: number; values: Record<string, number> }[] } };
  const after = sweepView(root);
  assert.equal(after.mergeable, false, 'merged: nothing to merge');
  assert.ok(after.merged, 'the comparison is read back');
  assert.deepEqual(after.merged.columns, merged.merge.columns);
  assert.deepEqual(after.merged.cells.map((c) => [c.cell, c.cases, c.values]), merged.merge.cells.map((c) => [c.cell, c.cases, c.values]));
  assert.ok(after.merged.cells[0].cases > 0 && after.merged.columns.length > 0);
  // The same figures as the CSV that sweep merge wrote (its own formatting: 6 significant digits).
  const [head, row] = fs.readFileSync(after.merged.files.csv, 'utf8').trim().split('\n').map((l) => l.split(','));
  for (const k of after.merged.columns) {
    const i = head.indexOf(k);
    assert.ok(i > 0, `column ${k} in comparison.csv`);
    assert.equal(Number(row[i]), Number(after.merged.cells[0].values[k].toPrecision(6)), k);
  }

  // A merged folder gone: the comparison is no longer shown as merged.
  fs.rmSync(path.join(root, 'merged', 'none'), { recursive: true });
  assert.equal(sweepView(root).merged, undefined);
  assert.equal(sweepView(root).mergeable, true);
});

test('a sequential sweep: each cell\'s curve so far, a half-written last line left out', () => {
  const root = path.join(tmp, 'seq');
  cli('sweep', '--diagnostic', 'sequential', '--default', '--method', 'rome', 'ft', '--root', root);
  const run = path.join(root, 'cells', 'rome', 'run');
  fs.mkdirSync(run, { recursive: true });
  fs.writeFileSync(path.join(run, 'curve.jsonl'), '{"edits":0,"efficacy":10}\n{"edits":5,"efficacy":80}\n{"edits":10,"effi');
  const v = sweepView(root);
  assert.deepEqual(v.curves, [{ cell: 'rome', points: [{ edits: 0, efficacy: 10 }, { edits: 5, efficacy: 80 }] }, { cell: 'ft', points: [] }]);
  assert.deepEqual(v.status.tasks.map((t) => [t.cell, t.state, t.cases]), [['rome', 'stopped', 2], ['ft', 'missing', 0]]);
  assert.equal(v.mergeable, false);
});
