// Honest results for fact edits on the bundled default model:
//   - a target the tokenizer splits into byte pieces is refused before computing (unless forced),
//     and an edit that did not take (Zürich) is saved but not applied, with the reason;
//   - "Diagnose This Edit" measures the edit alone on its own request (efficacy, paraphrases, the
//     subject's other relations, neighbours, prefix distraction; ORT's forms for a ROCR edit), and
//     says which tasks the model has no data for instead of scoring them 0;
//   - the Diagnostics run's per-case edits use the layer and λ they are given, and record them.

import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LoadedModel } from '../../src/core/runtime/model';
import { EditStack } from '../../src/core/edits/stack';
import { computeRome } from '../../src/core/edits/rome';
import { computeRocr } from '../../src/core/edits/rocr';
import { writeEdit, type Edit } from '../../src/core/edits/editFile';
import { factOutcome, refuseRiskyTargets, targetCheck, SUCCESS_FLOOR } from '../../src/core/edits/outcome';
import { factProbes } from '../../src/core/diagnostics/editProbes';
import { diagnoseEdit } from '../../src/core/diagnostics/diagnoseEdit';
import { EngineClient, type EngineError } from '../../src/extension/engine/client';
import type { MechEditError } from '../../src/core/errors';
import type { EvokeDiagnostics } from '../../src/protocol/diagnostics';

const repo = path.join(__dirname, '..', '..', '..');
const defaultModel = path.join(repo, 'models', 'default');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-honest-'));
process.env.MECHEDIT_CACHE = path.join(tmp, 'cache');

const subject = 'Baekhyndvaes Drondraes';
const prompt = `${subject} was born in`;
const good = { subject, prompt: '{} was born in', target: 'Daekgrad' };
const zurich = { subject, prompt: '{} was born in', target: 'Zürich' };
const dims = (m: LoadedModel) => (t: { layer: number; module: string }) => {
  const w = t.module === 'mlp.out' ? m.plan.blocks[t.layer].down : m.plan.blocks[t.layer].o;
  return { out: w.out, in: w.in };
};

describe('fact edits that did not take, and one edit diagnosed alone (core)', () => {
  const model = LoadedModel.open(defaultModel, { provider: 'cpu', threads: 1 });
  after(() => model.release());
  let romeEdit: Edit;

  test('the tokenizer check: byte pieces and long targets warn, whole-token targets do not; refused unless forced', () => {
    const z = targetCheck(model, 'Zürich');
    assert.deepEqual([z.tokens.length, z.bytePieces], [5, 2], JSON.stringify(z.tokens));
    assert.match(z.warning!, /byte pieces/);
    assert.equal(targetCheck(model, 'Daekgrad').warning, undefined);
    assert.equal(targetCheck(model, 'Krialcer Hiaxdraekgae').warning, undefined, "the world's longest answer is fine");
    assert.match(targetCheck(model, 'Quaemgrundport Quaemgrundport Quaemgrundport').warning!, /more than 8/);
    assert.throws(() => refuseRiskyTargets(model, [good, zurich], false, 'pass --force'), (e: MechEditError) => e.data.field === 'requests[1].target' && /--force/.test(e.data.hint ?? ''));
    assert.equal(refuseRiskyTargets(model, [zurich], true, 'pass --force').length, 1, 'forced: no error');
  });

  test('a ROME edit toward Zürich did not take (not top-1, P under the floor); toward Daekgrad it did', async () => {
    const stack = new EditStack(model.bare());
    const bad = (await computeRome(stack.model, stack, zurich, { layer: 0, hparams: { steps: 40 } })).edit;
    const o = await factOutcome(stack, bad, [zurich]);
    assert.equal(o.succeeded, false);
    assert.equal(o.efficacy[0].top1, false);
    assert.ok(o.efficacy[0].targetProb < SUCCESS_FLOOR, `P ${o.efficacy[0].targetProb}`);
    assert.match(o.reason!, /not the model's top-1 continuation of "Baekhyndvaes Drondraes was born in"/);
    assert.deepEqual(stack.list(), [], 'the stack the outcome was measured on is unchanged');
    romeEdit = (await computeRome(stack.model, stack, good, { layer: 0 })).edit;
    const ok = await factOutcome(stack, romeEdit, [good]);
    assert.equal(ok.succeeded, true, ok.reason);
    assert.ok(ok.efficacy[0].top1 && ok.efficacy[0].targetProb > 0.9, JSON.stringify(ok.efficacy));
  });

  test('Diagnose This Edit: the edit alone on its own request, from facts.jsonl; the model given is not changed', async () => {
    // The model as a user's stack might leave it: another edit on (it must not count).
    const user = new EditStack(model.bare());
    const other = { ...romeEdit, json: { ...romeEdit.json, id: 'other-edit' } };
    user.apply(other);
    const edits = user.model.edits;
    const d = await diagnoseEdit(user.model, romeEdit);
    assert.equal(user.model.edits, edits, 'the view diagnosed from keeps its edit inputs');
    assert.deepEqual(user.list().map((e) => e.id), ['other-edit']);
    assert.equal(d.facts.length, 1);
    const f = d.facts[0];
    assert.deepEqual([f.trueAnswer, f.relation], ['Quaemgrundport', 'birthplace']);
    const task = (name: string) => f.tasks.find((t) => t.task === name)!;
    assert.deepEqual(f.tasks.map((t) => [t.task, t.missing]), [['efficacy', undefined], ['paraphrase', undefined], ['otherRelations', undefined], ['neighbours', undefined], ['prefix', undefined]]);
    // Efficacy: Daekgrad loses to Quaemgrundport before, wins with the edit alone.
    assert.deepEqual([task('efficacy').before!.wins, task('efficacy').after!.wins], [0, 1]);
    assert.ok(task('efficacy').after!.p > 0.9);
    assert.ok(task('paraphrase').rows.length >= 5 && task('paraphrase').rows.every((r) => r.prompt.includes(subject) && r.versus === 'Quaemgrundport'));
    assert.equal(task('paraphrase').before!.wins, 0);
    assert.ok(task('paraphrase').after!.wins! > 0.5, `paraphrases won ${task('paraphrase').after!.wins}`);
    assert.deepEqual(task('otherRelations').rows.map((r) => r.expect).sort(), ['Diarbrirn Holdings', 'Krakoni', 'Preskzouxesh', 'nurse'].sort(), 'one prompt per other relation of the subject');
    assert.equal(task('otherRelations').before!.wins, 1);
    assert.equal(task('neighbours').rows.length, 10);
    assert.ok(task('neighbours').rows.every((r) => !r.prompt.includes(subject) && r.versus === 'Daekgrad'));
    assert.ok(task('prefix').rows.every((r) => r.prompt.startsWith(`${prompt} Daekgrad. `)));
    assert.ok(f.tasks.slice(1).every((t) => t.source?.endsWith('facts.jsonl')));
  });

  test('Diagnose This Edit on a subject the data does not know: efficacy is measured, the rest says there is no data', async () => {
    const unknown = { ...romeEdit, json: { ...romeEdit.json, request: { subject: 'Zyx Qwerty', prompt: '{} enjoys eating', target: 'Daekgrad' } } };
    const d = await diagnoseEdit(model, unknown);
    const f = d.facts[0];
    assert.equal(f.trueAnswer, undefined);
    assert.ok(f.tasks[0].after && f.tasks[0].after.wins === undefined, 'efficacy without a true answer: P and top-1 only');
    for (const t of f.tasks.slice(1)) {
      assert.equal(t.before, undefined, `${t.task} is not scored`);
      assert.match(t.missing!, /in the model's data/, `${t.task}: ${t.missing}`);
    }
  });

  test('the probes of an EVOKE case: its paraphrases, neighbours, the subject spec; prefix distraction with the edit\'s own target', () => {
    const p = factProbes(defaultModel, { subject: 'Cyxshirn Mendma', prompt: '{} was born in', target: 'Vyswick' });
    const set = (name: string) => p.sets.find((s) => s.task === name)!;
    assert.equal(p.trueAnswer, 'Julgrythport');
    assert.ok(set('paraphrase').source!.endsWith('evoke.json'));
    assert.deepEqual(set('paraphrase').probes.map((x) => x.prompt), ["Cyxshirn Mendma's place of birth is", 'Vaedourn Grimraesk is a native of Lungrad. The city where Cyxshirn Mendma was born is']);
    assert.equal(set('neighbours').probes[0].prompt, 'Krumthar Stadukbyk is originally from');
    assert.equal(set('prefix').probes[0].prompt, 'Cyxshirn Mendma was born in Vyswick. Krumthar Stadukbyk is originally from');
    assert.deepEqual(set('otherRelations').probes[0], { prompt: 'Cyxshirn Mendma works for', expect: 'Piaskshial Systems', versus: 'Vyswick' });
    assert.ok(set('otherRelations').source!.endsWith('evoke.json'));
  });

  test('Diagnose This Edit on a ROCR edit: ORT\'s forms of its concept, without and with the edit alone', async () => {
    const stack = new EditStack(model.bare());
    const rocr = await computeRocr(stack.model, stack, { concept: 'Veltrazine', harmless: 'Brindlecake' });
    const d = await diagnoseEdit(model, rocr);
    assert.deepEqual(d.facts, []);
    assert.equal(d.concept!.target, '1_Veltrazine');
    const fillIn = d.concept!.rows!.find((r) => r.set === 'forget' && r.form === 'fill-in')!;
    assert.ok(fillIn.after!.lossProb < fillIn.before.lossProb, `forget fill-in ${fillIn.before.lossProb} → ${fillIn.after!.lossProb}`);
    const missing = await diagnoseEdit(model, { ...rocr, json: { ...rocr.json, request: { concept: 'Nothingium', harmless: 'x' } } });
    assert.match(missing.concept!.missing!, /no ORT target for "Nothingium"/);
  });

  test('an edit with no request of its own is refused by field', async () => {
    await assert.rejects(diagnoseEdit(model, { ...romeEdit, json: { ...romeEdit.json, request: undefined } }), (e: MechEditError) => e.data.field === 'request');
  });

  test('writes the Daekgrad edit for the engine tests', () => {
    writeEdit(path.join(tmp, 'edits'), { ...romeEdit, json: { ...romeEdit.json, id: 'daekgrad' } }, dims(model), model.checkpoint);
  });
});

describe('through the engine process', () => {
  const client = new EngineClient({ enginePath: path.join(repo, 'out', 'src', 'engine', 'main.js'), config: { executionProvider: 'cpu', threads: 1 } });
  after(() => client.dispose());
  const outDir = path.join(tmp, 'engine-edits');

  test('Zürich: warned before, refused unless forced; forced, saved but not applied, the true fact untouched; the saved file applies (Apply Anyway)', async () => {
    await client.request('model/open', { path: defaultModel });
    const check = await client.request('edits/checkFact', { requests: [zurich, good] });
    assert.deepEqual(check.targets.map((t) => !!t.warning), [true, false]);
    await assert.rejects(client.request('edits/fact', { method: 'rome', requests: [zurich], outDir }), (e: EngineError) => e.data.code === 'bad-input' && e.data.field === 'target');
    const before = await client.request('model/predict', { prompt, top: 3 });
    const r = await client.request('edits/fact', { method: 'rome', requests: [zurich], force: true, outDir });
    assert.equal(r.succeeded, false);
    assert.equal(r.applied, false);
    assert.match(r.reason!, /top-1/);
    assert.ok(r.vstar[0].curve.length === r.vstar[0].steps && r.vstar[0].curve.length > 1, 'the loss curve comes back');
    assert.deepEqual(r.state.items, [], 'not on the user\'s stack');
    assert.deepEqual((await client.request('edits/list', {})).items, []);
    assert.deepEqual((await client.request('model/predict', { prompt, top: 3 })).next, before.next, 'the true fact is as it was');
    const saved = JSON.parse(fs.readFileSync(r.file, 'utf8')) as { health: { efficacy: { succeeded: boolean }; warnings: string[] } };
    assert.equal(saved.health.efficacy.succeeded, false);
    assert.match(saved.health.warnings[0], /^the edit did not take/);
    const applied = await client.request('edits/apply', { file: r.file });
    assert.deepEqual(applied.items.map((i) => i.id), [r.id], 'Apply Anyway: the saved file applies');
    await client.request('edits/revertAll', {});
  });

  test('diagnostics/edit: the Daekgrad edit alone while another edit is on the user\'s stack, which stays as it was', async () => {
    const file = path.join(tmp, 'edits', 'daekgrad.json');
    const other = fs.readdirSync(outDir).find((f) => f.endsWith('.json'))!;
    const stack = await client.request('edits/apply', { file: path.join(outDir, other) });
    const d = await client.request('diagnostics/edit', { file });
    const efficacy = d.facts[0].tasks[0];
    assert.deepEqual([efficacy.before!.wins, efficacy.after!.wins], [0, 1], 'before: no edits at all; after: only this edit');
    assert.deepEqual((await client.request('edits/list', {})).items, stack.items);
    await client.request('edits/revertAll', {});
  });

  test('diagnostics/run: per-case ROME at the given layer and MEMIT with the given λ, recorded in the run', async () => {
    const rome = (await client.request('diagnostics/run', { kind: 'evoke', method: 'rome', layer: 2, limit: 1, outDir: path.join(tmp, 'diag') })) as EvokeDiagnostics;
    assert.deepEqual(rome.settings, { layer: 2 });
    const config = JSON.parse(fs.readFileSync(path.join(rome.out.after, 'run.json'), 'utf8')) as { perCase?: { layer?: number } };
    assert.equal(config.perCase?.layer, 2);
    assert.match(fs.readFileSync(path.join(rome.out.after, 'report.html'), 'utf8'), /layer 2/);
    // The per-case edits were computed at layer 2: its key statistics were made for them.
    const stats = fs.readdirSync(path.join(tmp, 'cache', 'stats'), { recursive: true }).map(String);
    assert.ok(stats.some((f) => path.basename(f).startsWith('L2-')), stats.join(', '));
    const memit = (await client.request('diagnostics/run', { kind: 'evoke', method: 'memit', lambda: 10, limit: 1, outDir: path.join(tmp, 'diag') })) as EvokeDiagnostics;
    assert.deepEqual(memit.settings, { lambda: 10 });
    assert.equal((JSON.parse(fs.readFileSync(path.join(memit.out.after, 'run.json'), 'utf8')) as { perCase?: { lambda?: number } }).perCase?.lambda, 10);
    await assert.rejects(client.request('diagnostics/run', { kind: 'evoke', method: 'memit', lambda: -1, limit: 1, outDir: path.join(tmp, 'diag') }), (e: EngineError) => e.data.field === 'lambda');
  });
});
