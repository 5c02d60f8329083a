#!/usr/bin/env node
// Finding e (issue 31 item 4): UIPE (θ₀ + (1 + α)(θ_u − θ₀)) removes knowledge *related* to the
// forget set that plain unlearning (α = 0) leaves. Forget sets: n random sets (seeds 3105 × 1000 + k)
// of --people 5 people's --relations birthplace facts, first training question each (unlearn-common.mjs).
// One training per set and objective through the core job at --preset (α does not enter training:
// unlearn.ts trains and stops at strength 1 and writes U × (1 + α)), then each α of --alphas measured
// on the edit with U × (1 + α) (--uipe-mode job instead runs the job once per α, 5× the time):
//   forget          the trained questions (top-1, every answer token teacher-forced);
//   related         two-hop questions through the forgotten fact; the same facts' held-out question
//                   and held-out declarative (other forms);
//   collateral      the same people's other relations; unrelated facts.
// Rows: per α, each with a 95 % interval over sets; per α > 0 the paired difference from α = 0.
// "At equal forget quality": the forget row of each α is printed beside the related rows; plain
// unlearning trained to the same forget top-1 is not run here (see docs/results/findings.md).
//
//   node bench/findings/uipe.mjs [--preset tuned|paper] [--n 10] [--seed 3105] [--methods graddiff] [--alphas 0,1,2,3,4]
//        [--people 5] [--relations birthplace] [--uipe-mode scale|job] [--set JSON] [--out FILE]

import * as fs from 'node:fs';
import { bootMean, bootPaired, costEstimate, findingArgs, loadWorld, report } from '../findings-lib.mjs';
import { checkPreset, core } from './edits.mjs';
import { drawSet, probeShares, scaled, scratch, unlearnCore } from './unlearn-common.mjs';

const DEFAULT_N = 10;
const args = findingArgs(import.meta.filename, { n: DEFAULT_N, seed: 3105 }, {
  methods: { type: 'string', default: 'graddiff' }, alphas: { type: 'string', default: '0,1,2,3,4' }, people: { type: 'string', default: '5' },
  relations: { type: 'string', default: 'birthplace' }, 'uipe-mode': { type: 'string', default: 'scale' }, set: { type: 'string', default: '{}' },
});
const { values } = args;
if (!['scale', 'job'].includes(values['uipe-mode'])) throw new Error(`--uipe-mode must be scale or job, got ${values['uipe-mode']}`);
const c = core();
const { runUnlearnJob } = unlearnCore(c);
const model = c.LoadedModel.open(args.modelDir, { provider: 'cpu', threads: Number(values.threads) });
const w = loadWorld(args.modelDir);
const methods = values.methods.split(',').filter(Boolean);
for (const m of methods) checkPreset(c, m, args.preset, 'objective');
const alphas = values.alphas.split(',').map(Number);
const extra = JSON.parse(values.set);
const dir = scratch();
const GROUPS = ['forget', 'twoHop', 'heldoutQuestion', 'heldoutDeclarative', 'otherRelations', 'unrelated'];
const per = Object.fromEntries(methods.flatMap((m) => alphas.map((a) => [`${m}|${a}`, Object.fromEntries([...GROUPS, 'stopped'].map((g) => [g, []]))])));
const t0 = performance.now();
for (let k = 0; k < args.n; k++) {
  const set = drawSet(w, args.modelDir, { seed: args.seed, k, people: Number(values.people), relations: values.relations.split(','), dir: `${dir}/set-${k}` });
  const read = (f) => fs.readFileSync(f, 'utf8').trim().split('\n').map((l) => JSON.parse(l)).map(({ prompt, answer }) => ({ prompt, answer }));
  const probes = { forget: read(set.files.forget), ...set.probes, unrelated: read(set.files.unrelated) };
  for (const m of methods) {
    const run = (uipe) => runUnlearnJob(new c.EditStack(model), { method: m, preset: args.preset, settings: { ...extra, ...set.files, uipe } });
    const plain = values['uipe-mode'] === 'scale' ? await run(0) : undefined;
    for (const a of alphas) {
      const job = plain ?? (await run(a));
      const edit = plain ? scaled(plain.trained.edit, 1 + a) : job.trained.edit;
      const withIt = new c.EditStack(model).fork();
      withIt.apply(edit);
      const shares = await probeShares(c.scoreAnswers, withIt.model, probes);
      const x = per[`${m}|${a}`];
      for (const g of GROUPS) x[g].push(shares[g]);
      x.stopped.push(job.trained.stoppedBy === 'early-stop' ? 1 : 0);
    }
  }
  process.stderr.write(`set ${k + 1}/${args.n}; ${costEstimate('set', (performance.now() - t0) / 1000, k + 1, DEFAULT_N)}\n`);
}

const r = report(`e. UIPE: related-knowledge forgetting at α = ${alphas.join(', ')} (${values.people} people × ${values.relations}, question form)`, args);
const opts = { seed: args.bootSeed };
const LABEL = { forget: 'forget (trained questions)', twoHop: 'related: two-hop through the forgotten fact', heldoutQuestion: 'related: held-out question', heldoutDeclarative: 'related: held-out declarative', otherRelations: 'collateral: same people, other relations', unrelated: 'collateral: unrelated facts' };
for (const m of methods) {
  for (const a of alphas) for (const g of GROUPS) r.add(`${m} α=${a}: ${LABEL[g]} top-1`, bootMean(per[`${m}|${a}`][g], opts));
  for (const a of alphas.filter((x) => x !== 0 && alphas.includes(0))) {
    for (const g of ['forget', 'twoHop', 'heldoutDeclarative', 'otherRelations', 'unrelated']) r.add(`${m} α=${a} − α=0: ${LABEL[g]} (paired)`, bootPaired(per[`${m}|${a}`][g], per[`${m}|0`][g], opts), { unit: ' points' });
  }
  r.add(`${m}: sets reaching the stop criterion`, bootMean(per[`${m}|${alphas[0]}`].stopped, opts));
}
r.note(`UIPE mode ${values['uipe-mode']}${values['uipe-mode'] === 'scale' ? ' (one training per set; α applied as U × (1 + α), as unlearn.ts writes it)' : ''}. Settings given: ${values.set}. Set files under ${dir}.`);
r.print();
r.save({ methods, alphas, perSet: per });
await model.release();
