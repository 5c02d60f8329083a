// ORT diagnostics on a small target folder in the published layout: every form, before and
// after an edit, bad records reported with file/index/field, and the numbers against scoreAnswers.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LoadedModel } from '../../src/core/runtime/model';
import { EditStack } from '../../src/core/edits/stack';
import { computeRocr } from '../../src/core/edits/rocr';
import { runOrt } from '../../src/core/diagnostics/ort';
import { readOrtTarget } from '../../src/core/diagnostics/ortData';
import { scoreAnswers } from '../../src/core/analysis/answers';

const repo = path.join(__dirname, '..', '..', '..');
const target = path.join(repo, 'test', 'fixtures', 'ort', 'Target', '1_Ada_Lovelace');
process.env.MECHEDIT_CACHE = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-ort-'));

test('the target folder is read with its forms; a bad record is reported, the rest read', () => {
  const { name, items, issues } = readOrtTarget(target);
  assert.equal(name, '1_Ada_Lovelace');
  assert.deepEqual([...new Set(items.map((i) => `${i.set}/${i.form}`))].sort(), ['forget/adversarial', 'forget/fill-in', 'forget/multiple-choice', 'forget/question-answer', 'forget/true-false', 'neighbor/fill-in', 'neighbor/multiple-choice', 'neighbor/question-answer']);
  assert.equal(issues.length, 1);
  assert.match(issues[0].file, /neighbor_level1\.json$/);
  assert.equal(issues[0].index, 1);
  assert.equal(issues[0].field, 'answer');
});

test('loss_prob and token accuracy per form, before and after a ROCR edit', async () => {
  const model = LoadedModel.open(path.join(repo, 'test', 'fixtures', 'models', 'llama3-scaled'), { provider: 'cpu', threads: 1 });
  const stack = new EditStack(model);
  const baseline = await runOrt(model, stack, target);
  assert.ok(baseline.rows.every((r) => r.after === undefined), 'no edits: nothing to compare');
  const forms = baseline.rows.map((r) => `${r.set}/${r.form}`);
  assert.ok(forms.includes('forget/character-by-character') && forms.includes('neighbor/character-by-character'));
  // loss_prob of the fill-in form by hand: mean of exp(mean log-prob) of " " + answer.
  const fill = readOrtTarget(target).items.filter((i) => i.set === 'forget' && i.form === 'fill-in');
  const scores = await scoreAnswers(model, fill.map((i) => ({ prompt: i.query, answer: i.answer })));
  const expected = scores.reduce((s, x) => s + Math.exp(x.meanLogprob), 0) / scores.length;
  const row = baseline.rows.find((r) => r.set === 'forget' && r.form === 'fill-in')!;
  assert.ok(Math.abs(row.before.lossProb - expected) < 1e-12);
  assert.equal(row.before.items, 2);
  assert.ok(row.before.tokenAccuracy >= 0 && row.before.tokenAccuracy <= 1);

  stack.apply(await computeRocr(model, stack, { concept: 'Ada Lovelace', harmless: 'a croissant', layers: [0, 1], lambda: 0.01 }));
  const edited = await runOrt(model, stack, target);
  const forget = edited.rows.find((r) => r.set === 'forget' && r.form === 'fill-in')!;
  assert.ok(forget.after, 'after is measured with the edit');
  assert.ok(Math.abs(forget.before.lossProb - row.before.lossProb) < 1e-9, 'before is the unedited model');
  assert.notEqual(forget.after!.lossProb, forget.before.lossProb);
  assert.equal(stack.list()[0].enabled, true, 'the stack is left as it was');
  await model.release();
});
