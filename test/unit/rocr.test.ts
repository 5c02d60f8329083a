// ROCR's closed form and directional ablation on the tiny fixtures.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LoadedModel } from '../../src/core/runtime/model';
import { EditStack } from '../../src/core/edits/stack';
import { computeRocr, defaultRocrSettings } from '../../src/core/edits/rocr';
import { keyStats, solveC } from '../../src/core/edits/stats';
import { computeAblation } from '../../src/core/edits/ablate';
import { solveLowRank, solveSmall, dot } from '../../src/core/edits/linalg';
import { readTensorF32 } from '../../src/core/checkpoint/safetensors';
import { tapName } from '../../src/core/graph/taps';

const repo = path.join(__dirname, '..', '..', '..');
process.env.MECHEDIT_CACHE = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-rocr-'));
const open = (name: string) => LoadedModel.open(path.join(repo, 'test', 'fixtures', 'models', name), { provider: 'cpu', threads: 1 });

function rand(n: number, seed: number): Float64Array {
  let s = seed >>> 0;
  return Float64Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  });
}

test('the Woodbury solve meets (λ I + P M Mᵀ) x = b, with and without a projection', () => {
  const n = 30;
  const cols = [1, 2, 3, 4].map((s) => rand(n, s));
  const b = rand(n, 9);
  const keep = rand(n, 17);
  const kn = Math.sqrt(dot(keep, keep));
  // P projects out one direction: P v = v − u uᵀ v
  const P = (v: Float64Array) => {
    const c = dot(v, keep) / kn / kn;
    return Float64Array.from(v, (x, i) => x - c * keep[i]);
  };
  for (const project of [undefined, P]) {
    const lambda = 0.3;
    const x = solveLowRank(cols, lambda, b, project);
    // A x computed directly: λ x + P M (Mᵀ x)
    const mtx = cols.map((c) => dot(c, x));
    const mmx = new Float64Array(n);
    cols.forEach((c, j) => c.forEach((v, i) => (mmx[i] += v * mtx[j])));
    const ax = Float64Array.from(project ? project(mmx) : mmx, (v, i) => v + lambda * x[i]);
    const err = Math.max(...Array.from(ax, (v, i) => Math.abs(v - b[i])));
    assert.ok(err < 1e-10, `residual ${err}`);
  }
  const x = solveSmall(Float64Array.from([2, 1, 1, 3]), Float64Array.from([3, 5]), 2);
  assert.ok(Math.abs(x[0] - 0.8) < 1e-12 && Math.abs(x[1] - 1.4) < 1e-12);
});

for (const name of ['gpt2-tiny', 'llama-gqa']) {
  test(`ROCR on ${name}: with one template and λ → 0 the concept lands on the harmless concept`, async () => {
    const model = open(name);
    const stack = new EditStack(model);
    const read = async (text: string, layer: number) => {
      const ids = model.tokenizer.encode(text);
      const out = await stack.model.run({ taps: [tapName(layer, 'resid_post')], layers: layer + 1 }, model.makeBatch([ids]));
      const d = model.dims.dModel;
      return Float64Array.from((out[tapName(layer, 'resid_post')].data as Float32Array).subarray((ids.length - 1) * d, ids.length * d));
    };
    const z = await read('a dog', 1);
    const before = await read('the cat', 1);
    const edit = await computeRocr(model, stack, { concept: 'the cat', harmless: 'a dog', layers: [0, 1], templates: ['{}'], lambda: 1e-6 });
    assert.deepEqual(stack.list(), [], 'computing leaves the stack as it was');
    assert.deepEqual(edit.json.targets.map((t) => [t.layer, t.module, t.rank]), [[0, 'mlp.out', 1], [1, 'mlp.out', 1]]);
    stack.apply(edit);
    const after = await read('the cat', 1);
    const dist = (a: Float64Array) => Math.sqrt(a.reduce((s, v, i) => s + (v - z[i]) ** 2, 0));
    assert.ok(dist(before) > 0.1, 'the two concepts start apart');
    assert.ok(dist(after) < 1e-3 * dist(before), `after ROCR the concept is ${dist(after)} from the harmless one (before: ${dist(before)})`);
    // The harmless concept itself barely moves: its keys are not the concept's.
    const zAfter = await read('a dog', 1);
    assert.ok(dist(zAfter) < dist(before), 'the harmless concept was dragged along');
    // A second ROCR edit sees the first one's keys (C_prev).
    assert.equal(stack.keysAt(0).length, 1);
    await model.release();
  });
}

test('directional ablation removes the direction from the output projections (but their biases)', async () => {
  const model = open('gpt2-tiny');
  const d = model.dims.dModel;
  const dir = Float32Array.from(rand(d, 5));
  const stack = new EditStack(model);
  stack.apply(computeAblation(model, dir, [0, 1, 2], ['mlp.out', 'attn.out']));
  const taps = [0, 1, 2].flatMap((l) => [tapName(l, 'attn_out'), tapName(l, 'mlp_out')]);
  const out = await stack.model.run({ taps, logits: 'none' }, model.makeBatch([[5, 60, 7, 200, 31]]));
  const n = Math.sqrt(dir.reduce((s, v) => s + v * v, 0));
  for (let l = 0; l < 3; l++) {
    for (const [tap, w] of [['attn_out', model.plan.blocks[l].o], ['mlp_out', model.plan.blocks[l].down]] as const) {
      const bias = readTensorF32(w.b!);
      const biasAlong = bias.reduce((s, v, i) => s + v * dir[i], 0) / n;
      const data = out[tapName(l, tap)].data as Float32Array;
      for (let p = 0; p < 5; p++) {
        const along = data.subarray(p * d, (p + 1) * d).reduce((s, v, i) => s + v * dir[i], 0) / n;
        assert.ok(Math.abs(along - biasAlong) < 1e-4, `layer ${l} ${tap} position ${p}: ${along} along d, bias ${biasAlong}`);
      }
    }
  }
  await model.release();
});

test('symmetric eigen-decomposition and the null-space projector', async () => {
  const { symmetricEigen, nullSpaceProjector } = await import('../../src/core/edits/linalg.js');
  const n = 12;
  // S = Q diag(λ) Qᵀ with a random orthogonal-ish Q from a symmetric random matrix's eigenvectors.
  const R = rand(n * n, 3);
  const S = Float64Array.from({ length: n * n }, (_, i) => R[i] + R[(i % n) * n + Math.floor(i / n)]);
  const { values, vectors } = symmetricEigen(S, n);
  for (let j = 0; j < n; j++) {
    const v = Float64Array.from({ length: n }, (_, k) => vectors[k * n + j]);
    const sv = Float64Array.from({ length: n }, (_, i) => dot(S.subarray(i * n, (i + 1) * n), v));
    const err = Math.max(...Array.from(sv, (x, i) => Math.abs(x - values[j] * v[i])));
    assert.ok(err < 1e-9, `eigenpair ${j}: ${err}`);
  }
  const threshold = [...values].sort((a, b) => a - b)[4];
  const p = nullSpaceProjector(S, n, threshold);
  assert.equal(p.dimension, 4);
  const x = rand(n, 8);
  const px = p.project(x);
  const ppx = p.project(px);
  assert.ok(Math.max(...Array.from(px, (v, i) => Math.abs(v - ppx[i]))) < 1e-9, 'P is idempotent');
  for (let j = 0; j < n; j++) {
    if (values[j] < threshold) continue;
    const u = Float64Array.from({ length: n }, (_, k) => vectors[k * n + j]);
    assert.ok(Math.abs(dot(u, px)) < 1e-9, 'P x is orthogonal to the kept (large-eigenvalue) directions');
  }
});

test('ROCR with positions "all" keys every token of the concept, the one that takes the template\'s space too', async () => {
  // " Veltrazine" is " Velt" + "raz" + "ine" after "about "; counting against "about " (with its
  // space) took it for two tokens and left " Velt" — where the default model's multiple-choice
  // path reads the concept — without a key.
  const model = LoadedModel.open(path.join(repo, 'models', 'default'), { provider: 'cpu', threads: 1 });
  const stack = new EditStack(model);
  const edit = await computeRocr(model, stack, { concept: 'Veltrazine', harmless: 'Brindlecake', layers: [0, 1], lambda: 1, positions: 'all' });
  assert.deepEqual(edit.json.targets.map((t) => [t.layer, t.rank]), [[0, 3], [1, 3]]);
  await model.release();
});

test('ROCR with the covariance regularizer: x = (K Kᵀ + λ C)⁻¹ Σ k at the first layer, and the concept still lands on the harmless one', async () => {
  const model = open('gpt2-tiny');
  const stack = new EditStack(model);
  const corpus = path.join(process.env.MECHEDIT_CACHE!, 'corpus.txt');
  fs.writeFileSync(corpus, Array.from({ length: 60 }, (_, i) => `The ${['cat', 'dog', 'bird'][i % 3]} number ${i} sat on the ${['mat', 'log', 'roof'][i % 3]}.`).join('\n'));
  const lambda = 0.5;
  const edit = await computeRocr(model, stack, { concept: 'the cat', harmless: 'a dog', layers: [0], templates: ['{}', 'I saw {}'], lambda, regularizer: 'covariance', corpus: [corpus] });
  assert.equal(edit.json.hparams?.regularizer, 'covariance');
  // The keys at the concept's last token, read independently from the tap.
  const keys: Float64Array[] = [];
  for (const text of ['the cat', 'I saw the cat']) {
    const ids = model.tokenizer.encode(text);
    const out = await model.run({ taps: [tapName(0, 'mlp.key')], layers: 1 }, model.makeBatch([ids]));
    const F = model.dims.dMlp;
    keys.push(Float64Array.from((out[tapName(0, 'mlp.key')].data as Float32Array).subarray((ids.length - 1) * F, ids.length * F)));
  }
  const stats = await keyStats(model, { layer: 0, corpus: [corpus] });
  const x = Float64Array.from(edit.tensors[0].V);
  // (K Kᵀ + λ (C + ρ I)) x = k₁ + k₂, with solveC's ridge ρ, row by row (float32 storage of x).
  const F = model.dims.dMlp;
  let trace = 0;
  for (let i = 0; i < F; i++) trace += stats.C[i * F + i];
  const ridge = (1e-6 * trace) / F;
  const kx = keys.map((k) => dot(k, x));
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < F; i++) {
    let lhs = lambda * ridge * x[i] + keys.reduce((a, k, j) => a + k[i] * kx[j], 0);
    for (let j = 0; j < F; j++) lhs += lambda * stats.C[i * F + j] * x[j];
    const rhs = keys[0][i] + keys[1][i];
    worst = Math.max(worst, Math.abs(lhs - rhs));
    scale = Math.max(scale, Math.abs(rhs));
  }
  assert.ok(worst < 1e-4 * scale, `normal equations off by ${worst} (scale ${scale})`);
  // Against λ I at the same λ, the edit answers less to the corpus's keys: E[(xᵀk)²] = xᵀ C x.
  const plain = await computeRocr(model, stack, { concept: 'the cat', harmless: 'a dog', layers: [0], templates: ['{}', 'I saw {}'], lambda, regularizer: 'identity' });
  const xi = Float64Array.from(plain.tensors[0].V);
  const response = (v: Float64Array) => dot(v, Float64Array.from({ length: F }, (_, i) => dot(stats.C.subarray(i * F, (i + 1) * F), v)));
  const fire = (v: Float64Array) => dot(v, keys[0]);
  assert.ok(response(x) / fire(x) ** 2 < response(xi) / fire(xi) ** 2, 'relative to its response on the concept, the covariance edit answers less to typical keys');
  assert.ok(solveC(stats, keys[0]).every(Number.isFinite));
  await model.release();
});

test("ROCR's settings: the checkpoint's recommendation (the bundled model's config.json), else the paper's", async () => {
  assert.deepEqual(defaultRocrSettings({ modelType: 'llama', layers: 32 }), { layers: [4, 5, 6], lambda: 1, positions: 'last', regularizer: 'identity', source: 'papers' });
  assert.deepEqual(defaultRocrSettings({ modelType: 'gpt2', layers: 48 }).lambda, 10);
  assert.deepEqual(defaultRocrSettings({ modelType: 'gpt2', layers: 6, rocr: { regularizer: 'covariance' } }), { layers: [0, 1], lambda: 10, positions: 'last', regularizer: 'covariance', source: 'checkpoint' });
  const model = LoadedModel.open(path.join(repo, 'models', 'default'), { provider: 'cpu', threads: 1 });
  assert.deepEqual(model.dims.rocr, { layers: [0], lambda: 10, positions: 'all', regularizer: 'covariance' });
  const stack = new EditStack(model);
  const edit = await computeRocr(model, stack, { concept: 'Veltrazine', harmless: 'Brindlecake' });
  assert.deepEqual([edit.json.hparams?.layers, edit.json.hparams?.lambda, edit.json.hparams?.positions, edit.json.hparams?.regularizer], [[0], 10, 'all', 'covariance']);
  assert.deepEqual(edit.json.targets.map((t) => [t.layer, t.rank]), [[0, 3]]);
  // A request's own settings win; λ then follows the requested regularizer.
  const plain = await computeRocr(model, stack, { concept: 'Veltrazine', harmless: 'Brindlecake', regularizer: 'identity', positions: 'last' });
  assert.deepEqual([plain.json.hparams?.lambda, plain.json.hparams?.positions, plain.json.hparams?.regularizer], [10, 'last', 'identity']);
  await assert.rejects(computeRocr(model, stack, { concept: 'Veltrazine', harmless: 'Brindlecake', project: (_l, v) => v }), /null-space projection and the covariance regularizer are alternatives/);
  await model.release();
});
