// Key statistics computed inside the graph against the same statistics from the mlp.key tap,
// the disk cache, and edit health's ‖ΔW‖/‖W‖ against an explicit ΔW.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LoadedModel } from '../../src/core/runtime/model';
import { keyStats, solveC, corpusDocuments, spreadDocuments, covarianceSolver, adjustedColumns } from '../../src/core/edits/stats';
import { editHealth } from '../../src/core/edits/health';
import { EditStack } from '../../src/core/edits/stack';
import { readTensorF32 } from '../../src/core/checkpoint/safetensors';
import { tapName } from '../../src/core/graph/taps';
import type { MechEditError } from '../../src/core/errors';

const repo = path.join(__dirname, '..', '..', '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-stats-'));
process.env.MECHEDIT_CACHE = path.join(tmp, 'cache');
const corpus = path.join(tmp, 'corpus.txt');
fs.writeFileSync(corpus, Array.from({ length: 40 }, (_, i) => `Sentence ${i}: the quick brown fox ${i % 7} jumps over ${i % 5} lazy dogs.`).join('\n'));

test('C = E[kkᵀ] from the in-graph Gram matrix equals the mean outer product of the mlp.key tap; cached afterwards', async () => {
  const model = LoadedModel.open(path.join(repo, 'test', 'fixtures', 'models', 'llama-gqa'), { provider: 'cpu', threads: 1 });
  const layer = 1;
  const s = await keyStats(model, { layer, corpus: [corpus], samples: 300, seqLen: 40, batch: 3 });
  assert.ok(s.count >= 300 && !s.cached);
  // Independent: the same sequences through the tap, outer products summed in JS. The lines are
  // read in the golden-ratio sweep's order: step round(0.618 · 40) = 25, the first step from there
  // coprime with 40 is 27, so line (27 i) mod 40 comes i-th.
  const lines = fs.readFileSync(corpus, 'utf8').split('\n');
  const ids: number[] = [];
  for (let i = 0; i < lines.length; i++) ids.push(...model.tokenizer.encode(lines[(27 * i) % 40].trim()));
  const F = model.dims.dMlp;
  const ref = new Float64Array(F * F);
  let n = 0;
  for (let i = 0; i < ids.length && n < s.count; i += 40) {
    const row = ids.slice(i, i + 40);
    const out = await model.run({ taps: [tapName(layer, 'mlp.key')], layers: layer + 1 }, model.makeBatch([row]));
    const k = out[tapName(layer, 'mlp.key')].data as Float32Array;
    for (let p = 0; p < row.length; p++) {
      for (let a = 0; a < F; a++) for (let b = 0; b < F; b++) ref[a * F + b] += k[p * F + a] * k[p * F + b];
      n++;
    }
  }
  assert.equal(n, s.count);
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < ref.length; i++) {
    worst = Math.max(worst, Math.abs(ref[i] / n - s.C[i]));
    scale = Math.max(scale, Math.abs(s.C[i]));
  }
  assert.ok(worst < 1e-5 * Math.max(1, scale), `C differs by ${worst} (scale ${scale})`);
  const again = await keyStats(model, { layer, corpus: [corpus], samples: 300, seqLen: 40, batch: 3 });
  assert.ok(again.cached);
  assert.ok(again.C.every((v, i) => Math.abs(v - s.C[i]) < 1e-6 * Math.max(1, Math.abs(v))));
  // The Cholesky solve inverts C (up to its tiny ridge).
  const b = Float64Array.from({ length: F }, (_, i) => Math.sin(i + 1));
  const x = solveC(s, b);
  let trace = 0;
  for (let i = 0; i < F; i++) trace += s.C[i * F + i];
  const ridge = (1e-6 * trace) / F;
  const cx = Float64Array.from({ length: F }, (_, i) => s.C.subarray(i * F, (i + 1) * F).reduce((acc, v, j) => acc + v * x[j], ridge * x[i]));
  const rel = Math.sqrt(cx.reduce((acc, v, i) => acc + (v - b[i]) ** 2, 0) / b.reduce((acc, v) => acc + v * v, 0));
  assert.ok(rel < 1e-9, `(C + ρI) x = b to ${rel}`);
  await model.release();
});

test('health: ‖ΔW‖/‖W‖ equals the explicit norm; zero edit → zero KL', async () => {
  const model = LoadedModel.open(path.join(repo, 'test', 'fixtures', 'models', 'gpt2-tiny'), { provider: 'cpu', threads: 1 });
  const w = model.plan.blocks[0].down;
  const U = Float32Array.from({ length: 2 * w.out }, (_, i) => Math.cos(i) * 0.1);
  const V = Float32Array.from({ length: 2 * w.in }, (_, i) => Math.sin(i * 0.7) * 0.1);
  const edit = {
    json: { format: 'mechedit-edit/1' as const, id: 'h', label: 'h', method: 'manual' as const, modelFingerprint: model.checkpoint.fingerprint, targets: [{ layer: 0, module: 'mlp.out' as const, rank: 2, U: 'U', V: 'V' }], vectors: 'h.safetensors', created: '' },
    tensors: [{ U, V }],
  };
  const stack = new EditStack(model);
  const h = await editHealth(model, stack, edit);
  let dw = 0;
  for (let o = 0; o < w.out; o++) {
    for (let i = 0; i < w.in; i++) {
      const v = U[o] * V[i] + U[w.out + o] * V[w.in + i];
      dw += v * v;
    }
  }
  const W = readTensorF32(w.w);
  const expected = Math.sqrt(dw) / Math.sqrt(W.reduce((a, v) => a + v * v, 0));
  assert.ok(Math.abs(h.targets[0].relNorm - expected) < 1e-9 * expected + 1e-12, `${h.targets[0].relNorm} vs ${expected}`);
  assert.ok(h.klNeutral > 0);
  assert.deepEqual(stack.list(), [], 'health leaves the stack as it was');
  const zero = { ...edit, tensors: [{ U: new Float32Array(U.length), V }] };
  const hz = await editHealth(model, stack, zero);
  assert.equal(hz.targets[0].relNorm, 0);
  assert.ok(Math.abs(hz.klNeutral) < 1e-9);
  assert.deepEqual(hz.warnings, []);
  await model.release();
});

test('the corpus: paragraphs where a file has blank lines, else lines; sampled across every file, not from the head', () => {
  const a = path.join(tmp, 'a.txt');
  const b = path.join(tmp, 'b.txt');
  fs.writeFileSync(a, 'Question: What is X?\nA. one\nB. two\nAnswer: A\n\n  \nX is one.\r\n\r\nLast paragraph.\n');
  fs.writeFileSync(b, 'line one\n\nline two'.replace('\n\n', '\n') + '\nline three\n');
  assert.deepEqual(corpusDocuments([a, b]), ['Question: What is X?\nA. one\nB. two\nAnswer: A', 'X is one.', 'Last paragraph.', 'line one', 'line two', 'line three']);
  const docs = Array.from({ length: 100 }, (_, i) => `d${i}`);
  const order = [...spreadDocuments(docs)];
  assert.deepEqual([...order].sort(), [...docs].sort(), 'every document once');
  // The first tenth already reaches every tenth of the corpus.
  const deciles = new Set(order.slice(0, 10).map((d) => Math.floor(Number(d.slice(1)) / 10)));
  assert.ok(deciles.size >= 8, `first 10 documents come from ${deciles.size} of 10 deciles`);
  assert.deepEqual([...spreadDocuments(['only'])], ['only']);
});

test('covarianceSolver: (λ C + M Mᵀ) x = b', () => {
  const n = 6;
  const C = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) C[i * n + j] = (i === j ? 2 : 0) + 0.3 * Math.cos(i + j) * Math.cos(i - j);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) C[i * n + j] = C[j * n + i] = (C[i * n + j] + C[j * n + i]) / 2;
  const stats = { layer: 0, C, dim: n, count: 1, corpus: [], file: 'mem', cached: true };
  const M = [Float64Array.from({ length: n }, (_, i) => Math.sin(i + 1)), Float64Array.from({ length: n }, (_, i) => i - 2.5)];
  const b = Float64Array.from({ length: n }, (_, i) => 1 / (i + 1));
  const lambda = 3;
  const x = covarianceSolver(stats, lambda, M)(b);
  let trace = 0;
  for (let i = 0; i < n; i++) trace += C[i * n + i];
  const ridge = (1e-6 * trace) / n; // solveC's
  for (let i = 0; i < n; i++) {
    let lhs = lambda * ridge * x[i];
    for (let j = 0; j < n; j++) lhs += (lambda * C[i * n + j] + M.reduce((acc, m) => acc + m[i] * m[j], 0)) * x[j];
    assert.ok(Math.abs(lhs - b[i]) < 1e-9, `row ${i}: ${lhs} vs ${b[i]}`);
  }
  // MEMIT's adjusted columns are the same solve applied to each column.
  const solve = covarianceSolver(stats, lambda, M);
  adjustedColumns(stats, lambda, M).forEach((k, j) => {
    const ref = solve(M[j]);
    k.forEach((v, i) => assert.ok(Math.abs(v - ref[i]) < 1e-12, `column ${j}, row ${i}`));
  });
});

test('statistics that cannot be inverted are a bad-input error naming the file', () => {
  const n = 3;
  const C = new Float64Array(n * n);
  for (let i = 0; i < n; i++) C[i * n + i] = 1;
  C[4] = Number.NaN;
  const stats = { layer: 2, C, dim: n, count: 10, corpus: [], file: '/cache/stats/L2.safetensors', cached: true };
  assert.throws(() => solveC(stats, new Float64Array([1, 2, 3])), (e: MechEditError) => e.data.code === 'bad-input' && e.data.file === stats.file && /non-finite/.test(e.data.message));
  // Negative definite even after the ridge retries.
  const neg = Float64Array.from(C, (_, i) => (i % (n + 1) === 0 ? -1 : 0));
  assert.throws(() => solveC({ ...stats, C: neg }, new Float64Array([1, 2, 3])), (e: MechEditError) => e.data.code === 'bad-input' && /not positive definite/.test(e.data.message));
});
