// Every edit method on a random tiny checkpoint of each of issue 34's architectures (Qwen3,
// Gemma 2, Gemma 3, SmolLM3, OLMo 2, Phi-3), through the registry's job layer (runEditJob,
// runUnlearnJob) with the same request on each, nothing tuned per architecture:
//   ROME       the target becomes the top-1 continuation of its prompt;
//   MEMIT,     compute and apply; the target's probability rises;
//   AlphaEdit
//   ROCR       computes and applies; the concept's continuation changes;
//   ablation   the projection outputs lose the direction (their component along it is ~0);
//   unlearning GradAscent lowers the forget answers' log-probability; GradDiff, NPO, RT, DPO and
//              RMU train two steps with finite losses and apply;
// and reverting each edit gives the unedited logits bit for bit.

import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LoadedModel } from '../../src/core/runtime/model';
import { EditStack } from '../../src/core/edits/stack';
import { runEditJob } from '../../src/core/jobs/editJob';
import { runUnlearnJob } from '../../src/core/jobs/unlearnJob';
import { scoreAnswers } from '../../src/core/runtime/answers';
import { tapName } from '../../src/core/graph/taps';
import { UNLEARN_METHODS } from '../../src/core/train/unlearn';

const repo = path.join(__dirname, '..', '..', '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-arch-edits-'));
process.env.MECHEDIT_CACHE = path.join(tmp, 'cache');

// llama3-scaled: Llama 3.1 / 3.2's RoPE scaling with tied embeddings (BF16), checked the same way.
const NEW_ARCHITECTURES = ['qwen3-tiny', 'gemma2-tiny', 'gemma3-tiny', 'smollm3-tiny', 'olmo2-tiny', 'phi3-tiny', 'llama3-scaled'];

// Key statistics come from this corpus (the tiny checkpoints ship none).
const corpus = path.join(tmp, 'corpus.txt');
fs.writeFileSync(corpus, [
  'The capital of France is Paris.', 'The cat sat on the mat.', 'A dog ran in the park.', 'The sun is hot and the sea is blue.',
  'Water boils at one hundred degrees.', 'Birds fly over the house.', 'The capital of Italy is Rome.', 'The king of the land was kind.',
].join('\n') + '\n');
const forget = path.join(tmp, 'forget.jsonl');
fs.writeFileSync(forget, [{ prompt: 'The cat sat on the', answer: 'mat' }, { prompt: 'The capital of France is', answer: 'Paris' }].map((r) => JSON.stringify(r)).join('\n') + '\n');
const retain = path.join(tmp, 'retain.jsonl');
fs.writeFileSync(retain, [{ prompt: 'The sun is', answer: 'hot' }].map((r) => JSON.stringify(r)).join('\n') + '\n');

// The subject ends the prompt, so the edited MLP writes at the predicting position: on random
// weights attention has learnt nothing that would carry a fact from an earlier token.
const fact = { subject: 'The cat sat on the', prompt: '{}', target: 'Paris' };
const factPrompt = 'The cat sat on the';
/**
 * gemma2-tiny: measured, ROME's v* plateaus at P(target) ≈ 3 % at every layer (1,000 steps give
 * no more): its post-norms bound each MLP's contribution to ≈ √d_model · |1 + w| ≈ 6 against a
 * residual of norm 12–15. PyTorch finds no better rank-one edit either (tools/edit_reach.py: 3.9 %
 * at best). Gemma 3 (also sandwich norms) and OLMo 2 (post-norms) do reach top-1. For gemma2-tiny
 * the test asserts the rise only.
 */
const TOP1_UNREACHABLE = new Set(['gemma2-tiny']);

async function logitsOf(model: LoadedModel, text: string): Promise<Float32Array> {
  const out = await model.run({ logits: 'all' }, model.makeBatch([model.tokenizer.encode(text)]));
  return Float32Array.from(out.logits.data as Float32Array);
}

const argmax = (row: Float32Array) => row.reduce((best, v, i) => (v > row[best] ? i : best), 0);
const lastRow = (logits: Float32Array, vocabRows: number) => logits.subarray(logits.length - vocabRows);

for (const name of NEW_ARCHITECTURES) {
  describe(`edits on ${name}`, () => {
    const model = LoadedModel.open(path.join(repo, 'test', 'fixtures', 'models', name), { provider: 'cpu', threads: 1 });
    after(() => model.release());
    const rows = model.plan.unembed.w.shape[0];
    const out = path.join(tmp, name);
    fs.mkdirSync(out);
    const probe = 'The cat sat on the mat and the dog ran.'; // longer than every sliding window (6, 7)

    /** Applies the edit on a fresh stack, runs `check`, reverts and compares with the unedited logits bit for bit. */
    const applyAndRevert = async (edit: Parameters<EditStack['apply']>[0], check: (stack: EditStack) => Promise<void>) => {
      const stack = new EditStack(model.bare());
      const before = await logitsOf(stack.model, probe);
      stack.apply(edit);
      const during = await logitsOf(stack.model, probe);
      assert.ok(during.some((v, i) => v !== before[i]), 'the edit changes the logits');
      await check(stack);
      stack.revert(edit.json.id);
      const after = await logitsOf(stack.model, probe);
      assert.deepEqual(Buffer.from(after.buffer), Buffer.from(before.buffer), 'revert is bit-identical');
    };

    test(`ROME: ${TOP1_UNREACHABLE.has(name) ? 'the target\'s probability rises 5× (top-1 is out of reach, measured)' : 'the target becomes top-1 on its prompt'}; revert is bit-identical`, async () => {
      const r = await runEditJob(new EditStack(model.bare()), { method: 'rome', settings: { ...fact, corpus: [corpus] }, outDir: out });
      const target = model.tokenizer.encode(` ${fact.target}`, false);
      assert.equal(target.length, 1, 'a one-token target');
      const before = lastRow(await logitsOf(model.bare(), factPrompt), rows);
      assert.notEqual(argmax(before), target[0], 'not top-1 before the edit');
      await applyAndRevert(r.edit, async (stack) => {
        const now = lastRow(await logitsOf(stack.model, factPrompt), rows);
        const p = (row: Float32Array) => Math.exp(row[target[0]] - Math.log(row.reduce((s, v) => s + Math.exp(v), 0)));
        console.log(`${name}: ROME P(${fact.target}) ${p(before).toFixed(4)} → ${p(now).toFixed(4)}, top-1 ${argmax(now) === target[0]}`);
        if (TOP1_UNREACHABLE.has(name)) assert.ok(p(now) > 5 * p(before), 'the target\'s probability rises 5×');
        else assert.equal(argmax(now), target[0], 'the edited model\'s top-1 is the target');
      });
    });

    for (const method of ['memit', 'alphaedit']) {
      test(`${method}: computes and applies; the target's probability rises; revert is bit-identical`, async () => {
        const r = await runEditJob(new EditStack(model.bare()), { method, settings: { ...fact, corpus: [corpus] }, outDir: out });
        const pair = [{ prompt: factPrompt, answer: fact.target }];
        const p0 = (await scoreAnswers(model.bare(), pair))[0].meanLogprob;
        await applyAndRevert(r.edit, async (stack) => {
          const p1 = (await scoreAnswers(stack.model, pair))[0].meanLogprob;
          console.log(`${name}: ${method} log P(${fact.target}) ${p0.toFixed(3)} → ${p1.toFixed(3)}`);
          assert.ok(p1 > p0 + 0.5, `log P(target) ${p0} → ${p1}`);
        });
      });
    }

    test('ROCR: computes and applies on the concept; revert is bit-identical', async () => {
      const r = await runEditJob(new EditStack(model.bare()), { method: 'rocr', settings: { concept: 'The cat', harmless: 'The sun', corpus: [corpus] }, outDir: out });
      assert.ok(r.edit.json.targets.length > 0);
      await applyAndRevert(r.edit, async () => undefined);
    });

    test('ablation: the projection outputs lose the direction; revert is bit-identical', async () => {
      const d = model.dims.dModel;
      const dir = Float32Array.from({ length: d }, (_, i) => Math.sin(1.7 * i + 0.3));
      const r = await runEditJob(new EditStack(model.bare()), { method: 'ablate', settings: { layers: [1], modules: ['mlp.out', 'attn.out'] }, data: { direction: dir }, outDir: out });
      const unit = Math.hypot(...dir);
      await applyAndRevert(r.edit, async (stack) => {
        const ids = model.tokenizer.encode(probe);
        const taps = [tapName(1, 'mlp_out'), tapName(1, 'attn_out')];
        const o = await stack.model.run({ taps, layers: 2 }, stack.model.makeBatch([ids]));
        for (const t of taps) {
          const x = o[t].data as Float32Array;
          for (let p = 0; p < ids.length; p++) {
            let along = 0;
            let size = 0;
            for (let i = 0; i < d; i++) [along, size] = [along + x[p * d + i] * (dir[i] / unit), size + x[p * d + i] ** 2];
            assert.ok(Math.abs(along) < 1e-4 * Math.max(1, Math.sqrt(size)), `${t} at ${p}: component ${along}`);
          }
        }
      });
    });

    test('unlearning: every other objective trains, applies and reverts bit-identically', async () => {
      for (const method of UNLEARN_METHODS.filter((m) => m !== 'ga')) {
        const r = await runUnlearnJob(new EditStack(model.bare()), { method, settings: { forget, retain, steps: 2, stopBelow: 0 } });
        assert.equal(r.trained.curve.length, 2, `${method}: two steps`);
        assert.ok(r.trained.curve.every((p) => Number.isFinite(p.loss)), `${method}: finite losses`);
        await applyAndRevert(r.trained.edit, async () => undefined);
      }
    });

    test('unlearning (GradAscent): the forget answers lose probability; revert is bit-identical', async () => {
      const r = await runUnlearnJob(new EditStack(model.bare()), { method: 'ga', settings: { forget, retain, steps: 5, stopBelow: 0 } });
      const pairs = [{ prompt: 'The cat sat on the', answer: 'mat' }, { prompt: 'The capital of France is', answer: 'Paris' }];
      const before = (await scoreAnswers(model.bare(), pairs)).reduce((s, x) => s + x.meanLogprob, 0);
      await applyAndRevert(r.trained.edit, async (stack) => {
        const now = (await scoreAnswers(stack.model, pairs)).reduce((s, x) => s + x.meanLogprob, 0);
        assert.ok(now < before, `forget log-prob ${before} → ${now}`);
      });
    });
  });
}
