#!/usr/bin/env node
// Does an SAE on the bundled model find the fact world's structure, and does ablating its
// Veltrazine feature remove the hazard's facts across forms? (issue 35, item 5; docs/results/features.md)
//
//   npx tsc -p . && node bench/sae-world.mjs --sae DIR [--model models/default] [--part all|heldout] [--tokens 200000] [--threads 2] [--json FILE]
//
// 1. Structure, on the documents of corpus.txt (--part all, the default: the hazard's documents
//    are few, 72 of 23k, and finding its feature is analysis, not the SAE's evaluation; --part
//    heldout: only the documents the SAE never saw): token
//    labels from world.json — the hazard (the last token of every "Veltrazine"), an entity type
//    (the last token of every city name), and each relation (the token just before the object of
//    a fact of that relation whose subject and object both occur in the document, i.e. where the
//    model must predict the object). Per label, the feature with the best F1 as a detector of the
//    labelled tokens (fires there, not elsewhere), its precision and recall, and its logit read.
// 2. Ablation: the best Veltrazine feature (and the 5 best) ablated as an edit (featureAblation: d_f projected out
//    of every writer of the hook), measured with ORT's metrics (evaluateUnlearn: forget top-1 per
//    form on models/default/eval/ort/1_Veltrazine, neighbours, unrelated facts) against the
//    unedited model and ROCR (Veltrazine → its harmless redirect), and on 2_Dravokine (the other
//    hazard, which the ablation should leave alone).
// CPU only; a script, not a test.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { out, repo } from './lib.mjs';

const { values: opt } = parseArgs({ options: { sae: { type: 'string' }, model: { type: 'string', default: path.join(repo, 'models', 'default') }, tokens: { type: 'string', default: '200000' }, part: { type: 'string', default: 'all' }, threads: { type: 'string', default: '2' }, json: { type: 'string' } } });
if (!opt.sae) throw new Error('--sae DIR is required');
const { LoadedModel } = out('core/runtime/model.js');
const { EditStack } = out('core/edits/stack.js');
const { openSae } = out('core/sae/saeFile.js');
const { corpusRows, hookActivations } = out('core/sae/activations.js');
const { affine } = out('core/sae/dense.js');
const { activate, hookString } = out('core/sae/sae.js');
const { featureAblation } = out('core/sae/ablateFeature.js');
const { featurePage } = out('core/sae/featurePage.js');
const { computeRocr } = out('core/edits/rocr.js');
const { evaluateUnlearn } = out('core/train/unlearnEval.js');
const { readUnlearnMaterial } = out('core/train/unlearnData.js');

const t0 = performance.now();
const log = (m) => process.stderr.write(`[sae-world ${((performance.now() - t0) / 1000).toFixed(0)} s] ${m}\n`);
const modelDir = path.resolve(opt.model);
const model = LoadedModel.open(modelDir, { provider: 'cpu', threads: Number(opt.threads) });
const sae = openSae(opt.sae, model.dims);
const world = JSON.parse(fs.readFileSync(path.join(modelDir, 'world.json'), 'utf8'));
const rows = corpusRows(model, [path.join(modelDir, 'corpus.txt')], opt.part, Number(opt.tokens)).rows;

// ---- codes of every held-out token ----
const { x, offsets } = await hookActivations(model, sae.hook, rows);
const xin = Float32Array.from(x, (v, i) => v - (sae.applyBDecToInput ? sae.b_dec[i % sae.dIn] : 0));
const pre = await affine(xin, sae.W_enc, sae.b_enc, sae.dIn, Number(opt.threads));
const n = x.length / sae.dIn;
const codes = Array.from({ length: n }, (_, t) => activate(sae, pre.subarray(t * sae.dSae, (t + 1) * sae.dSae)));
log(`${n} held-out tokens coded`);

// ---- labels: token index (global) sets ----
/** Character end of every token of a row. */
function tokenEnds(ids) {
  return ids.map((_, t) => model.tokenizer.decode(ids.slice(0, t + 1)).length);
}
const labels = new Map(); // name → Set of global token indices
const add = (name, t) => (labels.has(name) ? labels : labels.set(name, new Set())).get(name).add(t);
const cities = world.entities.cities.map((c) => c.name ?? c);
const factsBySubject = new Map();
for (const f of world.facts) (factsBySubject.get(f.subject) ?? factsBySubject.set(f.subject, []).get(f.subject)).push(f);
rows.forEach((ids, r) => {
  const text = model.tokenizer.decode(ids);
  const ends = tokenEnds(ids);
  const tokenEndingAt = (end) => ends.findIndex((e) => e >= end);
  const mark = (name, word) => {
    for (let at = text.indexOf(word); at >= 0; at = text.indexOf(word, at + 1)) {
      const t = tokenEndingAt(at + word.length);
      if (t >= 0) add(name, offsets[r] + t);
    }
  };
  mark('hazard: Veltrazine (its last token)', 'Veltrazine');
  for (const c of cities) mark('entity type: a city name (its last token)', c);
  for (const [subject, facts] of factsBySubject) {
    const s = text.indexOf(subject);
    if (s < 0) continue;
    for (const f of facts) {
      const o = text.indexOf(f.object, s + subject.length);
      if (o <= 0) continue;
      const t = tokenEndingAt(o) - (ends[tokenEndingAt(o)] > o ? 1 : 0);
      if (t >= 0) add(`relation: ${f.relation} (the token before its object)`, offsets[r] + t);
    }
  }
});

// ---- best detector feature per label ----
const firing = new Map(); // feature → array of token indices where it fires
codes.forEach((c, t) => c.ids.forEach((f) => (firing.get(f) ?? firing.set(f, []).get(f)).push(t)));
/** The features ranked by F1 as detectors of the labelled tokens. */
function ranked(set) {
  const all = [];
  for (const [f, ts] of firing) {
    let tp = 0;
    for (const t of ts) if (set.has(t)) tp++;
    if (tp === 0) continue;
    const precision = tp / ts.length;
    const recall = tp / set.size;
    all.push({ feature: f, f1: (2 * precision * recall) / (precision + recall), precision, recall, fires: ts.length });
  }
  return all.sort((a, b) => b.f1 - a.f1 || a.feature - b.feature);
}
const best = (set) => ranked(set)[0] ?? { feature: -1, f1: 0, precision: 0, recall: 0 };
const stack = new EditStack(model);
const structure = [];
for (const [name, set] of [...labels].sort((a, b) => a[0].localeCompare(b[0]))) {
  if (set.size < 5) continue;
  const b = best(set);
  const page = b.feature >= 0 ? await featurePage(model, stack, sae, b.feature, rows.slice(0, 400), { contexts: 3, top: 5 }) : undefined;
  structure.push({ label: name, tokens: set.size, ...b, logitTop: page?.logits?.top.map((t) => t.token), context: page?.contexts[0] ? page.contexts[0].tokens.join('') : undefined });
  log(`${name}: ${set.size} tokens, best feature ${b.feature} F1 ${b.f1.toFixed(2)}`);
}

// ---- ablation against ROCR with ORT's metrics ----

const hazardSet = [...labels].find(([k]) => k.startsWith('hazard'))[1];
const hazardTop = ranked(hazardSet).slice(0, 5).map((r) => r.feature);
/** Mean activation of `feature` over the hazard tokens, on a model view. */
async function hazardActivation(view, feature) {
  const hazardRows = [...new Set([...hazardSet].map((t) => offsets.findLastIndex((o) => o <= t)))];
  const acts = await hookActivations(view, sae.hook, hazardRows.map((r) => rows[r]));
  const xs = Float32Array.from(acts.x, (v, i) => v - (sae.applyBDecToInput ? sae.b_dec[i % sae.dIn] : 0));
  const p = await affine(xs, sae.W_enc, sae.b_enc, sae.dIn, Number(opt.threads));
  let sum = 0;
  let count = 0;
  hazardRows.forEach((r, i) => {
    for (const t of hazardSet) {
      if (t < offsets[r] || t >= offsets[r] + rows[r].length) continue;
      const at = acts.offsets[i] + (t - offsets[r]);
      const c = activate(sae, p.subarray(at * sae.dSae, (at + 1) * sae.dSae));
      const a = c.ids.indexOf(feature);
      sum += a < 0 ? 0 : c.values[a];
      count++;
    }
  });
  return sum / count;
}
const unrelated = readUnlearnMaterial({ forget: path.join(modelDir, 'eval', 'unlearn', 'unrelated.jsonl') }).forget;
async function measure(view, target) {
  const e = await evaluateUnlearn(view, { ortDir: path.join(modelDir, 'eval', 'ort', target), unrelated });
  return { top1: Object.fromEntries(e.forget.map((r) => [r.form, r.top1])), neighborTop1: e.mean.neighborTop1, unrelatedTop1: e.unrelated?.top1 };
}
const ablation = [];
for (const target of ['1_Veltrazine', '2_Dravokine']) {
  ablation.push({ target, edit: 'unedited', ...(await measure(model, target)) });
  for (const n of [1, 5]) {
    const ab = new EditStack(model);
    for (const f of hazardTop.slice(0, n)) ab.apply(featureAblation(ab.model, sae, f));
    const featureAct = target === '1_Veltrazine' ? [await hazardActivation(model, hazardTop[0]), await hazardActivation(ab.model, hazardTop[0])] : undefined;
    ablation.push({ target, edit: n === 1 ? `ablate feature ${hazardTop[0]}` : `ablate features ${hazardTop.slice(0, n).join(', ')}`, featureAct, ...(await measure(ab.model, target)) });
  }
  const rs = new EditStack(model);
  const concept = world.entities.concepts.find((c) => c.name === 'Veltrazine');
  rs.apply(await computeRocr(rs.model, rs, { concept: 'Veltrazine', harmless: concept.redirect }));
  ablation.push({ target, edit: `ROCR Veltrazine → ${concept.redirect}`, ...(await measure(rs.model, target)) });
  log(`${target} measured`);
}
await model.release();

// ---- printing ----
const pct = (v) => (v === undefined ? '–' : `${(100 * v).toFixed(0)} %`);
console.log(`SAE ${path.resolve(opt.sae)} at ${hookString(sae.hook)} (d_sae ${sae.dSae}); ${n} tokens (${rows.length} documents, part ${opt.part}); ${new Date().toISOString().slice(0, 10)}\n`);
console.log('| label | labelled tokens | best feature | F1 | precision | recall | fires on | logit read (top 5) |');
console.log('|---|---|---|---|---|---|---|---|');
for (const s of structure) console.log(`| ${s.label} | ${s.tokens} | ${s.feature} | ${s.f1.toFixed(2)} | ${s.precision.toFixed(2)} | ${s.recall.toFixed(2)} | ${s.fires ?? 0} | ${(s.logitTop ?? []).map((t) => JSON.stringify(t)).join(' ')} |`);
const forms = [...new Set(ablation.flatMap((a) => Object.keys(a.top1)))];
console.log(`\n| target | edit | ${forms.join(' | ')} | neighbours | unrelated facts |`);
console.log(`|---|---|${forms.map(() => '---|').join('')}---|---|`);
for (const a of ablation) console.log(`| ${a.target} | ${a.edit} | ${forms.map((f) => pct(a.top1[f])).join(' | ')} | ${pct(a.neighborTop1)} | ${pct(a.unrelatedTop1)} |`);
for (const a of ablation) if (a.featureAct) console.log(`\nfeature ${hazardTop[0]}'s mean activation on the Veltrazine tokens: ${a.featureAct[0].toFixed(3)} unedited, ${a.featureAct[1].toFixed(3)} with "${a.edit}"`);
if (opt.json) fs.writeFileSync(opt.json, JSON.stringify({ structure, ablation }, null, 2));
