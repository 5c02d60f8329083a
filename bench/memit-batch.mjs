#!/usr/bin/env node
// MEMIT / AlphaEdit on a batch of counterfactual requests at once, at their defaults (issue: "MEMIT
// that lands"). N requests with N distinct subjects (seeded; a training declarative template of a
// (subject, relation) and another entity's answer, as bench/fact-edits.mjs draws them), ONE edit for
// all of them, applied, then measured as fact-edits.mjs measures:
//   efficacy    each new target's first token is top-1 after its edit prompt
//   paraphrase  the same on the held-out declarative and question templates of that fact
//   neighbours  first-token accuracy on 200 facts of other subjects, before → with the edit
// Prints the settings the edit recorded (layers, λ and where they came from, clamp).
//
//   npx tsc -p . && node bench/memit-batch.mjs [--method memit|alphaedit] [--n 100] [--seed 1] [--lambda X] [--layers 0,1]

import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { counterfactualCases, out, repo, seededPicker } from './lib.mjs';

const { LoadedModel } = out('core/runtime/model.js');
const { EditStack } = out('core/edits/stack.js');
const { computeFactEdit } = out('core/methods/factEditors.js');
const { scoreAnswers } = out('core/runtime/answers.js');

const { values } = parseArgs({ options: { method: { type: 'string', default: 'memit' }, n: { type: 'string', default: '100' }, seed: { type: 'string', default: '1' }, lambda: { type: 'string' }, layers: { type: 'string' } } });
const modelDir = path.join(repo, 'models', 'default');
const stack = new EditStack(LoadedModel.open(modelDir, { provider: 'cpu', threads: 0 }));
const model = stack.model; // the stack's view: its runs carry the applied edit
const facts = fs.readFileSync(path.join(modelDir, 'facts.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const pick = seededPicker(Number(values.seed));
const { cases, declarative } = counterfactualCases(facts, Number(values.n), pick, 'subject');
const subjects = new Set(cases.map((c) => c.fact.subject));
const neighbours = [];
while (neighbours.length < 200) {
  const f = pick(declarative);
  if (!subjects.has(f.subject)) neighbours.push(f);
}
const firstTop = async (pairs) => (await scoreAnswers(model, pairs)).map((r) => r.tokenTop[0]);
const rate = (xs) => (100 * xs.filter(Boolean).length) / Math.max(1, xs.length);
const base = rate(await firstTop(neighbours.map((f) => ({ prompt: f.prompt, answer: f.answer }))));
const t0 = performance.now();
let done = 0;
const r = await computeFactEdit(values.method, model, stack, cases.map((c) => c.request), {
  lambda: values.lambda ? Number(values.lambda) : undefined,
  layers: values.layers?.split(',').map(Number),
  onStep: (st) => { if (st.step === 0 && ++done % 10 === 0) process.stderr.write(`v* ${done}/${cases.length}\n`); },
});
const seconds = (performance.now() - t0) / 1000;
stack.apply(r.edit);
const eff = await firstTop(cases.map((c) => ({ prompt: c.fact.prompt, answer: c.request.target })));
const para = await firstTop(cases.flatMap((c) => c.heldout.map((h) => ({ prompt: h.prompt, answer: c.request.target }))));
const during = rate(await firstTop(neighbours.map((f) => ({ prompt: f.prompt, answer: f.answer }))));
const hp = r.edit.json.hparams;
const p = r.vstar.map((v) => v.steps.at(-1).targetProb);
console.log(`\n${values.method} on models/default: one edit for ${cases.length} counterfactual requests, distinct subjects (seed ${values.seed})`);
console.log(`settings: layers [${hp.layers}] (${hp.defaults ?? 'given'}), λ ${JSON.stringify(hp.lambdas ?? hp.nullSpace?.map((x) => ({ layer: x.layer, lambda: x.lambda })) ?? hp.lambda)}${hp.lambdaRule ? ` (${hp.lambdaRule})` : ''}, clamp ${hp.clamp}, v* steps ≤ ${hp.steps}\n`);
console.log('| measure | value |');
console.log('|---|---|');
console.log(`| efficacy (new target top-1 on the edit prompt) | ${rate(eff).toFixed(1)} % |`);
console.log(`| held-out paraphrases (${para.length} prompts) | ${rate(para).toFixed(1)} % |`);
console.log(`| other subjects' facts, before → with the edit | ${base.toFixed(1)} % → ${during.toFixed(1)} % |`);
console.log(`| v*: P(target) at the end (mean, min) | ${(100 * p.reduce((a, b) => a + b, 0) / p.length).toFixed(1)} %, ${(100 * Math.min(...p)).toFixed(1)} % |`);
console.log(`| time (v* ${(r.timing.vstar / 1000).toFixed(0)} s, solve ${(r.timing.solve / 1000).toFixed(1)} s) | ${seconds.toFixed(0)} s |`);
await model.release();
