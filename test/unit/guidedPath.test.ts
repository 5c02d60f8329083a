// The guided path on the bundled model (issue 33): the trace's default example, at the layer the
// trace recommends, gives a ROME edit that takes (through runEditJob, the job the engine runs for
// "Edit a Fact…"); the recommendation rule is the one docs/results/guided-path.md measured; the
// subject check before computing warns on a made-up subject and not on the example; the subject
// picker offers the bundled world's entities and templates.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LoadedModel } from '../../src/core/runtime/model';
import { EditStack } from '../../src/core/edits/stack';
import { runEditJob } from '../../src/core/jobs/editJob';
import { causalTrace } from '../../src/core/analysis/causalTrace';
import { RECOMMEND_RULES, RECOMMENDED_RULE, recommendLayer, traceLayerSummary, type TraceLayerSummary } from '../../src/core/analysis/layerRule';
import { SUBJECT_KNOWN_FLOOR, answerOf, subjectCheck } from '../../src/core/edits/subjectCheck';
import { TRACE_EXAMPLE, TRACE_EXAMPLE_TARGET } from '../../src/protocol/traceExample';
import { EngineClient } from '../../src/extension/engine/client';
import { mergeOffers, offerFromModelFolder, offerFromRecent, offerFromRequestLines, subjectPlaceholder, withRecent, RECENT_LIMIT } from '../../src/extension/factPickerData';

const repo = path.join(__dirname, '..', '..', '..');
const bundled = path.join(repo, 'models', 'default');
process.env.MECHEDIT_CACHE = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-guided-'));

test('the default example and its target follow the stated rule: world.json\'s first fact, its counterfactual target', () => {
  const world = JSON.parse(fs.readFileSync(path.join(bundled, 'world.json'), 'utf8'));
  const first = world.facts[0];
  assert.equal(TRACE_EXAMPLE.subject, first.subject);
  assert.equal(TRACE_EXAMPLE.prompt, world.relations[first.relation].templates[0].replace('{}', first.subject));
  const cf = JSON.parse(fs.readFileSync(path.join(bundled, 'eval', 'counterfactuals.json'), 'utf8')).requests;
  const request = cf.find((r: { subject: string; relation: string }) => r.subject === first.subject && r.relation === first.relation);
  assert.equal(TRACE_EXAMPLE_TARGET, request.target);
  assert.equal(request.target_true, first.object);
});

test('the default example\'s recommended layer gives a ROME edit that takes (the job "Edit a Fact…" runs)', async () => {
  const model = LoadedModel.open(bundled, { provider: 'cpu', threads: 1 });
  const trace = await causalTrace(model, { ...TRACE_EXAMPLE });
  assert.equal(trace.informative, true, trace.reason);
  const layer = trace.recommendedLayer!;
  assert.equal(layer, recommendLayer(traceLayerSummary(trace)), 'the trace recommends by layerRule.ts\'s rule');
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-guided-edit-'));
  const request = { subject: TRACE_EXAMPLE.subject, prompt: TRACE_EXAMPLE.prompt.replace(TRACE_EXAMPLE.subject, '{}'), target: TRACE_EXAMPLE_TARGET };
  const r = await runEditJob(new EditStack(model), { method: 'rome', settings: { ...request, layer }, outDir });
  await model.release();
  assert.equal(r.edit.json.targets[0].layer, layer);
  assert.equal(r.outcome?.succeeded, true, r.outcome?.reason);
  assert.ok(r.outcome!.efficacy[0].top1 && r.outcome!.efficacy[0].targetProb >= 0.25, JSON.stringify(r.outcome!.efficacy[0]));
});

test('the recommendation rule is the one docs/results/guided-path.md names, and it picks as documented', () => {
  const doc = fs.readFileSync(path.join(repo, 'docs', 'results', 'guided-path.md'), 'utf8');
  const rule = RECOMMEND_RULES[RECOMMENDED_RULE];
  assert.ok(doc.includes(`\`${RECOMMENDED_RULE}\``), `the doc names the rule ${RECOMMENDED_RULE}`);
  assert.ok(doc.includes(rule.doc), 'the doc quotes the rule\'s words');
  // A made-up summary where each rule's pick is distinct: the recommended rule picks its layer.
  const s: TraceLayerSummary = { informative: true, cleanProb: 1, corruptedProb: 0.2, mlpLast: [0.3, 0.25, 0.9, 0.2], residLast: [0.2, 0.95, 0.3, 0.2], attnLast: [0.2, 0.2, 0.2, 0.2], mlpSubject: [0.3, 0.25, 0.9, 0.99] };
  assert.deepEqual(Object.fromEntries(Object.entries(RECOMMEND_RULES).map(([id, r]) => [id, r.pick(s)])), { 'mlp-last': 2, 'mlp-subject': 3, 'resid-last': 1, 'mlp-last-earliest-half': 2, 'first-layer': 0 });
  assert.equal(recommendLayer(s), rule.pick(s));
  for (const r of Object.values(RECOMMEND_RULES)) assert.equal(r.pick({ ...s, informative: false }), undefined, 'no layer from an uninformative trace');
});

test('the subject check before computing: the example is known, a made-up name is warned about', async () => {
  const model = LoadedModel.open(bundled, { provider: 'cpu', threads: 1 });
  const known = await subjectCheck(model, '{} was born in', TRACE_EXAMPLE.subject);
  const unknown = await subjectCheck(model, '{} was born in', 'Nobody Here');
  await model.release();
  assert.equal(known.answer, 'Quaemgrundport');
  assert.ok(known.prob >= SUBJECT_KNOWN_FLOOR && known.warning === undefined, JSON.stringify(known));
  assert.ok(unknown.prob < SUBJECT_KNOWN_FLOOR, JSON.stringify(unknown));
  assert.match(unknown.warning!, /may not know "Nobody Here"/);
  assert.equal(answerOf(' Quaemgrundport. Quaem'), 'Quaemgrundport');
  assert.equal(answerOf(' a tailor, and'), 'a tailor');
});

test('the engine\'s edits/checkFact answers the subject check when asked (the warning "Edit a Fact…" shows before computing)', async () => {
  const client = new EngineClient({ enginePath: path.join(repo, 'out', 'src', 'engine', 'main.js'), config: { executionProvider: 'cpu', threads: 1 } });
  try {
    await client.request('model/open', { path: bundled });
    const requests = [{ subject: TRACE_EXAMPLE.subject, prompt: '{} was born in', target: TRACE_EXAMPLE_TARGET }, { subject: 'Nobody Here', prompt: '{} was born in', target: TRACE_EXAMPLE_TARGET }];
    const plain = await client.request('edits/checkFact', { requests });
    assert.equal(plain.subjects, undefined, 'only when asked');
    const checked = await client.request('edits/checkFact', { requests, subjects: true });
    assert.deepEqual(checked.subjects!.map((c) => [c.subject, !!c.warning]), [[TRACE_EXAMPLE.subject, false], ['Nobody Here', true]]);
    assert.deepEqual(checked.targets.map((t) => !!t.warning), [false, false]);
  } finally {
    client.dispose();
  }
});

test('the subject picker offers the bundled world\'s entities, request-file subjects and recent ones', () => {
  const world = offerFromModelFolder(bundled)!;
  assert.ok(world.subjects.some((s) => s.name === TRACE_EXAMPLE.subject && s.source === 'people'));
  assert.equal(world.subjects[0].source, 'people', 'people first: most relations are about people');
  assert.ok(world.prompts.includes('{} was born in'));
  assert.match(subjectPlaceholder(world), /^e\.g\. /);
  assert.notEqual(subjectPlaceholder(world), 'e.g. Ada Lovelace');
  assert.equal(offerFromModelFolder(path.join(repo, 'test', 'fixtures', 'models', 'gpt2-tiny')), undefined, 'no world.json: nothing');
  const lines = offerFromRequestLines('{"subject": "Alice", "prompt": "{} works for", "target": "X"}\nnot json\n{"concept": "c"}\n');
  assert.deepEqual(lines, { subjects: [{ name: 'Alice', source: 'request file' }], prompts: ['{} works for'] });
  const recent = withRecent(withRecent(undefined, 'Alice', '{} works for'), 'Bob', '{} works for');
  assert.deepEqual(recent, { subjects: ['Bob', 'Alice'], prompts: ['{} works for'] });
  let many = undefined;
  for (let i = 0; i < RECENT_LIMIT + 5; i++) many = withRecent(many, `s${i}`, `p${i} {}`);
  assert.equal(many!.subjects.length, RECENT_LIMIT);
  const merged = mergeOffers([offerFromRecent(recent), lines, world]);
  assert.deepEqual(merged.subjects.slice(0, 2), [{ name: 'Bob', source: 'recent' }, { name: 'Alice', source: 'recent' }], 'each subject once, the first source named');
  assert.equal(subjectPlaceholder({ subjects: [], prompts: [] }), 'an entity the model knows');
});
