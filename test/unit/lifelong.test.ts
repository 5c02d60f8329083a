// The Lifelong editing panel's pieces outside VS Code: 'lifelong/run' through the engine process
// (bad parameters refused by field; a run streams every measured point as a 'curve' progress —
// the same points it returns and writes to curve.jsonl — on its own stack, the user's stack as it
// was; a cancel stops it between edits and a resume finishes the same folder), and the host's
// reading of run folders (lifelongFolder.ts): curve.jsonl lines, a cut last line, a session of
// several methods, a folder with no run; and the panel's lines and CSV (webview/lifelong/data.ts).

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CancellationTokenSource } from 'vscode-jsonrpc/node';
import { EngineClient, EngineError } from '../../src/extension/engine/client';
import { LoadedModel } from '../../src/core/runtime/model';
import type { ParamsOf, ProgressParams } from '../../src/protocol/engine';
import type { LifelongPoint, LifelongRunSnapshot } from '../../src/protocol/lifelong';
import { parseCurve, readSessionFolder } from '../../src/extension/lifelongFolder';
import { makeEdit } from './runHelpers';
import { describeRegistry } from '../../src/core/registry';
import { factEditors } from '../../src/protocol/registry';
import { curvesCsv, editsDomain, measureLines, MEASURES } from '../../webview/lifelong/data';

const repo = path.join(__dirname, '..', '..', '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-lifelong-'));
const bundled = path.join(repo, 'models', 'default');
// The tiny fixture with the bundled model's corpus beside it (ROME's key statistics), and no eval/
// data: the run measures efficacy and health only, in a few seconds.
const tiny = path.join(tmp, 'gpt2-tiny');
fs.cpSync(path.join(repo, 'test', 'fixtures', 'models', 'gpt2-tiny'), tiny, { recursive: true });
fs.copyFileSync(path.join(bundled, 'corpus.txt'), path.join(tiny, 'corpus.txt'));
process.env.MECHEDIT_CACHE = path.join(tmp, 'cache');
/** The methods the panel can run, in its order (the host passes them from the engine's registry). */
const SEQUENTIAL = factEditors(describeRegistry(), 'sequential').map((m) => m.id);
const client = new EngineClient({ enginePath: path.join(repo, 'out', 'src', 'engine', 'main.js'), config: { executionProvider: 'cpu', threads: 1 } });
after(() => client.dispose());

const requestsFile = path.join(tmp, 'requests.jsonl');
fs.writeFileSync(requestsFile, [
  { subject: 'The cat', prompt: '{} sat on the', target: 'mat', paraphrases: ['Where did the cat sit? On the'] },
  { subject: 'The dog', prompt: '{} ran to the', target: 'park' },
  { subject: 'The bird', prompt: '{} flew over the', target: 'house' },
].map((r) => JSON.stringify(r)).join('\n') + '\n');

const refused = (field: string) => (e: EngineError) => {
  assert.equal(e.data?.code, 'bad-input', `${field}: ${e.message}`);
  assert.equal(e.data.field, field, e.message);
  return true;
};

/** JSON's view of a point (NaN → null), as curve.jsonl and the wire hold it. */
const json = (p: unknown) => JSON.parse(JSON.stringify(p)) as LifelongPoint;

test('lifelong/run refuses bad parameters by field, and the engine stays alive', async () => {
  await client.request('model/open', { path: tiny });
  const pid = client.pid;
  const good: ParamsOf<'lifelong/run'> = { method: 'rome', requestsFile, out: path.join(tmp, 'never') };
  const bad = (over: Record<string, unknown>) => client.request('lifelong/run', { ...good, ...over } as ParamsOf<'lifelong/run'>);
  await assert.rejects(bad({ method: 'rom' }), refused('method'));
  await assert.rejects(bad({ requestsFile: undefined }), refused('requestsFile'));
  await assert.rejects(bad({ worldCounterfactuals: 3 }), refused('requestsFile'));
  await assert.rejects(bad({ consolidate: 'svd:2' }), refused('consolidate'));
  await assert.rejects(bad({ every: 0 }), refused('every'));
  await assert.rejects(bad({ requestsFile: 'requests.jsonl' }), refused('requestsFile'));
  await assert.rejects(bad({ out: 'runs/rome' }), refused('out'));
  await assert.rejects(bad({ batch: 0 }), refused('batch'));
  await assert.rejects(bad({ settings: { steps: -1 } }), refused('settings.steps'));
  await assert.rejects(bad({ settings: { layer: 99 } }), refused('settings.layer'));
  assert.ok(!fs.existsSync(good.out), 'nothing written');
  assert.equal(client.pid, pid);
});

test('lifelong/run streams each point, returns and writes the same ones, and leaves the user stack alone; cancel then resume', async () => {
  await client.request('model/open', { path: tiny });
  // A user edit on the stack: the run must neither see it nor change it.
  const model = LoadedModel.open(tiny, { provider: 'cpu', threads: 1 });
  const userEdit = makeEdit(model, path.join(tmp, 'user'), 'user-edit', 7);
  const before = await client.request('edits/apply', { file: userEdit });
  const out = path.join(tmp, 'session', 'rome');
  const streamed: ProgressParams[] = [];
  const r = await client.request('lifelong/run', { method: 'rome', requestsFile, every: 2, out, settings: { steps: 3 } }, { onProgress: (p) => streamed.push(p) });
  assert.equal(r.cancelled, false);
  assert.equal(r.folder, out);
  assert.deepEqual(r.points.map((p) => p.edits), [0, 2, 3], 'measured at 0, every 2, and at the end');
  assert.deepEqual(streamed.filter((p) => p.curve).map((p) => json(p.curve)), r.points.map(json), 'each point streamed as it was measured');
  assert.deepEqual(parseCurve(fs.readFileSync(path.join(out, 'curve.jsonl'), 'utf8'), 'curve.jsonl'), r.points.map(json), 'curve.jsonl holds the same points');
  assert.equal(fs.readdirSync(path.join(out, 'edits')).filter((f) => f.endsWith('.json')).length, 3, 'one edit file per request');
  assert.ok(r.points[r.points.length - 1].health.length >= 1, 'the stack health of the run\'s own edits');
  assert.deepEqual((await client.request('edits/list', {})).items, before.items, 'the user stack is as it was');

  // Cancelled after the first point, then resumed in the same folder: the curve of the uninterrupted
  // run (but the seconds).
  const out2 = path.join(tmp, 'session2', 'rome');
  const cts = new CancellationTokenSource();
  const first = await client.request('lifelong/run', { method: 'rome', requestsFile, every: 2, out: out2, settings: { steps: 3 } }, {
    token: cts.token,
    onProgress: (p) => p.curve && cts.cancel(),
  }).catch((e: EngineError) => e);
  if (first instanceof EngineError) assert.equal(first.data.code, 'cancelled');
  else assert.equal(first.cancelled, true);
  const partial = parseCurve(fs.readFileSync(path.join(out2, 'curve.jsonl'), 'utf8'), 'curve.jsonl');
  assert.ok(partial.length < 3, `stopped early (${partial.length} points)`);
  const resumed = await client.request('lifelong/run', { method: 'rome', requestsFile, every: 2, out: out2, resume: true, settings: { steps: 3 } });
  const strip = (ps: LifelongPoint[]) => ps.map((p) => ({ ...json(p), seconds: 0 }));
  assert.deepEqual(strip(resumed.points), strip(r.points));
  // A session folder of two runs reads back in the panel's method order.
  fs.cpSync(out, path.join(tmp, 'session2', 'memit'), { recursive: true });
  const run = JSON.parse(fs.readFileSync(path.join(tmp, 'session2', 'memit', 'run.json'), 'utf8')) as Record<string, unknown>;
  fs.writeFileSync(path.join(tmp, 'session2', 'memit', 'run.json'), JSON.stringify({ ...run, method: 'memit' }));
  const runs = readSessionFolder(path.join(tmp, 'session2'), SEQUENTIAL);
  assert.deepEqual(runs.map((x) => [x.method, x.points.length, x.status]), [['rome', 3, 'loaded'], ['memit', 3, 'loaded']]);
  assert.deepEqual(readSessionFolder(out, SEQUENTIAL).map((x) => x.method), ['rome'], 'a run folder alone');
});

test('curve.jsonl: a cut last line is left out, a bad line is named, a folder without runs says what one is', () => {
  const p = { edits: 0, efficacy: 0, paraphrase: null, specificity: 100, skills: { choice: 50, trueFalse: null, twoHop: 25 }, health: [], seconds: 1.5 };
  const line = JSON.stringify(p);
  assert.deepEqual(parseCurve(`${line}\n${JSON.stringify({ ...p, edits: 10 })}\n{"edits": 20, "effi`, 'c.jsonl').map((x) => x.edits), [0, 10]);
  assert.throws(() => parseCurve(`${line}\n{oops\n${line}\n`, '/r/curve.jsonl'), /\/r\/curve\.jsonl, line 2: not JSON/);
  assert.throws(() => parseCurve(`${JSON.stringify({ ...p, efficacy: 'high' })}\n`, 'c.jsonl'), /line 1: "efficacy" is not a number/);
  assert.throws(() => parseCurve(`${JSON.stringify({ ...p, skills: { choice: 1 } })}\n`, 'c.jsonl'), /"skills.trueFalse"/);
  assert.throws(() => parseCurve(`${JSON.stringify({ ...p, edits: 1.5 })}\n`, 'c.jsonl'), /"edits" is not a whole number/);
  const empty = fs.mkdtempSync(path.join(tmp, 'empty-'));
  assert.throws(() => readSessionFolder(empty, SEQUENTIAL), /holds no sequential-editing run: a run folder has curve\.jsonl and run\.json/);
  const odd = path.join(empty, 'x');
  fs.mkdirSync(odd);
  fs.writeFileSync(path.join(odd, 'run.json'), JSON.stringify({ method: 'sgd' }));
  assert.throws(() => readSessionFolder(odd, SEQUENTIAL), new RegExp(`"method" must be one of ${SEQUENTIAL.join(', ')}, got "sgd"`));
  assert.deepEqual(readSessionFolder(odd).map((x) => x.method), ['sgd'], 'while the registry is unknown, the method is taken as written');
});

test('the panel\'s lines and CSV: gaps for figures not measured, the x axis spanning the planned edits while running', () => {
  const p = (edits: number, paraphrase: number | null): LifelongPoint => ({ edits, efficacy: 100 - edits, paraphrase: paraphrase as number, specificity: 99, skills: { choice: 90, trueFalse: 80, twoHop: 70 }, health: edits ? [{ module: 'L0 mlp.out', relNorm: edits / 100 }, { module: 'L1 mlp.out', relNorm: edits / 50 }] : [], seconds: edits / 10 });
  const runs: LifelongRunSnapshot[] = [
    { method: 'rome', folder: '/r/rome', status: 'done', points: [p(0, null), p(10, null)] },
    { method: 'alphaedit', folder: '/r/alphaedit', status: 'running', points: [p(0, 50), p(10, 40)], total: 40 },
  ];
  const para = MEASURES.find((m) => m.key === 'paraphrase')!;
  assert.deepEqual(measureLines(runs, para), [{ method: 'alphaedit', values: [[0, 50], [10, 40]] }], 'ROME measured no paraphrase: no line');
  assert.deepEqual(measureLines(runs, MEASURES.find((m) => m.key === 'health')!)[0].values, [[0, 0], [10, 0.2]], 'the largest ‖ΔW‖/‖W‖');
  assert.equal(editsDomain(runs), 40);
  assert.equal(editsDomain([{ ...runs[1], status: 'cancelled' }]), 10);
  assert.equal(curvesCsv(runs), [
    'method,edits,efficacy,paraphrase,specificity,choice,trueFalse,twoHop,seconds,relNorm L0 mlp.out,relNorm L1 mlp.out',
    'rome,0,100,,99,90,80,70,0,,',
    'rome,10,90,,99,90,80,70,1,0.1,0.2',
    'alphaedit,0,100,50,99,90,80,70,0,,',
    'alphaedit,10,90,40,99,90,80,70,1,0.1,0.2',
  ].join('\n') + '\n');
});
