#!/usr/bin/env node
// Does AlphaEdit's null space separate the facts it edits from the facts it must keep, on a model?
// AlphaEdit writes ΔW only through P, the projector onto C's eigenvectors with eigenvalue below
// τ = threshold × C's mean eigenvalue (nullspace.ts), so ΔW k = ΔW P k: a key is written in
// proportion to ‖P k‖ and protected in proportion to how little of it P keeps. Per layer and
// threshold this prints the null space's dimension and the median ‖P k‖ / ‖k‖ of
//   edited  the keys of the first --n world counterfactuals (eval/counterfactuals.json: the
//           subject's last token of the bare prompt, as MEMIT / AlphaEdit key it)
//   kept    the keys of the run's unrelated facts (the same file's `specificity` list)
// A ratio edited / kept near 1 means P protects the kept facts no better than it admits the edits.
//
//   npx tsc -p . && node bench/null-space-keys.mjs [--layers 0,1] [--thresholds 0.01,0.03,0.1,0.3] [--n 100]
// Statistics and projectors are cached under MECHEDIT_CACHE (computed on first use).

import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { out, repo } from './lib.mjs';

const { values: opt } = parseArgs({ options: { layers: { type: 'string', default: '0,1' }, thresholds: { type: 'string', default: '0.01,0.03,0.1,0.3' }, n: { type: 'string', default: '100' }, threads: { type: 'string', default: '0' } } });
const { LoadedModel } = out('core/runtime/model.js');
const { statsFor, keysAtSubject } = out('core/edits/rome.js');
const { nullSpaceFor, applyProjector, relativeTau } = out('core/edits/nullspace.js');

const modelDir = path.join(repo, 'models', 'default');
const world = JSON.parse(fs.readFileSync(path.join(modelDir, 'eval', 'counterfactuals.json'), 'utf8'));
const n = Number(opt.n);
const edited = world.requests.slice(0, n);
const kept = world.specificity.slice(0, n).map((f) => ({ subject: f.subject, prompt: f.prompt.replace(f.subject, '{}'), target: f.answer }));
const model = LoadedModel.open(modelDir, { provider: 'cpu', threads: Number(opt.threads) });
const norm = (v) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

console.log(`\nAlphaEdit's null space on models/default: ${edited.length} edited subjects' keys, ${kept.length} kept facts' keys\n`);
console.log('| layer | threshold (× mean eigenvalue) | null space | ‖Pk‖/‖k‖ edited (median) | ‖Pk‖/‖k‖ kept (median) | edited / kept |');
console.log('|---:|---:|---:|---:|---:|---:|');
for (const layer of opt.layers.split(',').map(Number)) {
  const stats = await statsFor(model, layer, {});
  const keys = async (reqs) => Promise.all(reqs.map(async (r) => (await keysAtSubject(model, r, layer, ['{}'])).bare));
  const [ke, kk] = [await keys(edited), await keys(kept)];
  const mean = relativeTau(stats.C, stats.dim, 1);
  for (const t of opt.thresholds.split(',').map(Number)) {
    const ns = await nullSpaceFor(model, stats, t * mean);
    const share = (ks) => median(ks.map((k) => norm(applyProjector(ns, k)) / norm(k)));
    const [e, k] = [share(ke), share(kk)];
    console.log(`| ${layer} | ${t} | ${Math.round(ns.dimension)} of ${stats.dim} | ${e.toFixed(3)} | ${k.toFixed(3)} | ${(e / k).toFixed(2)} |`);
  }
}
await model.release();
