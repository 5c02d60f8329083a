// 'unlearn/run' and 'unlearn/material' through the engine process: bad parameters are refused by
// field before anything is read or trained (and the engine stays alive); a run reports one
// progress point per step, trains on its own copy of the stack (the user's stack keeps changing
// meanwhile), writes and applies an "unlearn" edit that reverts to identical outputs; a cancelled
// run writes and applies nothing. Also the Unlearning panel's series and CSV (webview/unlearn/data.ts).

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CancellationTokenSource } from 'vscode-jsonrpc/node';
import { EngineClient, EngineError } from '../../src/extension/engine/client';
import { LoadedModel } from '../../src/core/runtime/model';
import { writeEdit } from '../../src/core/edits/editFile';
import type { ParamsOf, ProgressParams } from '../../src/protocol/engine';
import { chartSeries, curveCsv, linePath, percent } from '../../webview/unlearn/data';

const repo = path.join(__dirname, '..', '..', '..');
const tiny = path.join(repo, 'test', 'fixtures', 'models', 'gpt2-tiny');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-unlearn-engine-'));
process.env.MECHEDIT_CACHE = path.join(tmp, 'cache');
const client = new EngineClient({ enginePath: path.join(repo, 'out', 'src', 'engine', 'main.js'), config: { executionProvider: 'cpu', threads: 1 } });
after(() => client.dispose());

const forget = path.join(tmp, 'forget.jsonl');
fs.writeFileSync(forget, [
  { prompt: 'The cat sat on the', answer: 'mat' },
  { prompt: 'The dog ran to the', answer: 'park' },
  { prompt: 'A bird flew over the', answer: 'house' },
  { prompt: 'The fish swam in the', answer: 'sea' },
].map((r) => JSON.stringify(r)).join('\n') + '\n');
const retain = path.join(tmp, 'retain.jsonl');
fs.writeFileSync(retain, [
  { prompt: 'One plus one is', answer: 'two' },
  { prompt: 'The sun is', answer: 'hot' },
].map((r) => JSON.stringify(r)).join('\n') + '\n');
const outDir = path.join(tmp, 'edits');

const refused = (field: string, extra: (e: EngineError) => boolean = () => true) => (e: EngineError) => {
  assert.equal(e.data?.code, 'bad-input', `${field}: ${e.message}`);
  assert.equal(e.data.field, field, e.message);
  return extra(e);
};

test('unlearn/run refuses bad parameters by field before reading or training, and the engine stays alive', async () => {
  await client.request('model/open', { path: tiny });
  const pid = client.pid;
  const good: ParamsOf<'unlearn/run'> = { method: 'graddiff', forget, retain, forms: ['qa'], steps: 2, outDir };
  const bad = (over: Record<string, unknown>) => client.request('unlearn/run', { ...good, ...over } as ParamsOf<'unlearn/run'>);
  await assert.rejects(bad({ method: 'ascent' }), refused('method', (e) => /ga, graddiff, npo, rt, dpo, rmu/.test(e.message)));
  await assert.rejects(bad({ method: undefined }), refused('method'));
  await assert.rejects(bad({ forget: undefined }), refused('forget'));
  await assert.rejects(bad({ forget: '' }), refused('forget'));
  await assert.rejects(bad({ forget: 'data/forget.jsonl' }), refused('forget', (e) => /absolute/.test(e.message)));
  const missing = path.join(tmp, 'no-such-file.jsonl');
  await assert.rejects(bad({ forget: missing }), refused('forget', (e) => e.data.file === missing && /not there/.test(e.message)));
  await assert.rejects(bad({ retain: path.join(tmp, 'nope.jsonl') }), refused('retain'));
  await assert.rejects(bad({ forms: 42 }), refused('forms'));
  await assert.rejects(bad({ forms: ['essay'] }), refused('forms', (e) => /unknown form "essay"/.test(e.message)));
  await assert.rejects(bad({ lr: 11 }), refused('lr'));
  await assert.rejects(bad({ seed: -1 }), refused('seed'));
  await assert.rejects(bad({ rank: 999 }), refused('rank', (e) => /above d_model/.test(e.message)));
  await assert.rejects(bad({ preset: 'wmdp' }), refused('preset'));
  await assert.rejects(bad({ forms: ['tf'] }), refused('forms', (e) => /no tf items/.test(e.message) && e.data.file === forget));
  await assert.rejects(bad({ steps: 0 }), refused('steps'));
  await assert.rejects(bad({ steps: 2.5 }), refused('steps'));
  await assert.rejects(bad({ lr: -1 }), refused('lr'));
  await assert.rejects(bad({ lr: 'fast' }), refused('lr'));
  await assert.rejects(bad({ rank: 0 }), refused('rank'));
  await assert.rejects(bad({ layers: [99] }), refused('layers'));
  await assert.rejects(bad({ uipe: -0.5 }), refused('uipe'));
  await assert.rejects(bad({ beta: 0 }), refused('beta'));
  await assert.rejects(bad({ stopBelow: 2 }), refused('stopBelow'));
  await assert.rejects(bad({ concept: 42 }), refused('concept'));
  await assert.rejects(bad({ outDir: 'edits' }), refused('outDir', (e) => /absolute/.test(e.message)));
  await assert.rejects(bad({ outDir: path.join(tiny, 'edits') }), (e: EngineError) => e.data.code === 'bad-input' && /source checkpoint/.test(e.message));
  await assert.rejects(client.request('unlearn/material', { forget: 'forget.jsonl' }), refused('forget'));
  await assert.rejects(client.request('unlearn/material', { forget: missing }), refused('forget'));
  assert.equal(client.pid, pid, 'the engine did not restart');
  assert.ok((await client.request('model/predict', { prompt: 'the cat sat', top: 3 })).next.length === 3, 'the engine still answers');
  assert.deepEqual((await client.request('edits/list', {})).items, [], 'nothing was applied');
  assert.ok(!fs.existsSync(outDir) || fs.readdirSync(outDir).length === 0, 'nothing was written');
});

test('the Unlearning panel draws the loss and the 0…1 metrics per step (counted from 1), and exports the curve', () => {
  const points = [
    { step: 0, loss: -2.5, metrics: { forgetTop1: 1, forgetProb: 0.8, nll: 3.2 } },
    { step: 1, loss: -3.5, metrics: { forgetTop1: 0.5, forgetProb: 0.4, nll: 4.1 } },
    { step: 2, loss: -6, metrics: { forgetTop1: 0, forgetProb: 0.05, nll: 7 } },
  ];
  const s = chartSeries(points);
  assert.deepEqual(s.loss.values, [[1, -2.5], [2, -3.5], [3, -6]]);
  assert.deepEqual(s.rates.map((r) => [r.key, r.label]), [['forgetTop1', 'forget top-1'], ['forgetProb', 'forget P(answer)']], 'nll is not a 0…1 metric');
  assert.deepEqual(s.rates[0].values, [[1, 1], [2, 0.5], [3, 0]]);
  assert.equal(s.last, 3);
  assert.equal(linePath(s.rates[0].values, (x) => 10 * x, (y) => 100 - 100 * y), 'M10.0,0.0L20.0,50.0L30.0,100.0');
  assert.equal(curveCsv(points), 'step,loss,forgetTop1,forgetProb,nll\n1,-2.5,1,0.8,3.2\n2,-3.5,0.5,0.4,4.1\n3,-6,0,0.05,7\n');
  assert.deepEqual([percent(0.125), percent(null), percent(Number.NaN)], ['12.5 %', '—', '—']);
  assert.deepEqual(chartSeries([]), { loss: { key: 'loss', label: 'loss', values: [] }, rates: [], last: 0 });
});

test('a run trains on its own copy of the stack, reports every step, and writes and applies an unlearn edit that reverts exactly', async () => {
  await client.request('model/open', { path: tiny });
  const probe = 'The cat sat on the';
  const before = await client.request('model/predict', { prompt: probe, top: 5 });
  // An edit to apply on the user's stack while the run trains.
  const model = LoadedModel.open(tiny, { provider: 'cpu', threads: 1 });
  const w = model.plan.blocks[0].down;
  const other = writeEdit(path.join(tmp, 'other'), {
    json: { format: 'mechedit-edit/1', id: 'other', label: 'other', method: 'manual', modelFingerprint: model.checkpoint.fingerprint, targets: [{ layer: 0, module: 'mlp.out', rank: 1, U: 'U', V: 'V' }], vectors: '', created: new Date(0).toISOString() },
    tensors: [{ U: Float32Array.from({ length: w.out }, (_, i) => Math.sin(i) * 1e-3), V: Float32Array.from({ length: w.in }, (_, i) => Math.cos(i) * 1e-3) }],
  }, () => ({ out: w.out, in: w.in }), model.checkpoint);
  await model.release();

  const seen: ProgressParams[] = [];
  let appliedMeanwhile: Promise<unknown> | undefined;
  /** How many steps had been reported when the engine answered the apply. */
  let appliedAfter = -1;
  const steps = 30;
  const r = await client.request('unlearn/run', { method: 'graddiff', forget, retain, steps, stopBelow: 0, lr: 1e-2, layers: [1, 2], rank: 2, concept: 'cats', outDir }, {
    onProgress: (p) => {
      seen.push(p);
      // The user's stack is not held by the run: an edit applied now lands at once.
      if (p.point && !appliedMeanwhile) appliedMeanwhile = client.request('edits/apply', { file: other }).then(() => (appliedAfter = seen.filter((x) => x.point).length));
    },
  });
  const points = seen.filter((p) => p.point);
  assert.deepEqual(points.map((p) => p.point!.step), Array.from({ length: steps }, (_, i) => i), 'one point per step, in order');
  assert.deepEqual(points.map((p) => [p.done, p.total]), Array.from({ length: steps }, (_, i) => [i + 1, steps]));
  assert.ok(points.every((p) => Number.isFinite(p.point!.loss) && typeof p.point!.metrics.forgetTop1 === 'number'), 'loss and forget top-1 on every point');
  assert.deepEqual(r.curve.map((c) => [c.step, c.loss]), points.map((p) => [p.point!.step, p.point!.loss]), 'the result\'s curve is the points reported');
  assert.equal(r.stoppedBy, 'steps');
  assert.equal(r.material.forget, 4);
  assert.equal(r.material.retain, 2);
  await appliedMeanwhile;
  assert.ok(appliedAfter >= 1 && appliedAfter < steps, `the apply was answered while the run trained (after ${appliedAfter} of ${steps} steps)`);
  assert.deepEqual(r.state.items.map((i) => [i.id, i.method]), [['other', 'manual'], [r.id, 'unlearn']], 'the edit lands on top of the stack as it was by the end');
  const json = JSON.parse(fs.readFileSync(r.file, 'utf8')) as { method: string; request: { concept?: string }; targets: { layer: number; rank: number }[]; health?: unknown };
  assert.equal(json.method, 'unlearn');
  assert.equal(json.request.concept, 'cats', 'the concept is recorded (Diagnose This Edit reads it)');
  assert.deepEqual(json.targets.map((t) => [t.layer, t.rank]), [[1, 2], [2, 2]]);
  assert.ok(json.health, 'with its health');
  assert.ok(fs.existsSync(r.file.replace(/\.json$/, '.safetensors')));
  await client.request('edits/revert', { id: 'other' });
  const edited = await client.request('model/predict', { prompt: probe, top: 5 });
  assert.notDeepEqual(edited.next, before.next, 'the unlearn edit changes the model');
  await client.request('edits/revert', { id: r.id });
  assert.deepEqual((await client.request('model/predict', { prompt: probe, top: 5 })).next, before.next, 'reverted: the same outputs');
});

test('a cancelled run writes and applies nothing', async () => {
  await client.request('model/open', { path: tiny });
  const out = path.join(tmp, 'cancelled');
  const cts = new CancellationTokenSource();
  let steps = 0;
  await assert.rejects(
    client.request('unlearn/run', { method: 'ga', forget, steps: 500, stopBelow: 0, outDir: out }, { token: cts.token, onProgress: (p) => p.point && ++steps === 2 && cts.cancel() }),
    (e: EngineError) => e.data.code === 'cancelled',
  );
  assert.ok(steps >= 2 && steps < 500, `stopped between steps (${steps} reported)`);
  assert.deepEqual((await client.request('edits/list', {})).items, []);
  assert.ok(!fs.existsSync(out) || fs.readdirSync(out).length === 0, 'no file written');
  assert.ok((await client.request('engine/info', {})).pid > 0, 'the engine is alive');
});
