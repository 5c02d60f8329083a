// The paper presets of ROME, MEMIT, AlphaEdit, FT-M, ROCR, ablation and import: the transfer rules
// give the reference's own values on the reference models (hparams files of kmeng01/rome,
// kmeng01/memit, jianghoucheng/AlphaEdit, EasyEdit) and the written values elsewhere; on the bundled
// model the paper preset resolves to the documented layers, λ, clamp, steps, τ and leakage, and
// `tuned` still gives today's values; every edit file records the preset.

import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LoadedModel } from '../../src/core/runtime/model';
import { EditStack } from '../../src/core/edits/stack';
import { computeFactEdit } from '../../src/core/methods/factEditors';
import { runEditJob, EDIT_METHOD_DESCRIPTORS } from '../../src/core/jobs/editJob';
import { DEFAULT_PRESET } from '../../src/core/methods/specs';
import { LAMBDA_RULE, PAPER_LAMBDA_RULE } from '../../src/core/edits/memit';
import { energyShareTau } from '../../src/core/edits/nullspace';
import { symmetricEigen, symmetricEigenvalues } from '../../src/core/edits/linalg';
import { ftPaperLayer, memitPaperLambda, memitPaperLayers, rocrPaper, romePaperLayer, vstarPaper } from '../../src/core/edits/paperPresets';

const repo = path.join(__dirname, '..', '..', '..');
process.env.MECHEDIT_CACHE = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-presets-'));
const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);
const GPT2_XL = { modelType: 'gpt2', layers: 48, dModel: 1600, dMlp: 6400 };
const GPT_J = { modelType: 'gptj', layers: 28, dModel: 4096, dMlp: 16384 };
const LLAMA3_8B = { modelType: 'llama', layers: 32, dModel: 4096, dMlp: 14336 };

describe('transfer rules', () => {
  test('the reference models get the hparams files\' values exactly', () => {
    assert.deepEqual([romePaperLayer(GPT2_XL), romePaperLayer(GPT_J), romePaperLayer(LLAMA3_8B)], [17, 5, 5]);
    assert.deepEqual(memitPaperLayers(GPT2_XL), range(13, 17));
    assert.deepEqual(memitPaperLayers(GPT_J), range(3, 8));
    assert.deepEqual(memitPaperLayers(LLAMA3_8B), range(4, 8));
    // A traced layer in config.json does not move the reference's own window.
    assert.deepEqual(memitPaperLayers({ ...GPT2_XL, editLayer: 30 }), range(13, 17));
    assert.deepEqual([memitPaperLambda(GPT2_XL), memitPaperLambda(GPT_J), memitPaperLambda(LLAMA3_8B)], [20000, 15000, 15000]);
    assert.deepEqual(vstarPaper('memit', GPT_J), { steps: 25, lr: 0.5, weightDecay: 0.5, clamp: 0.75, klFactor: 0.0625, stopLoss: 0.05 });
    assert.deepEqual(vstarPaper('memit', LLAMA3_8B), { steps: 25, lr: 0.1, weightDecay: 0.5, clamp: 0.75, klFactor: 0.0625, stopLoss: 0.05 });
    assert.deepEqual(vstarPaper('rome', GPT2_XL), { steps: 20, lr: 0.5, weightDecay: 0.5, clamp: 4, klFactor: 0.0625, stopLoss: 0.05 });
    assert.deepEqual(vstarPaper('rome', LLAMA3_8B), { steps: 25, lr: 0.5, weightDecay: 1e-3, clamp: 4, klFactor: 0.0625, stopLoss: 0.05 });
    assert.equal(ftPaperLayer({ layers: 32 }), 21);
    assert.deepEqual(rocrPaper({ modelType: 'llama', layers: 32 }), { layers: [4, 5, 6], lambda: 1 });
    assert.deepEqual(rocrPaper({ modelType: 'gpt2', layers: 48 }), { layers: range(13, 17), lambda: 10 });
  });

  test('other models: width by relative depth, ROME\'s traced layer where the reference\'s sits, λ by d_mlp', () => {
    // gpt2 family, 24 layers, traced layer 8: w = round(5/48 × 24) = 3 (2.5 rounds up), ending at 8 (GPT-2 XL's 17 ends 13–17).
    assert.deepEqual(memitPaperLayers({ modelType: 'gpt2', layers: 24, dModel: 1024, dMlp: 4096, editLayer: 8 }), [6, 7, 8]);
    // …traced at 0: the window is shifted into the model.
    assert.deepEqual(memitPaperLayers({ modelType: 'gpt2', layers: 24, dModel: 1024, dMlp: 4096, editLayer: 0 }), [0, 1, 2]);
    // Another family, 56 layers, traced 10: w = round(6/28 × 56) = 12; GPT-J's 5 is the third of 3–8, offset round(2/5 × 11) = 4.
    assert.deepEqual(memitPaperLayers({ modelType: 'mistral', layers: 56, dModel: 2048, dMlp: 8192, editLayer: 10 }), range(6, 17));
    // No trace: ROME's layer at GPT-2 XL's relative depth, round(17/48 × 12) = 4.
    assert.equal(romePaperLayer({ modelType: 'gpt2', layers: 12, dModel: 768, dMlp: 3072 }), 4);
    assert.equal(memitPaperLambda({ modelType: 'gpt2', layers: 6, dModel: 128, dMlp: 512 }), 1600);
    assert.equal(memitPaperLambda({ modelType: 'llama', layers: 16, dModel: 2048, dMlp: 8192 }), 7500);
    assert.deepEqual(rocrPaper({ modelType: 'gpt2', layers: 6 }), { layers: [2], lambda: 10 });
  });

  test('the null space for an energy share: eigenvalues by Householder + QL agree with Jacobi, and τ keeps at most the share', () => {
    const n = 40;
    let seed = 7;
    const r = () => ((seed = (seed * 16807) % 2147483647) / 2147483647) - 0.5;
    // A second moment of keys with a spread spectrum: coordinate i scaled by √(1 + i).
    const X = Array.from({ length: 3 * n }, () => Float64Array.from({ length: n }, (_, i) => r() * Math.sqrt(1 + i)));
    const C = new Float64Array(n * n);
    for (const x of X) for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) C[i * n + j] += (x[i] * x[j]) / X.length;
    const jacobi = Array.from(symmetricEigen(C, n).values).sort((a, b) => a - b);
    const ql = symmetricEigenvalues(C, n);
    for (let i = 0; i < n; i++) assert.ok(Math.abs(ql[i] - jacobi[i]) < 1e-10 * jacobi[n - 1], `eigenvalue ${i}: ${ql[i]} vs ${jacobi[i]}`);
    const total = jacobi.reduce((a, v) => a + v, 0);
    const e = energyShareTau(C, n, 0.05);
    const below = jacobi.filter((v) => v < e.tau);
    assert.equal(below.length, e.dimension);
    assert.ok(below.reduce((a, v) => a + v, 0) / total <= 0.05 + 1e-12);
    assert.ok((below.reduce((a, v) => a + v, 0) + jacobi[e.dimension]) / total > 0.05, 'one more direction would exceed the share');
  });
});

describe('registry', () => {
  test('every edit method has a paper preset; the default is DEFAULT_PRESET for the methods it covers', () => {
    for (const d of EDIT_METHOD_DESCRIPTORS) {
      if (d.id === 'dike' || d.id === 'glame') continue; // their presets are another change's
      assert.ok(d.presets.some((p) => p.id === 'paper'), `${d.id} has a paper preset`);
      assert.ok(d.presets.some((p) => p.id === 'tuned'), `${d.id} keeps its tuned preset`);
      assert.equal(d.defaultPreset, DEFAULT_PRESET, d.id);
    }
  });
});

describe('on the bundled model (6 layers, gpt2, d_mlp 512, traced layer 0)', () => {
  const model = LoadedModel.open(path.join(repo, 'models', 'default'), { provider: 'cpu', threads: 1 });
  after(() => model.release());
  const req = { subject: 'Baekhyndvaes Drondraes', prompt: '{} was born in', target: 'Daekgrad' };
  const hp = async (method: string, preset: string, extra: Record<string, unknown> = {}) => (await computeFactEdit(method, model, new EditStack(model.bare()), [req], { preset, ...extra })).edit.json.hparams!;

  test('MEMIT: paper = layer 0 (w = round(5/48 × 6) = 1 at the traced layer), λ = 20000/6400 × 512 = 1600, clamp 0.75, 20 steps; tuned as before', async () => {
    const p = await hp('memit', 'paper');
    assert.deepEqual([p.preset, p.layers, p.lambda, p.clamp, p.steps, p.klFactor, p.klReverse, p.lr, p.weightDecay, p.lambdaRule], ['paper', [0], 1600, 0.75, 20, 0.0625, true, 0.5, 0.5, PAPER_LAMBDA_RULE]);
    const t = await hp('memit', 'tuned');
    assert.deepEqual([t.preset, t.layers, t.clamp, t.steps, t.klReverse, t.lambdaRule], ['tuned', [0], 4, 160, undefined, LAMBDA_RULE]);
    assert.ok((t.lambda as number) > 20 && (t.lambda as number) < 80, `tuned λ from the keys: ${t.lambda}`);
  });

  test('ROME: paper = the traced layer 0, clamp 4, 20 steps, the reference\'s loop (no update in the loop); tuned 160 steps with it', async () => {
    const p = await hp('rome', 'paper');
    assert.deepEqual([p.preset, p.layer, p.clamp, p.steps, p.lr, p.weightDecay, p.klFactor, p.klReverse, p.updateInLoop, p.bareWeight], ['paper', 0, 4, 20, 0.5, 0.5, 0.0625, true, false, undefined]);
    const t = await hp('rome', 'tuned', { steps: 30 });
    assert.deepEqual([t.preset, t.layer, t.clamp, t.steps, t.updateInLoop, t.bareWeight], ['tuned', 0, 4, 30, true, 0.5]);
  });

  test('AlphaEdit: paper = τ for 1 % of C\'s energy, L2 = 500 τ, leakage √energy recorded; tuned τ = 0.1 × mean', async () => {
    const p = await hp('alphaedit', 'paper', { steps: 2 });
    const [ns] = p.nullSpace as { layer: number; tau: number; lambda: number; energy: number; leakage: number; rule: string; dimension: number }[];
    assert.deepEqual([p.preset, p.layers, p.clamp, p.nullEnergy, ns.rule], ['paper', [0], 0.75, 0.01, 'energy']);
    assert.ok(ns.energy <= 0.0101 && ns.energy > 0.005, `the null space holds ${ns.energy} of the energy`);
    assert.ok(Math.abs(ns.lambda - 500 * ns.tau) < 1e-9 * ns.lambda);
    assert.ok(Math.abs(ns.leakage - Math.sqrt(ns.energy)) < 1e-12);
    const t = await hp('alphaedit', 'tuned', { steps: 2 });
    const [nt] = t.nullSpace as { tau: number; lambda: number; rule: string; dimension: number; leakage: number }[];
    assert.deepEqual([t.preset, t.threshold, t.lambda, nt.rule, nt.dimension], ['tuned', 0.1, 1, 'relative', 203]);
    assert.ok(Math.abs(nt.lambda - 10 * nt.tau) < 1e-9 * nt.lambda, 'λ = mean eigenvalue = τ / 0.1');
    assert.ok(nt.leakage > ns.leakage, `the tuned null space leaks more (${nt.leakage} > ${ns.leakage})`);
  });

  test('FT-M: paper = EasyEdit\'s layer 21/32 at relative depth (4 of 6), 25 steps, lr 5e-4; tuned the traced layer', async () => {
    const p = await hp('ft', 'paper', { steps: 2 });
    assert.deepEqual([p.preset, p.layer, p.lr], ['paper', 4, 5e-4]);
    assert.equal((await hp('ft', 'paper')).steps, 25);
    assert.deepEqual([(await hp('ft', 'tuned', { steps: 2 })).layer], [0]);
  });

  test('ROCR through the edit job: paper = layer 2 (13/48 of 6), λ 10, identity, last token, null space for 1 % of the energy; tuned the checkpoint\'s', async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-presets-rocr-'));
    const settings = { concept: 'Veltrazine', harmless: 'Brindlecake' };
    const p = await runEditJob(new EditStack(model.bare()), { method: 'rocr', settings, preset: 'paper', outDir: out });
    const written = JSON.parse(fs.readFileSync(p.file, 'utf8')).hparams;
    assert.deepEqual([written.preset, written.layers, written.lambda, written.regularizer, written.positions, written.nullSpace, written.thresholdRule], ['paper', [2], 10, 'identity', 'last', true, 'energy share 0.01']);
    assert.ok(written.nullSpaceLayers[0].leakage > 0 && written.nullSpaceLayers[0].leakage <= 0.101, JSON.stringify(written.nullSpaceLayers));
    const t = await runEditJob(new EditStack(model.bare()), { method: 'rocr', settings, preset: 'tuned', outDir: out });
    assert.deepEqual([t.preset, t.edit.json.hparams?.layers, t.edit.json.hparams?.regularizer, t.edit.json.hparams?.nullSpace], ['tuned', [0], 'covariance', false]);
  });
});
