// FINE-KED: the metric against an independent PyTorch computation (tools/fine_ked_reference.py →
// test/fixtures/golden/fine-ked.json) on the bundled model, without and with a saved ROME edit;
// strict data validation; crash-safety (resume, shards, merge).

import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readFineKed } from '../../src/core/diagnostics/fineKedData';
import { casePairs, summarizeFineKed, type FineKedResult } from '../../src/core/diagnostics/fineKed';
import { runFineKed } from '../../src/core/diagnostics/fineKedRun';
import { readCases, type RunConfig } from '../../src/core/diagnostics/runner';
import { mergeRuns } from '../../src/core/diagnostics/merge';
import { scoreAnswers } from '../../src/core/runtime/answers';
import { LoadedModel } from '../../src/core/runtime/model';
import { EditStack } from '../../src/core/edits/stack';
import { readEdit } from '../../src/core/edits/editFile';
import type { MechEditError } from '../../src/core/errors';

const repo = path.join(__dirname, '..', '..', '..');
const data = path.join(repo, 'models', 'default', 'eval', 'fine_ked.json');
const golden = JSON.parse(fs.readFileSync(path.join(repo, 'test', 'fixtures', 'golden', 'fine-ked.json'), 'utf8')) as {
  cases: number;
  edit: string;
  runs: Record<'none' | 'edit', { cases: (Omit<FineKedResult, 'subject' | 'targetNew' | 'targetTrue' | 'facts'> & { facts: { level: string; known: boolean; rloc: number; top1: number; wins: number }[] })[]; pairs: { prompt: string; answer: string; meanLogprob: number; tokenTop: boolean[] }[] }>;
};
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-fine-ked-'));
process.env.MECHEDIT_CACHE = path.join(tmp, 'cache');
const model = LoadedModel.open(path.join(repo, 'models', 'default'), { provider: 'cpu', threads: 1 });
after(() => model.release());
const lines = (dir: string) => fs.readFileSync(path.join(dir, 'cases.jsonl'), 'utf8').trim().split('\n');
const writeData = (name: string, value: unknown) => {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value));
  return file;
};

test('the shipped fine_ked.json: 150 cases, every level present, all valid', () => {
  const { records, issues } = readFineKed(data);
  assert.deepEqual(issues, []);
  assert.equal(records.length, 150);
  const levels = records.flatMap((r) => r.fineGrained.map((f) => f.level));
  assert.deepEqual(['easy', 'middle', 'hard'].map((l) => levels.filter((x) => x === l).length), [360, 120, 120]);
  // The grading rule of tools/world/fine_ked.py.
  const c0 = records[0];
  assert.equal(c0.relationId, 'birthplace');
  assert.deepEqual(c0.fineGrained.map((f) => [f.relation, f.level]), [['citizenship', 'hard'], ['occupation', 'easy'], ['employer', 'easy'], ['native_language', 'middle']]);
});

describe('the metric equals the PyTorch reference (tools/fine_ked_reference.py)', () => {
  for (const run of ['none', 'edit'] as const) {
    test(`${run === 'none' ? 'the checkpoint' : 'with the saved ROME edit'}: scores and per-case metrics`, async () => {
      const stack = new EditStack(model.withEdits(model.edits));
      if (run === 'edit') stack.apply(readEdit(path.join(repo, golden.edit)));
      const g = golden.runs[run];
      // The scores of every pair (mean log-prob, top-1 per token).
      const scores = await scoreAnswers(stack.model, g.pairs.map(({ prompt, answer }) => ({ prompt, answer })));
      scores.forEach((s, i) => {
        assert.ok(Math.abs(s.meanLogprob - g.pairs[i].meanLogprob) < 1e-4, `pair ${i}: ${s.meanLogprob} vs ${g.pairs[i].meanLogprob}`);
        assert.deepEqual(s.tokenTop, g.pairs[i].tokenTop, `pair ${i} top-1 flags`);
      });
      // The metrics, through a run (method none: measured against the checkpoint without edits).
      const out = path.join(tmp, `golden-${run}`);
      await runFineKed(stack.model, { data, method: 'none', limit: golden.cases, out });
      const ours = readCases<FineKedResult>(path.join(out, 'cases.jsonl'));
      assert.equal(ours.length, golden.cases);
      ours.forEach((c, i) => {
        const ref = g.cases[i];
        assert.equal(c.caseId, ref.caseId);
        for (const k of ['efficacy', 'paraphrase', 'neighbourhood'] as const) {
          const [{ magnitude: m, ...mine }, { magnitude: r, ...theirs }] = [c[k]!, ref[k]!];
          assert.deepEqual(mine, theirs, `case ${i} ${k}`);
          // CounterFact's magnitude P(desired) − P(other): probabilities here are O(1), so 1e-4 absolute bites.
          assert.ok(Math.abs(m! - r!) < 1e-4, `case ${i} ${k} magnitude: ${m} vs ${r}`);
        }
        assert.deepEqual(c.facts.map(({ level, known, rloc, top1, wins }) => ({ level, known, rloc, top1, wins })), ref.facts, `case ${i} facts`);
      });
      if (run === 'edit') {
        assert.equal(ours[0].efficacy.success, 1, 'the edit took on its own case');
        assert.ok(ours[0].facts.some((f) => f.known && f.top1 === 0), 'and it broke a fact of its subject (the reference agrees)');
      }
    });
  }
});

describe('summary', () => {
  const fact = (level: 'easy' | 'middle' | 'hard', rloc: number, known = true) => ({ level, prompt: `p ${level}`, answer: 'a', known, rloc, top1: rloc === 1 ? 1 : 0, wins: 1 });
  const result = (caseId: number, facts: ReturnType<typeof fact>[]): FineKedResult => ({ caseId, subject: 's', targetNew: 'n', targetTrue: 't', efficacy: { success: 1, top1: caseId % 2, prompts: 1 }, facts });
  const s = summarizeFineKed([result(0, [fact('easy', 1), fact('hard', 0.5), fact('hard', 0, false)]), result(1, [fact('easy', 0.5), fact('hard', 1)])]);

  test('per level over known facts, averaged over the levels present; unknown facts counted apart', () => {
    assert.deepEqual([s.levels.easy.known, s.levels.hard.known, s.levels.middle.known, s.unknown], [2, 2, 0, 1]);
    assert.equal(s.levels.easy.rloc, 75);
    assert.equal(s.levels.hard.rloc, 75);
    assert.equal(s.average.rloc, 75, 'middle has no facts: it is not averaged in as 0');
    assert.equal(s.efficacy.top1, 50);
    assert.equal(s.paraphrase.cases, 0);
  });

  test('worst cases: lowest R-Loc first, with the facts they lost', () => {
    assert.deepEqual(s.worst.map((w) => [w.caseId, w.rloc, w.lost.map((f) => f.level)]), [[0, 75, ['hard']], [1, 75, ['easy']]]);
  });
});

const good = {
  case_id: 3,
  requested_rewrite: { prompt: '{} was born in', subject: 'Ada', target_new: { str: 'Paris' }, target_true: { str: 'London' } },
  fine_grained: [{ relation: 'citizenship', level: 'hard', prompt: 'Ada is a citizen of', answer: 'England' }],
};

test('bad records are reported by file, record and field; the others are read', () => {
  const file = writeData('mixed.json', [
    good,
    { ...good, case_id: 4, fine_grained: [] },
    { ...good, case_id: 5, fine_grained: [{ level: 'medium', prompt: 'p', answer: 'a' }] },
    { ...good, case_id: 6, fine_grained: [good.fine_grained[0], { level: 'easy', prompt: '{} works as a', answer: 'baker' }] },
    { ...good, case_id: 7, fine_grained: [{ level: 'easy', prompt: 'Ada works as a', answer: 'Paris' }] },
    { ...good, case_id: 8, requested_rewrite: { ...good.requested_rewrite, target_new: { str: 'London' } } },
    { ...good, case_id: 9, paraphrase_prompts: 'Ada is from' },
    { ...good, case_id: 10, fine_grained: [null] },
    null,
  ]);
  const { records, issues } = readFineKed(file);
  assert.deepEqual(records.map((r) => r.caseId), [3]);
  assert.deepEqual(issues.map((i) => [i.index, i.field]), [
    [1, 'fine_grained'], [2, 'fine_grained[0].level'], [3, 'fine_grained[1].prompt'], [4, 'fine_grained[0].answer'],
    [5, 'requested_rewrite.target_new.str'], [6, 'paraphrase_prompts'], [7, 'fine_grained[0]'], [8, ''],
  ]);
  assert.ok(issues.every((i) => i.file === file));
  assert.match(issues[1].message, /one of easy, middle, hard, got "medium"/);
  assert.match(issues[2].message, /filled in/);
  assert.match(issues[3].message, /target_new/);
  assert.throws(() => readFineKed(writeData('dupes.json', [good, good])), (e: MechEditError) => e.data?.field === '[1].case_id' && /Case id 3 appears twice/.test(e.message));
  assert.throws(() => readFineKed(writeData('object.json', { cases: [good] })), (e: MechEditError) => e.data?.file === path.join(tmp, 'object.json'));
});

describe('runs', () => {
  test('a cancelled, crashed and resumed run equals an uninterrupted one; the report is written', async () => {
    const full = path.join(tmp, 'full');
    const whole = await runFineKed(model, { data, method: 'none', limit: 10, out: full });
    assert.equal(whole.cases, 10);
    assert.equal(lines(full).length, 10);
    const part = path.join(tmp, 'part');
    const saved = () => (fs.existsSync(path.join(part, 'cases.jsonl')) ? lines(part).filter(Boolean).length : 0);
    // Chunks of 8 cases: cancelled after the first.
    await assert.rejects(runFineKed(model, { data, method: 'none', limit: 10, out: part, isCancelled: () => saved() >= 8 }), /Cancelled after 8 of 10 cases/);
    assert.equal(fs.existsSync(path.join(part, 'summary.json')), false);
    fs.appendFileSync(path.join(part, 'cases.jsonl'), '{"caseId":8,"effic');
    await assert.rejects(runFineKed(model, { data, method: 'none', limit: 11, out: part, resume: true }), /different run \(limit/);
    await runFineKed(model, { data, method: 'none', limit: 10, out: part, resume: true });
    assert.deepEqual(lines(part), lines(full));
    const summary = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8')).summary;
    assert.deepEqual(summary(part), summary(full));
    assert.match(fs.readFileSync(path.join(full, 'report.html'), 'utf8'), /R-Loc per level/);
    // A damaged line is refused by line and field (schemas/runs/fine-ked.schema.json).
    const { efficacy: _e, ...noEfficacy } = JSON.parse(lines(full)[1]) as Record<string, unknown>;
    fs.writeFileSync(path.join(part, 'cases.jsonl'), `${lines(full)[0]}\n${JSON.stringify(noEfficacy)}\n`);
    await assert.rejects(runFineKed(model, { data, method: 'none', limit: 10, out: part, resume: true }), (e: MechEditError) => e.data?.field === 'line 2: efficacy' && /"efficacy" is missing/.test(e.message));
    fs.writeFileSync(path.join(part, 'cases.jsonl'), `${lines(full)[0]}\n${lines(full)[1].replace(/"success":([\d.e-]+)/, '"success":"$1"')}\n`);
    await assert.rejects(runFineKed(model, { data, method: 'none', limit: 10, out: part, resume: true }), (e: MechEditError) => e.data?.field === 'line 2: efficacy.success' && /must be a number/.test(e.message));
  });

  test('two shards merge into the unsharded run', async () => {
    const dirs = [0, 1].map((i) => path.join(tmp, `shard${i}`));
    for (let i = 0; i < 2; i++) await runFineKed(model, { data, method: 'none', limit: 10, shard: { index: i, count: 2 }, out: dirs[i] });
    assert.deepEqual(readCases<FineKedResult>(path.join(dirs[1], 'cases.jsonl')).map((c) => c.caseId), [1, 3, 5, 7, 9]);
    const merged = mergeRuns(dirs, path.join(tmp, 'merged'));
    assert.equal(merged.tool, 'fine-ked');
    assert.equal(merged.cases, 10);
    const full = path.join(tmp, 'full');
    assert.deepEqual(lines(path.join(tmp, 'merged')), lines(full));
    assert.deepEqual(merged.fineKed, JSON.parse(fs.readFileSync(path.join(full, 'summary.json'), 'utf8')).summary);
  });

  test('per-case methods record their settings; unknown methods and long cases are refused or skipped by name', async () => {
    const dir = path.join(tmp, 'per-case');
    const stack = new EditStack(model.withEdits(model.edits));
    await assert.rejects(runFineKed(model, { data, method: 'memit', limit: 1, out: dir, isCancelled: () => true, perCase: { stack, layers: [0, 1], lambda: 5 } }), /Cancelled after 0/);
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8')) as RunConfig;
    assert.equal(config.tool, 'fine-ked');
    assert.equal(config.method, 'memit');
    assert.deepEqual(config.perCase?.layers, [0, 1]);
    assert.equal(config.perCase?.lambda, 5);
    await assert.rejects(runFineKed(model, { data, method: 'magic', out: path.join(tmp, 'magic') }), (e: MechEditError) => e.data?.field === 'method' && /rome, memit, alphaedit, dike/.test(e.data.hint ?? ''));
    const long = writeData('long.json', [good, { ...good, case_id: 4, paraphrase_prompts: [`${'and then, '.repeat(60)}Ada was born in`] }]);
    const r = await runFineKed(model, { data: long, method: 'none', out: path.join(tmp, 'long') });
    assert.equal(r.cases, 1);
    assert.deepEqual(r.issues.map((i) => [i.index, i.field]), [[4, 'prompt']]);
    assert.equal(casePairs(readFineKed(long).records[0]).length, 4);
  });
});

describe('FINE-KED in-context reference (method context)', () => {
  test('states the new fact before every prompt and measures R-Loc against the unprefixed facts', async () => {
    const out = path.join(tmp, 'context');
    const r = await runFineKed(model, { data, method: 'context', limit: 2, out });
    const cases = readFineKed(data).records.slice(0, 2);
    const c = cases[0];
    const fact = `${c.prompt.replace('{}', c.subject)} ${c.targetNew}.\n`;
    // The fine-grained facts' scores, computed here with and without the stated fact.
    const prefixed = await scoreAnswers(model, c.fineGrained.map((f) => ({ prompt: fact + f.prompt, answer: f.answer })));
    const plain = await scoreAnswers(model, c.fineGrained.map((f) => ({ prompt: f.prompt, answer: f.answer })));
    const line = readCases<FineKedResult>(path.join(out, 'cases.jsonl'))[0];
    assert.equal(line.caseId, c.caseId);
    line.facts.forEach((f, k) => {
      assert.equal(f.known, plain[k].tokenTop.every(Boolean), `fact ${k}: known from the unprefixed prompt`);
      if (f.known) assert.equal(f.rloc, prefixed[k].tokenTop.filter(Boolean).length / prefixed[k].tokenTop.length, `fact ${k}: R-Loc from the prefixed prompt`);
    });
    assert.equal(r.cases, 2);
    assert.equal(JSON.parse(fs.readFileSync(path.join(out, 'run.json'), 'utf8')).method, 'context');
  });
});
