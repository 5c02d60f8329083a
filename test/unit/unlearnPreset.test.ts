// The objectives' `paper` preset through the job (jobs/unlearnJob.ts → train/unlearn.ts), on the
// tiny GPT-2 checkpoint: its transfer rules (steps from epochs, warm-up in epochs, full-rank
// factors on every layer, RMU's layer at 7/16 of the depth) and its switches (no early stop,
// weight decay, linear decay, random IDK answers) land in the run and its edit file; `tuned` keeps
// today's values; a setting given by the user wins over the preset.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LoadedModel } from '../../src/core/runtime/model';
import { EditStack } from '../../src/core/edits/stack';
import { runUnlearnJob } from '../../src/core/jobs/unlearnJob';
import { OBJECTIVE_DESCRIPTORS, DEFAULT_PRESET } from '../../src/core/methods/objectives';
import { IDK_ANSWERS, refusalPick } from '../../src/core/train/unlearnStep';

const repo = path.join(__dirname, '..', '..', '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-unlearn-preset-'));
process.env.MECHEDIT_CACHE = path.join(tmp, 'cache');
const model = LoadedModel.open(path.join(repo, 'test', 'fixtures', 'models', 'gpt2-tiny'), { provider: 'cpu', threads: 1 });
after(() => model.release());

const jsonl = (file: string, rows: { prompt: string; answer: string }[]) => {
  fs.writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return file;
};
const forget = jsonl(path.join(tmp, 'forget.jsonl'), [
  { prompt: 'The cat sat on the', answer: 'mat' },
  { prompt: 'The dog ran to the', answer: 'park' },
  { prompt: 'A bird flew over the', answer: 'house' },
]);
const retain = jsonl(path.join(tmp, 'retain.jsonl'), [{ prompt: 'One plus one is', answer: 'two' }, { prompt: 'The sun is', answer: 'hot' }]);
const run = (method: string, preset: string, settings: Record<string, unknown> = {}) =>
  runUnlearnJob(new EditStack(model.withEdits(model.edits)), { method, preset, settings: { forget, retain, ...settings } });

test('every objective has a paper preset with its transfer rules; the default stays tuned', () => {
  for (const d of OBJECTIVE_DESCRIPTORS) {
    const p = d.presets.find((x) => x.id === 'paper');
    assert.ok(p, `${d.id}: paper preset`);
    assert.equal(p.values.lr, 1e-5, `${d.id}: open-unlearning's lr`);
    assert.equal(p.values.stopBelow, 0, `${d.id}: no early stop`);
    assert.ok(p.rules?.rank && p.rules.layers && p.rules.steps, `${d.id}: rank, layers and steps rules`);
    for (const k of Object.keys(p.values)) assert.ok(d.settings.some((s) => s.name === k), `${d.id}: preset value ${k} is a setting`);
  }
  assert.equal(DEFAULT_PRESET, 'tuned');
});

test('paper GradDiff: steps = epochs × ⌈F / batch⌉, one warm-up epoch, linear decay, full rank on every layer, every step run', async () => {
  // F = 3, batch 2: 2 steps per epoch; warm-up ⌊1 × 3 / 2⌋ = 1 step.
  const r = await run('graddiff', 'paper', { epochs: 2, batchSize: 2 });
  const hp = r.trained.edit.json.hparams as Record<string, unknown>;
  assert.equal(r.trained.stoppedBy, 'steps');
  assert.equal(r.trained.curve.length, 4);
  [0, 1, 2 / 3, 1 / 3].forEach((x, k) => assert.ok(Math.abs(r.trained.curve[k].lr - 1e-5 * x) < 1e-15, `lr at step ${k}: ${r.trained.curve[k].lr}, warm-up then linear decay`));
  assert.equal(hp.preset, 'paper');
  assert.equal(hp.rank, model.dims.dModel);
  assert.deepEqual(hp.layers, Array.from({ length: model.dims.layers }, (_, l) => l));
  assert.equal(hp.steps, 4);
  assert.equal(hp.warmup, 1);
  assert.equal(hp.weightDecay, 0.01);
  assert.equal(hp.retainWeight, 1);
  assert.equal(hp.lossMean, 'token');
  assert.equal(r.trained.edit.json.targets[0].rank, model.dims.dModel);
});

test('a given setting wins over the paper preset; tuned keeps its own values', async () => {
  const given = await run('npo', 'paper', { steps: 3, rank: 4 });
  const hp = given.trained.edit.json.hparams as Record<string, unknown>;
  assert.equal(given.trained.curve.length, 3, 'steps given: epochs do not apply');
  assert.equal(hp.rank, 4);
  const tuned = (await run('npo', 'tuned', { steps: 2 })).trained.edit.json.hparams as Record<string, unknown>;
  assert.deepEqual([tuned.rank, tuned.lr, tuned.retainWeight, tuned.lossMean, tuned.schedule, tuned.weightDecay, tuned.stopBelow, tuned.warmup], [8, 2e-3, 20, 'item', 'constant', 0, 0.1, 0]);
});

test('paper RMU and DPO: RMU at ⌊7/16 L⌋ with every layer up to it, c = 2 on answer tokens; DPO with 2/β and random IDK answers', async () => {
  const rmu = (await run('rmu', 'paper', { epochs: 1 })).trained.edit.json.hparams as Record<string, unknown>;
  const L = Math.floor((7 * model.dims.layers) / 16);
  assert.equal(rmu.rmuLayer, L);
  assert.deepEqual(rmu.layers, Array.from({ length: L + 1 }, (_, l) => l));
  assert.deepEqual([rmu.rmuCoef, rmu.rmuTokens, rmu.lossMean], [2, 'answer', 'item']);
  const dpo = (await run('dpo', 'paper', { epochs: 1 })).trained.edit.json;
  assert.deepEqual([dpo.hparams?.dpoScale, dpo.hparams?.idkAnswers], ['twoOverBeta', true]);
  assert.equal(dpo.request?.refusal, `${IDK_ANSWERS.length} IDK answers`);
  // The draw: seeded, in range, and it varies over items and steps.
  const picks = Array.from({ length: 50 }, (_, k) => refusalPick(1, k, k % 3, IDK_ANSWERS.length));
  assert.deepEqual(picks, Array.from({ length: 50 }, (_, k) => refusalPick(1, k, k % 3, IDK_ANSWERS.length)));
  assert.ok(picks.every((j) => Number.isInteger(j) && j >= 0 && j < IDK_ANSWERS.length));
  assert.ok(new Set(picks).size >= 6, `${new Set(picks).size} of ${IDK_ANSWERS.length} answers drawn in 50 steps`);
  assert.equal(refusalPick(1, 7, 2, 1), 0, 'one refusal: always it');
});
