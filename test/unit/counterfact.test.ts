// CounterFact's ES / PS / NS scores and magnitudes (core/diagnostics/counterfact.ts) against an
// independent PyTorch computation of ROME / MEMIT's evaluation code (tools/counterfact_reference.py
// → test/fixtures/golden/counterfact.json) on the first records of EVOKE's data, bundled model,
// unedited; computed directly and through EVOKE's tasks (what `mechedit evoke` reports).

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readEvokeMain } from '../../src/core/diagnostics/evokeData';
import { counterFactCase, counterFactOfEvoke, counterFactPairs, summarizeCounterFact, type CounterFactCase } from '../../src/core/diagnostics/counterfact';
import { evaluate, mainTasks, pairsOf, type CaseResult } from '../../src/core/diagnostics/evoke';
import { scoreAnswers } from '../../src/core/runtime/answers';
import { LoadedModel } from '../../src/core/runtime/model';
import type { CounterFactSummary } from '../../src/protocol/diagnostics';
import { runEvoke } from '../../src/core/diagnostics/evokeRun';
import { counterFactPoint } from '../../src/core/diagnostics/sequentialMeasure';
import { ngramEntropy } from '../../src/core/diagnostics/generationEntropy';

type Task = { score: number; magnitude: number; top1: number; prompts: number };
type PromptRow = { prompt: string; nllNew: number; nllTrue: number; correctNew: boolean; correctTrue: boolean };
const repo = path.join(__dirname, '..', '..', '..');
const golden = JSON.parse(fs.readFileSync(path.join(repo, 'test', 'fixtures', 'golden', 'counterfact.json'), 'utf8')) as {
  data: string;
  cases: number;
  summary: CounterFactSummary;
  perCase: ({ caseId: number; prompts: Record<string, PromptRow[]> } & Record<string, Task>)[];
};
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-counterfact-'));
process.env.MECHEDIT_CACHE = path.join(tmp, 'cache');
const model = LoadedModel.open(path.join(repo, 'models', 'default'), { provider: 'cpu', threads: 1 });
after(() => model.release());
// A missing data file fails the test (readEvokeMain throws), it never skips.
const records = readEvokeMain(path.join(repo, golden.data)).records.slice(0, golden.cases);
const TASKS = ['efficacy', 'paraphrase', 'neighbourhood'] as const;

function compareCases(mine: CounterFactCase[], label: string) {
  assert.equal(mine.length, golden.perCase.length);
  mine.forEach((m, i) => {
    const g = golden.perCase[i];
    for (const k of TASKS) {
      const [a, b] = [m[k], g[k]];
      assert.ok(a && b, `${label} case ${g.caseId} ${k}: present in both`);
      assert.equal(a.prompts, b.prompts, `${label} case ${g.caseId} ${k}: prompts`);
      // Shares of prompts (k / n): equal up to the order of the sum.
      assert.ok(Math.abs(a.score - b.score) < 1e-12, `${label} case ${g.caseId} ${k} score: ${a.score} vs ${b.score}`);
      assert.ok(Math.abs(a.top1 - b.top1) < 1e-12, `${label} case ${g.caseId} ${k} top1: ${a.top1} vs ${b.top1}`);
      // Relative to the probabilities' scale: on this model they are ~1e-6, where 1e-4 absolute could not fail.
      const scale = g.prompts[k].reduce((x, r) => x + Math.exp(-r.nllNew) + Math.exp(-r.nllTrue), 0) / g.prompts[k].length;
      assert.ok(Math.abs(a.magnitude - b.magnitude) <= 1e-4 * scale, `${label} case ${g.caseId} ${k} magnitude: ${a.magnitude} vs ${b.magnitude} (scale ${scale})`);
    }
  });
}

function compareSummary(s: CounterFactSummary, label: string) {
  assert.equal(s.version, golden.summary.version);
  for (const k of TASKS) {
    const [a, b] = [s[k], golden.summary[k]];
    assert.equal(a.cases, b.cases, `${label} ${k} cases`);
    assert.ok(Math.abs(a.score - b.score) < 1e-9, `${label} ${k} score: ${a.score} vs ${b.score}`);
    const scale = golden.perCase.reduce((x, c) => x + c.prompts[k].reduce((y, r) => y + Math.exp(-r.nllNew) + Math.exp(-r.nllTrue), 0) / c.prompts[k].length, 0) / golden.perCase.length;
    assert.ok(Math.abs(a.magnitude - b.magnitude) <= 1e-4 * 100 * scale, `${label} ${k} magnitude: ${a.magnitude} vs ${b.magnitude} (× 100; scale ${scale})`);
    assert.ok(Math.abs(a.top1! - b.top1!) < 1e-9, `${label} ${k} top1: ${a.top1} vs ${b.top1}`);
  }
  assert.equal(s.score === undefined, golden.summary.score === undefined, `${label} Score present in both`);
  if (s.score !== undefined) assert.ok(Math.abs(s.score - golden.summary.score!) < 1e-9, `${label} Score: ${s.score} vs ${golden.summary.score}`);
}

test('the golden file covers the records it names, and its indicators are not all one value', () => {
  assert.equal(records.length, golden.cases);
  assert.deepEqual(records.map((r) => r.caseId), golden.perCase.map((c) => c.caseId));
  // A check that cannot fail is no check: the unedited model must both win and lose somewhere.
  const wins = golden.perCase.flatMap((c) => c.prompts.neighbourhood.map((p) => p.nllTrue < p.nllNew));
  assert.ok(wins.includes(true) && wins.includes(false), 'neighbourhood indicators vary');
});

test('per prompt: each NLL within 1e-4 of the reference, each indicator [P(new) > P(old)] exactly', async () => {
  for (const [i, c] of records.entries()) {
    const scores = await scoreAnswers(model, counterFactPairs(c));
    const rows = TASKS.flatMap((k) => golden.perCase[i].prompts[k]);
    assert.equal(scores.length, 2 * rows.length);
    rows.forEach((r, j) => {
      const [sNew, sTrue] = [scores[2 * j], scores[2 * j + 1]];
      assert.ok(Math.abs(-sNew.meanLogprob - r.nllNew) < 1e-4, `case ${c.caseId} "${r.prompt}" NLL(new): ${-sNew.meanLogprob} vs ${r.nllNew}`);
      assert.ok(Math.abs(-sTrue.meanLogprob - r.nllTrue) < 1e-4, `case ${c.caseId} "${r.prompt}" NLL(true): ${-sTrue.meanLogprob} vs ${r.nllTrue}`);
      assert.equal(sNew.meanLogprob > sTrue.meanLogprob, r.nllTrue > r.nllNew, `case ${c.caseId} "${r.prompt}": the indicator`);
      assert.equal(sNew.tokenTop.every(Boolean), r.correctNew, `case ${c.caseId} "${r.prompt}": top-1 of new`);
      assert.equal(sTrue.tokenTop.every(Boolean), r.correctTrue, `case ${c.caseId} "${r.prompt}": top-1 of true`);
    });
  }
});

test('per case and summary: ES / PS / NS, magnitudes, top-1 and Score equal the reference', async () => {
  const mine: CounterFactCase[] = [];
  for (const c of records) mine.push(counterFactCase(c, await scoreAnswers(model, counterFactPairs(c))));
  compareCases(mine, 'direct');
  compareSummary(summarizeCounterFact(mine), 'direct');
});

test("read from EVOKE's tasks (what an EVOKE run reports) they equal the reference too", async () => {
  const results: CaseResult[] = [];
  for (const c of records) {
    const plan = mainTasks(c);
    const tasks = evaluate(plan, await scoreAnswers(model, pairsOf(plan)));
    results.push({ kind: 'main', caseId: c.caseId, subject: c.subject, targetNew: c.targetNew, targetTrue: c.targetTrue, tasks });
  }
  const mine = results.map(counterFactOfEvoke);
  compareCases(mine, 'evoke');
  compareSummary(summarizeCounterFact(mine), 'evoke');
});

const meanOf = (n: number, k: (typeof TASKS)[number], f: 'score' | 'magnitude') => (100 * golden.perCase.slice(0, n).reduce((a, c) => a + c[k][f], 0)) / n;

test('an EVOKE run reports them in summary.json and report.html, with its protocol', async () => {
  const out = path.join(tmp, 'evoke');
  const r = await runEvoke(model, { data: path.join(repo, golden.data), method: 'none', limit: 5, out });
  const summary = JSON.parse(fs.readFileSync(path.join(out, 'summary.json'), 'utf8'));
  assert.deepEqual(summary.counterfact, JSON.parse(JSON.stringify(r.counterfact)));
  for (const k of TASKS) assert.ok(Math.abs(r.counterfact[k].score - meanOf(5, k, 'score')) < 1e-9, `${k} score`);
  assert.equal(summary.protocol.measured, 'model as it is');
  assert.deepEqual(summary.protocol.scoring, ['teacher-forced', 'generated']);
  assert.deepEqual(summary.protocol.metrics, ['evoke-v1', 'counterfact-v1', 'mquake-v1']);
  assert.ok(summary.tasks.efficacy && summary.tasks.relationSpecificity, "EVOKE's own tasks stay");
  const withQuestion = records.slice(0, 5).filter((c) => c.portability).length;
  assert.equal(r.multihop?.cases, withQuestion);
  assert.equal(r.multihop?.generated?.cases, withQuestion);
  const html = fs.readFileSync(path.join(out, 'report.html'), 'utf8');
  for (const s of ['counterfact-v1', 'teacher-forced + generated', 'model as it is', 'neighbourhood (NS: P(old) &gt; P(new))']) assert.ok(html.includes(s), `report.html shows ${s}`);
});

test("a sequential run's point: efficacy and paraphrase scores over the requests equal the reference's", async () => {
  const reqs = records.slice(0, 6).map((c) => ({ subject: c.subject, prompt: c.prompt, target: c.targetNew, targetTrue: c.targetTrue, paraphrases: c.paraphrasePrompts }));
  const p = await counterFactPoint(model, reqs);
  assert.ok(p, 'every request has target_true');
  for (const k of ['efficacy', 'paraphrase'] as const) {
    assert.ok(Math.abs(p[k]!.score - meanOf(6, k, 'score')) < 1e-9, `${k} score: ${p[k]!.score} vs ${meanOf(6, k, 'score')}`);
    assert.ok(Math.abs(p[k]!.magnitude - meanOf(6, k, 'magnitude')) < 1e-6 * Math.max(1e-3, Math.abs(meanOf(6, k, 'magnitude'))) + 1e-9, `${k} magnitude`);
  }
  assert.equal(await counterFactPoint(model, reqs.map(({ targetTrue: _, ...r }) => r)), undefined, 'without target_true: not measured');
});

test("generation entropy: summarize.py's n-gram entropy on a hand-computed text, and an EVOKE run that samples it", async () => {
  // "a b a b": bigrams ab, ba, ab → H2 = H(2/3, 1/3); trigrams aba, bab → H3 = 1; (2/3·H2 + 4/3·H3) / 2.
  const h2 = -(2 / 3) * Math.log2(2 / 3) - (1 / 3) * Math.log2(1 / 3);
  assert.ok(Math.abs(ngramEntropy('a b a b') - ((2 / 3) * h2 + (4 / 3) * 1) / 2) < 1e-12);
  // Punctuation is a word of its own; a repeated text has less entropy than a varied one.
  assert.ok(Math.abs(ngramEntropy('a, b') - ngramEntropy('a , b')) < 1e-12);
  assert.ok(ngramEntropy('the cat the cat the cat the cat') < ngramEntropy('the cat sat on a warm mat by the door'));
  const out = path.join(tmp, 'evoke-entropy');
  const r = await runEvoke(model, { data: path.join(repo, golden.data), method: 'none', limit: 2, out, generationEntropy: true });
  const lines = fs.readFileSync(path.join(out, 'cases.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as CaseResult);
  const values = lines.map((l) => l.ngramEntropy!);
  assert.equal(values.length, 2);
  assert.ok(values.every((v) => v > 0 && v < 10), `per-case entropies ${values}`);
  assert.ok(Math.abs(r.counterfact.generationEntropy!.value - (100 * (values[0] + values[1])) / 2) < 1e-9);
  assert.ok(JSON.parse(fs.readFileSync(path.join(out, 'run.json'), 'utf8')).protocol.templates.some((t: string) => t.startsWith('generation_prompts')));
});
