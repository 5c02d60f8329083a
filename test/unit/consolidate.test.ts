// Consolidation of the edit stack (consolidate.ts, EditStack's policy) on gpt2-tiny (mlp.out:
// d_out 48, d_in 192): the dense fold is exact (logits equal the stacked edits' within float32),
// a lossless SVD finds the true rank, a truncated SVD reports the error it makes (checked against
// ‖ΔW − ΔŴ‖_F / ‖ΔW‖_F computed densely here), revert after consolidation is bit-exact, and a
// fork's edits never reach the stack it came from.

import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { LoadedModel } from '../../src/core/runtime/model';
import { EditStack } from '../../src/core/edits/stack';
import type { Edit } from '../../src/core/edits/editFile';
import { truncatedSvd, type FactorPart } from '../../src/core/edits/consolidate';

const repo = path.join(__dirname, '..', '..', '..');
const model = LoadedModel.open(path.join(repo, 'test', 'fixtures', 'models', 'gpt2-tiny'), { provider: 'cpu', threads: 1 });
const LAYER = 1;
const { out: D_OUT, in: D_IN } = model.plan.blocks[LAYER].down;

function rand(n: number, seed: number, scale: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32 - 0.5) * 2 * scale;
  });
}

/** A rank-one edit of mlp.out at LAYER; with `basis`, its U row is a random mix of the basis rows. */
function edit(seed: number, basis?: Float32Array[]): Edit {
  let U = rand(D_OUT, seed, 0.05);
  if (basis) {
    const c = rand(basis.length, seed + 7, 1);
    U = Float32Array.from({ length: D_OUT }, (_, o) => basis.reduce((a, b, j) => a + c[j] * b[o], 0));
  }
  return {
    json: {
      format: 'mechedit-edit/1', id: `e${seed}`, label: `e${seed}`, method: 'manual', modelFingerprint: model.checkpoint.fingerprint,
      targets: [{ layer: LAYER, module: 'mlp.out', rank: 1, U: 'U', V: 'V' }], vectors: `e${seed}.safetensors`, created: new Date(0).toISOString(),
    },
    tensors: [{ U, V: rand(D_IN, seed + 1, 0.05) }],
  };
}

const edits = (n: number, from: number, basis?: Float32Array[]) => Array.from({ length: n }, (_, i) => edit(from + 10 * i, basis));

async function logits(m: LoadedModel): Promise<Float32Array> {
  return (await m.run({ logits: 'all' }, m.makeBatch([[5, 17, 300, 2, 44, 90]]))).logits.data as Float32Array;
}

const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);
const bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/** ΔW = Σ α Uᵀ V [D_OUT, D_IN] in float64, summed entry by entry (the reference). */
function denseOf(parts: FactorPart[]): Float64Array {
  const D = new Float64Array(D_OUT * D_IN);
  for (const p of parts) {
    for (let r = 0; r < p.rank; r++) {
      for (let o = 0; o < D_OUT; o++) for (let i = 0; i < D_IN; i++) D[o * D_IN + i] += p.alpha * p.U[r * D_OUT + o] * p.V[r * D_IN + i];
    }
  }
  return D;
}

const frob = (D: Float64Array) => Math.sqrt(D.reduce((a, x) => a + x * x, 0));

/** A stack with `list` applied under `policy` (strengths from `strengths`, default 1). */
function stackWith(list: Edit[], policy: Parameters<EditStack['setConsolidation']>[0], strengths: number[] = []): EditStack {
  const s = new EditStack(model.withEdits(model.edits));
  s.setConsolidation(policy);
  list.forEach((e, i) => s.apply(e, strengths[i] ?? 1));
  return s;
}

describe('consolidation of the edit stack on gpt2-tiny', () => {
  after(() => model.release());
  const key = `${LAYER}:mlp.out` as const;

  test('dense: 60 rank-one edits fold into rank 48, with the logits of the stacked edits; on-top applies match a fresh fold bit for bit', async () => {
    const list = edits(60, 100);
    const strengths = list.map((_, i) => (i % 3 === 0 ? 0.5 : 1));
    const stacked = stackWith(list, { mode: 'off' }, strengths);
    const dense = stackWith(list, { mode: 'exact' }, strengths);
    assert.equal(stacked.model.edits.get(key)?.rank, 60);
    assert.deepEqual(dense.consolidation().get(key), { summedRank: 60, rank: D_OUT, kind: 'dense', error: 0 });
    assert.equal(dense.model.edits.get(key)?.rank, D_OUT);
    const [a, b, bare] = [await logits(stacked.model), await logits(dense.model), await logits(model.bare())];
    assert.ok(maxDiff(a, bare) > 1e-2, 'the edits had no effect');
    assert.ok(maxDiff(a, b) < 2e-5, `dense fold differs from the stacked edits by ${maxDiff(a, b)}`);
    // The fed ΔW equals the reference sum within float32 rounding.
    const fed = dense.model.edits.get(key)!;
    const ref = denseOf(list.map((e, i) => ({ ...e.tensors[0], rank: 1, alpha: strengths[i] })));
    const got = denseOf([{ ...fed, alpha: 1 }]);
    assert.ok(got.every((x, i) => Math.abs(x - ref[i]) <= 1e-7 * (1 + Math.abs(ref[i]))));
    // Sixty applies one by one (each adding to the cached ΔW) equal one fold of all sixty.
    const fresh = stackWith(list, { mode: 'off' }, strengths);
    fresh.setConsolidation({ mode: 'exact' });
    assert.ok(bytes(fresh.model.edits.get(key)!.V).equals(bytes(fed.V)));
  });

  test('lossless SVD: edits whose values span 3 directions fold into rank 3 (from factors and from dense)', async () => {
    const basis = [0, 1, 2].map((j) => rand(D_OUT, 900 + j, 0.05));
    for (const n of [20, 60]) {
      const list = edits(n, 5000 + n, basis);
      const stacked = stackWith(list, { mode: 'off' });
      const svd = stackWith(list, { mode: 'svd', tolerance: 0, above: 4 });
      const info = svd.consolidation().get(key)!;
      assert.equal(info.kind, 'svd');
      assert.equal(info.summedRank, n);
      assert.equal(info.rank, 3, `${n} edits: rank ${info.rank}`);
      assert.ok(info.error < 1e-6, `${n} edits: error ${info.error}`);
      const [a, b] = [await logits(stacked.model), await logits(svd.model)];
      assert.ok(maxDiff(a, b) < 2e-5, `${n} edits: lossless SVD differs by ${maxDiff(a, b)}`);
    }
  });

  test("truncated SVD: the reported error is ‖ΔW − ΔŴ‖_F / ‖ΔW‖_F, within the tolerance, and one rank fewer would exceed it", () => {
    for (const [n, tolerance] of [[30, 0.5], [70, 0.5], [70, 0.2], [12, 0.3]] as const) {
      const parts: FactorPart[] = edits(n, 300 + n).map((e, i) => ({ ...e.tensors[0], rank: 1, alpha: 1 + (i % 4) / 4 }));
      const ref = denseOf(parts);
      const fromDense = n > D_OUT;
      const { tensors, error, singularValues } = truncatedSvd(fromDense ? { dense: ref } : { parts }, D_OUT, D_IN, tolerance);
      const approx = denseOf([{ ...tensors, alpha: 1 }]);
      const actual = frob(ref.map((x, i) => x - approx[i])) / frob(ref);
      assert.ok(tensors.rank < Math.min(n, D_OUT), `${n} edits at ${tolerance}: rank ${tensors.rank} is not smaller`);
      assert.ok(Math.abs(actual - error) < 1e-5, `${n} edits at ${tolerance}: reported ${error}, actual ${actual}`);
      assert.ok(error <= tolerance);
      // Eckart–Young: dropping one more singular value would exceed the tolerance.
      const total = singularValues.reduce((a, s) => a + s * s, 0);
      assert.ok(Math.abs(Math.sqrt(total) - frob(ref)) < 1e-6 * frob(ref), 'the singular values do not hold ‖ΔW‖');
      const oneFewer = singularValues.slice(tensors.rank - 1).reduce((a, s) => a + s * s, 0);
      assert.ok(Math.sqrt(oneFewer / total) > tolerance);
    }
  });

  test('svd policy, edits applied one by one (stacked on the last SVD until the limit): the reported error is that of what is fed', () => {
    const list = edits(80, 6000);
    const s = stackWith(list.slice(0, 60), { mode: 'svd', tolerance: 0.4 });
    const ranks: number[] = [];
    for (const e of list.slice(60)) {
      s.apply(e);
      const info = s.consolidation().get(key)!;
      ranks.push(info.rank);
      const ref = denseOf(list.slice(0, info.summedRank).map((x) => ({ ...x.tensors[0], rank: 1, alpha: 1 })));
      const fed = denseOf([{ ...s.model.edits.get(key)!, alpha: 1 }]);
      const actual = frob(ref.map((x, i) => x - fed[i])) / frob(ref);
      assert.equal(info.kind, 'svd');
      assert.ok(Math.abs(actual - info.error) < 1e-5 && info.error <= 0.4, `at ${info.summedRank} edits: reported ${info.error}, actual ${actual}`);
      assert.ok(info.rank <= D_OUT);
    }
    assert.ok(ranks.some((r, i) => i > 0 && r === ranks[i - 1] + 1), `no apply was stacked on the previous SVD (ranks ${ranks})`);
  });

  test('revert after consolidation: bit-identical to the unedited model, and to the remaining edits applied alone', async () => {
    const list = edits(60, 7000);
    for (const policy of [{ mode: 'exact' as const }, { mode: 'svd' as const, tolerance: 0.3 }]) {
      const s = stackWith(list, policy);
      assert.notEqual(s.consolidation().get(key)?.kind, 'stacked');
      for (const e of list.slice(2)) s.revert(e.json.id);
      const alone = stackWith(list.slice(0, 2), { mode: 'off' });
      assert.ok(bytes(await logits(s.model)).equals(bytes(await logits(alone.model))), `${policy.mode}: two edits left differ from the two alone`);
      s.revertAll();
      assert.ok(bytes(await logits(s.model)).equals(bytes(await logits(model.bare()))), `${policy.mode}: revert is not bit-exact`);
    }
  });

  test("strength changes refold from the edits; a fork's edits never reach its stack", async () => {
    const list = edits(55, 8000);
    const s = stackWith(list, { mode: 'exact' });
    const before = await logits(s.model);
    const fork = s.fork();
    fork.apply(edit(424242));
    fork.scale(list[0].json.id, 3);
    assert.ok(bytes(await logits(s.model)).equals(bytes(before)), 'the fork changed its stack');
    const scaled = stackWith(list, { mode: 'off' }, [3]);
    scaled.apply(edit(424242));
    assert.ok(maxDiff(await logits(fork.model), await logits(scaled.model)) < 2e-5);
    assert.equal(fork.consolidation().get(key)?.summedRank, 56);
    assert.equal(s.consolidation().get(key)?.summedRank, 55);
  });

  test('bad policies are refused naming the field', () => {
    const s = new EditStack(model.withEdits(model.edits));
    assert.throws(() => s.setConsolidation({ mode: 'svd', tolerance: 1.5 }), /tolerance must be in \[0, 1\)/);
    assert.throws(() => s.setConsolidation({ mode: 'exact', above: -1 }), /rank limit/);
  });
});
