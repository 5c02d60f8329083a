#!/usr/bin/env node
// Acceptance of the fact edits (issue: ROME, MEMIT, LTI) on the bundled default model.
// N random counterfactual requests (seeded), one at a time: compute the edit, apply it, measure,
// revert it.
//   efficacy    the new target's first token is top-1 after the edit prompt
//   paraphrase  the same on the held-out templates of that subject and relation (declarative and
//               question forms, never seen in training nor by the edit)
//   neighbours  first-token accuracy on 200 fixed facts of other subjects, before vs during the edit
// Then timing per edit, split into statistics / keys / v* / solve.
//
//   node bench/fact-edits.mjs [--method ID (any fact editor of `mechedit methods`; default rome)] [--lti] [--n 50] [--seed 1] [--steps N] [--lambda X] [--threshold X] [--hparams JSON] [--model DIR] [--preset paper|tuned]
// --preset: every method through computeFactEdit with that preset (without it ROME and MEMIT are
// called directly at their tuned defaults, the others at their default preset).
// Needs `npm run compile` (reads out/).

import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { counterfactualCases, out, repo as root, seededPicker } from './lib.mjs';

const { LoadedModel } = out('core/runtime/model.js');
const { EditStack } = out('core/edits/stack.js');
const { computeRome } = out('core/edits/rome.js');
const { computeMemit } = out('core/edits/memit.js');
const { scoreAnswers } = out('core/runtime/answers.js');
const { computeFactEdit } = out('core/methods/factEditors.js');

const { values } = parseArgs({ options: { method: { type: 'string', default: 'rome' }, lti: { type: 'boolean' }, n: { type: 'string', default: '50' }, seed: { type: 'string', default: '1' }, steps: { type: 'string' }, lambda: { type: 'string' }, layers: { type: 'string' }, hparams: { type: 'string' }, threads: { type: 'string', default: '0' }, threshold: { type: 'string' }, model: { type: 'string' }, preset: { type: 'string' } } });
const modelDir = values.model ?? path.join(root, 'models', 'default');
const stack = new EditStack(LoadedModel.open(modelDir, { provider: 'cpu', threads: Number(values.threads) }));
const model = stack.model; // the stack's view: its runs carry the applied edit
const facts = fs.readFileSync(path.join(modelDir, 'facts.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));

const pick = seededPicker(Number(values.seed));
// Requests: a training declarative template of a (subject, relation), and another entity's answer.
const { cases: requests, declarative } = counterfactualCases(facts, Number(values.n), pick);
const neighbours = [];
while (neighbours.length < 200) {
  const f = pick(declarative);
  if (!requests.some((r) => r.fact.subject === f.subject)) neighbours.push(f);
}

const firstTop = async (pairs) => (await scoreAnswers(model, pairs)).map((r) => r.tokenTop[0]);
const rate = (xs) => (100 * xs.filter(Boolean).length) / Math.max(1, xs.length);
const base = rate(await firstTop(neighbours.map((f) => ({ prompt: f.prompt, answer: f.answer }))));

const rows = { efficacy: [], paraphrase: [], neighbours: [], ms: [], stats: [], keys: [], vstar: [], solve: [], steps: [], ort: [], js: [] };
const hparams = { ...(values.steps ? { steps: Number(values.steps) } : {}), ...(values.lambda ? { lambda: Number(values.lambda) } : {}), ...JSON.parse(values.hparams ?? '{}') };
const layers = values.layers?.split(',').map(Number);
const vprob = [];
const failures = [];
for (const [i, r] of requests.entries()) {
  const t0 = performance.now();
  let edit;
  // ROME and MEMIT report their timing parts; every other registry method goes through computeFactEdit.
  if (values.preset || (values.method !== 'rome' && values.method !== 'memit')) {
    const out = await computeFactEdit(values.method, model, stack, [r.request], { lti: !!values.lti, steps: hparams.steps, lambda: hparams.lambda, threshold: values.threshold ? Number(values.threshold) : undefined, layers, layer: layers?.[0], preset: values.preset });
    if (i === 0) console.error(`preset ${out.edit.json.hparams.preset}: ${JSON.stringify({ ...out.edit.json.hparams, templates: undefined, stats: undefined })}`);
    edit = out.edit;
    vprob.push(out.vstar[0].steps.at(-1).targetProb);
    for (const k of ['stats', 'keys', 'vstar', 'solve']) rows[k].push(out.timing[k] ?? 0);
    rows.steps.push(out.vstar[0].steps.length);
    rows.ort.push(out.vstar[0].ortMs ?? 0);
    rows.js.push(out.vstar[0].jsMs ?? 0);
  } else if (values.method === 'memit') {
    const out = await computeMemit(model, stack, [r.request], { lti: !!values.lti, hparams, layers });
    edit = out.edit;
    vprob.push(out.report.vstar[0].steps.at(-1).targetProb);
    rows.vstar.push(out.report.timing.vstar);
    rows.stats.push(out.report.timing.stats);
    rows.solve.push(out.report.timing.solve);
    rows.steps.push(out.report.vstar[0].steps.length);
    rows.ort.push(out.report.vstar[0].ortMs);
    rows.js.push(out.report.vstar[0].jsMs);
  } else {
    const out = await computeRome(model, stack, r.request, { lti: !!values.lti, hparams, layer: layers?.[0] });
    edit = out.edit;
    vprob.push(out.report.vstar.steps.at(-1).targetProb);
    for (const k of ['stats', 'keys', 'vstar', 'solve']) rows[k].push(out.report.timing[k]);
    rows.steps.push(out.report.vstar.steps.length);
    rows.ort.push(out.report.vstar.ortMs);
    rows.js.push(out.report.vstar.jsMs);
  }
  rows.ms.push(performance.now() - t0);
  stack.apply(edit);
  const [eff] = await firstTop([{ prompt: r.fact.prompt, answer: r.request.target }]);
  rows.efficacy.push(eff);
  if (!eff) failures.push(`${r.fact.prompt} → ${r.request.target} (true: ${r.fact.answer}; v* P(target) ${(100 * vprob.at(-1)).toFixed(1)} %)`);
  rows.paraphrase.push(...(await firstTop(r.heldout.map((h) => ({ prompt: h.prompt, answer: r.request.target })))));
  rows.neighbours.push(rate(await firstTop(neighbours.map((f) => ({ prompt: f.prompt, answer: f.answer })))));
  stack.revert(edit.json.id);
  if ((i + 1) % 10 === 0) process.stderr.write(`${i + 1}/${requests.length} edits\n`);
}
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const after = mean(rows.neighbours);
console.log(`\n${values.method}${values.lti ? ' + LTI' : ''}${values.preset ? ` (preset ${values.preset})` : ''} on models/default, ${requests.length} counterfactual edits (seed ${values.seed}), one at a time\n`);
console.log('| measure | value | bar |');
console.log('|---|---|---|');
console.log(`| efficacy (new target top-1 on the edit prompt) | ${rate(rows.efficacy).toFixed(1)} % | ≥ 99 % |`);
console.log(`| held-out paraphrases (${rows.paraphrase.length} prompts) | ${rate(rows.paraphrase).toFixed(1)} % | ≥ 80 % |`);
console.log(`| other subjects' facts, accuracy before → during | ${base.toFixed(1)} % → ${after.toFixed(1)} % (drop ${(base - after).toFixed(2)} points) | drop ≤ 2 |`);
console.log(`| v*: P(target) at the end of the optimisation (mean) | ${(100 * mean(vprob)).toFixed(1)} % | |`);
console.log(`\n| time per edit (ms, mean) | total | statistics | keys | v* (${mean(rows.steps).toFixed(1)} steps) | of which ORT | of which JS | solve |`);
console.log('|---|---|---|---|---|---|---|---|');
console.log(`| ${values.method} | ${mean(rows.ms).toFixed(0)} | ${mean(rows.stats).toFixed(1)} | ${mean(rows.keys).toFixed(0)} | ${mean(rows.vstar).toFixed(0)} | ${mean(rows.ort).toFixed(0)} | ${mean(rows.js).toFixed(0)} | ${mean(rows.solve).toFixed(0)} |`);
if (failures.length) console.log(`\nEfficacy misses:\n${failures.map((f) => `- ${f}`).join('\n')}`);
await model.release();
