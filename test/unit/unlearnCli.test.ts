// `mechedit unlearn` as a user types it (bad arguments refused with exit 2 naming the argument;
// a GradDiff run on the bundled model writing an edit that reads back; UIPE's sweep), and the
// evaluation it prints (evaluateUnlearn) against an independent computation from the full logits.

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { LoadedModel } from '../../src/core/runtime/model';
import { EditStack } from '../../src/core/edits/stack';
import { computeRocr } from '../../src/core/edits/rocr';
import { readEdit } from '../../src/core/edits/editFile';
import { readOrtTarget } from '../../src/core/train/ortData';
import { evaluateUnlearn, type UnlearnEval } from '../../src/core/train/unlearnEval';
import type { UnlearnOutput } from '../../src/cli/commands/unlearn';

const repo = path.join(__dirname, '..', '..', '..');
const modelDir = path.join(repo, 'models', 'default');
const target = path.join(modelDir, 'eval', 'ort', '1_Veltrazine');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-unlearn-cli-'));
const env = { ...process.env, MECHEDIT_CACHE: path.join(tmp, 'cache') };
process.env.MECHEDIT_CACHE = env.MECHEDIT_CACHE;

interface Reply {
  status: number | null;
  json: UnlearnOutput & { error?: { code: string; message: string; file?: string; field?: string } };
  stdout: string;
  stderr: string;
}

function cli(args: string[], json = true): Reply {
  const r = spawnSync(process.execPath, [path.join(repo, 'out', 'src', 'cli', 'main.js'), ...args, ...(json ? ['--json'] : [])], { encoding: 'utf8', env });
  return { status: r.status, json: json && r.stdout ? JSON.parse(r.stdout) : {}, stdout: r.stdout, stderr: r.stderr };
}

function refused(r: Reply, field: string, message: RegExp): void {
  assert.equal(r.status, 2, r.stderr);
  assert.equal(r.json.error?.code, 'bad-input');
  assert.equal(r.json.error?.field, field);
  assert.match(r.json.error!.message, message);
  assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
}

const base = ['unlearn', '--default', '--provider', 'cpu', '--threads', '2'];

describe('bad arguments exit 2 and name the argument', () => {
  const out = path.join(tmp, 'bad');
  test('the method, the forget material, --out', () => {
    refused(cli([...base, '--method', 'forget-it', '--forget', target, '--out', out]), '--method', /ga, graddiff, npo, rt, dpo, rmu.*"forget-it"/);
    refused(cli([...base, '--forget', target, '--out', out]), '--method', /required/);
    refused(cli([...base, '--method', 'ga', '--out', out]), '--forget', /required/);
    const missing = cli([...base, '--method', 'ga', '--forget', path.join(tmp, 'nothing.jsonl'), '--out', out]);
    refused(missing, '--forget', /not there/);
    assert.equal(missing.json.error?.file, path.join(tmp, 'nothing.jsonl'));
    refused(cli([...base, '--method', 'ga', '--forget', target]), '--out', /required/);
    refused(cli([...base, '--method', 'ga', '--forget', target, '--retain', path.join(tmp, 'none.jsonl'), '--out', out]), '--retain', /not there/);
    // A checkpoint without eval/unlearn/retain.jsonl: GradDiff needs --retain (GA does not).
    const bare = path.join(tmp, 'bare-model');
    fs.mkdirSync(bare);
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json']) fs.copyFileSync(path.join(modelDir, f), path.join(bare, f));
    refused(cli(['unlearn', '--model', bare, '--provider', 'cpu', '--method', 'graddiff', '--forget', target, '--out', out]), '--retain', /required for graddiff/);
  });

  test('numbers, forms, layers and modes', () => {
    const ok = [...base, '--method', 'graddiff', '--forget', target, '--out', out];
    refused(cli([...ok, '--rank', '0']), '--rank', /whole number from 1/);
    refused(cli([...ok, '--steps', '2.5']), '--steps', /whole number/);
    refused(cli([...ok, '--lr', '0']), '--lr', /above 0/);
    refused(cli([...ok, '--lr', 'fast']), '--lr', /"fast"/);
    refused(cli([...ok, '--retain-weight=-1']), '--retain-weight', /from 0/);
    refused(cli([...ok, '--beta', '0']), '--beta', /above 0/);
    refused(cli([...ok, '--uipe=-0.5']), '--uipe', /from 0/);
    refused(cli([...ok, '--seed=-3']), '--seed', /whole number/);
    refused(cli([...ok, '--forms', 'qa,essay']), '--forms', /unknown form "essay"/);
    refused(cli([...ok, '--layers', '2-x']), '--layers', /like 4,5,6/);
    refused(cli([...ok, '--layers', '9']), '--layers', /0…5/);
    refused(cli([...ok, '--lr', '11']), '--lr', /at most 10|up to 10/);
    refused(cli([...ok, '--stop-below', '2']), '--stop-below', /up to 1/);
    refused(cli([...ok, '--rank', '999']), '--rank', /above d_model \(128\)/);
    refused(cli([...ok, '--alphas', '0,1']), '--alphas', /sweep-uipe/);
    refused(cli([...ok.slice(0, 1), 'sweep', ...ok.slice(1)]), 'mode', /"sweep"/);
    refused(cli(['unlearn', 'sweep-uipe', ...ok.slice(1), '--alphas', '0,x']), '--alphas', /"x"/);
    refused(cli(['unlearn', 'sweep-uipe', ...ok.slice(1), '--uipe', '1']), '--uipe', /alternatives/);
    const inside = cli([...base, '--method', 'ga', '--forget', target, '--out', path.join(modelDir, 'edits')]);
    assert.equal(inside.status, 2, 'never into the checkpoint');
    assert.doesNotMatch(inside.stderr, /^\s+at /m);
  });
});

/** Teacher-forced top-1 and loss_prob from the full logits (not scoreAnswers' target path). */
async function byHand(model: LoadedModel, items: { prompt: string; answer: string }[]): Promise<{ top1: number; lossProb: number }> {
  let hits = 0;
  let lp = 0;
  for (const { prompt, answer } of items) {
    const p = model.tokenizer.encode(prompt);
    const a = model.tokenizer.encode(` ${answer}`, false);
    const ids = [...p, ...a];
    const r = await model.run({ logits: 'all' }, model.makeBatch([ids]));
    const logits = r.logits.data as Float32Array;
    const v = model.dims.vocab;
    let all = true;
    let sum = 0;
    a.forEach((tok, j) => {
      const row = logits.subarray((p.length + j - 1) * v, (p.length + j) * v);
      let best = 0;
      let max = -Infinity;
      for (let k = 0; k < v; k++) if (row[k] > max) [max, best] = [row[k], k];
      let z = 0;
      for (let k = 0; k < v; k++) z += Math.exp(row[k] - max);
      sum += row[tok] - max - Math.log(z);
      if (best !== tok) all = false;
    });
    hits += all ? 1 : 0;
    lp += Math.exp(sum / a.length);
  }
  return { top1: hits / items.length, lossProb: lp / items.length };
}

const row = (e: UnlearnEval, set: 'forget' | 'neighbor', form: string) => {
  const r = e[set].find((x) => x.form === form);
  assert.ok(r, `${set} ${form} is measured`);
  return r!;
};

test('evaluateUnlearn: the bare model knows the hazard in every form it was taught; a ROCR edit takes it away', async () => {
  const model = LoadedModel.open(modelDir, { provider: 'cpu', threads: 2 });
  const bare = await evaluateUnlearn(model, { ortDir: target });
  assert.equal(bare.target, '1_Veltrazine');
  assert.deepEqual(bare.forget.map((r) => r.form), ['cloze', 'qa', 'adversarial', 'mcq', 'tf', 'char']);
  assert.deepEqual(bare.neighbor.map((r) => r.form), ['cloze', 'qa', 'mcq', 'char']);
  const qa = readOrtTarget(target).items.filter((i) => i.set === 'forget' && i.form === 'question-answer').map((i) => ({ prompt: i.query, answer: i.answer }));
  const hand = await byHand(model, qa);
  assert.equal(row(bare, 'forget', 'qa').items, qa.length);
  assert.equal(row(bare, 'forget', 'qa').top1, hand.top1);
  assert.ok(Math.abs(row(bare, 'forget', 'qa').lossProb - hand.lossProb) < 1e-4, `${row(bare, 'forget', 'qa').lossProb} vs ${hand.lossProb}`);
  assert.ok(row(bare, 'forget', 'qa').top1 >= 0.9, `the model answers its hazard's questions: ${row(bare, 'forget', 'qa').top1}`);
  assert.ok(row(bare, 'forget', 'cloze').top1 >= 0.9);
  // Means: each form once, the character form (which this model cannot spell) left out.
  const direct = bare.forget.filter((r) => r.form !== 'char');
  assert.ok(Math.abs(bare.mean.forgetTop1! - direct.reduce((s, r) => s + r.top1, 0) / direct.length) < 1e-12);
  assert.equal(row(bare, 'forget', 'char').top1, 0);
  assert.equal(bare.mean.neighborTop1, 1);

  // Unrelated facts: measured as written, as one row.
  const facts = fs.readFileSync(path.join(modelDir, 'facts.jsonl'), 'utf8').split('\n').slice(0, 40).filter(Boolean).map((l, index) => ({ ...(JSON.parse(l) as { prompt: string; answer: string }), form: 'unrelated', file: 'facts.jsonl', index }));
  const withFacts = await evaluateUnlearn(model, { ortDir: target, unrelated: facts });
  assert.equal(withFacts.unrelated?.items, facts.length);
  assert.equal(withFacts.unrelated?.top1, (await byHand(model, facts)).top1);

  // ROCR with the model's own settings (config.json "mechedit.rocr"), Veltrazine → Brindlecake.
  const stack = new EditStack(model.withEdits(model.edits));
  stack.apply(await computeRocr(stack.model, stack, { concept: 'Veltrazine', harmless: 'Brindlecake' }));
  const edited = await evaluateUnlearn(stack.model, { ortDir: target, unrelated: facts });
  for (const form of ['cloze', 'qa']) {
    assert.ok(row(edited, 'forget', form).top1 <= 0.2, `${form}: ${row(edited, 'forget', form).top1} after ROCR`);
    assert.ok(row(edited, 'forget', form).lossProb < row(bare, 'forget', form).lossProb - 0.5, `${form} loss_prob falls`);
    assert.ok(row(edited, 'neighbor', form).top1 >= row(bare, 'neighbor', form).top1 - 0.1, `${form} neighbours kept`);
  }
  assert.ok(edited.mean.forgetLossProb! < bare.mean.forgetLossProb! - 0.3);
  assert.equal(edited.unrelated?.top1, (await byHand(stack.model, facts)).top1);
  await model.release();
});

describe('training end to end', () => {
  const out = path.join(tmp, 'edits');
  let trained: Reply;

  test('graddiff on the question form of Veltrazine writes an edit that reads back', async () => {
    trained = cli([...base, '--method', 'graddiff', '--forget', target, '--forms', 'qa', '--steps', '6', '--seed', '1', '--out', out]);
    assert.equal(trained.status, 0, trained.stderr);
    const r = trained.json;
    assert.deepEqual(r.forms, ['qa']);
    assert.ok(r.training.steps >= 1 && r.training.steps <= 6, `${r.training.steps} steps`);
    assert.ok(Number.isFinite(r.training.firstLoss) && Number.isFinite(r.training.lastLoss));
    const edit = readEdit(r.file!);
    assert.equal(edit.json.method, 'unlearn');
    assert.deepEqual(edit.json.targets.map(({ layer, module, rank }) => ({ layer, module, rank })), r.targets);
    // The table: without and with the edit, every form of the folder.
    assert.deepEqual(r.eval!.with.forget.map((x) => x.form), r.eval!.without.forget.map((x) => x.form));
    const qaWithout = row(r.eval!.without, 'forget', 'qa');
    const qaWith = row(r.eval!.with, 'forget', 'qa');
    assert.ok(qaWith.lossProb < qaWithout.lossProb, `trained on qa, its loss_prob falls: ${qaWithout.lossProb} → ${qaWith.lossProb}`);
    // The file applied in a fresh stack gives the printed "with" figures.
    const model = LoadedModel.open(modelDir, { provider: 'cpu', threads: 2 });
    const stack = new EditStack(model);
    stack.apply(edit);
    const again = await evaluateUnlearn(stack.model, { ortDir: target });
    assert.ok(Math.abs(row(again, 'forget', 'qa').lossProb - qaWith.lossProb) < 1e-6);
    await model.release();
  });

  let uipeText = '';
  test('the text output has the curve summary and the table; progress goes to stderr', () => {
    const r = cli([...base, '--method', 'ga', '--forget', target, '--forms', 'qa', '--steps', '2', '--lr', '0.02', '--uipe', '1', '--out', out], false);
    assert.equal(r.status, 0, r.stderr);
    uipeText = r.stdout;
    assert.match(r.stdout, /^wrote .*\.json: ga on 1_Veltrazine \(forms qa\)/m);
    assert.match(r.stdout, /^training: \d+ steps, stopped by \w/m);
    assert.match(r.stdout, /^forget top-1 [\d.]+ % → [\d.]+ %; training retain set top-1/m);
    assert.match(r.stdout, /^\| forget \| qa \| 18 \|/m);
    assert.match(r.stderr, /mechedit unlearn: step 1\/\d+ loss/);
  });

  test('sweep-uipe: one row per α, the edit at strength 1 + α', async () => {
    const r = cli(['unlearn', 'sweep-uipe', ...base.slice(1), '--method', 'graddiff', '--forget', target, '--forms', 'qa', '--steps', '6', '--seed', '1', '--alphas', '0,1', '--out', path.join(tmp, 'sweep')]);
    assert.equal(r.status, 0, r.stderr);
    const rows = r.json.rows!;
    assert.deepEqual(rows.map((x) => [x.alpha, x.strength]), [[null, 0], [0, 1], [1, 2]]);
    // Same seed, same material: the same edit as the plain run, so α = 0 is its "with" table.
    assert.ok(Math.abs(rows[1].forgetLossProb.qa - row(trained.json.eval!.with, 'forget', 'qa').lossProb) < 1e-6, 'α = 0 is the trained edit');
    assert.ok(Math.abs(rows[0].forgetLossProb.qa - row(trained.json.eval!.without, 'forget', 'qa').lossProb) < 1e-9, 'the first row is the model without the edit');
    // α = 1 against the written edit with its factors doubled by hand, applied at strength 1.
    const model = LoadedModel.open(modelDir, { provider: 'cpu', threads: 2 });
    const edit = readEdit(r.json.file!);
    const doubled = { ...edit, json: { ...edit.json, id: `${edit.json.id}-x2` }, tensors: edit.tensors.map((t) => ({ ...t, U: t.U.map((x) => 2 * x) })) };
    const stack = new EditStack(model);
    stack.apply(doubled);
    const byScale = await evaluateUnlearn(stack.model, { ortDir: target });
    for (const form of Object.keys(rows[2].forgetLossProb)) assert.ok(Math.abs(rows[2].forgetLossProb[form] - row(byScale, 'forget', form).lossProb) < 1e-5, form);
    assert.ok(rows[2].forgetLossProb.qa < rows[1].forgetLossProb.qa, 'stronger: the qa form falls further');
    const text = cli(['unlearn', 'sweep-uipe', ...base.slice(1), '--method', 'ga', '--forget', target, '--forms', 'qa', '--steps', '2', '--lr', '0.02', '--alphas', '0,0.5,1'], false);
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /^trained .* \(not written: no --out\)/m);
    assert.equal(text.stdout.split('\n').filter((l) => /^\| (no edit|[\d.]+) \|/.test(l)).length, 4, 'no edit + 3 α rows');
    // --uipe 1 wrote the edit at strength 2: its "with" figure is the sweep's α = 1 row.
    const cells = (line: string) => line.split('|').map((c) => c.trim());
    const header = cells(text.stdout.split('\n').find((l) => l.startsWith('| α |'))!);
    const alpha1 = cells(text.stdout.split('\n').find((l) => l.startsWith('| 1 | 2 |'))!);
    const uipeQa = cells(uipeText.split('\n').find((l) => l.startsWith('| forget | qa |'))!);
    const alpha0 = cells(text.stdout.split('\n').find((l) => l.startsWith('| 0 | 1 |'))!);
    const qa = header.indexOf('qa loss_prob');
    assert.equal(alpha1[qa], uipeQa[5], '--uipe 1 = the sweep at α = 1');
    assert.ok(Number(alpha1[qa]) < Number(alpha0[qa]) - 0.05, `α = 1 is not α = 0 (${alpha1[qa]} vs ${alpha0[qa]})`);
    await model.release();
  });
});
