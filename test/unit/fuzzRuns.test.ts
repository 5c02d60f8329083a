// Fuzz of run folders and output places: damaged sequential run folders
// given to --resume (lost, swapped, repeated or changed curve lines; swapped, corrupted, cut or lost
// edit files; a changed run.json), damaged shards given to merge (changed, lost, repeated or cut
// case lines; changed summary.json and run.json), and writers pointed at places that fail (a file,
// /dev/null, a path through a file, a symlink loop, a dangling link, a FIFO, a checkpoint, a folder
// of someone else's files, and — as root — a full and a read-only tmpfs). Every outcome must be a
// clean error (a MechEditError, bad-input or io, naming a file or field) or a correct result: a
// resumed curve equal to the uninterrupted run's, a merge equal to the undamaged one, a file written
// whole with the user's files untouched.
//
// Seeded: MECHEDIT_FUZZ_SEED (default 15); variant i of a kind has its own stream, so a failure
// printed as "seed S, <kind> #i" reproduces alone. MECHEDIT_FUZZ=N variants per kind (default 40 here:
// a resume that succeeds measures the lost points again, about a second each on the bundled model).

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { LoadedModel } from '../../src/core/runtime/model';
import { runSequential, type CurvePoint } from '../../src/core/diagnostics/sequential';
import { mergeRuns } from '../../src/core/diagnostics/merge';
import { openRun, writeSummaryFile, type RunConfig } from '../../src/core/diagnostics/runner';
import { checkRunFolder, refuseForeignFile, refuseInsideCheckpoint } from '../../src/core/outputs';
import { f32Tensor, writeSafetensors } from '../../src/core/checkpoint/writeSafetensors';
import { MechEditError } from '../../src/core/errors';
import { Rng, mutateBytes, mutateJson, oddValue } from './fuzz/random';
import { Tally, type Seen } from './fuzz/tally';
import { tmpfsUnavailable, withTmpfs } from './fuzz/places';
import { makeEdit } from './runHelpers';

const repo = path.join(__dirname, '..', '..', '..');
const SEED = Number(process.env.MECHEDIT_FUZZ_SEED ?? 15);
const COUNT = Number(process.env.MECHEDIT_FUZZ ?? 40);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-fuzzruns-'));
process.env.MECHEDIT_CACHE = path.join(tmp, 'cache');
const env = { ...process.env };
const model = LoadedModel.open(path.join(repo, 'models', 'default'), { provider: 'cpu', threads: 1 });
after(() => {
  model.release();
  fs.rmSync(tmp, { recursive: true, force: true });
});

function rngFor(name: string, i: number): Rng {
  let h = SEED >>> 0;
  for (const c of `${name}#${i}`) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
  return new Rng(h);
}

/** What an outcome was: ok, or the error's code and where it points. */
async function outcome(run: () => unknown): Promise<Seen> {
  try {
    await run();
    return { outcome: 'ok' };
  } catch (e) {
    if (e instanceof MechEditError) return { outcome: 'error', mechedit: true, code: e.data.code, file: e.data.file, field: e.data.field, message: e.message };
    return { outcome: 'error', mechedit: false, message: (e as Error).message, stack: (e as Error).stack };
  }
}

function report(tally: Tally, t: { diagnostic(m: string): void }): void {
  t.diagnostic(tally.summary());
  console.log(`# ${tally.summary()}`);
  for (const f of tally.failures) t.diagnostic(f);
  assert.equal(tally.bad, 0, `${tally.failures.join('\n')}`);
}

const copy = (from: string, name: string) => {
  const dir = path.join(tmp, name);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.cpSync(from, dir, { recursive: true });
  return dir;
};
const lines = (file: string) => fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.length);
const writeLines = (file: string, list: string[]) => fs.writeFileSync(file, list.length ? `${list.join('\n')}\n` : '');

/** One random damage of a list of JSONL lines. */
function damageLines(rng: Rng, list: string[]): string[] {
  const l = [...list];
  const i = rng.int(0, Math.max(0, l.length - 1));
  switch (rng.int(0, 7)) {
    case 0: return l.filter(() => !rng.chance(0.4)); // lost lines
    case 1: { const j = rng.int(0, l.length - 1); [l[i], l[j]] = [l[j], l[i]]; return l; } // swapped
    case 2: return [...l.slice(0, i + 1), l[i], ...l.slice(i + 1)]; // repeated
    case 3: l[i] = JSON.stringify(mutateJson(rng, JSON.parse(l[i]))); return l; // changed values
    case 4: l[i] = l[i].slice(0, rng.int(0, l[i].length - 1)); return l; // cut JSON
    case 5: return [...l.slice(0, i), JSON.stringify(oddValue(rng)) ?? 'x', ...l.slice(i)]; // a foreign line
    case 6: return [...l.slice(0, i), '', ...l.slice(i)]; // an empty line
    default: return l.slice(0, i); // the tail lost
  }
}

// --- sequential --resume ---

const seqOpts = (out: string, resume = false) => ({ method: 'rome' as const, worldCounterfactuals: 4, every: 1, out, resume, settings: { steps: 10, samples: 1024, preset: 'tuned' }, probeLimit: 10 });
const strip = (points: CurvePoint[]) => JSON.stringify(points.map(({ seconds: _s, ...p }) => p));

/** One random damage of a sequential run folder. */
function damageSequential(rng: Rng, dir: string): string {
  const curve = path.join(dir, 'curve.jsonl');
  const edits = fs.readdirSync(path.join(dir, 'edits')).filter((f) => !f.startsWith('.')).sort();
  const editPath = (f: string) => path.join(dir, 'edits', f);
  const what = rng.int(0, 9);
  if (what <= 4) {
    writeLines(curve, damageLines(rng, lines(curve)));
    return 'curve lines';
  }
  if (what === 5) {
    const f = editPath(rng.pick(edits));
    fs.writeFileSync(f, mutateBytes(rng, fs.readFileSync(f)));
    return `bytes of ${path.basename(f)}`;
  }
  if (what === 6) {
    const [a, b] = [rng.int(1, 4), rng.int(1, 4)];
    for (const ext of ['json', 'safetensors']) {
      const x = editPath(`seq-0000${a}.${ext}`);
      const y = editPath(`seq-0000${b}.${ext}`);
      const t = fs.readFileSync(x);
      fs.writeFileSync(x, fs.readFileSync(y));
      fs.writeFileSync(y, t);
    }
    return `edits ${a} ⇄ ${b}`;
  }
  if (what === 7) {
    const n = rng.int(1, 4);
    for (const ext of rng.chance(0.5) ? ['json', 'safetensors'] : [rng.pick(['json', 'safetensors'])]) fs.rmSync(editPath(`seq-0000${n}.${ext}`));
    if (rng.chance(0.5)) writeLines(curve, lines(curve).slice(0, n));
    return `edit ${n} lost`;
  }
  if (what === 8) {
    const f = editPath(rng.pick(edits.filter((e) => e.endsWith('.json'))));
    fs.writeFileSync(f, JSON.stringify(mutateJson(rng, JSON.parse(fs.readFileSync(f, 'utf8')))));
    return `fields of ${path.basename(f)}`;
  }
  const run = path.join(dir, 'run.json');
  fs.writeFileSync(run, JSON.stringify(mutateJson(rng, JSON.parse(fs.readFileSync(run, 'utf8')), (p) => p[0] === 'editHashes' || p[0] === 'pointHashes')));
  return 'run.json hashes';
}

test('sequential --resume on damaged run folders: a clean error or the uninterrupted curve', async (t) => {
  const whole = path.join(tmp, 'seq-whole');
  const w = await runSequential(model, seqOpts(whole));
  const tally = new Tally('sequential --resume');
  for (let i = 0; i < COUNT; i++) {
    const rng = rngFor('resume', i);
    const dir = copy(whole, 'seq-variant');
    const label = `seed ${SEED}, resume #${i} (${damageSequential(rng, dir)})`;
    let points: CurvePoint[] = [];
    const seen = await outcome(async () => {
      points = (await runSequential(model, seqOpts(dir, true))).points;
    });
    // A run that went on must give the uninterrupted curve, in memory and on disk.
    const right = seen.outcome !== 'ok' || (strip(points) === strip(w.points) && strip(lines(path.join(dir, 'curve.jsonl')).map((l) => JSON.parse(l) as CurvePoint)) === strip(w.points));
    tally.add(seen, label, !right);
  }
  report(tally, t);
});

// --- merge ---

test('merge of damaged shards: a clean error or the undamaged merge', (t) => {
  const data = path.join(repo, 'test', 'fixtures', 'zsre', 'world.json');
  const shards = [0, 1].map((i) => {
    const out = path.join(tmp, `zsre-${i}`);
    const r = spawnSync(process.execPath, [path.join(repo, 'out', 'src', 'cli', 'main.js'), 'zsre', '--default', '--provider', 'cpu', '--data', data, '--limit', '6', '--shard', `${i}/2`, '--out', out], { encoding: 'utf8', env });
    assert.equal(r.status, 0, r.stderr);
    return out;
  });
  const good = mergeRuns(shards, path.join(tmp, 'zsre-merged'));
  const goodLines = fs.readFileSync(path.join(tmp, 'zsre-merged', 'cases.jsonl'), 'utf8');
  const tally = new Tally('merge');
  for (let i = 0; i < COUNT; i++) {
    const rng = rngFor('merge', i);
    const variant = shards.map((s, k) => copy(s, `zsre-variant-${k}`));
    const d = rng.pick(variant);
    const what = rng.int(0, 9);
    let label: string;
    if (what <= 5) {
      writeLines(path.join(d, 'cases.jsonl'), damageLines(rng, lines(path.join(d, 'cases.jsonl'))));
      label = 'case lines';
    } else if (what === 6) {
      const [a, b] = variant;
      const la = lines(path.join(a, 'cases.jsonl'));
      const lb = lines(path.join(b, 'cases.jsonl'));
      const [x, y] = [rng.int(0, la.length - 1), rng.int(0, lb.length - 1)];
      [la[x], lb[y]] = [lb[y], la[x]];
      writeLines(path.join(a, 'cases.jsonl'), la);
      writeLines(path.join(b, 'cases.jsonl'), lb);
      label = 'lines swapped between shards';
    } else if (what === 7) {
      const f = path.join(d, rng.pick(['summary.json', 'run.json']));
      fs.writeFileSync(f, JSON.stringify(mutateJson(rng, JSON.parse(fs.readFileSync(f, 'utf8')))));
      label = `fields of ${path.basename(f)}`;
    } else if (what === 8) {
      const f = path.join(d, rng.pick(['summary.json', 'run.json', 'cases.jsonl']));
      fs.writeFileSync(f, mutateBytes(rng, fs.readFileSync(f)));
      label = `bytes of ${path.basename(f)}`;
    } else {
      fs.rmSync(path.join(d, rng.pick(['summary.json', 'cases.jsonl', 'issues.json'])));
      label = 'a file lost';
    }
    const out = path.join(tmp, `zsre-out-${i}`);
    let merged: ReturnType<typeof mergeRuns> | undefined;
    const seen = { ...outcomeSync(() => { merged = mergeRuns(variant, out); }) };
    const right = seen.outcome !== 'ok' || (merged?.cases === good.cases && fs.readFileSync(path.join(out, 'cases.jsonl'), 'utf8') === goodLines && JSON.stringify({ ...merged, out: '' }) === JSON.stringify({ ...good, out: '' }));
    if (seen.outcome !== 'ok') assert.equal(fs.existsSync(path.join(out, 'summary.json')), false, `${label}: a refused merge writes no summary`);
    tally.add(seen, `seed ${SEED}, merge #${i} (${label})`, !right);
  }
  report(tally, t);
});

function outcomeSync(run: () => void): Seen {
  try {
    run();
    return { outcome: 'ok' };
  } catch (e) {
    if (e instanceof MechEditError) return { outcome: 'error', mechedit: true, code: e.data.code, file: e.data.file, field: e.data.field, message: e.message };
    return { outcome: 'error', mechedit: false, message: (e as Error).message, stack: (e as Error).stack };
  }
}

// --- output places ---

interface Place {
  name: string;
  /** The output path (a run folder, or the folder an edit file goes in). */
  out: string;
  /** Must a writer refuse it? (undefined: either, e.g. a full disk may still hold a small file; a list: these writers must) */
  refuse?: boolean | string[];
  /** Files of the user's there that must stay as they were. */
  keep?: string[];
}

function places(root: string, full?: string, readOnly?: string): Place[] {
  const file = path.join(root, 'a-file');
  fs.writeFileSync(file, 'user data\n');
  const loop = path.join(root, 'loop');
  if (!fs.lstatSync(loop, { throwIfNoEntry: false })) {
    fs.symlinkSync(path.join(root, 'loop2'), loop);
    fs.symlinkSync(loop, path.join(root, 'loop2'));
    fs.symlinkSync(path.join(root, 'nowhere'), path.join(root, 'dangling'));
    spawnSync('mkfifo', [path.join(root, 'fifo')]);
  }
  const foreign = path.join(root, 'theirs');
  fs.mkdirSync(foreign, { recursive: true });
  for (const f of ['results.json', 'summary.json', 'run.json', 'cases.jsonl']) fs.writeFileSync(path.join(foreign, f), `{"mine": "${f}"}\n`);
  const list: Place[] = [
    { name: 'a file', out: file, refuse: true, keep: [file] },
    { name: '/dev/null', out: '/dev/null', refuse: true },
    { name: 'through a file', out: path.join(file, 'sub'), refuse: true, keep: [file] },
    { name: 'a symlink loop', out: loop, refuse: true },
    { name: 'a symlink loop inside', out: path.join(loop, 'sub'), refuse: true },
    { name: 'a dangling link', out: path.join(root, 'dangling'), refuse: true },
    { name: 'a FIFO', out: path.join(root, 'fifo'), refuse: true },
    { name: 'the checkpoint', out: path.join(model.checkpoint.dir, 'runs'), refuse: true },
    // A run folder there is refused; an edit or module file beside the user's files is fine (they are kept).
    { name: 'a folder of someone else\'s files', out: foreign, refuse: ['run folder'], keep: ['results.json', 'summary.json', 'run.json', 'cases.jsonl'].map((f) => path.join(foreign, f)) },
    { name: 'a new folder', out: path.join(root, 'new', `x${Math.random().toString(36).slice(2)}`), refuse: false },
  ];
  if (full) list.push({ name: 'a full disk', out: path.join(full, `x${Math.random().toString(36).slice(2)}`) });
  if (readOnly) list.push({ name: 'a read-only disk', out: path.join(readOnly, 'run'), refuse: true });
  return list;
}

const config: RunConfig = { tool: 'fuzz', version: 1, modelFingerprint: 'x', modelPath: 'x', method: 'none', data: [] };

/** The writers as commands use them: a run folder, an edit file, a KRD-like safetensors file. */
const WRITERS: Record<string, (out: string) => string> = {
  'run folder': (out) => {
    checkRunFolder(out, model.checkpoint, '--out');
    const run = openRun(out, config, false);
    run.append([{ a: 1 }]);
    writeSummaryFile(out, { cases: 1 });
    return path.join(out, 'summary.json');
  },
  'edit file': (out) => makeEdit(model, out, 'fuzz-edit', 7),
  'module file': (out) => {
    const file = path.join(out, 'm.safetensors');
    refuseInsideCheckpoint(file, model.checkpoint, 'The KRD file');
    refuseForeignFile(file, () => false, 'a MechEdit KRD module');
    writeSafetensors(file, [f32Tensor('W', [2, 2], new Float32Array([1, 2, 3, 4]))]);
    return file;
  },
};

test('writers on places that fail: a clean one-line error, or the file whole; the user\'s files untouched', async (t) => {
  const root = path.join(tmp, 'places');
  fs.mkdirSync(root);
  const why = tmpfsUnavailable();
  if (why) {
    console.log(`# the full and read-only tmpfs places are skipped: ${why}`);
    t.diagnostic(`the full and read-only tmpfs places are skipped: ${why}`);
  }
  const tally = new Tally('output places');
  const go = async (full?: string, readOnly?: string) => {
    if (full) fs.writeFileSync(path.join(full, 'filler'), Buffer.alloc(56 * 1024));
    for (let i = 0; i < COUNT; i++) {
      const rng = rngFor('places', i);
      const place = rng.pick(places(root, full, readOnly));
      const writer = rng.pick(Object.keys(WRITERS));
      const kept = (place.keep ?? []).map((f) => [f, fs.readFileSync(f, 'utf8')] as const);
      let written = '';
      const seen = await outcome(() => {
        written = WRITERS[writer](place.out);
      });
      const refuse = Array.isArray(place.refuse) ? place.refuse.includes(writer) : place.refuse;
      let right = refuse === true ? seen.outcome !== 'ok' : refuse === false ? seen.outcome === 'ok' : true;
      if (seen.outcome === 'ok') right &&= fs.statSync(written).isFile() && fs.statSync(written).size > 0;
      for (const [f, text] of kept) right &&= fs.readFileSync(f, 'utf8') === text;
      if (seen.outcome === 'error' && seen.mechedit && seen.message?.includes('\n')) right = false; // one line
      tally.add(seen, `seed ${SEED}, places #${i} (${writer} → ${place.name})`, !right);
      fs.rmSync(path.join(root, 'new'), { recursive: true, force: true });
      if (full) for (const f of fs.readdirSync(full)) if (f !== 'filler') fs.rmSync(path.join(full, f), { recursive: true, force: true });
    }
  };
  if (why) await go();
  else {
    await withTmpfs(t, '64k', false, (full) => withTmpfs(t, '64k', true, (ro) => go(full, ro)).then(() => undefined));
  }
  report(tally, t);
});
