// The six unlearning losses at the `paper` preset against an independent PyTorch transcription of
// open-unlearning's trainers (tools/unlearn_golden.py → test/fixtures/golden/unlearn-losses.json,
// float64 autograd on tools/reference.py), on two tiny random checkpoints and the bundled model:
// MechEdit's step (train/unlearnStep.ts: the objective's feeds from the paper preset's settings,
// π_ref = θ₀ scored by MechEdit itself, the training graph) gives the same loss and the same
// d loss / d U, V of every trained factor, within 1e-4 relative (gradients: of the tensor's
// largest component).

import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LoadedModel, type EditKey } from '../../src/core/runtime/model';
import { decodeTensor } from '../../src/protocol/tensor';
import { OBJECTIVE_DESCRIPTORS } from '../../src/core/methods/objectives';
import { paperRmuLayer, resolveSettings, UNLEARN_DEFAULTS, type UnlearnMethod, type UnlearnSettings } from '../../src/core/train/unlearn';
import { objectiveSetup, stepLossAndGrads, type Factor } from '../../src/core/train/unlearnStep';
import { scoreRows } from '../../src/core/train/score';
import type { Row } from '../../src/core/train/rows';

const repo = path.join(__dirname, '..', '..', '..');
process.env.MECHEDIT_CACHE = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-unlearn-golden-'));

interface Wire { dims: number[]; data: string }
interface Item { ids: number[]; answer_start: number }
interface Case {
  model: string; model_dir: string; layers: number; rmu_layer: number;
  forget: Item[]; retain: Item[]; refusals: Item[];
  edits: Record<string, { rank: number; U: Wire; V: Wire }>;
  direction: Wire;
  objectives: Record<UnlearnMethod, { modules: string[]; loss: number; grads: Record<string, { U: Wire; V: Wire }> }>;
}
const golden = JSON.parse(fs.readFileSync(path.join(repo, 'test', 'fixtures', 'golden', 'unlearn-losses.json'), 'utf8')) as { constants: Record<string, number>; cases: Case[] };
const f32 = (w: Wire) => decodeTensor({ dtype: 'float32', dims: w.dims, data: w.data }).values as Float32Array;

/** HF labels: the answer tokens from answer_start on; MechEdit trains the positions that predict them. */
const rowOf = (it: Item): Row => ({ ids: it.ids, trained: Array.from({ length: it.ids.length - it.answer_start }, (_, k) => it.answer_start - 1 + k) });

/** max |got − want| / max |want|. */
function maxRelErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  assert.equal(got.length, want.length);
  let scale = 0;
  let err = 0;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]));
  for (let i = 0; i < want.length; i++) err = Math.max(err, Math.abs(got[i] - want[i]));
  return err / scale;
}

function paperValues(method: UnlearnMethod): Partial<UnlearnSettings> {
  const d = OBJECTIVE_DESCRIPTORS.find((x) => x.id === method)!;
  const p = d.presets.find((x) => x.id === 'paper');
  assert.ok(p, `${method} has a paper preset`);
  return p.values as Partial<UnlearnSettings>;
}

describe('unlearning losses at the paper preset against open-unlearning (PyTorch)', () => {
  const opened = new Map<string, LoadedModel>();
  after(async () => Promise.all([...opened.values()].map((m) => m.release())));
  assert.deepEqual(golden.cases.map((c) => c.model), ['gpt2-tiny', 'llama-gqa', 'default'], 'two tiny checkpoints and the bundled model');
  assert.equal(golden.constants.beta, paperValues('npo').beta, 'the preset\'s β is the reference\'s');

  for (const c of golden.cases) {
    for (const method of ['ga', 'graddiff', 'npo', 'rt', 'dpo', 'rmu'] as UnlearnMethod[]) {
      test(`${c.model} ${method}`, async () => {
        let base = opened.get(c.model);
        if (!base) opened.set(c.model, (base = LoadedModel.open(path.join(repo, c.model_dir), { provider: 'cpu', threads: 1 })));
        assert.equal(paperRmuLayer(base.dims.layers), c.rmu_layer, 'the paper rule\'s RMU layer is the golden\'s');
        const want = c.objectives[method];
        const hp = resolveSettings(base, { method, preset: 'paper', ...paperValues(method) });
        if (method === 'rmu') assert.deepEqual(hp.layers, Array.from({ length: c.rmu_layer + 1 }, (_, l) => l), 'paper RMU trains every layer up to its own');
        else assert.deepEqual(hp.layers, Array.from({ length: c.layers }, (_, l) => l), 'paper trains every layer');
        assert.equal(hp.rank, base.dims.dModel, 'paper: full-rank factors');
        const factors: Factor[] = want.modules.map((key) => {
          const e = c.edits[key];
          const [l, module] = key.split(':');
          const U = f32(e.U);
          const V = f32(e.V);
          return { key: key as EditKey, layer: Number(l), module: module as Factor['module'], out: U.length / e.rank, in: V.length / e.rank, U, V };
        });
        const answers = c.forget.map(rowOf);
        const retain = hp.retainWeight > 0 ? c.retain.map(rowOf) : [];
        const answersRef = (await scoreRows(base, answers)).map((s) => s.seq);
        const refusals = method === 'rt' || method === 'dpo' ? c.refusals.map((r) => [rowOf(r)]) : undefined;
        const setup = await objectiveSetup(base, { ...hp, rmuScale: UNLEARN_DEFAULTS.rmuScale }, { answers, answersRef, retain, refusals }, want.modules, { direction: f32(c.direction) });
        const got = await stepLossAndGrads(base, factors, setup, answers.map((_, i) => i), retain.map((_, i) => i), 0);

        const errs: [string, number][] = [['loss', Math.abs(got.loss - want.loss) / Math.abs(want.loss)]];
        factors.forEach((f, i) => {
          errs.push([`${f.key}.U`, maxRelErr(got.grads[2 * i], f32(want.grads[f.key].U))]);
          errs.push([`${f.key}.V`, maxRelErr(got.grads[2 * i + 1], f32(want.grads[f.key].V))]);
        });
        if (process.env.MECHEDIT_PRINT) console.log(`${c.model} ${method}: loss ${got.loss} vs ${want.loss} | ${errs.map(([k, e]) => `${k} ${e.toExponential(2)}`).join(' | ')}`);
        for (const [k, e] of errs) assert.ok(e < 1e-4, `${c.model} ${method} ${k}: relative error ${e.toExponential(2)} (loss ${got.loss} vs reference ${want.loss})`);
      });
    }
  }
});
