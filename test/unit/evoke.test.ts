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
import { mergeConfigs, readCases, stackRefs, type EditRef, type RunConfig } from '../../src/core/diagnostics/runner';
import { mergeRuns } from '../../src/core/diagnostics/merge';
import { LoadedModel } from '../../src/core/runtime/model';
import { EditStack } from '../../src/core/edits/stack';
import { readEdit } from '../../src/core/edits/editFile';
import type { MechEditError } from '../../src/core/errors';
import type { AnswerScore } from '../../src/core/runtime/answers';
import { makeEdit } from './runHelpers';

const repo = path.join(__dirname, '..', '..', '..');
// The EVOKE-format suite shipped with the bundled model (evoke_main.json's schema).
const evokeDir = path.join(repo, 'models', 'default', 'eval');
const data = path.join(evokeDir, 'evoke.json');
const subj = path.join(evokeDir, 'evoke_subj_spec.json');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-evoke-'));
process.env.MECHEDIT_CACHE = path.join(tmp, 'cache');

describe('readers on the shipped EVOKE-format suite', () => {
  test('all 160 records of evoke.json parse', () => {
    const { records, issues } = readEvokeMain(data);
    assert.deepEqual(issues, []);
    assert.equal(records.length, 160);
    assert.equal(records.filter((r) => r.portability).length, 96);
    const first = records[0];
    assert.equal(first.subject, 'Cyxshirn Mendma');
    assert.equal(first.targetNew, 'Thograd');
    assert.equal(first.targetTrue, 'Julgrythport');
    assert.equal(first.paraphrasePrompts.length, 2);
    assert.equal(first.neighborhoodPrompts.length, 10);
    assert.equal(first.prefixDistraction.length, 10);
    assert.match(first.portability?.question ?? '', /capital of the country where Cyxshirn Mendma was born/);
  });

  test('all 160 records of evoke_subj_spec.json parse', () => {
    const { records, issues } = readSubjectSpec(subj);
    assert.deepEqual(issues, []);
    assert.equal(records.length, 160);
    assert.equal(records[0].specPrompt, 'Cyxshirn Mendma works for');
    assert.equal(records[0].specAnswer, 'Piaskshial Systems');
  });
});

const good = { case_id: 7, requested_rewrite: { prompt: '{} was born in', subject: 'Ada', target_new: { str: 'Paris' }, target_true: { str: 'London' } }, paraphrase_prompts: ['Ada is from'], neighborhood_prompts: ['Bob was born in'] };
const writeData = (name: string, value: unknown) => {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value));
  return file;
};

test('null and other non-object records are reported by file and index; the others are read', () => {
  const file = writeData('nulls.json', [null, 5, 'text', [good], good]);
  const { records, issues } = readEvokeMain(file);
  assert.deepEqual(records.map((r) => r.caseId), [7]);
  assert.deepEqual(issues.map((i) => [i.index, i.field]), [[0, ''], [1, ''], [2, ''], [3, '']]);
  assert.match(issues[0].message, /expected a record \(a JSON object\), got null/);
  assert.ok(issues.every((i) => i.file === file));
  const spec = readSubjectSpec(writeData('nulls-subj.json', [null, { ...good, relation_specificity: null }]));
  assert.deepEqual(spec.issues.map((i) => [i.index, i.field]), [[0, ''], [1, 'relation_specificity']]);
});

test('a data file that is not a list of records is refused as a whole, naming the file', () => {
  for (const [name, value, what] of [['null.json', 'null', /its JSON is null/], ['object.json', { records: [good] }, /its JSON is object/], ['number.json', '3', /its JSON is number/], ['broken.json', '[{"case_id": 1,', /not valid JSON/]] as const) {
    const file = writeData(name, value);
    for (const read of [readEvokeMain, readSubjectSpec]) {
      assert.throws(() => read(file), (e: MechEditError) => e.data?.code === 'bad-input' && e.data.file === file && what.test(e.message));
    }
  }
});

test('duplicate case ids are refused, naming the file, the id and the records', () => {
  const file = writeData('dupes.json', [good, { ...good, case_id: 8 }, { ...good, case_id: 7 }]);
  assert.throws(() => readEvokeMain(file), (e: MechEditError) => e.data?.file === file && e.data.field === '[2].case_id' && /Case id 7 appears twice: records 0 and 2/.test(e.message));
  // Without case_id a record's id is its index: a case_id equal to another record's index collides.
  const { case_id: _drop, ...noId } = good;
  const implicit = writeData('dupes-implicit.json', [noId, { ...good, case_id: 0 }]);
  assert.throws(() => readEvokeMain(implicit), /Case id 0 appears twice/);
  const spec = writeData('dupes-subj.json', [{ ...good, relation_specificity: { prompt: 'p', answer: { value: 'a' } } }, { ...good, relation_specificity: { prompt: 'p', answer: { value: 'a' } } }]);
  assert.throws(() => readSubjectSpec(spec), (e: MechEditError) => e.data?.file === spec && /Case id 7 appears twice/.test(e.message));
});

test('a bad record is reported by file, index and field; the others are read', () => {
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

describe('runs', () => {
  const model = LoadedModel.open(path.join(repo, 'test', 'fixtures', 'models', 'llama3-scaled'), { provider: 'cpu', threads: 1 });
  const lines = (dir: string) => fs.readFileSync(path.join(dir, 'cases.jsonl'), 'utf8').trim().split('\n');
  // The first 10 cases of the suite, one of them too long for llama3-scaled's 128-token context:
  // it must be reported and skipped.
  const records = JSON.parse(fs.readFileSync(data, 'utf8')) as { case_id: number; paraphrase_prompts: string[] }[];
  records[3].paraphrase_prompts = [...records[3].paraphrase_prompts, `${'and then, '.repeat(60)}the city where this person was born is`];
  const main = writeData('main10.json', records.slice(0, 10));
  const casesFile = (dir: string) => path.join(dir, 'cases.jsonl');

  test('a cancelled, crashed and resumed run equals an uninterrupted one', async () => {
    const full = path.join(tmp, 'full');
    const result = await runEvoke(model, { data: main, subjSpec: subj, method: 'none', limit: 10, out: full });
    const skipped = result.issues.filter((i) => i.field === 'prompt');
    assert.deepEqual(skipped.map((i) => [i.file, i.index]), [[main, 3]]);
    assert.match(skipped[0].message, /longer than the model's context \(128\)/);
    assert.equal(lines(full).length, 19);
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(full, 'issues.json'), 'utf8')), result.issues);

    const part = path.join(tmp, 'part');
    const saved = () => (fs.existsSync(casesFile(part)) ? fs.readFileSync(casesFile(part), 'utf8').split('\n').filter(Boolean).length : 0);
    await assert.rejects(
      runEvoke(model, { data: main, subjSpec: subj, method: 'none', limit: 10, out: part, isCancelled: () => saved() >= 8 }),
      /Cancelled after 8 of \d+ cases/,
    );
    assert.equal(lines(part).length, 8);
    assert.equal(fs.existsSync(path.join(part, 'summary.json')), false, 'an unfinished run has no summary.json');
    // A crash in the middle of a write leaves half a line: it is dropped and its case done again.
    fs.appendFileSync(casesFile(part), '{"kind":"main","caseId":8,"subj');
    await assert.rejects(runEvoke(model, { data: main, subjSpec: subj, method: 'none', limit: 10, out: part }), /already holds a run/);
    await assert.rejects(runEvoke(model, { data: main, subjSpec: subj, method: 'none', limit: 11, out: part, resume: true }), /different run \(limit/);
    await runEvoke(model, { data: main, subjSpec: subj, method: 'none', limit: 10, out: part, resume: true });
    assert.deepEqual(lines(part), lines(full));
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(part, 'summary.json'), 'utf8')).tasks, JSON.parse(fs.readFileSync(path.join(full, 'summary.json'), 'utf8')).tasks);
    assert.match(fs.readFileSync(path.join(full, 'report.html'), 'utf8'), /<svg[^>]*aria-label="efficacy"/);
  });

  test('a complete last line cut before its newline is done again, not glued to the next', async () => {
    const dir = path.join(tmp, 'no-newline');
    await runEvoke(model, { data, method: 'none', limit: 4, out: dir });
    const text = fs.readFileSync(casesFile(dir), 'utf8');
    fs.writeFileSync(casesFile(dir), text.slice(0, -1)); // the whole JSON of the last case, without its "\n"
    await runEvoke(model, { data, method: 'none', limit: 4, out: dir, resume: true });
    assert.equal(fs.readFileSync(casesFile(dir), 'utf8'), text);
  });

  test('--resume on a corrupt run.json or cases.jsonl is refused, naming the file and line; nothing is changed', async () => {
    const dir = path.join(tmp, 'corrupt');
    await runEvoke(model, { data, method: 'none', limit: 3, out: dir });
    const again = () => runEvoke(model, { data, method: 'none', limit: 3, out: dir, resume: true });
    const original = fs.readFileSync(casesFile(dir), 'utf8');
    const runJson = fs.readFileSync(path.join(dir, 'run.json'), 'utf8');
    const refused = (file: string, field: string | undefined, message: RegExp) => (e: MechEditError) => e.data?.code === 'bad-input' && e.data.file === file && e.data.field === field && message.test(e.message);

    for (const [content, field, message] of [['{"tool": "evo', undefined, /run record is unreadable/], ['null', '(the whole file)', /damaged/], ['{"tool": "evoke", "version": 2, "modelFingerprint": "x", "method": "none", "data": [null]}', 'data', /damaged: "data"/]] as const) {
      fs.writeFileSync(path.join(dir, 'run.json'), content);
      await assert.rejects(again(), refused(path.join(dir, 'run.json'), field, message));
    }
    fs.writeFileSync(path.join(dir, 'run.json'), runJson);

    const [a, b, c] = original.trim().split('\n');
    for (const [content, line, message] of [
      [`${a}\n{"kind":"main","caseId":1,"sub\n${c}\n`, 'line 2', /Line 2 is not JSON/],
      [`${a}\nnull\n${c}\n`, 'line 2', /Line 2 is not a result of this run: the record must be an object, got null/],
      [`${a}\n{"kind":"main","caseId":1,"tasks":{}}\n`, 'line 2: subject', /"subject" is missing/],
      [`${a}\n${b.replace(/"caseId":(\d+)/, '"caseId":"$1"')}\n`, 'line 2: caseId', /"caseId" must be an integer, got "\d+"/],
      [`${a}\n${b.replace(/"success":[^,}]+/, '"success":"100"')}\n`, 'line 2: tasks.efficacy.indicators.success', /must be a number/],
      [`${a}\n${b}\n${a}\n`, 'line 3', /Lines 1 and 3 are results of the same case \(main:0\)/],
    ] as const) {
      fs.writeFileSync(casesFile(dir), content);
      await assert.rejects(again(), refused(casesFile(dir), line, message));
      assert.equal(fs.readFileSync(casesFile(dir), 'utf8'), content, 'the refused file is left as it was');
    }
    // Results without the run record that says what they are: refused, not overwritten.
    fs.writeFileSync(casesFile(dir), original);
    fs.rmSync(path.join(dir, 'run.json'));
    for (const resume of [false, true]) await assert.rejects(runEvoke(model, { data, method: 'none', limit: 3, out: dir, resume }), (e: MechEditError) => e.data?.file === dir);
    assert.equal(fs.readFileSync(casesFile(dir), 'utf8'), original);
  });

  test('run.json records the per-case settings and the edit stack; --resume refuses others', async () => {
    const stack = new EditStack(model);
    const corpus = writeData('corpus.txt', 'One sentence of a corpus.\nAnother sentence of it.\n');
    const dir = path.join(tmp, 'per-case');
    const start = (o: { layer?: number; layers?: number[]; corpus?: string[]; lambda?: number; resume?: boolean; method?: string }) => runEvoke(model, {
      data, method: o.method ?? 'rome', limit: 1, out: dir, resume: o.resume, isCancelled: () => true,
      perCase: { stack, layer: o.layer, layers: o.layers, corpus: o.corpus, lambda: o.lambda },
    });
    await assert.rejects(start({ layer: 1, corpus: [corpus] }), /Cancelled after 0/);
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8')) as RunConfig;
    assert.equal(config.version, 2);
    assert.equal(config.perCase?.layer, 1);
    assert.deepEqual(config.perCase?.corpus?.map((c) => c.file), [corpus]);
    assert.match(config.perCase?.corpus?.[0].sha256 ?? '', /^[0-9a-f]{64}$/);
    assert.deepEqual(config.edits, []);
    await assert.rejects(start({ layer: 1, corpus: [corpus], resume: true }), /Cancelled after 0/, 'the same settings resume');
    await assert.rejects(start({ layer: 0, corpus: [corpus], resume: true }), /different run \(per-case layer: 1 ≠ 0\)/);
    await assert.rejects(start({ corpus: [corpus], resume: true }), /different run \(per-case layer: 1 ≠ "default"\)/);
    await assert.rejects(start({ layer: 1, corpus: [corpus], lambda: 5, resume: true }), /per-case lambda/);
    await assert.rejects(start({ layer: 1, corpus: [corpus], method: 'memit', resume: true }), /method: "rome" ≠ "memit"/);
    const missing = path.join(tmp, 'no-such-corpus.txt');
    await assert.rejects(start({ layer: 1, corpus: [missing] }), (e: MechEditError) => e.data?.code === 'bad-input' && e.data.file === missing);
    fs.appendFileSync(corpus, 'A third sentence, added since.\n');
    await assert.rejects(start({ layer: 1, corpus: [corpus], resume: true }), /per-case corpus differs/);
    // Without --corpus the corpus is corpus.txt beside the model, recorded with its sha256.
    const bundled = LoadedModel.open(path.join(repo, 'models', 'default'), { provider: 'cpu', threads: 1 });
    const dflt = path.join(tmp, 'per-case-default');
    await assert.rejects(runEvoke(bundled, { data, method: 'memit', limit: 1, out: dflt, isCancelled: () => true, perCase: { stack: new EditStack(bundled), layers: [1, 2] } }), /Cancelled/);
    const dconfig = JSON.parse(fs.readFileSync(path.join(dflt, 'run.json'), 'utf8')) as RunConfig;
    assert.deepEqual(dconfig.perCase?.layers, [1, 2]);
    assert.deepEqual(dconfig.perCase?.corpus?.map((c) => c.file), [path.join(repo, 'models', 'default', 'corpus.txt')]);

    // The fixed edit stack: ids, strengths and the sha256 of each edit's files.
    const edits = path.join(tmp, 'edits');
    const first = makeEdit(model, edits, 'fixed', 1);
    const withEdit = new EditStack(model);
    withEdit.apply(readEdit(first));
    const stackDir = path.join(tmp, 'with-edits');
    const run = (refs: EditRef[], resume = false) => runEvoke(withEdit.model, { data, method: 'none', limit: 2, out: stackDir, resume, edits: refs });
    await run(stackRefs(withEdit));
    const recorded = (JSON.parse(fs.readFileSync(path.join(stackDir, 'run.json'), 'utf8')) as RunConfig).edits!;
    assert.deepEqual(recorded.map((e) => [e.id, e.strength]), [['fixed', 1]]);
    assert.match(recorded[0].sha256 ?? '', /^[0-9a-f]{64}$/);
    await run(stackRefs(withEdit), true);
    // The same id, other vectors (the edit was computed again): refused.
    makeEdit(model, path.join(tmp, 'edits2'), 'fixed', 2);
    const other = new EditStack(model);
    other.apply(readEdit(path.join(tmp, 'edits2', 'fixed.json')));
    await assert.rejects(run(stackRefs(other), true), /different run \(edits: fixed \([0-9a-f]{12}\) ≠ fixed \([0-9a-f]{12}\)\)/);
    withEdit.scale('fixed', 0.5);
    await assert.rejects(run(stackRefs(withEdit), true), /edits: fixed \([0-9a-f]{12}\) ≠ fixed ×0\.5/);
    await assert.rejects(run([], true), /≠ no edits/);
    await bundled.release();
  });

  test('shards cover the cases once and merge into the unsharded result', async () => {
    const dirs = [0, 1, 2].map((i) => path.join(tmp, `shard${i}`));
    for (let i = 0; i < 3; i++) await runEvoke(model, { data: main, method: 'none', limit: 7, shard: { index: i, count: 3 }, out: dirs[i] });
    const ids = dirs.flatMap((d) => readCases<CaseResult>(casesFile(d)).map((c) => c.caseId)).sort((a, b) => a - b);
    assert.deepEqual(ids, [0, 1, 2, 4, 5, 6], 'case 3 is too long for the context');
    const whole = path.join(tmp, 'whole');
    await runEvoke(model, { data: main, method: 'none', limit: 7, out: whole });
    const merged = mergeRuns(dirs, path.join(tmp, 'merged'));
    assert.equal(merged.cases, 6);
    assert.deepEqual(readCases<CaseResult>(path.join(tmp, 'merged', 'cases.jsonl')), readCases<CaseResult>(casesFile(whole)));
    assert.deepEqual(merged.tasks, JSON.parse(fs.readFileSync(path.join(whole, 'summary.json'), 'utf8')).tasks);
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(tmp, 'merged', 'issues.json'), 'utf8')), JSON.parse(fs.readFileSync(path.join(whole, 'issues.json'), 'utf8')));
    assert.equal(mergeConfigs(dirs).shard, undefined);
  });

  test('merge refuses what is not every finished shard of one run, naming the folder and the shard', async () => {
    const dirs = [0, 1, 2].map((i) => path.join(tmp, `shard${i}`));
    const refused = (m: RegExp, file?: string) => (e: MechEditError) => e.data?.code === 'bad-input' && m.test(e.message) && (file === undefined || e.data.file === file);
    assert.throws(() => mergeConfigs([]), refused(/Nothing to merge/));
    assert.throws(() => mergeConfigs([dirs[0], dirs[2]]), refused(/Shard 1\/3 is missing/));
    assert.throws(() => mergeConfigs([dirs[0]]), refused(/Shards 1\/3, 2\/3 are missing/));
    assert.throws(() => mergeConfigs([dirs[0], dirs[1], dirs[2], dirs[1]]), refused(/given twice/, dirs[1]));
    assert.throws(() => mergeConfigs([dirs[0], dirs[1], dirs[2], `${dirs[1]}${path.sep}.`]), refused(/The folder is given twice/, `${dirs[1]}${path.sep}.`));
    const copy = path.join(tmp, 'shard1-copy');
    fs.cpSync(dirs[1], copy, { recursive: true });
    assert.throws(() => mergeConfigs([dirs[0], dirs[1], copy, dirs[2]]), refused(/Shard 1\/3 is given twice/, copy));
    assert.throws(() => mergeConfigs([dirs[0], path.join(tmp, 'no-such'), dirs[2]]), refused(/Not a run folder \(no such folder\)/, path.join(tmp, 'no-such')));
    assert.throws(() => mergeConfigs([dirs[0], tmp, dirs[2]]), refused(/Not a run folder \(no run.json\)/, tmp));
    assert.throws(() => mergeConfigs([dirs[0], path.join(tmp, 'whole')]), refused(/not sharded/, path.join(tmp, 'whole')));
    // Shards of runs cut into other counts, or with other settings.
    const half = path.join(tmp, 'half1');
    await runEvoke(model, { data: main, method: 'none', limit: 7, shard: { index: 1, count: 2 }, out: half });
    assert.throws(() => mergeConfigs([dirs[0], half, dirs[2]]), refused(/shard 1\/2 is from a run cut into 2, .* cut into 3/, half));
    const other = path.join(tmp, 'other-limit');
    await runEvoke(model, { data: main, method: 'none', limit: 6, shard: { index: 1, count: 3 }, out: other });
    assert.throws(() => mergeConfigs([dirs[0], other, dirs[2]]), refused(/cannot be merged \(limit: 7 ≠ 6\)/, other));
    const otherData = path.join(tmp, 'other-data');
    await runEvoke(model, { data, method: 'none', limit: 7, shard: { index: 1, count: 3 }, out: otherData });
    assert.throws(() => mergeConfigs([dirs[0], otherData, dirs[2]]), refused(/the data files differ/, otherData));
    // An unfinished shard.
    const unfinished = path.join(tmp, 'unfinished');
    fs.cpSync(dirs[1], unfinished, { recursive: true });
    fs.rmSync(path.join(unfinished, 'summary.json'));
    assert.throws(() => mergeConfigs([dirs[0], unfinished, dirs[2]]), refused(/Shard 1\/3 did not finish/, unfinished));
    // A corrupt run.json, and --out that is a shard or already a run.
    const corrupt = path.join(tmp, 'corrupt-shard');
    fs.cpSync(dirs[1], corrupt, { recursive: true });
    fs.writeFileSync(path.join(corrupt, 'run.json'), '{"tool":');
    assert.throws(() => mergeConfigs([dirs[0], corrupt, dirs[2]]), refused(/run record is unreadable/, path.join(corrupt, 'run.json')));
    assert.throws(() => mergeRuns(dirs, dirs[1]), refused(/out is a shard folder/));
    assert.throws(() => mergeRuns(dirs, path.join(tmp, 'merged')), refused(/out already holds a run/));
  });

  test('ROCR is refused as an EVOKE method with a hint, an unknown method by name', async () => {
    await assert.rejects(runEvoke(model, { data, method: 'rocr', out: path.join(tmp, 'rocr') }), (e: Error & { data?: { field?: string; hint?: string } }) => e.data?.field === 'method' && /not an EVOKE method/.test(e.message) && /mechedit ort/.test(e.data?.hint ?? ''));
    await assert.rejects(runEvoke(model, { data, method: 'magic', out: path.join(tmp, 'magic') }), /Method "magic" is unknown/);
  });
});
