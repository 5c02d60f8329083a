// Concept directions (src/core/analysis/concepts.ts) on the default model, and the AUC and
// projection helpers; the direction is checked against a mean difference computed here from
// the model's own resid_post taps.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LoadedModel } from '../../src/core/runtime/model';
import { EditStack } from '../../src/core/edits/stack';
import { auc, conceptDirections, heldOutAuc } from '../../src/core/analysis/concepts';
import { projectionGrid, lines } from '../../webview/concepts/data';

process.env.MECHEDIT_CACHE = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-concepts-'));
const model = LoadedModel.open(path.join(__dirname, '..', '..', '..', 'models', 'default'), { provider: 'cpu', threads: 1 });
after(() => model.release());

test('AUC counts wins and half ties', () => {
  assert.equal(auc([3, 4], [1, 2]), 1);
  assert.equal(auc([1], [2]), 0);
  assert.equal(auc([1, 2], [1, 2]), 0.5);
});

test('the hazard direction separates the sets, is the unit mean difference, and projects a probe', async () => {
  const positive = ['Veltrazine is colored', 'Veltrazine was first made by', 'Dravokine is colored'];
  const negative = ['Brindlecake is colored', 'Brindlecake was first made by', 'Sunmallow is colored'];
  const r = await conceptDirections(model, new EditStack(model), { positive, negative, probe: 'Veltrazine is' });
  const L = model.dims.layers;
  assert.equal(r.layers.length, L);
  assert.equal(r.layers[r.best].auc, 1);
  // The direction at the last layer from the taps, independently.
  const tap = `blocks.${L - 1}.resid_post`;
  const lastOf = async (prompts: string[]) => {
    const rows = prompts.map((p) => model.tokenizer.encode(p));
    const b = model.makeBatch(rows);
    const out = (await model.run({ taps: [tap], logits: 'none' }, b))[tap].data as Float32Array;
    const d = model.dims.dModel;
    return rows.map((row, i) => out.subarray((i * b.seq + row.length - 1) * d, (i * b.seq + row.length) * d));
  };
  const [p, n] = [await lastOf(positive), await lastOf(negative)];
  const diff = Array.from({ length: model.dims.dModel }, (_, j) => p.reduce((s, v) => s + v[j], 0) / p.length - n.reduce((s, v) => s + v[j], 0) / n.length);
  const norm = Math.hypot(...diff);
  assert.ok(Math.abs(norm - r.layers[L - 1].norm) < 1e-4 * norm);
  r.layers[L - 1].direction.forEach((v, j) => assert.ok(Math.abs(v - diff[j] / norm) < 1e-5));
  assert.equal(r.probe!.values.length, L);
  assert.equal(r.probe!.values[0].length, r.probe!.tokens.length);
  const g = projectionGrid(r)!;
  assert.equal(g.values[(L - 1) * g.tokens + 0], Math.fround(r.probe!.values[L - 1][0]));
  await assert.rejects(conceptDirections(model, new EditStack(model), { positive: ['one'], negative }), /at least two positive/);
  assert.deepEqual(lines(' a \n\n b'), ['a', 'b']);
});

test('held-out AUC: leave-one-out does not reward a direction fitted to noise', async () => {
  // Random prompts' vectors with no concept in them: the training AUC is perfect (the mean
  // difference of 3 + 3 points in 64 dimensions always separates them), the held-out one is not.
  let s = 7;
  const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) - 0.5;
  const vec = (shift = 0) => Float64Array.from({ length: 64 }, (_, j) => rand() + (j === 0 ? shift : 0));
  const noisePos = [vec(), vec(), vec()];
  const noiseNeg = [vec(), vec(), vec()];
  const mean = (vs: Float64Array[]) => vs[0].map((_, j) => vs.reduce((t, v) => t + v[j], 0) / vs.length);
  const [mp, mn] = [mean(noisePos), mean(noiseNeg)];
  const proj = (v: Float64Array) => v.reduce((t, x, j) => t + x * (mp[j] - mn[j]), 0);
  assert.equal(auc(noisePos.map(proj), noiseNeg.map(proj)), 1, 'on the training prompts');
  assert.ok(heldOutAuc(noisePos, noiseNeg) < 0.75, `held out: ${heldOutAuc(noisePos, noiseNeg)}`);
  // A real direction (a shift along one axis much larger than the noise) survives holding out.
  assert.equal(heldOutAuc([vec(20), vec(20), vec(20)], [vec(-20), vec(-20), vec(-20)]), 1);
  // On the model: every layer reports both, each in [0, 1].
  const r = await conceptDirections(model, new EditStack(model), { positive: ['Veltrazine is colored', 'Veltrazine was first made by', 'Dravokine is colored'], negative: ['Brindlecake is colored', 'Brindlecake was first made by', 'Sunmallow is colored'] });
  for (const l of r.layers) assert.ok(l.heldOutAuc >= 0 && l.heldOutAuc <= 1, `layer ${l.layer}: ${l.heldOutAuc}`);
});
