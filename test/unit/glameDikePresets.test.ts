// GLAME's and DiKE's paper presets: the values they resolve to (the reference's hparams/GLAME/*.json
// on GPT-2 XL and GPT-J, the written transfer rules elsewhere), the R-GCN's dropout (its backward
// pass against finite differences with the same masks, and an edit that is the same twice for a
// seed), and DiKE's paper form (h* = Rec(z_r + δ, z_u): r carries the KRD's reconstruction error).

import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { rgcnBackward, rgcnForward, rgcnInit } from '../../src/core/edits/rgcn';
import { glameReference, resolveGlamePreset } from '../../src/core/edits/glamePresets';
import { computeFactEdit, factEditor } from '../../src/core/methods/factEditors';
import { DEFAULT_PRESET } from '../../src/core/methods/specs';
import { LoadedModel } from '../../src/core/runtime/model';
import { EditStack } from '../../src/core/edits/stack';
import { computeDike, defaultKrdFile } from '../../src/core/edits/dike';
import { krdForward, readKrd } from '../../src/core/edits/krd';
import { withSubject } from '../../src/core/edits/rome';
import { tapName } from '../../src/core/graph/taps';
import { mulberry32 } from '../../src/core/runtime/run';

const repo = path.join(__dirname, '..', '..', '..');
const defaultModel = path.join(repo, 'models', 'default');
process.env.MECHEDIT_CACHE = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-presets-gd-'));

describe('GLAME presets', () => {
  test('the registry lists paper (= cf), cf_plus, mquake and tuned, paper by default', () => {
    const d = factEditor('glame').descriptor;
    assert.deepEqual(d.presets.map((p) => p.id), ['paper', 'cf_plus', 'mquake', 'tuned']);
    assert.equal(d.defaultPreset, DEFAULT_PRESET);
    for (const name of ['layer', 'featureLayer', 'steps', 'dropout', 'adamWDecay', 'klFactor', 'stopLoss', 'subgraphSize', 'features']) assert.ok(d.presets[0].rules?.[name], `a rule for ${name}`);
  });

  test('GPT-2 XL and GPT-J take the reference\'s values exactly', () => {
    const xl = { modelType: 'gpt2', layers: 48 };
    assert.deepEqual(resolveGlamePreset('paper', xl, {}, {}), {
      layer: 9, featureLayer: 5, subgraphSize: 20, features: 'avg', dropout: 0.3,
      hparams: { steps: 40, lr: 0.5, adamWDecay: 0.1, klFactor: 0.0625, stopLoss: 0.04, clamp: 4, weightDecay: 0 },
      reference: { ...glameReference('paper', xl) },
    });
    const plus = resolveGlamePreset('cf_plus', xl, {}, {});
    assert.deepEqual([plus.hparams.steps, plus.hparams.adamWDecay, plus.hparams.klFactor, plus.dropout], [35, 0.5, 0.0725, 0.4]);
    const mq = resolveGlamePreset('mquake', xl, {}, {});
    assert.deepEqual([mq.hparams.steps, mq.hparams.adamWDecay, mq.hparams.klFactor, mq.hparams.stopLoss, mq.subgraphSize, mq.features], [50, 0.5, 0.075, 0.005, 50, 'compositeNorm']);
    const j = resolveGlamePreset('paper', { modelType: 'gptj', layers: 28 }, {}, {});
    assert.deepEqual([j.layer, j.featureLayer, j.hparams.steps, j.dropout, j.subgraphSize], [5, 2, 35, 0.15, 35]);
    assert.equal(resolveGlamePreset('cf_plus', { modelType: 'gptj', layers: 28 }, {}, {}).featureLayer, 5);
  });

  test('elsewhere: GPT-2 XL\'s values, the layer and feature block by relative depth; given settings win', () => {
    const six = resolveGlamePreset('paper', { modelType: 'gpt2', layers: 6 }, {}, {});
    assert.equal(six.layer, 1); // round(9 · 6 / 48)
    assert.equal(six.featureLayer, 0); // 1 − round(4 · 6 / 48)
    assert.equal(six.reference!.transferred, true);
    const l24 = resolveGlamePreset('paper', { modelType: 'llama', layers: 24 }, {}, {});
    assert.deepEqual([l24.layer, l24.featureLayer], [5, 3]); // round(4.5), 5 − round(2)
    const given = resolveGlamePreset('paper', { modelType: 'gpt2', layers: 48 }, { layer: 17, dropout: 0 }, { steps: 7 });
    assert.deepEqual([given.layer, given.featureLayer, given.dropout, given.hparams.steps], [17, 13, 0, 7]);
    // tuned: what was given, nothing filled in (computeGlame's own defaults).
    assert.deepEqual(resolveGlamePreset('tuned', { modelType: 'gpt2', layers: 48 }, { adamWDecay: 0.2 }, {}), { hparams: { adamWDecay: 0.2 } });
  });
});

describe('R-GCN dropout', () => {
  const d = 4;
  const g = { nodes: 3, edges: [{ src: 1, dst: 0, rel: 0 }, { src: 2, dst: 1, rel: 1 }] };
  const rand = mulberry32(3);
  const x = Float64Array.from({ length: 3 * d }, () => 2 * rand() - 1);
  const rel = Float64Array.from({ length: 2 * d }, () => 2 * rand() - 1);
  const theta = rgcnInit(d, 1);
  const drop = () => ({ p: 0.3, rand: mulberry32(11) });

  test('the same seed gives the same masks; units are dropped and the kept ones scaled by 1 / (1 − p)', () => {
    const a = rgcnForward(theta, d, g, x, rel, 2, drop());
    const b = rgcnForward(theta, d, g, x, rel, 2, drop());
    assert.deepEqual(Array.from(a.out), Array.from(b.out));
    const masks = a.masks.flatMap((m) => Array.from(m!));
    assert.ok(masks.some((m) => m === 0) && masks.some((m) => Math.abs(m - 1 / 0.7) < 1e-15));
    assert.ok(masks.every((m) => m === 0 || Math.abs(m - 1 / 0.7) < 1e-15));
    const plain = rgcnForward(theta, d, g, x, rel).out;
    assert.notDeepEqual(Array.from(a.out), Array.from(plain));
  });

  test('the backward pass through the masks matches central finite differences', () => {
    const loss = (t: Float64Array) => rgcnForward(t, d, g, x, rel, 2, drop()).out.reduce((s, v, i) => s + (i + 1) * v, 0);
    const cache = rgcnForward(theta, d, g, x, rel, 2, drop());
    const grads = rgcnBackward(theta, d, g, cache, Float64Array.from(cache.out, (_, i) => i + 1));
    const h = 1e-6;
    for (let k = 0; k < theta.length; k += 5) {
      const up = Float64Array.from(theta);
      const dn = Float64Array.from(theta);
      up[k] += h;
      dn[k] -= h;
      const fd = (loss(up) - loss(dn)) / (2 * h);
      assert.ok(Math.abs(fd - grads[k]) < 1e-6 * (1 + Math.abs(fd)), `θ[${k}]: ${grads[k]} vs ${fd}`);
    }
  });
});

describe('paper presets on the bundled model', () => {
  const model = LoadedModel.open(defaultModel, { provider: 'cpu', threads: 1 });
  after(() => model.release());
  const request = { subject: 'Baequa Kaekmyth', prompt: '{} was born in', target: 'Nianhandova' };

  test('GLAME paper: the resolved values are recorded, and the edit is the same twice (seeded dropout)', async () => {
    const a = await computeFactEdit('glame', model, new EditStack(model), [request], { preset: 'paper', steps: 8 });
    const b = await computeFactEdit('glame', model, new EditStack(model), [request], { preset: 'paper', steps: 8 });
    const hp = a.edit.json.hparams!;
    assert.equal(hp.preset, 'paper');
    assert.equal(hp.layer, 1);
    assert.deepEqual([hp.lr, hp.adamWDecay, hp.klFactor, hp.stopLoss, hp.weightDecay, hp.clamp, hp.steps], [0.5, 0.1, 0.0625, 0.04, 0, 4, 8]);
    assert.equal((hp.subgraph as { featureLayer: number; n: number }).featureLayer, 0);
    assert.equal((hp.subgraph as { n: number }).n, 20);
    assert.equal((hp.gnn as { dropout: number }).dropout, 0.3);
    assert.deepEqual(hp.reference, { preset: 'paper', transferred: true });
    assert.deepEqual(Array.from(a.edit.tensors[0].U), Array.from(b.edit.tensors[0].U));
    assert.deepEqual(Array.from(a.vstar[0].delta), Array.from(b.vstar[0].delta));
  });

  test('DiKE paper: inLoop off, NLL only, h* the reconstruction; r = c (W5 δ + ĥ_s − h_s)', async () => {
    const { edit, vstar } = await computeFactEdit('dike', model, new EditStack(model), [request], { preset: 'paper', steps: 10 });
    const hp = edit.json.hparams!;
    assert.deepEqual([hp.preset, hp.layer, hp.inLoop, hp.hStar, hp.klFactor, hp.weightDecay], ['paper', 0, false, 'reconstruction', 0, 0]);
    assert.equal((hp.layerRule as { used: number }).used, 0);
    // e = Rec(z_r, z_u) − h_s at the bare prompt, computed here from the KRD and the residual.
    const krd = readKrd(defaultKrdFile(model, 0), model);
    const d = model.dims.dModel;
    const { ids, lookup } = withSubject(model, request.prompt, request.subject);
    const res = (await model.run({ taps: [tapName(0, 'resid_post')], layers: 1 }, model.makeBatch([ids])))[tapName(0, 'resid_post')].data as Float32Array;
    const z = krdForward(krd.W, d, krd.dz, res.subarray(lookup * d, (lookup + 1) * d), res.subarray((ids.length - 1) * d, ids.length * d));
    const moved = Float64Array.from({ length: d }, (_, i) => z.hhat[i] - res[lookup * d + i] + krd.W[4].subarray(i * krd.dz, (i + 1) * krd.dz).reduce((s, w, k) => s + w * vstar[0].theta![k], 0));
    const norm = (v: ArrayLike<number>) => Math.sqrt(Array.from(v).reduce((s, x) => s + x * x, 0));
    assert.ok(norm(z.hhat.map((v, i) => v - res[lookup * d + i])) > 0);
    const c = Math.min(1, norm(vstar[0].delta) / norm(moved));
    // Without inLoop, δ (the residual's change) is c · moved; r (before the shrink) likewise.
    vstar[0].delta.forEach((v, i) => assert.ok(Math.abs(v - c * moved[i]) < 1e-6 * (1 + Math.abs(v)), `δ[${i}]`));
    const dike = await computeDike(model, new EditStack(model), request, { layer: 0, hparams: { inLoop: false, hStar: 'reconstruction', klFactor: 0, weightDecay: 0, steps: 10 } });
    dike.report.r.forEach((v, i) => assert.ok(Math.abs(v - c * moved[i]) < 1e-6 * (1 + Math.abs(v)), `r[${i}]`));
  });

  test('DiKE tuned keeps today\'s form (inLoop on, h_s + W5 δ, ROME\'s loss)', async () => {
    const { edit } = await computeFactEdit('dike', model, new EditStack(model), [request], { preset: 'tuned', steps: 3 });
    const hp = edit.json.hparams!;
    assert.deepEqual([hp.preset, hp.inLoop, hp.hStar, hp.klFactor, hp.weightDecay], ['tuned', true, 'residual', 0.0625, 0.5]);
    assert.equal(hp.layerRule, undefined);
  });
});
