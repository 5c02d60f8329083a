// EVOKE diagnostics: the readers on the real data, strict validation, the metric against
// hand-computed cases, and crash-safety (resume, shards, merge).

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readEvokeMain, readSubjectSpec } from '../../src/core/diagnostics/evokeData';
import { evaluate, mainTasks, pairsOf, subjectTasks, summarize, type CaseResult } from '../../src/core/diagnostics/evoke';
import { runEvoke } from '../../src/core/diagnostics/evokeRun';
import { mergeConfigs, readCases } from '../../src/core/diagnostics/runner';
import { LoadedModel } from '../../src/core/runtime/model';
import type { AnswerScore } from '../../src/core/analysis/answers';

const repo = path.join(__dirname, '..', '..', '..');
const evokeDir = path.join(repo, '..', 'shared', 'datasets', 'evoke');
const haveEvoke = fs.existsSync(path.join(evokeDir, 'evoke_main.json'));
const skipReal = haveEvoke ? false : `the real EVOKE files are not at ${evokeDir}`;
if (skipReal) console.log(`# EVOKE data tests skipped: ${skipReal}`);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-evoke-'));
process.env.MECHEDIT_CACHE = path.join(tmp, 'cache');

describe('readers on the real EVOKE files', () => {
  test('all 1031 records of evoke_main.json parse', { skip: skipReal }, () => {
    const { records, issues } = readEvokeMain(path.join(evokeDir, 'evoke_main.json'));
    assert.deepEqual(issues, []);
    assert.equal(records.length, 1031);
    assert.equal(records.filter((r) => r.portability).length, 822);
    const first = records[0];
    assert.equal(first.subject, 'Spike Hughes');
    assert.equal(first.targetNew, 'Philadelphia');
    assert.equal(first.targetTrue, 'London');
    assert.equal(first.paraphrasePrompts.length, 2);
    assert.equal(first.neighborhoodPrompts.length, 10);
    assert.equal(first.prefixDistraction.length, 10);
    assert.equal(first.portability?.newAnswer, 'Cheesesteaks');
  });

  test('all 458 records of evoke_subj_spec.json parse', { skip: skipReal }, () => {
    const { records, issues } = readSubjectSpec(path.join(evokeDir, 'evoke_subj_spec.json'));
    assert.deepEqual(issues, []);
    assert.equal(records.length, 458);
    assert.equal(records[0].specAnswer, 'Irmelin DiCaprio');
    assert.match(records[0].specPrompt, /mother of Leonardo DiCaprio/);
  });
});

test('a bad record is reported by file, index and field; the others are read', () => {
  const good = { case_id: 7, requested_rewrite: { prompt: '{} was born in', subject: 'Ada', target_new: { str: 'Paris' }, target_true: { str: 'London' } }, paraphrase_prompts: ['Ada is from'], neighborhood_prompts: ['Bob was born in'] };
  const file = path.join(tmp, 'mixed.json');
  fs.writeFileSync(file, JSON.stringify([
    good,
    { ...good, case_id: 8, requested_rewrite: { ...good.requested_rewrite, target_new: { id: 'Q1' } } },
    { ...good, case_id: 9, paraphrase_prompts: 'not a list' },
    { ...good, case_id: 10, requested_rewrite: { ...good.requested_rewrite, prompt: 'no placeholder' } },
    { ...good, case_id: 11 },
  ]));
  const { records, issues } = readEvokeMain(file);
  assert.deepEqual(records.map((r) => r.caseId), [7, 11]);
  assert.deepEqual(issues.map((i) => [i.index, i.field]), [[1, 'requested_rewrite.target_new.str'], [2, 'paraphrase_prompts'], [3, 'requested_rewrite.prompt']]);
  assert.ok(issues.every((i) => i.file === file && i.message.length > 10));
});

describe('the metric, by hand', () => {
  const c = {
    caseId: 0, subject: 'Ada', prompt: '{} was born in', targetNew: 'Paris', targetTrue: 'London',
    paraphrasePrompts: ['p1', 'p2'], neighborhoodPrompts: ['n1', 'n2', 'n3', 'n4'], prefixDistraction: ['d1'],
    portability: { question: 'Q?', newAnswer: 'Baguette', originalAnswer: 'Tea' }, augmentPara: [], augmentRel: [],
  };
  const tasks = mainTasks(c);
  const pairs = pairsOf(tasks);
  const nll: Record<string, number> = {
    // efficacy: new wins
    'Ada was born in|Paris': 1, 'Ada was born in|London': 2,
    // paraphrase: new wins on p1, loses on p2
    'p1|Paris': 1, 'p1|London': 3, 'p2|Paris': 4, 'p2|London': 2,
    // multi-hop: new answer beats the target but not the original
    'Q? The answer to this question, most simply, is|Baguette': 2, 'Q? The answer to this question, most simply, is|Paris': 3, 'Q? The answer to this question, most simply, is|Tea': 1,
    // prefix distraction: the edit target leaks (overfit)
    'd1|London': 5, 'd1|Paris': 1,
    // relation specificity: 3 of 4 neighbours keep the true answer
    'n1|London': 1, 'n1|Paris': 2, 'n2|London': 1, 'n2|Paris': 2, 'n3|London': 1, 'n3|Paris': 2, 'n4|London': 3, 'n4|Paris': 2,
  };
  const scores: AnswerScore[] = pairs.map((p) => {
    const v = nll[`${p.prompt}|${p.answer}`];
    assert.ok(v !== undefined, `unexpected pair ${p.prompt}|${p.answer}`);
    return { promptIds: [], answerIds: [], tokenLogprobs: [-v], meanLogprob: -v, tokenTop: [false] };
  });
  const r = evaluate(tasks, scores);

  test('prompts and answers are the ones METHODS.md lists', () => {
    assert.equal(pairs.length, 2 + 4 + 3 + 2 + 8);
    assert.equal(tasks.find((t) => t.name === 'multihop')?.prompts[0], 'Q? The answer to this question, most simply, is');
  });

  test('indicators compare NLLs and average over the case\'s prompts', () => {
    assert.equal(r.efficacy.indicators.success, 1);
    assert.equal(r.paraphrase.indicators.success, 0.5);
    assert.equal(r.multihop.indicators.eos, 1);
    assert.equal(r.multihop.indicators.ams, 0);
    assert.equal(r.prefix.indicators.eos, 0);
    assert.equal(r.relationSpecificity.indicators.eos, 0.75);
  });

  test('probabilities are means of exp(−mean NLL)', () => {
    assert.ok(Math.abs(r.paraphrase.probs.new - (Math.exp(-1) + Math.exp(-4)) / 2) < 1e-12);
    assert.ok(Math.abs(r.prefix.probs.target - Math.exp(-1)) < 1e-12);
    assert.ok(Math.abs(r.relationSpecificity.probs.true - (3 * Math.exp(-1) + Math.exp(-3)) / 4) < 1e-12);
  });

  test('summaries average over cases × 100; tasks a case lacks are not counted', () => {
    const a: CaseResult = { kind: 'main', caseId: 0, subject: 'Ada', targetNew: 'Paris', targetTrue: 'London', tasks: r };
    const { multihop: _m, ...noHop } = r;
    const b: CaseResult = { ...a, caseId: 1, tasks: { ...noHop, efficacy: { ...r.efficacy, indicators: { success: 0 } } } };
    const s = summarize([a, b]);
    assert.equal(s.efficacy.cases, 2);
    assert.equal(s.efficacy.indicators.success, 50);
    assert.equal(s.multihop.cases, 1);
    assert.equal(s.multihop.indicators.eos, 100);
  });

  test('subject specificity compares the other relation\'s answer with the edit target', () => {
    const t = subjectTasks({ caseId: 0, subject: 'Ada', prompt: '{} is a citizen of', targetNew: 'Syria', targetTrue: 'USA', specPrompt: 'The mother of Ada is', specAnswer: 'Eve' });
    assert.deepEqual(pairsOf(t), [{ prompt: 'The mother of Ada is', answer: 'Eve' }, { prompt: 'The mother of Ada is', answer: 'Syria' }]);
  });
});

describe('runs', { skip: skipReal }, () => {
  const data = path.join(evokeDir, 'evoke_main.json');
  const subj = path.join(evokeDir, 'evoke_subj_spec.json');
  // llama3-scaled has a context of 128 tokens: a few EVOKE cases are longer with its tiny
  // tokenizer and must be reported and skipped.
  const model = LoadedModel.open(path.join(repo, 'test', 'fixtures', 'models', 'llama3-scaled'), { provider: 'cpu', threads: 1 });
  const lines = (dir: string) => fs.readFileSync(path.join(dir, 'cases.jsonl'), 'utf8').trim().split('\n');

  test('a cancelled, crashed and resumed run equals an uninterrupted one', async () => {
    const full = path.join(tmp, 'full');
    const result = await runEvoke(model, { data, subjSpec: subj, method: 'none', limit: 10, out: full });
    const skipped = result.issues.filter((i) => i.field === 'prompt');
    assert.ok(skipped.every((i) => /longer than the model's context \(128\)/.test(i.message)));
    assert.equal(lines(full).length, 20 - skipped.length);
    assert.ok(lines(full).length >= 12, `only ${lines(full).length} cases fit`);
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(full, 'issues.json'), 'utf8')), result.issues);

    const part = path.join(tmp, 'part');
    const saved = () => (fs.existsSync(path.join(part, 'cases.jsonl')) ? fs.readFileSync(path.join(part, 'cases.jsonl'), 'utf8').split('\n').filter(Boolean).length : 0);
    await assert.rejects(
      runEvoke(model, { data, subjSpec: subj, method: 'none', limit: 10, out: part, isCancelled: () => saved() >= 8 }),
      /Cancelled after 8 of \d+ cases/,
    );
    assert.equal(lines(part).length, 8);
    // A crash in the middle of a write leaves half a line.
    fs.appendFileSync(path.join(part, 'cases.jsonl'), '{"kind":"main","caseId":8,"subj');
    await assert.rejects(runEvoke(model, { data, subjSpec: subj, method: 'none', limit: 10, out: part }), /already holds a run.*/);
    await assert.rejects(runEvoke(model, { data, subjSpec: subj, method: 'none', limit: 11, out: part, resume: true }), /different run \(limit/);
    await runEvoke(model, { data, subjSpec: subj, method: 'none', limit: 10, out: part, resume: true });
    assert.deepEqual(lines(part), lines(full));
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(part, 'summary.json'), 'utf8')).tasks, JSON.parse(fs.readFileSync(path.join(full, 'summary.json'), 'utf8')).tasks);
    assert.match(fs.readFileSync(path.join(full, 'report.html'), 'utf8'), /<svg[^>]*aria-label="efficacy"/);
  });

  test('shards cover the cases once and merge into the unsharded result', async () => {
    const dirs = [0, 1, 2].map((i) => path.join(tmp, `shard${i}`));
    for (let i = 0; i < 3; i++) await runEvoke(model, { data, method: 'none', limit: 7, shard: { index: i, count: 3 }, out: dirs[i] });
    const ids = dirs.flatMap((d) => readCases<CaseResult>(path.join(d, 'cases.jsonl')).map((c) => c.caseId)).sort((a, b) => a - b);
    const whole0 = path.join(tmp, 'whole0');
    const all = await runEvoke(model, { data, method: 'none', limit: 7, out: whole0 });
    const expected = [0, 1, 2, 3, 4, 5, 6].filter((id) => !all.issues.some((i) => i.index === id));
    assert.deepEqual(ids, expected);
    const config = mergeConfigs(dirs);
    assert.equal(config.shard, undefined);
    const whole = path.join(tmp, 'whole');
    await runEvoke(model, { data, method: 'none', limit: 7, out: whole });
    const merged = dirs.flatMap((d) => readCases<CaseResult>(path.join(d, 'cases.jsonl'))).sort((a, b) => a.caseId - b.caseId);
    assert.deepEqual(merged, readCases<CaseResult>(path.join(whole, 'cases.jsonl')));
    await assert.rejects(async () => mergeConfigs([dirs[0], path.join(tmp, 'full')]), /cannot be merged/);
  });

  test('ROCR is refused as an EVOKE method with a hint, an unknown method by name', async () => {
    await assert.rejects(runEvoke(model, { data, method: 'rocr', out: path.join(tmp, 'rocr') }), (e: Error & { data?: { field?: string; hint?: string } }) => e.data?.field === '--method' && /not an EVOKE method/.test(e.message) && /mechedit ort/.test(e.data?.hint ?? ''));
    await assert.rejects(runEvoke(model, { data, method: 'magic', out: path.join(tmp, 'magic') }), /Method "magic" is unknown/);
  });
});
