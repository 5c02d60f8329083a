// `mechedit sweep` without Slurm (issue 36): the grid and the array job it writes (task i → cell,
// shard, command line), the refusals (an unknown method or preset, the sweep's own flags after --,
// an unknown diagnostic flag, shards for sequential, another sweep in the root), and `sweep
// status` of a root where nothing ran, then one task finished by hand, from the folders alone.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';

const repo = path.join(__dirname, '..', '..', '..');
const cliPath = path.join(repo, 'out', 'src', 'cli', 'main.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-sweepcli-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const cli = (...args: string[]) => spawnSync(process.execPath, [cliPath, ...args], { encoding: 'utf8', env: { ...process.env, MECHEDIT_CACHE: path.join(tmp, 'cache') } });
const grid = (root: string, ...extra: string[]) => ['sweep', '--diagnostic', 'evoke', '--default', '--method', 'none', 'rome', 'memit', '--preset', 'paper', 'tuned', '--shards', '2', '--root', root, '--requeue', '--throttle', '3', ...extra];

test('sweep writes the grid as an array job, each task one shard of one cell with --resume', () => {
  const root = path.join(tmp, 'a');
  const r = cli(...grid(root, '--json', '--', '--limit', '3'));
  assert.equal(r.status, 0, r.stderr);
  const w = (JSON.parse(r.stdout) as { written: { tasks: number; cells: string[] } }).written;
  assert.deepEqual(w.cells, ['none', 'rome-paper', 'rome-tuned', 'memit-paper', 'memit-tuned']);
  assert.equal(w.tasks, 10);
  const script = fs.readFileSync(path.join(root, 'sweep.sbatch'), 'utf8');
  assert.match(script, /^#SBATCH --array=0-9%3$/m);
  assert.match(script, /^#SBATCH --requeue$/m);
  assert.match(script, /-eq 75 \]; then/);
  // task 7 = cell 3 (memit-paper), shard 1 of 2
  const line = script.split('\n')[script.split('\n').findIndex((l) => l.startsWith('  7)')) + 1];
  assert.match(line, /evoke --default --method memit --preset paper --limit 3 --shard 1\/2 --resume --out \S+\/cells\/memit-paper\/shard-1of2\)/);
  assert.equal(spawnSync('bash', ['-n', path.join(root, 'sweep.sbatch')]).status, 0, 'bash parses the script');

  // The same plan again is fine; another plan in that root is refused.
  assert.equal(cli(...grid(root, '--', '--limit', '3')).status, 0);
  const other = cli(...grid(root, '--', '--limit', '4'));
  assert.equal(other.status, 2);
  assert.match(other.stderr, /already holds another sweep/);
});

test('sweep refuses what it cannot run, by flag', () => {
  const root = path.join(tmp, 'b');
  const cases: [string[], RegExp][] = [
    [['sweep', '--diagnostic', 'evoke', '--default', '--method', 'bogus', '--root', root], /EVOKE has no method "bogus"/],
    [['sweep', '--diagnostic', 'evoke', '--default', '--method', 'rome', '--preset', 'nope', '--root', root], /No method of the grid has the preset "nope"/],
    [['sweep', '--diagnostic', 'evoke', '--default', '--method', 'rome', '--root', root, '--', '--shard', '0/2'], /--shard is set by the sweep/],
    [['sweep', '--diagnostic', 'evoke', '--default', '--method', 'rome', '--root', root, '--', '--bogus'], /Unknown option '--bogus'.*EVOKE's/],
    [['sweep', '--diagnostic', 'sequential', '--default', '--method', 'rome', '--shards', '2', '--root', root], /not sharded/],
    [['sweep', '--diagnostic', 'nope', '--default', '--method', 'rome', '--root', root], /A sweep runs evoke, fine-ked, probes, ort, sequential/],
    [['sweep', '--diagnostic', 'evoke', '--default', '--method', 'rome', '--mem', 'lots', '--root', root], /--mem must be a size/],
  ];
  for (const [args, message] of cases) {
    const r = cli(...args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
  }
  assert.ok(!fs.existsSync(path.join(root, 'sweep.json')), 'nothing written');
});

test('sweep status reads the folders: missing, then running, stopped and finished', () => {
  const root = path.join(tmp, 'c');
  assert.equal(cli('sweep', '--diagnostic', 'evoke', '--default', '--method', 'none', '--shards', '4', '--root', root).status, 0);
  const status = () => (JSON.parse(cli('sweep', 'status', root, '--json').stdout) as { status: { counts: Record<string, number>; tasks: { state: string; cases: number }[] } }).status;
  assert.deepEqual(status().counts, { finished: 0, running: 0, stopped: 0, missing: 4 });
  const mark = (i: number, exit?: number) => fs.writeFileSync(path.join(root, 'tasks', `${i}.json`), JSON.stringify({ task: i, host: 'h', started: 'now', ...(exit === undefined ? {} : { exit }) }));
  mark(0);
  mark(1, 75);
  const done = path.join(root, 'cells', 'none', 'shard-2of4');
  fs.mkdirSync(done, { recursive: true });
  fs.writeFileSync(path.join(done, 'cases.jsonl'), '{}\n{}\n');
  fs.writeFileSync(path.join(done, 'summary.json'), '{}');
  const s = status();
  assert.deepEqual(s.counts, { finished: 1, running: 1, stopped: 1, missing: 1 });
  assert.deepEqual(s.tasks.map((t) => t.state), ['running', 'stopped', 'finished', 'missing']);
  assert.equal(s.tasks[2].cases, 2);
  const bad = cli('sweep', 'status', path.join(tmp, 'nowhere'));
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /Not a sweep root: no sweep.json/);
});
