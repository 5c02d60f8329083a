// Runs that resume exactly or refuse. `sequential --resume` checks every saved record: the curve
// points (schemas/runs/sequential.schema.json, in order, at the positions the run measures) and the
// sha256 of every edit file recorded in run.json when it was written; a lost point is measured again
// from the edit files and the curve then equals the uninterrupted one. `merge` checks every line of
// every shard against its tool's schema and refuses a damaged shard by file, line and field. The
// schemas are the diagnostics registry's: one per plugin.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { LoadedModel } from '../../src/core/runtime/model';
import { runSequential, type CurvePoint } from '../../src/core/diagnostics/sequential';
import { mergeRuns } from '../../src/core/diagnostics/merge';
import { DIAGNOSTICS } from '../../src/core/diagnostics/plugins/index';
import { MechEditError } from '../../src/core/errors';

const repo = path.join(__dirname, '..', '..', '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-records-'));
process.env.MECHEDIT_CACHE = path.join(tmp, 'cache');
const model = LoadedModel.open(path.join(repo, 'models', 'default'), { provider: 'cpu', threads: 1 });
after(() => {
  model.release();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('every diagnostic names its record schema, and every schema in schemas/runs is one diagnostic\'s', () => {
  const dir = path.join(repo, 'schemas', 'runs');
  const files = fs.readdirSync(dir).sort();
  const named = DIAGNOSTICS.map((p) => {
    const id = (p.records as { $id?: string }).$id ?? '';
    assert.ok(id.endsWith(`/runs/${p.descriptor.id}.schema.json`), `${p.descriptor.id}: its records schema is schemas/runs/${p.descriptor.id}.schema.json (got ${id})`);
    assert.deepEqual(p.records, JSON.parse(fs.readFileSync(path.join(dir, `${p.descriptor.id}.schema.json`), 'utf8')));
    if (p.merge) assert.equal(p.merge.rules.schema, p.records, `${p.descriptor.id}: merge checks the same schema`);
    return `${p.descriptor.id}.schema.json`;
  }).sort();
  assert.deepEqual(files, named);
});

const settings = { steps: 10, samples: 1024, preset: 'tuned' };
const probeLimit = 10;
const opts = (out: string, resume = false) => ({ method: 'rome' as const, worldCounterfactuals: 4, every: 1, out, resume, settings, probeLimit });
const strip = (points: CurvePoint[]) => points.map(({ seconds: _s, ...p }) => p);
const curveLines = (dir: string) => fs.readFileSync(path.join(dir, 'curve.jsonl'), 'utf8').trim().split('\n');
const readCurve = (dir: string) => curveLines(dir).map((l) => JSON.parse(l) as CurvePoint);
const isRefusal = (file: string, field: string | undefined, message: RegExp) => (e: unknown) => {
  assert.ok(e instanceof MechEditError, `a MechEditError, got ${(e as Error).stack}`);
  assert.equal(e.data.code, 'bad-input');
  assert.equal(e.data.file, file);
  assert.equal(e.data.field, field);
  assert.match(e.message, message);
  return true;
};

test('sequential --resume: lost points are measured again (the same curve), damaged records and edit files are refused', async () => {
  const whole = path.join(tmp, 'whole');
  const w = await runSequential(model, opts(whole));
  assert.deepEqual(w.points.map((p) => p.edits), [0, 1, 2, 3, 4]);
  const run = JSON.parse(fs.readFileSync(path.join(whole, 'run.json'), 'utf8')) as { editHashes: string[] };
  assert.equal(run.editHashes.length, 4, 'run.json records one hash per edit');
  const copy = (name: string) => {
    const dir = path.join(tmp, name);
    fs.cpSync(whole, dir, { recursive: true });
    return dir;
  };

  // Lost lines in the middle (points 1 and 2) and at the end (point 4): measured again from the edit files.
  const holes = copy('holes');
  const lines = curveLines(whole);
  fs.writeFileSync(path.join(holes, 'curve.jsonl'), `${[lines[0], lines[3]].join('\n')}\n`);
  const seen: number[] = [];
  const r = await runSequential(model, opts(holes, true), { onPoint: (p) => seen.push(p.edits) });
  assert.deepEqual(seen, [0, 1, 2, 3, 4]);
  assert.deepEqual(strip(r.points), strip(w.points), 'the recomputed curve equals the uninterrupted one');
  assert.deepEqual(strip(readCurve(holes)), strip(w.points), 'curve.jsonl is whole and in order');
  assert.deepEqual(readCurve(holes).map((p) => p.seconds === null), [false, true, true, false, false], 'a recomputed hole has no time (null); a point after the last saved one has');
  for (const f of fs.readdirSync(path.join(whole, 'edits')).filter((x) => !x.startsWith('.'))) assert.ok(fs.readFileSync(path.join(whole, 'edits', f)).equals(fs.readFileSync(path.join(holes, 'edits', f))), `${f} untouched`);

  // A crash between recording an edit's hash and moving the edit in: the edit is made again.
  const crash = copy('crash');
  for (const ext of ['json', 'safetensors']) fs.rmSync(path.join(crash, 'edits', `seq-00004.${ext}`));
  fs.writeFileSync(path.join(crash, 'curve.jsonl'), `${lines.slice(0, 4).join('\n')}\n`);
  const c = await runSequential(model, opts(crash, true));
  assert.deepEqual(strip(c.points), strip(w.points));

  // Damaged records: refused naming the file and the first bad line and field; nothing is changed.
  const curveOf = (dir: string) => path.join(dir, 'curve.jsonl');
  const damaged: [string, (l: string[]) => string[], string, RegExp][] = [
    ['string', (l) => [l[0], l[1], l[2].replace(/"efficacy":[\d.]+/, '"efficacy":"100"'), l[3], l[4]], 'line 3: efficacy', /"efficacy" must be a number or null.*got "100"/],
    ['swapped', (l) => [l[0], l[2], l[1], l[3], l[4]], 'line 3: edits', /point at 1 edits after the one at 2: the points are out of order/],
    ['repeated', (l) => [l[0], l[1], l[1], l[2]], 'line 3: edits', /out of order or repeated/],
    ['truncated', (l) => [l[0], l[1].slice(0, 40), l[2]], 'line 2', /Line 2 is not a curve point: .*JSON/],
    ['missing', (l) => [l[0], l[1].replace(/"skills":\{[^}]*\},/, '')], 'line 2: skills', /"skills" is missing/],
    ['out of range', (l) => [l[0], l[1].replace(/"specificity":[\d.]+/, '"specificity":1e30')], 'line 2: specificity', /must be <= 100/],
    ['plausible', (l) => [l[0], l[1].replace(/"efficacy":[\d.]+/, '"efficacy":50'), l[2]], 'line 2', /Line 2 \(the point at 1 edits\) was changed after the run wrote it/],
  ];
  for (const [name, damage, field, message] of damaged) {
    const dir = copy(name);
    const text = `${damage(lines).join('\n')}\n`;
    fs.writeFileSync(curveOf(dir), text);
    await assert.rejects(runSequential(model, opts(dir, true)), isRefusal(curveOf(dir), field, message), name);
    assert.equal(fs.readFileSync(curveOf(dir), 'utf8'), text, `${name}: the curve is left as it was`);
  }

  // Swapped, corrupted or unrecorded edit files, a damaged hash list: refused by file.
  const edit = (dir: string, n: number, ext = 'json') => path.join(dir, 'edits', `seq-0000${n}.${ext}`);
  const swapped = copy('swapped-edits');
  for (const ext of ['json', 'safetensors']) {
    fs.renameSync(edit(swapped, 2, ext), path.join(tmp, 'x'));
    fs.renameSync(edit(swapped, 3, ext), edit(swapped, 2, ext));
    fs.renameSync(path.join(tmp, 'x'), edit(swapped, 3, ext));
  }
  await assert.rejects(runSequential(model, opts(swapped, true)), isRefusal(edit(swapped, 2), 'editHashes[1]', /seq-00002.json .* is not the one this run wrote/));
  const corrupt = copy('corrupt-vectors');
  const bytes = fs.readFileSync(edit(corrupt, 1, 'safetensors'));
  bytes[bytes.length - 1] ^= 1;
  fs.writeFileSync(edit(corrupt, 1, 'safetensors'), bytes);
  await assert.rejects(runSequential(model, opts(corrupt, true)), isRefusal(edit(corrupt, 1), 'editHashes[0]', /not the one this run wrote/));
  const unrecorded = copy('unrecorded');
  const rec = JSON.parse(fs.readFileSync(path.join(unrecorded, 'run.json'), 'utf8')) as Record<string, unknown>;
  fs.writeFileSync(path.join(unrecorded, 'run.json'), JSON.stringify({ ...rec, editHashes: run.editHashes.slice(0, 2) }));
  await assert.rejects(runSequential(model, opts(unrecorded, true)), isRefusal(edit(unrecorded, 3), undefined, /seq-00003.json is not recorded in run.json/));
  fs.writeFileSync(path.join(unrecorded, 'run.json'), JSON.stringify({ ...rec, editHashes: 'abc' }));
  await assert.rejects(runSequential(model, opts(unrecorded, true)), isRefusal(path.join(unrecorded, 'run.json'), 'editHashes', /not a list of sha256/));
});

// --- merge ---

const targets = path.join(repo, 'models', 'default', 'eval', 'ort');
const env = { ...process.env, MECHEDIT_CACHE: path.join(tmp, 'cache') };

test('merge refuses a damaged shard by file, line and field, and writes nothing', () => {
  const shards = [0, 1].map((i) => path.join(tmp, `ort-${i}`));
  for (const [i, out] of shards.entries()) {
    const r = spawnSync(process.execPath, [path.join(repo, 'out', 'src', 'cli', 'main.js'), 'ort', '--default', '--provider', 'cpu', '--target', targets, '--shard', `${i}/2`, '--out', out], { encoding: 'utf8', env });
    assert.equal(r.status, 0, r.stderr);
  }
  const good = mergeRuns(shards, path.join(tmp, 'merged'));
  assert.equal(good.cases, 2);
  const file = path.join(shards[1], 'cases.jsonl');
  const original = fs.readFileSync(file, 'utf8');
  const line = original.trim();
  const cases: [string, string, string | undefined, RegExp][] = [
    ['string', line.replace(/"lossProb":[\d.e-]+/, '"lossProb":"100"'), 'line 1: rows[0].before.lossProb', /must be a number .*got "100"/],
    ['out of range', line.replace(/"tokenAccuracy":[\d.e-]+/, '"tokenAccuracy":75'), 'line 1: rows[0].before.tokenAccuracy', /must be <= 1/],
    ['null key', line.replace(/"target":"[^"]*"/, '"target":null'), 'line 1: target', /"target" must be a string, got null/],
    ['missing', line.replace(/"skipped":\d+,?/, '').replace(/,}$/, '}'), 'line 1: skipped', /"skipped" is missing/],
    ['foreign field', line.replace(/^\{/, '{"efficacy":99.99,'), 'line 1: efficacy', /"efficacy" is not a field of this record/],
    ['truncated', line.slice(0, 50), 'line 1', /Line 1 is not JSON/],
    ['not an object', '[1,2]', 'line 1', /the record must be an object/],
  ];
  // A figure changed to another that fits the schema: cases.jsonl is not the one summary.json recorded.
  const plausible = line.replace(/"lossProb":[\d.e-]+/, '"lossProb":0.5');
  assert.notEqual(plausible, line);
  fs.writeFileSync(file, `${plausible}\n`);
  assert.throws(() => mergeRuns(shards, path.join(tmp, 'merged-plausible')), isRefusal(file, 'casesSha256', /changed after the run finished/));
  for (const [name, text, field, message] of cases) {
    fs.writeFileSync(file, `${text}\n`);
    const out = path.join(tmp, `merged-${name.replace(/ /g, '-')}`);
    assert.throws(() => mergeRuns(shards, out), isRefusal(file, field, message), name);
    assert.equal(fs.existsSync(out), false, `${name}: nothing is written`);
  }
  // A lost line: cases.jsonl no longer matches the shard's summary.json.
  fs.writeFileSync(file, '');
  assert.throws(() => mergeRuns(shards, path.join(tmp, 'merged-lost')), isRefusal(shards[1], undefined, /holds 0 results in cases.jsonl but its summary.json counts 1/));
  fs.writeFileSync(file, original);
});
