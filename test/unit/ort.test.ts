// ORT diagnostics on a small target folder in the published layout: every form, before and
// after an edit, bad records reported with file/index/field, and the numbers against scoreAnswers.

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LoadedModel } from '../../src/core/runtime/model';
import { EditStack } from '../../src/core/edits/stack';
import { computeRocr } from '../../src/core/edits/rocr';
import { runOrt } from '../../src/core/diagnostics/ort';
import { ortTargets, readOrtTarget } from '../../src/core/train/ortData';
import { runOrtTargets } from '../../src/core/diagnostics/ortRun';
import { mergeRuns } from '../../src/core/diagnostics/merge';
import type { RunConfig } from '../../src/core/diagnostics/runner';
import { readEdit } from '../../src/core/edits/editFile';
import type { MechEditError } from '../../src/core/errors';
import { makeEdit } from './runHelpers';
import { scoreAnswers } from '../../src/core/runtime/answers';

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

describe('bad data', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-ort-data-'));
  const targetWith = (name: string, files: Record<string, unknown>) => {
    const dir = path.join(tmp, name);
    fs.mkdirSync(dir, { recursive: true });
    for (const [f, v] of Object.entries(files)) fs.writeFileSync(path.join(dir, f), typeof v === 'string' ? v : JSON.stringify(v));
    return dir;
  };
  const item = { query: 'Ada wrote the first ___', answer: 'program', level: '1', type: 'cloze', subject: 'Ada' };

  test('null and non-object records are reported by file and index; the others are read', () => {
    const dir = targetWith('1_Nulls', { 'forget_level1.json': [null, item, 7, 'x', [item]], 'neighbor_level1.json': null, 'forget_mcp.json': '{"query": ' });
    const { items, issues } = readOrtTarget(dir);
    assert.equal(items.length, 1);
    const at = (f: string) => issues.filter((i) => i.file === path.join(dir, f)).map((i) => [i.index, i.field]);
    assert.deepEqual(at('forget_level1.json'), [[0, ''], [2, ''], [3, ''], [4, '']]);
    assert.match(issues[0].message, /expected a record \(a JSON object\), got null/);
    assert.deepEqual(at('neighbor_level1.json'), [[-1, '']], 'a file that is not a list is reported as a whole');
    assert.deepEqual(at('forget_mcp.json'), [[-1, '']]);
  });

  test('two target folders with one id are refused, naming the folders and the id', () => {
    const root = path.join(tmp, 'Target');
    targetWith('Target/3_Ada', { 'forget_level1.json': [item] });
    targetWith('Target/03_Bob', { 'forget_level1.json': [item] });
    fs.symlinkSync(path.join(tmp, 'missing'), path.join(root, 'broken-link'));
    assert.throws(() => ortTargets(root), (e: MechEditError) => e.data?.code === 'bad-input' && e.data.file === path.join(root, '3_Ada') && /Target id 3 appears twice: 03_Bob and 3_Ada/.test(e.message));
  });
});

describe('runs: resume, shards and merge', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-ort-runs-'));
  const targets = path.join(repo, 'models', 'default', 'eval', 'ort');
  const model = LoadedModel.open(path.join(repo, 'test', 'fixtures', 'models', 'llama3-scaled'), { provider: 'cpu', threads: 1 });
  const stackOf = (...files: string[]) => {
    const s = new EditStack(model);
    for (const f of files) s.apply(readEdit(f));
    return s;
  };
  const edit = makeEdit(model, path.join(tmp, 'edits'), 'unlearn', 1);
  const sameId = makeEdit(model, path.join(tmp, 'edits-again'), 'unlearn', 2);
  const second = makeEdit(model, path.join(tmp, 'edits'), 'second', 3);
  const lines = (dir: string) => fs.readFileSync(path.join(dir, 'cases.jsonl'), 'utf8').trim().split('\n');

  test('a cancelled and resumed run equals an uninterrupted one; --resume refuses another edit stack', async () => {
    const full = path.join(tmp, 'full');
    const whole = await runOrtTargets(model, stackOf(edit), { target: targets, out: full });
    assert.deepEqual(whole.targets.map((t) => t.target), ['1_Veltrazine', '2_Dravokine']);
    assert.ok(whole.targets.every((t) => t.rows.every((r) => r.after)), 'measured with the edit');
    const config = JSON.parse(fs.readFileSync(path.join(full, 'run.json'), 'utf8')) as RunConfig;
    assert.deepEqual(config.edits?.map((e) => e.id), ['unlearn']);
    assert.equal(config.data.length, 2);

    const part = path.join(tmp, 'part');
    const done = () => (fs.existsSync(path.join(part, 'cases.jsonl')) ? lines(part).filter(Boolean).length : 0);
    await assert.rejects(runOrtTargets(model, stackOf(edit), { target: targets, out: part, isCancelled: () => done() >= 1 }), /Cancelled after 1 of 2/);
    await assert.rejects(runOrtTargets(model, stackOf(edit), { target: targets, out: part }), /already holds a run/);
    for (const [stack, diff] of [
      [stackOf(), /edits: unlearn \([0-9a-f]{12}\) ≠ no edits/],
      [stackOf(sameId), /edits: unlearn \(([0-9a-f]{12})\) ≠ unlearn \((?!\1)[0-9a-f]{12}\)/],
      [stackOf(edit, second), /edits: unlearn \([0-9a-f]{12}\) ≠ unlearn \([0-9a-f]{12}\), second \([0-9a-f]{12}\)/],
    ] as const) {
      await assert.rejects(runOrtTargets(model, stack, { target: targets, out: part, resume: true }), (e: MechEditError) => e.data?.file === path.join(part, 'run.json') && /different run/.test(e.message) && diff.test(e.message));
    }
    const scaled = stackOf(edit);
    scaled.scale('unlearn', 2);
    await assert.rejects(runOrtTargets(model, scaled, { target: targets, out: part, resume: true }), /unlearn ×2/);
    await assert.rejects(runOrtTargets(model, stackOf(edit), { target: targets, out: part, resume: true, limit: 1 }), /different run \(limit/);
    const resumed = await runOrtTargets(model, stackOf(edit), { target: targets, out: part, resume: true });
    assert.deepEqual(resumed.targets, whole.targets);
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(part, 'summary.json'), 'utf8')).targets, JSON.parse(fs.readFileSync(path.join(full, 'summary.json'), 'utf8')).targets);
    await assert.rejects(runOrtTargets(model, stackOf(edit), { target: targets, resume: true }), (e: MechEditError) => e.data?.field === 'resume');
    // A damaged results file is refused by line, and left as it was.
    const damaged = `${lines(part)[0]}\n{"target":"2_Dravokine","rows":[{"set":"forget"}],"issues":[],"skipped":0}\n`;
    fs.writeFileSync(path.join(part, 'cases.jsonl'), damaged);
    await assert.rejects(runOrtTargets(model, stackOf(edit), { target: targets, out: part, resume: true }), (e: MechEditError) => e.data?.file === path.join(part, 'cases.jsonl') && e.data.field === 'line 2: rows[0].form' && /"rows\[0\]\.form" is missing/.test(e.message));
    assert.equal(fs.readFileSync(path.join(part, 'cases.jsonl'), 'utf8'), damaged);
  });

  test('shards cover the targets once and merge into the unsharded result; shards of other stacks are refused', async () => {
    const shards = [0, 1].map((i) => path.join(tmp, `shard${i}`));
    for (const [i, dir] of shards.entries()) {
      const r = await runOrtTargets(model, stackOf(edit), { target: targets, out: dir, shard: { index: i, count: 2 } });
      assert.equal(r.targets.length, 1);
    }
    const merged = mergeRuns(shards, path.join(tmp, 'merged'));
    assert.equal(merged.tool, 'ort');
    assert.deepEqual(merged.targets, JSON.parse(fs.readFileSync(path.join(tmp, 'full', 'summary.json'), 'utf8')).targets);
    assert.deepEqual(lines(path.join(tmp, 'merged')).map((l) => JSON.parse(l).target), ['1_Veltrazine', '2_Dravokine']);
    assert.throws(() => mergeRuns([shards[1]], path.join(tmp, 'merged-missing')), /Shard 0\/2 is missing/);
    const other = path.join(tmp, 'shard1-other-stack');
    await runOrtTargets(model, stackOf(sameId), { target: targets, out: other, shard: { index: 1, count: 2 } });
    assert.throws(() => mergeRuns([shards[0], other], path.join(tmp, 'merged-other')), (e: MechEditError) => e.data?.file === other && /cannot be merged \(edits: /.test(e.message));
    assert.equal(fs.existsSync(path.join(tmp, 'merged-other')), false, 'nothing is written when merge is refused');
    const limited = await runOrtTargets(model, stackOf(), { target: targets, limit: 1 });
    assert.deepEqual(limited.targets.map((t) => t.target), ['1_Veltrazine']);
    await model.release();
  });
});
