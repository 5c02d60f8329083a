// AlphaEdit: the null-space projector against numpy's eigendecomposition (golden from
// tools/nullspace_golden.py), the projected update against its defining formula, ΔW K0 ≈ 0 for
// the preserved keys, a second edit keeping the first one's keys, and the edit on the bundled
// model (written, read back, accumulated from the file, applied and reverted).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LoadedModel } from '../../src/core/runtime/model';
import { EditStack } from '../../src/core/edits/stack';
import { computeAlphaEdit, alphaEditColumns, previousKeys } from '../../src/core/edits/alphaedit';
import { applyProjector, nullSpaceFor, relativeTau, spectralProjector, type NullSpace } from '../../src/core/edits/nullspace';
import { readEdit, writeEdit } from '../../src/core/edits/editFile';
import { keyStats } from '../../src/core/edits/stats';
import { dot, solveSmall } from '../../src/core/edits/linalg';
import { scoreAnswers } from '../../src/core/runtime/answers';

const repo = path.join(__dirname, '..', '..', '..');
process.env.MECHEDIT_CACHE = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-alphaedit-'));
const cpu = { provider: 'cpu' as const, threads: 1 };

function rand(n: number, seed: number): Float64Array {
  let s = seed >>> 0;
  return Float64Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  });
}

const frob = (a: ArrayLike<number>, b: ArrayLike<number>) => Math.sqrt(Array.from(a).reduce((s, x, i) => s + (x - b[i]) ** 2, 0));

test('the spectral projector matches the eigendecomposition (numpy golden)', async () => {
  const g = JSON.parse(fs.readFileSync(path.join(repo, 'test', 'fixtures', 'golden', 'nullspace.json'), 'utf8')) as { n: number; tau: number; dimension: number; C: number[]; P: number[] };
  const ns = await spectralProjector(Float64Array.from(g.C), g.n, g.tau, cpu);
  assert.equal(ns.dimension, g.dimension);
  const err = frob(ns.P, g.P);
  assert.ok(err < 1e-3, `‖P − P_exact‖_F = ${err}`);
  assert.ok(ns.residual < 1e-4, `converged: ${ns.residual}`);
  // The threshold on the other side of an eigenvalue gives a different projector: the test can tell.
  const lower = await spectralProjector(Float64Array.from(g.C), g.n, g.tau * 0.5, cpu);
  assert.ok(lower.dimension < g.dimension && frob(lower.P, g.P) > 0.9, 'a lower τ drops eigen-directions');
});

/** Keys K0 (m rows) spanning only r orthonormal directions of d (scales 1…2): C's null space is the other d − r. */
function preserved(d: number, r: number, m: number) {
  const basis: Float64Array[] = [];
  for (let i = 0; i < r; i++) {
    const b = rand(d, 100 + i);
    for (const q of basis) {
      const c = dot(b, q);
      b.forEach((_, t) => (b[t] -= c * q[t]));
    }
    const n = Math.hypot(...b);
    basis.push(b.map((x) => x / n));
  }
  const K0 = Array.from({ length: m }, (_, j) => {
    const g = rand(r, 1000 + j);
    const k = new Float64Array(d);
    basis.forEach((b, i) => b.forEach((x, t) => (k[t] += (1 + i / r) * g[i] * x)));
    return k;
  });
  const C = new Float64Array(d * d);
  for (const k of K0) for (let i = 0; i < d; i++) for (let t = 0; t < d; t++) C[i * d + t] += (k[i] * k[t]) / m;
  return { K0, C };
}

/** ΔW v = Σ_j r_j (x_jᵀ v). */
const applyDelta = (R: Float64Array[], X: Float64Array[], v: Float64Array) => {
  const out = new Float64Array(R[0].length);
  X.forEach((x, j) => {
    const c = dot(x, v);
    R[j].forEach((r, i) => (out[i] += r * c));
  });
  return out;
};

/** METHODS.md's formula: Xᵀ = K1ᵀ P (K_p K_pᵀ P + K1 K1ᵀ P + λ I)⁻¹, dense d × d by Gaussian elimination (row j of Xᵀ solves Sᵀ y = P k_j). */
function direct(P: (v: Float64Array) => Float64Array, Kp: Float64Array[], K1: Float64Array[], lambda: number, d: number): Float64Array[] {
  const S = new Float64Array(d * d);
  const all = [...Kp, ...K1];
  // S = A P + λ I with A = Σ k kᵀ: column t of A P is A (P e_t).
  for (let t = 0; t < d; t++) {
    const e = new Float64Array(d);
    e[t] = 1;
    const pe = P(e);
    for (const k of all) {
      const c = dot(k, pe);
      for (let i = 0; i < d; i++) S[i * d + t] += k[i] * c;
    }
    S[t * d + t] += lambda;
  }
  const St = Float64Array.from({ length: d * d }, (_, i) => S[(i % d) * d + Math.floor(i / d)]);
  return K1.map((k) => solveSmall(St, P(k), d));
}

test("AlphaEdit's update leaves the preserved keys unchanged (ΔW K0 ≈ 0) and meets METHODS.md's formula", async () => {
  const d = 48;
  const { K0, C } = preserved(d, 30, 300);
  const tau = relativeTau(C, d, 0.1);
  const ns: NullSpace = { ...(await spectralProjector(C, d, tau, cpu)), cached: false };
  assert.equal(ns.dimension, 18, 'the null space is the 18 directions no preserved key uses');
  const K1 = [1, 2, 3].map((s) => rand(d, s));
  const R = [7, 8, 9].map((s) => rand(6, s));
  const lambda = 1e-4 * relativeTau(C, d, 1);
  const X = alphaEditColumns(ns, { ids: new Set(), cols: [] }, K1, lambda);
  const worst = Math.max(...K0.map((k) => Math.hypot(...applyDelta(R, X, k)) / Math.hypot(...k)));
  const scale = Math.max(...K1.map((k) => Math.hypot(...applyDelta(R, X, k)) / Math.hypot(...k)));
  assert.ok(worst < 1e-4 * scale, `‖ΔW k0‖/‖k0‖ ≤ ${worst} against ${scale} for the edited keys`);
  K1.forEach((k, j) => assert.ok(frob(applyDelta(R, X, k), R[j]) < 1e-3 * Math.hypot(...R[j]), `ΔW k1 = r for key ${j}`));
  const ref = direct((v) => applyProjector(ns, v), [], K1, lambda, d);
  X.forEach((x, j) => assert.ok(frob(x, ref[j]) < 1e-3 * Math.hypot(...ref[j]), `column ${j} equals the direct formula: ${frob(x, ref[j]) / Math.hypot(...ref[j])}`));
});

test('a second AlphaEdit edit keeps the first one\'s keys (ΔW₂ K_p ≈ 0), by Woodbury and by the dense solve', async () => {
  const d = 48;
  const { C } = preserved(d, 30, 300);
  const ns: NullSpace = { ...(await spectralProjector(C, d, relativeTau(C, d, 0.1), cpu)), cached: false };
  const lambda = 1e-4 * relativeTau(C, d, 1);
  const R = [7, 8].map((s) => rand(6, s));
  const K1 = [1, 2].map((s) => rand(d, s));
  // 3 earlier keys: m = 5 ≤ d/4 (Woodbury); 13 earlier keys: m = 15 > d/4 (dense Cholesky).
  for (const count of [3, 13]) {
    const Kp = Array.from({ length: count }, (_, i) => rand(d, 50 + i));
    const X = alphaEditColumns(ns, { ids: new Set(['first']), cols: Kp.map((k) => applyProjector(ns, k)) }, K1, lambda);
    const kept = Math.max(...Kp.map((k) => Math.hypot(...applyDelta(R, X, k)) / Math.hypot(...k)));
    const edited = Math.min(...K1.map((k) => Math.hypot(...applyDelta(R, X, k)) / Math.hypot(...k)));
    assert.ok(kept < 1e-3 * edited, `${count} earlier keys: ‖ΔW₂ k_p‖ ${kept} against ${edited}`);
    const ref = direct((v) => applyProjector(ns, v), Kp, K1, lambda, d);
    X.forEach((x, j) => assert.ok(frob(x, ref[j]) < 1e-3 * Math.hypot(...ref[j]), `${count} earlier keys: column ${j} equals the direct formula: ${frob(x, ref[j]) / Math.hypot(...ref[j])}`));
    // Without K_p the same edit moves the earlier keys: the accumulation is what keeps them.
    const alone = alphaEditColumns(ns, { ids: new Set(), cols: [] }, K1, lambda);
    assert.ok(Math.max(...Kp.map((k) => Math.hypot(...applyDelta(R, alone, k)) / Math.hypot(...k))) > 10 * kept, 'without K_p the earlier keys move');
  }
});

test('AlphaEdit on the bundled model: the update stays in the null space, the keys accumulate from the edit files, apply and revert', async () => {
  const model = LoadedModel.open(path.join(repo, 'models', 'default'), cpu);
  try {
    const stack = new EditStack(model);
    const hparams = { steps: 4 };
    const first = await computeAlphaEdit(model, stack, [{ subject: 'Baekhyndvaes Drondraes', prompt: '{} was born in', target: 'Daekgrad' }], { hparams, layers: [0, 1] });
    const json = first.edit.json;
    assert.equal(json.method, 'alphaedit');
    assert.deepEqual(json.targets.map((t) => t.layer), [0, 1]);
    const spaces = json.hparams!.nullSpace as { layer: number; tau: number; dimension: number; previousKeys: number }[];
    assert.deepEqual(spaces.map((s) => s.previousKeys), [0, 0]);
    for (const [i, t] of json.targets.entries()) {
      // The update's direction x (V) lies among C's eigenvalues below τ: xᵀ C x ≤ τ ‖x‖².
      const stats = await keyStats(model, { layer: t.layer, corpus: [path.join(repo, 'models', 'default', 'corpus.txt')] });
      const x = Float64Array.from(first.edit.tensors[i].V);
      const d = x.length;
      const Cx = Float64Array.from({ length: d }, (_, r) => dot(stats.C.subarray(r * d, (r + 1) * d), x));
      const rayleigh = dot(x, Cx) / dot(x, x);
      assert.ok(spaces[i].dimension > 0 && spaces[i].dimension < d, `layer ${t.layer}: null space of ${spaces[i].dimension}`);
      assert.ok(rayleigh < 1.05 * spaces[i].tau, `layer ${t.layer}: xᵀCx/‖x‖² = ${rayleigh} against τ ${spaces[i].tau}`);
    }
    // Written and read back (the schema knows "alphaedit"), then a fresh stack from the file: the second edit finds K_p there.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-alphaedit-edits-'));
    const file = writeEdit(dir, first.edit, (t) => ({ out: model.dims.dModel, in: t.module === 'mlp.out' ? model.dims.dMlp : model.dims.dModel }), model.checkpoint);
    const restarted = new EditStack(model.bare());
    restarted.apply(readEdit(file));
    const second = await computeAlphaEdit(restarted.model, restarted, [{ subject: 'Guxshul Caendcul', prompt: '{} works as a', target: 'fisher' }], { hparams, layers: [0, 1] });
    assert.deepEqual((second.edit.json.hparams!.nullSpace as { previousKeys: number }[]).map((s) => s.previousKeys), [1, 1]);
    const pair = [{ prompt: 'Baekhyndvaes Drondraes was born in', answer: 'Daekgrad' }];
    const before = (await scoreAnswers(restarted.model, pair))[0].meanLogprob;
    restarted.apply(second.edit);
    const during = (await scoreAnswers(restarted.model, pair))[0].meanLogprob;
    restarted.revert(second.edit.json.id);
    restarted.revert(json.id);
    const bare = (await scoreAnswers(restarted.model, pair))[0].meanLogprob;
    assert.ok(Math.abs(during - before) < 0.05 * Math.abs(before) + 0.05, `the second edit keeps the first fact's score: ${before} → ${during}`);
    assert.notEqual(bare, before, 'reverting removes the first edit');
    assert.equal(bare, (await scoreAnswers(model.bare(), pair))[0].meanLogprob, 'reverting everything gives the unedited model');
    // Two requests' stacks at once: the keys one request holds never gain the other stack's edits.
    const ns = await nullSpaceFor(model, await keyStats(model, { layer: 0, corpus: [path.join(repo, 'models', 'default', 'corpus.txt')] }), spaces[0].tau);
    const withOne = new EditStack(model.bare());
    withOne.apply(readEdit(file));
    const held = previousKeys(withOne, 0, ns);
    const withBoth = new EditStack(model.bare());
    withBoth.apply(readEdit(file));
    withBoth.apply(second.edit);
    assert.equal(previousKeys(withBoth, 0, ns).cols.length, 2);
    assert.equal(held.cols.length, 1, "the first stack's keys are not extended by the second stack's edit");
    assert.equal(previousKeys(withOne, 0, ns).cols.length, 1);
  } finally {
    await model.release();
  }
});
