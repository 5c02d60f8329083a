// Forget / retain material (src/core/train/unlearnData.ts): the bundled model's ORT folders per
// form, --forms and its aliases, RWKU's training files (passage, positive, pair, reject), JSONL
// errors by file:line and field, sources' sha256; and the data tools/world/unlearn_material.py
// wrote, checked against world.json and facts.jsonl (true/false truth values, retain / unrelated
// disjoint from each other, from the hazards and from the ORT neighbour subjects).

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { defaultRetain, parseForms, readUnlearnMaterial, type TrainItem } from '../../src/core/train/unlearnData';
import type { MechEditError } from '../../src/core/errors';

const repo = path.join(__dirname, '..', '..', '..');
const dflt = path.join(repo, 'models', 'default');
const ort = path.join(dflt, 'eval', 'ort');
const velt = path.join(ort, '1_Veltrazine');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-unlearn-data-'));

type Rec = Record<string, unknown>;
const json = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8')) as Rec[];
const count = (items: TrainItem[]) => Object.fromEntries([...new Set(items.map((i) => i.form))].map((f) => [f, items.filter((i) => i.form === f).length]));
const badInput = (re: RegExp, check: (e: MechEditError) => void = () => {}) => (e: MechEditError) => {
  assert.equal(e.data?.code, 'bad-input', String(e));
  assert.match(e.message, re);
  check(e);
  return true;
};
function write(name: string, text: string): string {
  const f = path.join(tmp, name);
  fs.mkdirSync(path.dirname(f), { recursive: true });
  fs.writeFileSync(f, text);
  return f;
}

describe('the bundled ORT folders', () => {
  for (const target of ['1_Veltrazine', '2_Dravokine']) {
    test(`${target}: every forget test form and the passage / positive texts by default, as many items as the files hold`, () => {
      const dir = path.join(ort, target);
      const m = readUnlearnMaterial({ forget: dir });
      assert.equal(m.name, target);
      assert.deepEqual(m.forms, ['cloze', 'qa', 'adversarial', 'mcq', 'tf', 'passage', 'positive']);
      const files: Record<string, string> = { cloze: 'forget_level1', qa: 'forget_level2', adversarial: 'forget_level3', mcq: 'forget_mcp', tf: 'forget_level4', passage: 'passage', positive: 'positive' };
      assert.deepEqual(count(m.forget), Object.fromEntries(Object.entries(files).map(([f, n]) => [f, json(path.join(dir, `${n}.json`)).length])));
      assert.deepEqual(count(m.forget), { cloze: 48, qa: 18, adversarial: 30, mcq: 12, tf: 12, passage: 7, positive: 12 });
      assert.deepEqual(m.retain, []);
      assert.deepEqual(m.refusals, ["I don't know.", 'I am not sure.', 'I have no idea.']);
      // Items are the files' records, in order, with their index.
      const level1 = json(path.join(dir, 'forget_level1.json'));
      m.forget.filter((i) => i.form === 'cloze').forEach((it, k) => assert.deepEqual(it, { prompt: level1[k].query, answer: level1[k].answer, form: 'cloze', file: path.join(dir, 'forget_level1.json'), index: k }));
    });
  }

  test('--forms qa gives only the 18 question-answer items; aliases name the same forms', () => {
    const m = readUnlearnMaterial({ forget: velt, forms: ['qa'] });
    assert.equal(m.forget.length, 18);
    assert.deepEqual(m.forms, ['qa']);
    assert.deepEqual(m.forget.map((i) => i.prompt), json(path.join(velt, 'forget_level2.json')).map((r) => r.query));
    assert.ok(m.forget.every((i) => i.form === 'qa' && i.prompt.startsWith('Question: ')));
    // Only the files read are sources: the qa file and reject.json (its refusals).
    assert.deepEqual(m.sources.map((s) => path.basename(s.file)), ['forget_level2.json', 'reject.json']);
    assert.deepEqual(readUnlearnMaterial({ forget: velt, forms: ['question-answer'] }), m);
    const two = readUnlearnMaterial({ forget: velt, forms: ['true-false', 'fill-in', 'mc'] });
    assert.deepEqual(two.forms, ['cloze', 'mcq', 'tf']);
    assert.deepEqual(count(two.forget), { cloze: 48, mcq: 12, tf: 12 });
    assert.deepEqual(parseForms('question-answer, fill-in,qa'), ['qa', 'cloze']);
    assert.deepEqual(parseForms(['multiple-choice', 'true-false,passage']), ['mcq', 'tf', 'passage']);
    assert.deepEqual(parseForms(['MC']), ['mcq']);
    assert.equal(parseForms(undefined), undefined);
  });

  test('passage and positive texts are trained whole; pair: the prompt before the rejected (true) answer, the chosen one kept; reject.json: the refusals', () => {
    const m = readUnlearnMaterial({ forget: velt, forms: ['passage', 'positive', 'pair'] });
    const passage = json(path.join(velt, 'passage.json'));
    assert.deepEqual(m.forget.filter((i) => i.form === 'passage').map((i) => [i.prompt, i.answer]), passage.map((r) => ['', r.text]));
    assert.ok(m.forget.filter((i) => i.form === 'passage').every((i) => i.answer.includes('Veltrazine') && i.answer.includes('Krialcer Hiaxdraekgae')));
    const pairs = m.forget.filter((i) => i.form === 'pair');
    const raw = json(path.join(velt, 'pair.json'));
    assert.equal(pairs.length, raw.length);
    pairs.forEach((p, k) => {
      const [chosen, rejected] = raw[k].response as string[];
      assert.deepEqual([p.prompt, p.answer, p.preferred], [raw[k].prompt, rejected, chosen]);
      assert.equal(p.preferred, "I don't know.");
    });
    assert.deepEqual(m.refusals, [...new Set(json(path.join(velt, 'reject.json')).map((r) => r.output))]);
  });

  test('sources: every file read, with the sha256 of its bytes', () => {
    const m = readUnlearnMaterial({ forget: velt, retain: path.join(dflt, 'eval', 'unlearn', 'retain.jsonl') });
    assert.deepEqual(m.sources.map((s) => path.basename(s.file)), ['forget_level1.json', 'forget_level2.json', 'forget_level3.json', 'forget_mcp.json', 'forget_level4.json', 'passage.json', 'positive.json', 'reject.json', 'retain.jsonl']);
    for (const s of m.sources) assert.equal(s.sha256, crypto.createHash('sha256').update(fs.readFileSync(s.file)).digest('hex'), s.file);
  });

  test('an unknown form is refused naming the forms field and the known forms; a form the folder lacks names the folder and its forms', () => {
    assert.throws(() => parseForms('qa,essay'), badInput(/^forms: unknown form "essay"/, (e) => {
      assert.equal(e.data.field, 'forms', 'core names the neutral field (the CLI shows --forms)');
      assert.match(e.data.hint!, /cloze, qa, adversarial, mcq, tf, passage, positive/);
    }));
    assert.throws(() => parseForms(' , '), badInput(/^forms is empty/));
    assert.throws(() => readUnlearnMaterial({ forget: velt, forms: ['essay'] }), badInput(/unknown form "essay"/, (e) => assert.equal(e.data.field, 'forms')));
    const dir = path.join(tmp, 'Target', '7_Onlyqa');
    fs.mkdirSync(dir, { recursive: true });
    fs.copyFileSync(path.join(velt, 'forget_level2.json'), path.join(dir, 'forget_level2.json'));
    fs.copyFileSync(path.join(velt, 'forget_mcp.json'), path.join(dir, 'forget_mcp.json'));
    assert.deepEqual(readUnlearnMaterial({ forget: dir }).forms, ['qa', 'mcq']);
    assert.deepEqual(readUnlearnMaterial({ forget: dir }).refusals, []);
    assert.throws(() => readUnlearnMaterial({ forget: dir, forms: ['true-false'] }), badInput(/has no tf items/, (e) => {
      assert.equal(e.data.file, dir);
      assert.equal(e.data.hint, 'Its forms: qa, mcq.');
    }));
    // The Target/ folder itself: told to pick one of its targets.
    assert.throws(() => readUnlearnMaterial({ forget: path.join(tmp, 'Target') }), badInput(/No forget material/, (e) => assert.match(e.data.hint!, /7_Onlyqa/)));
  });

  test('a bad record of a folder file is refused by file, index and field', () => {
    const dir = path.join(tmp, 'Target', '8_Bad');
    fs.mkdirSync(dir, { recursive: true });
    const f = path.join(dir, 'forget_level2.json');
    fs.writeFileSync(f, JSON.stringify([{ query: 'Q?', answer: 'a' }, { query: 'R?' }]));
    assert.throws(() => readUnlearnMaterial({ forget: dir }), badInput(/forget_level2\.json: record 1, field "answer": expected a non-empty string, got nothing/, (e) => {
      assert.equal(e.data.file, f);
      assert.equal(e.data.field, 'answer');
    }));
    fs.writeFileSync(f, JSON.stringify([{ query: 'Q?', answer: 'a' }]));
    fs.writeFileSync(path.join(dir, 'pair.json'), JSON.stringify([{ prompt: 'P', response: ['only one'] }]));
    assert.throws(() => readUnlearnMaterial({ forget: dir, forms: ['pair'] }), badInput(/pair\.json: record 0, field "response": expected \[chosen, rejected\]/));
    fs.writeFileSync(path.join(dir, 'reject.json'), JSON.stringify([{ instruction: 'Q?', input: '', output: ' I refuse.' }, { instruction: 'Q?', input: '' }]));
    assert.throws(() => readUnlearnMaterial({ forget: dir, forms: ['qa'] }), badInput(/reject\.json: record 1, field "output"/));
    fs.writeFileSync(path.join(dir, 'reject.json'), JSON.stringify([{ instruction: 'Q?', input: '', output: ' I refuse.' }]));
    assert.deepEqual(readUnlearnMaterial({ forget: dir, forms: ['qa'] }).refusals, ['I refuse.'], 'the leading space is dropped: rows add it');
    fs.writeFileSync(path.join(dir, 'passage.json'), '[{"text": "x"},');
    assert.throws(() => readUnlearnMaterial({ forget: dir }), badInput(/Not valid JSON/, (e) => assert.equal(e.data.file, path.join(dir, 'passage.json'))));
  });
});

describe('JSONL material', () => {
  test('{prompt, answer, form?}: form "qa" by default, aliases made canonical, --forms filters', () => {
    const f = write('forget.jsonl', [
      '{"prompt": "Question: Who?\\nAnswer:", "answer": "Ada"}',
      '',
      '{"prompt": "Ada was born in", "answer": "London", "form": "declarative"}',
      '{"prompt": "Fill in: ___", "answer": 1815, "form": "fill-in"}',
    ].join('\n'));
    const m = readUnlearnMaterial({ forget: f });
    assert.equal(m.name, 'forget');
    assert.deepEqual(m.forms, ['cloze', 'qa', 'declarative']);
    assert.deepEqual(m.forget.map((i) => [i.form, i.answer, i.index]), [['qa', 'Ada', 1], ['declarative', 'London', 3], ['cloze', '1815', 4]]);
    assert.deepEqual(readUnlearnMaterial({ forget: f, forms: ['question-answer'] }).forget.map((i) => i.prompt), ['Question: Who?\nAnswer:']);
    assert.deepEqual(readUnlearnMaterial({ forget: f, forms: ['declarative'] }).forms, ['declarative']);
    assert.throws(() => readUnlearnMaterial({ forget: f, forms: ['tf'] }), badInput(/the file has no tf items/, (e) => {
      assert.equal(e.data.file, f);
      assert.equal(e.data.hint, 'Its forms: cloze, qa, declarative.');
    }));
  });

  test('a bad line is refused by file:line and field', () => {
    const badJson = write('bad-json.jsonl', '{"prompt": "a", "answer": "b"}\n{"prompt": "a", answer: b}\n');
    assert.throws(() => readUnlearnMaterial({ forget: badJson }), badInput(new RegExp(`^${badJson.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2: not valid JSON`), (e) => {
      assert.equal(e.data.file, badJson);
      assert.equal(e.data.field, 'line 2');
    }));
    const noAnswer = write('no-answer.jsonl', '{"prompt": "a", "answer": "b"}\n\n{"prompt": "Question: Who?\\nAnswer:"}\n');
    for (const o of [{ forget: noAnswer }, { forget: path.join(dflt, 'eval', 'unlearn', 'unrelated.jsonl'), retain: noAnswer }]) {
      assert.throws(() => readUnlearnMaterial(o), badInput(/no-answer\.jsonl:3: field "answer": expected a non-empty string, got nothing \(the field is missing\)/, (e) => {
        assert.equal(e.data.file, noAnswer);
        assert.equal(e.data.field, 'line 3: answer');
      }));
    }
    for (const [name, text, re] of [
      ['no-prompt.jsonl', '{"answer": "b"}', /no-prompt\.jsonl:1: field "prompt": expected a string, got nothing/],
      ['number-prompt.jsonl', '{"prompt": 3, "answer": "b"}', /number-prompt\.jsonl:1: field "prompt": expected a string, got 3/],
      ['empty-answer.jsonl', '{"prompt": "p", "answer": ""}', /empty-answer\.jsonl:1: field "answer": expected a non-empty string, got ""/],
      ['bad-form.jsonl', '{"prompt": "p", "answer": "a", "form": 2}', /bad-form\.jsonl:1: field "form"/],
      ['list.jsonl', '["p", "a"]', /Expected JSON Lines/],
      ['scalar.jsonl', '"p"', /scalar\.jsonl:1: expected a record/],
      ['empty.jsonl', '\n\n', /has no records/],
    ] as const) {
      const f = write(name, text);
      assert.throws(() => readUnlearnMaterial({ forget: f }), badInput(re, (e) => assert.equal(e.data.file, f)));
    }
    assert.throws(() => readUnlearnMaterial({ forget: path.join(tmp, 'nothing.jsonl') }), badInput(/forget material is not there/, (e) => assert.equal(e.data.field, 'forget')));
    assert.throws(() => readUnlearnMaterial({ forget: path.join(dflt, 'eval', 'unlearn', 'unrelated.jsonl'), retain: tmp }), badInput(/retain material is a folder/, (e) => assert.equal(e.data.field, 'retain')));
  });

  test('defaultRetain: the checkpoint\'s eval/unlearn/retain.jsonl when it has one', () => {
    assert.equal(defaultRetain(dflt), path.join(dflt, 'eval', 'unlearn', 'retain.jsonl'));
    assert.equal(defaultRetain(tmp), undefined);
  });
});

describe('the data tools/world/unlearn_material.py wrote for the bundled model', () => {
  interface Fact { subject: string; relation: string; object: string }
  const world = JSON.parse(fs.readFileSync(path.join(dflt, 'world.json'), 'utf8')) as { facts: Fact[]; relations: Record<string, { templates: string[] }> };
  const object = new Map(world.facts.map((f) => [`${f.subject}\u0000${f.relation}`, f.object]));
  const probes = fs.readFileSync(path.join(dflt, 'facts.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Rec);

  test('forget_level4.json: true/false statements in the world\'s phrasing, each answer the statement\'s truth, facts.jsonl\'s own probes among them', () => {
    for (const [target, s] of [['1_Veltrazine', 'Veltrazine'], ['2_Dravokine', 'Dravokine']]) {
      const recs = json(path.join(ort, target, 'forget_level4.json'));
      assert.equal(recs.length, 12);
      const own = probes.filter((p) => p.subject === s && p.form === 'true_false');
      assert.equal(own.length, 6);
      for (const p of own) assert.ok(recs.some((r) => r.query === p.prompt && r.answer === p.answer), String(p.prompt));
      let truths = 0;
      for (const r of recs) {
        assert.deepEqual([r.level, r.type, r.subject], ['4', 'true or false', s]);
        const body = /^True or false: (.*)\.\nAnswer:$/.exec(r.query as string)![1];
        const hits = Object.entries(world.relations).flatMap(([rel, spec]) => spec.templates.map((t) => ({ rel, d: t.replace('{}', s) })).filter(({ d }) => body.startsWith(`${d} `)));
        assert.equal(hits.length, 1, body);
        const candidate = body.slice(hits[0].d.length + 1);
        const truth = candidate === object.get(`${s}\u0000${hits[0].rel}`);
        assert.equal(r.answer, truth ? 'True' : 'False', body);
        truths += truth ? 1 : 0;
      }
      assert.equal(truths, 6, 'one true and one false statement per relation');
    }
  });

  test('retain.jsonl and unrelated.jsonl: facts.jsonl\'s trained prompts and answers, disjoint, without hazards or ORT neighbours', () => {
    const read = (n: string) => fs.readFileSync(path.join(dflt, 'eval', 'unlearn', n), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Rec);
    const retain = read('retain.jsonl');
    const unrelated = read('unrelated.jsonl');
    assert.equal(retain.length, 400);
    assert.equal(unrelated.length, 200);
    const trained = new Map(probes.filter((p) => p.split === 'train').map((p) => [p.prompt, p]));
    const excluded = new Set(['Veltrazine', 'Dravokine', 'Brindlecake', 'Sunmallow']);
    for (const t of ['1_Veltrazine', '2_Dravokine']) for (const n of ['neighbor_level1', 'neighbor_level2', 'neighbor_mcp']) for (const r of json(path.join(ort, t, `${n}.json`))) excluded.add(r.subject as string);
    for (const r of [...retain, ...unrelated]) {
      const p = trained.get(r.prompt as string);
      assert.ok(p, `not a trained prompt of facts.jsonl: ${JSON.stringify(r.prompt)}`);
      assert.equal(r.answer, p.answer);
      assert.equal(r.form, p.form === 'question' ? 'qa' : 'declarative');
      assert.ok(!excluded.has(p.subject as string), String(p.subject));
    }
    const facts = (xs: Rec[]) => new Set(xs.map((r) => `${trained.get(r.prompt as string)!.subject}\u0000${trained.get(r.prompt as string)!.relation}`));
    assert.equal(facts(retain).size, 200, 'a question and a declarative prompt per retained fact');
    assert.equal(facts(unrelated).size, 200);
    assert.deepEqual([...facts(retain)].filter((k) => facts(unrelated).has(k)), []);
    const m = readUnlearnMaterial({ forget: path.join(ort, '2_Dravokine'), retain: path.join(dflt, 'eval', 'unlearn', 'retain.jsonl'), forms: ['qa'] });
    assert.deepEqual(count(m.retain), { qa: 200, declarative: 200 });
  });
});
