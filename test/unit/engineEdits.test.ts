// The edit stack through the engine process: apply from a file, revert to identical outputs,
// a broken file is an error and leaves the stack as it was.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CancellationTokenSource } from 'vscode-jsonrpc/node';
import { EngineClient, EngineError } from '../../src/extension/engine/client';
import { LoadedModel } from '../../src/core/runtime/model';
import { readEdit, writeEdit } from '../../src/core/edits/editFile';
import { encodeVector, type WireTensor } from '../../src/protocol/tensor';

const repo = path.join(__dirname, '..', '..', '..');
const tiny = path.join(repo, 'test', 'fixtures', 'models', 'gpt2-tiny');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-engine-edits-'));
process.env.MECHEDIT_CACHE = path.join(tmp, 'cache');
const client = new EngineClient({ enginePath: path.join(repo, 'out', 'src', 'engine', 'main.js'), config: { executionProvider: 'cpu', threads: 1 } });
after(() => client.dispose());

test('apply, revert and a refused file, through the engine', async () => {
  const model = LoadedModel.open(tiny, { provider: 'cpu', threads: 1 });
  const w = model.plan.blocks[2].down;
  const U = Float32Array.from({ length: w.out }, (_, i) => Math.sin(i) * 3);
  const V = Float32Array.from({ length: w.in }, (_, i) => Math.cos(i) * 3);
  const file = writeEdit(path.join(tmp, 'edits'), {
    json: { format: 'mechedit-edit/1', id: 'push', label: 'push', method: 'manual', modelFingerprint: model.checkpoint.fingerprint, targets: [{ layer: 2, module: 'mlp.out', rank: 1, U: 'U', V: 'V' }], vectors: '', created: new Date(0).toISOString() },
    tensors: [{ U, V }],
  }, () => ({ out: w.out, in: w.in }), model.checkpoint);

  await client.request('model/open', { path: tiny });
  const before = await client.request('model/predict', { prompt: 'the cat sat', top: 5 });
  const applied = await client.request('edits/apply', { file });
  assert.deepEqual(applied.items.map((i) => [i.id, i.enabled, i.strength, i.file]), [['push', true, 1, file]]);
  assert.ok(typeof applied.lastChangeMs === 'number');
  const after1 = await client.request('model/predict', { prompt: 'the cat sat', top: 5 });
  assert.notDeepEqual(after1.next, before.next);

  fs.writeFileSync(path.join(tmp, 'edits', 'broken.json'), '{"format": "mechedit-edit/1"}');
  await assert.rejects(client.request('edits/apply', { file: path.join(tmp, 'edits', 'broken.json') }), (e: EngineError) => e.data.code === 'bad-input' && e.data.field === 'id');
  assert.deepEqual((await client.request('edits/list', {})).items.map((i) => i.id), ['push']);

  await client.request('edits/setEnabled', { id: 'push', enabled: false });
  assert.deepEqual((await client.request('model/predict', { prompt: 'the cat sat', top: 5 })).next, before.next);
  await client.request('edits/setEnabled', { id: 'push', enabled: true });
  const reverted = await client.request('edits/revert', { id: 'push' });
  assert.deepEqual(reverted.items, []);
  assert.deepEqual((await client.request('model/predict', { prompt: 'the cat sat', top: 5 })).next, before.next);
  await assert.rejects(client.request('edits/revert', { id: 'push' }), (e: EngineError) => e.data.code === 'not-found');
  // A steering vector crosses as a float32 tensor (src/protocol/tensor.ts): one with a value that
  // is not a finite number is refused by field, and so is the old form, a JSON array of numbers.
  const d = model.dims.dModel;
  const vector = Array.from({ length: d }, () => 0.1);
  vector[3] = NaN;
  await assert.rejects(client.request('model/generate', { prompt: 'the cat', maxTokens: 2, steer: { layer: 1, vector: encodeVector(vector) } }), (e: EngineError) => e.data.code === 'bad-input' && e.data.field === 'steer' && /finite numbers/.test(e.message));
  await assert.rejects(client.request('model/generate', { prompt: 'the cat', maxTokens: 2, steer: { layer: 1, vector: vector.map(() => 0.1) as unknown as WireTensor } }), (e: EngineError) => e.data.code === 'bad-input' && e.data.field === 'steer' && /JSON array/.test(e.message));
  const steered = await client.request('model/generate', { prompt: 'the cat', maxTokens: 2, steer: { layer: 1, vector: encodeVector(vector.map(() => 0.1)) } });
  assert.equal(typeof steered.text, 'string', 'the engine stays alive and steers with a good vector');
  await model.release();
});

test('key statistics through the engine report progress and can be cancelled', async () => {
  await client.request('model/open', { path: tiny });
  const corpus = path.join(tmp, 'corpus.txt');
  fs.writeFileSync(corpus, Array.from({ length: 200 }, (_, i) => `line ${i} of a small corpus about cats and dogs.`).join('\n'));
  const seen: number[] = [];
  const r = await client.request('edits/stats', { layer: 1, corpus: [corpus], samples: 400 }, { onProgress: (p) => seen.push(p.done) });
  assert.ok(r.count >= 400 && !r.cached);
  assert.ok(seen.length > 0 && seen[seen.length - 1] === 400);
  const cts = new CancellationTokenSource();
  await assert.rejects(
    client.request('edits/stats', { layer: 2, corpus: [corpus], samples: 100_000 }, { token: cts.token, onProgress: () => cts.cancel() }),
    (e: EngineError) => e.data.code === 'cancelled',
  );
  assert.ok((await client.request('engine/info', {})).pid > 0, 'the engine is alive');
});

test('a MEMIT fact edit through the engine takes λ from the request, records it, and refuses a bad one by field', async () => {
  const defaultModel = path.join(repo, 'models', 'default');
  await client.request('model/open', { path: defaultModel });
  const requests = [{ subject: 'Baekhyndvaes Drondraes', prompt: '{} was born in', target: 'Grikport' }];
  const outDir = path.join(tmp, 'fact-edits');
  await assert.rejects(client.request('edits/fact', { method: 'memit', requests, lambda: -1, outDir }), (e: EngineError) => e.data.code === 'bad-input' && e.data.field === 'lambda');
  assert.deepEqual((await client.request('edits/list', {})).items, [], 'nothing applied after the refusal');
  const r = await client.request('edits/fact', { method: 'memit', requests, lambda: 10, preset: 'tuned', outDir });
  const json = JSON.parse(fs.readFileSync(r.file, 'utf8')) as { method: string; hparams: { lambda: number } };
  assert.equal(json.method, 'memit');
  assert.equal(json.hparams.lambda, 10);
  const after1 = await client.request('model/predict', { prompt: 'Baekhyndvaes Drondraes was born in', top: 1 });
  assert.equal(after1.next[0].text, ' Grik', 'with λ = 10 the whole edit lands');
  await client.request('edits/revert', { id: r.id });
});

test("AlphaEdit's accumulated keys survive a restart of the engine", async () => {
  // Edit 1 through the engine, restart it (the stack is gone), re-apply edit 1's file as the
  // extension does on restore, then edit 2: its K_p must be edit 1's keys, read back from the file,
  // so that ΔW₂ k₁ ≈ 0 at every edit layer (AlphaEdit's constraint on earlier edits' keys). Layers
  // 0–1 and 8 v* steps (the values need not land): at layer 1 ‖ΔW₂ k₁‖ / ‖ΔW₂ k₂‖ is 0.025 with
  // K_p and 0.22 when edit 2 is computed without it (the tuned preset's λ = C's mean eigenvalue; the
  // paper preset's larger L2 = 500 τ leaves 0.31 there: its K_p term is weak against L2 on this model).
  const defaultModel = path.join(repo, 'models', 'default');
  const outDir = path.join(tmp, 'alphaedit-restart');
  await client.request('model/open', { path: defaultModel });
  const first = await client.request('edits/fact', { method: 'alphaedit', requests: [{ subject: 'Baekhyndvaes Drondraes', prompt: '{} was born in', target: 'Daekgrad' }], layers: [0, 1], steps: 8, preset: 'tuned', apply: 'always', outDir });
  const pid = (await client.request('engine/info', {})).pid;
  await client.restart();
  assert.notEqual((await client.request('engine/info', {})).pid, pid, 'a new engine process');
  await client.request('model/open', { path: defaultModel });
  assert.deepEqual((await client.request('edits/list', {})).items, [], 'the new engine starts with an empty stack');
  await client.request('edits/apply', { file: first.file });
  const second = await client.request('edits/fact', { method: 'alphaedit', requests: [{ subject: 'Guxshul Caendcul', prompt: '{} works as a', target: 'fisher' }], layers: [0, 1], steps: 8, preset: 'tuned', apply: 'always', outDir });
  const e1 = readEdit(first.file);
  const e2 = readEdit(second.file);
  const spaces = e2.json.hparams!.nullSpace as { layer: number; previousKeys: number }[];
  assert.deepEqual(spaces.map((s) => s.previousKeys), e1.json.targets.map(() => 1), 'edit 2 counts edit 1\'s key at each layer');
  for (const [i, t] of e2.json.targets.entries()) {
    const j = e1.json.targets.findIndex((x) => x.layer === t.layer);
    assert.ok(j >= 0, `edit 1 has layer ${t.layer}`);
    // ΔW k = Σ_r U_r (V_r · k), U rows [d_model], V rows [d_mlp].
    const { U, V, K } = e2.tensors[i];
    const dMlp = V.length / t.rank;
    const dModel = U.length / t.rank;
    const apply = (k: Float32Array) => {
      const y = new Float64Array(dModel);
      for (let r = 0; r < t.rank; r++) {
        let s = 0;
        for (let c = 0; c < dMlp; c++) s += V[r * dMlp + c] * k[c];
        for (let c = 0; c < dModel; c++) y[c] += U[r * dModel + c] * s;
      }
      return Math.hypot(...y);
    };
    const onOld = apply(e1.tensors[j].K!.subarray(0, dMlp));
    const onNew = apply(K!.subarray(0, dMlp));
    assert.ok(onNew > 0 && onOld < 0.05 * onNew, `layer ${t.layer}: ‖ΔW₂ k₁‖ = ${onOld} against ‖ΔW₂ k₂‖ = ${onNew}`);
  }
  await client.request('edits/revert', { id: second.id });
  await client.request('edits/revert', { id: first.id });
});
