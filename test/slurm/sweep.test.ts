// A sweep through a real Slurm (issue 36), started by scripts/slurm/setup.sh: `mechedit sweep`
// writes the array job for EVOKE over none, rome-paper and rome-tuned (3 cells × 3 shards, the
// first 3 records of each file, on the bundled model, on a cold shared cache), sbatch --test-only
// accepts it, sbatch runs it; while it runs, one ROME task is requeued with `scontrol requeue`
// once it has saved a case (it stops at the case boundary on SIGTERM and resumes on restart).
// Then: `sweep status` reports every task finished, `sweep merge` joins each cell, and each merged
// cell equals the unsharded run of that cell (every case result and the summary's figures).
//
// Run by scripts/test.sh after setup.sh: MECHEDIT_SLURM=1 means Slurm is expected (missing:
// the test fails); otherwise, without sbatch, the test prints MECHEDIT_SLURM_SKIP (setup.sh's
// reason) and skips.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';

const repo = path.join(__dirname, '..', '..', '..');
const cliPath = path.join(repo, 'out', 'src', 'cli', 'main.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-slurm-'));
const env = { ...process.env, MECHEDIT_CACHE: path.join(tmp, 'cache') };
after(() => {
  if (!process.env.MECHEDIT_KEEP) fs.rmSync(tmp, { recursive: true, force: true });
});

const LIMIT = '3';
const CELLS = [{ id: 'none', method: 'none' }, { id: 'rome-paper', method: 'rome', preset: 'paper' }, { id: 'rome-tuned', method: 'rome', preset: 'tuned' }];
const SHARDS = 3;
const MODEL = ['--default', '--provider', 'cpu', '--threads', '1'];

function sh(cmd: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { env, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout ?? '', stderr: `${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
}
const mechedit = (...args: string[]) => sh(process.execPath, [cliPath, ...args]);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const hasSbatch = () => sh('bash', ['-c', 'command -v sbatch && command -v squeue && command -v scontrol']).status === 0;

interface CaseLine {
  kind: string;
  caseId: number;
}
const casesOf = (dir: string) => fs.readFileSync(path.join(dir, 'cases.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as CaseLine)
  .sort((a, b) => (a.kind === b.kind ? a.caseId - b.caseId : a.kind < b.kind ? -1 : 1));
const lineCount = (file: string) => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).length : 0);
function figures(dir: string): unknown {
  const { config: _c, ...rest } = JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8')) as Record<string, unknown>;
  return rest;
}

/** The array tasks of `job` in the queue: task index → state (RUNNING, PENDING, …). */
function queue(job: string): Map<number, string> {
  const r = sh('squeue', ['-h', '-j', job, '-r', '-o', '%K %T']);
  const m = new Map<number, string>();
  for (const line of r.stdout.split('\n').filter(Boolean)) {
    const [i, state] = line.trim().split(/\s+/);
    m.set(Number(i), state);
  }
  return m;
}

/** Requeues the first running ROME task that has saved a case and not finished; returns its index. */
async function requeueOne(job: string, root: string): Promise<{ task: number; savedAtRequeue: number }> {
  for (let t = 0; t < 3000; t++) {
    const q = queue(job);
    for (const [i, state] of q) {
      if (i < SHARDS || state !== 'RUNNING') continue; // cells 1 and 2 are ROME (one edit per case: a case boundary every few seconds)
      const cell = CELLS[Math.floor(i / SHARDS)];
      const dir = path.join(root, 'cells', cell.id, `shard-${i % SHARDS}of${SHARDS}`);
      const saved = lineCount(path.join(dir, 'cases.jsonl'));
      if (saved >= 1 && !fs.existsSync(path.join(dir, 'summary.json'))) {
        const r = sh('scontrol', ['requeue', `${job}_${i}`]);
        assert.equal(r.status, 0, `scontrol requeue ${job}_${i}: ${r.stderr}`);
        return { task: i, savedAtRequeue: saved };
      }
    }
    if (q.size === 0) break;
    await sleep(100);
  }
  assert.fail('no running ROME task with a saved case came up to requeue');
}

/** Waits until the job has left the queue; a requeued task (held back by Slurm's BeginTime for ~2 min) is released at once. */
async function waitDone(job: string, requeued: number, limitMs: number): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    const q = queue(job);
    if (q.size === 0) return;
    if (q.get(requeued) === 'PENDING') sh('scontrol', ['update', `jobid=${job}_${requeued}`, 'StartTime=now']);
    assert.ok(Date.now() - t0 < limitMs, `the sweep did not finish within ${limitMs / 1000} s: ${[...q].map(([i, s]) => `${i} ${s}`).join(', ')}`);
    await sleep(1000);
  }
}

test('a Slurm array sweep of EVOKE (none, ROME × 2 presets, 3 shards) with a requeued task merges to the unsharded runs', { timeout: 15 * 60_000 }, async (t) => {
  if (!hasSbatch()) {
    if (process.env.MECHEDIT_SLURM === '1') assert.fail('Slurm was expected (MECHEDIT_SLURM=1: scripts/slurm/setup.sh started it) but sbatch, squeue or scontrol is missing');
    const reason = process.env.MECHEDIT_SLURM_SKIP ?? 'no sbatch on this machine (run scripts/slurm/setup.sh as root)';
    console.log(`Slurm sweep test skipped: ${reason}`);
    t.skip(reason);
    return;
  }
  const t0 = Date.now();
  const root = path.join(tmp, 'sweep');
  const w = mechedit('sweep', '--diagnostic', 'evoke', ...MODEL, '--method', 'none', 'rome', '--preset', 'paper', 'tuned', '--shards', String(SHARDS),
    '--root', root, '--cpus', '1', '--mem', '1G', '--time', '15', '--throttle', '4', '--requeue', '--', '--limit', LIMIT);
  assert.equal(w.status, 0, w.stderr);
  const script = path.join(root, 'sweep.sbatch');
  const check = sh('sbatch', ['--test-only', script]);
  assert.equal(check.status, 0, `sbatch --test-only: ${check.stderr}`);

  const submitted = sh('sbatch', ['--parsable', script]);
  assert.equal(submitted.status, 0, submitted.stderr);
  const job = submitted.stdout.trim().split(';')[0];
  assert.match(job, /^\d+$/);
  try {
    const rq = await requeueOne(job, root);
    await waitDone(job, rq.task, 10 * 60_000);
    const sweepSeconds = (Date.now() - t0) / 1000;

    const st = mechedit('sweep', 'status', root, '--json');
    assert.equal(st.status, 0, st.stderr);
    const status = (JSON.parse(st.stdout) as { status: { counts: Record<string, number>; tasks: { task: number; state: string; restarts?: number }[] } }).status;
    const logs = fs.readdirSync(path.join(root, 'logs')).map((f) => fs.readFileSync(path.join(root, 'logs', f), 'utf8')).join('\n');
    assert.deepEqual(status.counts, { finished: CELLS.length * SHARDS, running: 0, stopped: 0, missing: 0 }, `sweep status: ${st.stdout}\n${logs.slice(-3000)}`);
    assert.ok((status.tasks[rq.task].restarts ?? 0) >= 1, `task ${rq.task} was requeued (${rq.savedAtRequeue} case(s) saved then) and restarted: ${JSON.stringify(status.tasks[rq.task])}`);
    assert.match(logs, new RegExp(`task ${rq.task} got SIGTERM`), 'the requeued task heard SIGTERM');

    const mg = mechedit('sweep', 'merge', root, '--json');
    assert.equal(mg.status, 0, mg.stderr);
    const merged = (JSON.parse(mg.stdout) as { merge: { cells: { cell: string; out: string; values: Record<string, number> }[]; files: Record<string, string> } }).merge;
    const csv = fs.readFileSync(merged.files.csv, 'utf8').trim().split('\n');
    assert.equal(csv.length, 1 + CELLS.length, 'comparison.csv: a header and one row per cell');
    assert.ok(fs.existsSync(merged.files.html) && fs.existsSync(merged.files.markdown));

    for (const cell of CELLS) {
      const ref = path.join(tmp, 'unsharded', cell.id);
      const r = mechedit('evoke', ...MODEL, '--method', cell.method, ...(cell.preset ? ['--preset', cell.preset] : []), '--limit', LIMIT, '--out', ref);
      assert.equal(r.status, 0, r.stderr);
      const m = merged.cells.find((c) => c.cell === cell.id)!;
      assert.deepEqual(casesOf(m.out), casesOf(ref), `${cell.id}: the merged cases equal the unsharded run's`);
      assert.deepEqual(figures(m.out), figures(ref), `${cell.id}: the merged summary equals the unsharded run's`);
      assert.ok(fs.existsSync(path.join(m.out, 'report.html')), `${cell.id}: report.html`);
    }
    console.log(`Slurm sweep: ${CELLS.length * SHARDS} tasks (task ${rq.task} requeued after ${rq.savedAtRequeue} case(s)) finished in ${sweepSeconds.toFixed(0)} s; whole test ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  } finally {
    sh('scancel', [job]);
  }
});
