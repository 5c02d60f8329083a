#!/usr/bin/env node
// Checks MEMIT's paper-preset λ rule on a model: λ = (λ_ref / d_mlp_ref) × d_mlp assumes
// E[kᵀC⁻¹k] = d_mlp. Over the keys C is the second moment of, E[kᵀC⁻¹k] = trace(C⁻¹C) = d_mlp
// exactly (up to solveC's ridge); this prints that trace, and kᵀC⁻¹k at the subjects' last token
// (bare prompt, as MEMIT keys them) for the first --n world counterfactuals and --n other facts,
// with the paper λ's ratio λ / E[kᵀC⁻¹k] against the reference's (GPT-2 XL 20000 / 6400 = 3.125).
//
//   npx tsc -p . && node bench/key-energy.mjs [--layer 0] [--n 100]
// Statistics are cached under MECHEDIT_CACHE (computed on first use).

import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { out, repo } from './lib.mjs';

const { values: opt } = parseArgs({ options: { layer: { type: 'string', default: '0' }, n: { type: 'string', default: '100' }, threads: { type: 'string', default: '1' } } });
const { LoadedModel } = out('core/runtime/model.js');
const { statsFor, keysAtSubject } = out('core/edits/rome.js');
const { solveC } = out('core/edits/stats.js');
const { memitPaperLambda } = out('core/edits/paperPresets.js');

const modelDir = path.join(repo, 'models', 'default');
const world = JSON.parse(fs.readFileSync(path.join(modelDir, 'eval', 'counterfactuals.json'), 'utf8'));
const n = Number(opt.n);
const layer = Number(opt.layer);
const model = LoadedModel.open(modelDir, { provider: 'cpu', threads: Number(opt.threads) });
const stats = await statsFor(model, layer, {});
const d = stats.dim;
let trace = 0;
for (let i = 0; i < d; i++) trace += solveC(stats, Float64Array.from({ length: d }, (_, j) => stats.C[j * d + i]))[i];
const energy = async (reqs) => Promise.all(reqs.map(async (r) => {
  const k = (await keysAtSubject(model, r, layer, ['{}'])).bare;
  return solveC(stats, k).reduce((a, x, i) => a + x * k[i], 0);
}));
const edited = await energy(world.requests.slice(0, n));
const kept = await energy(world.specificity.slice(0, n).map((f) => ({ subject: f.subject, prompt: f.prompt.replace(f.subject, '{}'), target: f.answer })));
const mean = (xs) => xs.reduce((a, x) => a + x, 0) / xs.length;
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const lambda = memitPaperLambda(model.dims);
console.log(`\nkᵀC⁻¹k on models/default, layer ${layer} (d_mlp ${d}, C from ${stats.count} corpus keys); paper λ = ${lambda}\n`);
console.log('| keys | mean kᵀC⁻¹k | median | mean / d_mlp | paper λ / mean (reference 3.125) |');
console.log('|---|---:|---:|---:|---:|');
console.log(`| the corpus keys of C: trace(C⁻¹C) | ${trace.toFixed(1)} | | ${(trace / d).toFixed(3)} | ${(lambda / trace).toFixed(3)} |`);
for (const [name, xs] of [[`${n} edited subjects (bare prompt)`, edited], [`${n} other facts' subjects`, kept]]) {
  console.log(`| ${name} | ${mean(xs).toFixed(1)} | ${median(xs).toFixed(1)} | ${(mean(xs) / d).toFixed(3)} | ${(lambda / mean(xs)).toFixed(3)} |`);
}
await model.release();
