// Sequential editing (mechedit sequential): the shipped counterfactuals against world.json
// (checked here from world.json and the tokenizer, independently of tools/world/counterfactuals.py);
// a run stopped (isCancelled), cut by a "crash" and resumed equals an uninterrupted one (points
// except seconds, edit files); the figures of a point against direct checks (a plain forward pass
// and argmax per prompt; health.ts's ‖ΔW‖/‖W‖); bad requests refused by line and field.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LoadedModel } from '../../src/core/runtime/model';
import { EditStack } from '../../src/core/edits/stack';
import { readEdit } from '../../src/core/edits/editFile';
import { editHealth } from '../../src/core/edits/health';
import { runSequential, type CurvePoint } from '../../src/core/diagnostics/sequential';
import { parseConsolidation } from '../../src/core/jobs/sequentialJob';
import { readCounterfactuals, readSequentialRequests } from '../../src/core/diagnostics/sequentialData';
import { stackHealth } from '../../src/core/diagnostics/sequentialMeasure';
import { curvesCsv } from '../../webview/lifelong/data';
import type { MechEditError } from '../../src/core/errors';

const repo = path.join(__dirname, '..', '..', '..');
const modelDir = path.join(repo, 'models', 'default');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-sequential-'));
process.env.MECHEDIT_CACHE = path.join(tmp, 'cache');
const model = LoadedModel.open(modelDir, { provider: 'cpu', threads: 1 });
after(() => model.release());

interface World {
  entities: Record<string, string[]>;
  relations: Record<string, { object_type: string; templates: string[]; questions: string[] }>;
  facts: { subject: string; relation: string; object: string; heldout_template: string; heldout_question: string }[];
}
const world = JSON.parse(fs.readFileSync(path.join(modelDir, 'world.json'), 'utf8')) as World;
const POOL: Record<string, string> = { person: 'people', city: 'cities', country: 'countries', org: 'organisations', language: 'languages', occupation: 'occupations', ingredient: 'ingredients', effect: 'effects', color: 'colors', container: 'containers' };
const firstToken = (s: string) => model.tokenizer.encode(` ${s}`, false)[0];

test('counterfactuals.json: one request per fact of world.json, o* of the object type, held-out paraphrases', () => {
  const cf = readCounterfactuals(path.join(modelDir, 'eval', 'counterfactuals.json'));
  assert.equal(cf.requests.length, world.facts.length);
  const facts = new Map(world.facts.map((f) => [`${f.subject}\t${f.relation}`, f]));
  const seen = new Set<string>();
  for (const r of cf.requests) {
    const key = `${r.subject}\t${r.relation}`;
    const f = facts.get(key);
    assert.ok(f, `a fact of the world: ${key}`);
    assert.ok(!seen.has(key), `one request per (subject, relation): ${key}`);
    seen.add(key);
    const rel = world.relations[f.relation];
    assert.equal(r.targetTrue, f.object);
    assert.ok(world.entities[POOL[rel.object_type]].includes(r.target) && r.target !== f.object, `o* ${r.target} is another ${rel.object_type}`);
    assert.notEqual(firstToken(r.target), firstToken(f.object), `o* and o start with different tokens: ${key}`);
    assert.ok(rel.templates.includes(r.prompt) && r.prompt !== f.heldout_template, `a training template: ${r.prompt}`);
    assert.deepEqual(r.paraphrases, [f.heldout_template.replace('{}', f.subject), `Question: ${f.heldout_question.replace('{}', f.subject)}\nAnswer:`]);
  }
  // Shuffled: the first 100 mix relations; the unrelated facts' subjects are edited only after request 1,734.
  assert.ok(new Set(cf.requests.slice(0, 100).map((r) => r.relation)).size >= 5);
  const probeSubjects = new Set([...cf.specificity, ...cf.skills.choice, ...cf.skills.trueFalse, ...cf.skills.twoHop].map((p) => p.subject));
  assert.ok(cf.requests.slice(0, world.facts.length - cf.specificity.length).every((r) => !probeSubjects.has(r.subject)));
  assert.equal(cf.specificity.length, 200);
  for (const s of cf.specificity) assert.equal(facts.get(`${s.subject}\t${s.relation}`)?.object, s.answer);
});

const settings = { steps: 20, samples: 1024, preset: 'tuned' };
const probeLimit = 20;
const strip = (points: CurvePoint[]) => points.map(({ seconds: _s, ...p }) => p);
const editFiles = (dir: string) => fs.readdirSync(path.join(dir, 'edits')).filter((f) => !f.startsWith('.')).sort();

test('a resumed run equals an uninterrupted one; its points agree with direct checks', async () => {
  const whole = path.join(tmp, 'whole');
  const a = await runSequential(model, { method: 'rome', worldCounterfactuals: 4, every: 2, out: whole, settings, probeLimit });
  assert.equal(a.cancelled, false);
  assert.deepEqual(a.points.map((p) => p.edits), [0, 2, 4]);

  // Stopped after 3 edits, then a crash leaves half a point and a half-written edit; resumed twice.
  const part = path.join(tmp, 'part');
  const edits = () => editFiles(part).filter((f) => f.endsWith('.json')).length;
  // The cancel comes between edits 3 and 4: the result says 3 edits, its last point measures them
  // (the export's rows), and curve.jsonl keeps the run's own points (0, 2) for the resume.
  const stopped = await runSequential(model, { method: 'rome', worldCounterfactuals: 4, every: 2, out: part, settings, probeLimit }, { isCancelled: () => edits() >= 3, measureWhenStopped: true });
  assert.equal(stopped.cancelled, true);
  assert.equal(stopped.edits, 3, 'the edits actually done');
  assert.equal(edits(), 3, 'and saved in edits/');
  assert.deepEqual(stopped.points.map((p) => p.edits), [0, 2, 3]);
  assert.deepEqual(fs.readFileSync(path.join(part, 'curve.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as CurvePoint).edits), [0, 2]);
  assert.equal(stopped.points[2].health.length, 1, 'the stopped point measures the stack of 3 ROME edits (one module)');
  assert.deepEqual(curvesCsv([{ method: 'rome', folder: part, status: 'cancelled', points: stopped.points, done: stopped.edits }]).trim().split('\n').slice(1).map((l) => l.split(',').slice(0, 2).join(',')), ['rome,0', 'rome,2', 'rome,3'], 'the CSV export holds the 3 edits');
  fs.appendFileSync(path.join(part, 'curve.jsonl'), '{"edits": 4, "effic');
  fs.mkdirSync(path.join(part, 'edits', '.partial'), { recursive: true });
  fs.writeFileSync(path.join(part, 'edits', '.partial', 'seq-00004.safetensors'), 'cut');
  await assert.rejects(runSequential(model, { method: 'rome', worldCounterfactuals: 4, every: 3, out: part, resume: true, settings, probeLimit }), (e: MechEditError) => e.data.field === 'every');
  await assert.rejects(runSequential(model, { method: 'rome', worldCounterfactuals: 4, every: 2, out: part, resume: true, settings, probeLimit, consolidation: { mode: 'svd', tolerance: 0.01 } }), (e: MechEditError) => e.data.field === 'consolidation');
  await assert.rejects(runSequential(model, { method: 'rome', worldCounterfactuals: 4, every: 2, out: part, settings, probeLimit }), /already holds a run/);
  const seen: number[] = [];
  const b = await runSequential(model, { method: 'rome', worldCounterfactuals: 4, every: 2, out: part, resume: true, settings, probeLimit }, { onPoint: (p) => seen.push(p.edits) });
  assert.deepEqual(seen, [0, 2, 4], 'the saved points are re-emitted, then the new ones');
  assert.deepEqual(strip(b.points), strip(a.points));
  const lines = (dir: string) => fs.readFileSync(path.join(dir, 'curve.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as CurvePoint);
  assert.deepEqual(strip(lines(part)), strip(a.points));
  assert.deepEqual(editFiles(part), editFiles(whole));
  for (const f of editFiles(whole)) {
    const x = fs.readFileSync(path.join(whole, 'edits', f));
    const y = fs.readFileSync(path.join(part, 'edits', f));
    if (f.endsWith('.safetensors')) assert.ok(x.equals(y), `${f} is the same`);
    else assert.deepEqual({ ...JSON.parse(y.toString()), created: 0 }, { ...JSON.parse(x.toString()), created: 0 }, `${f} is the same`);
  }

  // Direct checks: argmax of a plain forward pass per prompt, on the checkpoint and after 2 edits.
  const cf = readCounterfactuals(path.join(modelDir, 'eval', 'counterfactuals.json'));
  const stack = new EditStack(model.withEdits(model.edits));
  const hitRate = async (reqs: typeof cf.requests) => {
    let hits = 0;
    for (const r of reqs) {
      const out = await stack.model.run({ logits: 'last' }, stack.model.makeBatch([stack.model.tokenizer.encode(r.prompt.replace('{}', r.subject))]));
      const logits = out.logits.data as Float32Array;
      let best = 0;
      for (let v = 1; v < model.dims.vocab; v++) if (logits[v] > logits[best]) best = v;
      if (best === firstToken(r.target)) hits++;
    }
    return (100 * hits) / reqs.length;
  };
  assert.equal(a.points[0].efficacy, await hitRate(cf.requests.slice(0, 4)));
  assert.equal(a.points[0].specificity, 100);
  const e1 = readEdit(path.join(whole, 'edits', 'seq-00001.json'));
  const e2 = readEdit(path.join(whole, 'edits', 'seq-00002.json'));
  stack.apply(e1);
  stack.apply(e2);
  const direct = await hitRate(cf.requests.slice(0, 2));
  assert.equal(a.points[1].efficacy, direct);
  assert.ok(a.points[1].efficacy > 0, 'the edits land');
  // ‖ΔW‖/‖W‖ of one edit as health.ts computes it (from the factors' Gram matrices, not densely).
  const one = await editHealth(model, new EditStack(model.withEdits(model.edits)), e1);
  assert.ok(Math.abs(stackHealth(model, [e1])[0].relNorm - one.targets[0].relNorm) < 1e-6);
  assert.deepEqual(a.points[1].health.map((h) => h.module), ['L0 mlp.out']);
});

test('bad requests: refused by line and field; a batch for ROME is refused', async () => {
  const file = path.join(tmp, 'bad.jsonl');
  fs.writeFileSync(file, '{"subject": "A", "prompt": "{} was born in", "target": "B"}\n{"subject": "A", "prompt": "{} lives in"}\n');
  assert.throws(() => readSequentialRequests(file), (e: MechEditError) => e.data.field === 'target' && /line 2/.test(e.message) && e.data.file === file);
  fs.writeFileSync(file, '{"subject": "A", "prompt": "{} was born in", "target": "B", "paraphrases": ["A is from", 3]}\n');
  assert.throws(() => readSequentialRequests(file), (e: MechEditError) => e.data.field === 'paraphrases' && /line 1/.test(e.message));
  fs.writeFileSync(file, '[{"subject": "A", "prompt": "{} was born in", "target": "B", "paraphrase_prompts": ["A is from"]}]');
  assert.deepEqual(readSequentialRequests(file), [{ subject: 'A', prompt: '{} was born in', target: 'B', paraphrases: ['A is from'] }]);
  await assert.rejects(runSequential(model, { method: 'rome', requests: readSequentialRequests(file), batch: 2, out: path.join(tmp, 'b') }), (e: MechEditError) => e.data.field === 'batch');
  assert.deepEqual(parseConsolidation('svd:0.01'), { mode: 'svd', tolerance: 0.01 });
  assert.deepEqual(parseConsolidation('off'), { mode: 'off' });
  assert.equal(parseConsolidation('exact'), undefined);
  for (const bad of ['svd:1', 'svd:', 'svd:-0.1', 'dense']) assert.throws(() => parseConsolidation(bad), (e: MechEditError) => e.data.field === 'consolidate', bad);
});
