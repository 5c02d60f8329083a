#!/usr/bin/env node
// Finding d (issue 31 item 4): unlearning forgets a forget set it was not tuned on (< 10 % top-1
// on the trained questions) while unrelated facts stay (≥ 95 %) — GradDiff and NPO with retain
// data, GA without (open-unlearning's objectives). The tuned defaults were chosen on the two
// shipped hazards; here the sets are n random pairs of people (--people 2) with their question-form
// facts (10 questions), seeds 3104 × 1000 + k (k = 0 … n−1). See unlearn-common.mjs for what is drawn
// and measured. Rows per objective: forget top-1 (trained questions), the share of sets that reach
// the stop criterion within the step limit, the same facts in other prompts, retain and unrelated
// facts after (and before), each with a 95 % bootstrap interval over sets.
//
//   node bench/findings/unlearn-sets.mjs [--preset tuned|paper] [--n 10] [--seed 3104] [--methods graddiff,npo,ga]
//        [--people 2] [--relations birthplace,citizenship,native_language,occupation,employer] [--set JSON] [--out FILE]

import { bootMean, costEstimate, findingArgs, loadWorld, report } from '../findings-lib.mjs';
import { checkPreset, core } from './edits.mjs';
import { drawSet, PERSON_RELATIONS, probeShares, scratch, unlearnCore } from './unlearn-common.mjs';

const DEFAULT_N = 10;
const args = findingArgs(import.meta.filename, { n: DEFAULT_N, seed: 3104 }, {
  methods: { type: 'string', default: 'graddiff,npo,ga' }, people: { type: 'string', default: '2' },
  relations: { type: 'string', default: PERSON_RELATIONS.join(',') }, set: { type: 'string', default: '{}' },
});
const { values } = args;
const c = core();
const { runUnlearnJob } = unlearnCore(c);
const model = c.LoadedModel.open(args.modelDir, { provider: 'cpu', threads: Number(values.threads) });
const w = loadWorld(args.modelDir);
const methods = values.methods.split(',').filter(Boolean);
for (const m of methods) checkPreset(c, m, args.preset, 'objective');
const relations = values.relations.split(',');
const extra = JSON.parse(values.set);
const dir = scratch();
const per = Object.fromEntries(methods.map((m) => [m, { forget: [], stopped: [], steps: [], retain: [], unrelated: [], unrelatedBefore: [], otherQuestion: [], heldoutQuestion: [], heldoutDeclarative: [], twoHop: [], otherRelations: [], seconds: 0 }]));
const sets = [];
const t0 = performance.now();
for (let k = 0; k < args.n; k++) {
  const set = drawSet(w, args.modelDir, { seed: args.seed, k, people: Number(values.people), relations, dir: `${dir}/set-${k}` });
  sets.push({ k, people: set.people, forget: set.forget, retain: set.retain, unrelated: set.unrelated });
  for (const m of methods) {
    const t = performance.now();
    const job = await runUnlearnJob(new c.EditStack(model), { method: m, preset: args.preset, settings: { ...extra, ...set.files } });
    const x = per[m];
    x.seconds += (performance.now() - t) / 1000;
    x.forget.push(job.figures.forgetTop1[1]);
    x.stopped.push(job.trained.stoppedBy === 'early-stop' ? 1 : 0);
    x.steps.push(job.trained.curve.length);
    x.retain.push(job.figures.retainTop1[1]);
    x.unrelated.push(job.figures.unrelatedTop1[1]);
    x.unrelatedBefore.push(job.figures.unrelatedTop1[0]);
    const withIt = new c.EditStack(model).fork();
    withIt.apply(job.trained.edit);
    const shares = await probeShares(c.scoreAnswers, withIt.model, set.probes);
    for (const g of Object.keys(set.probes)) x[g].push(shares[g]);
  }
  process.stderr.write(`set ${k + 1}/${args.n}; ${costEstimate('set (all objectives)', (performance.now() - t0) / 1000, k + 1, DEFAULT_N)}\n`);
}

const r = report(`d. Unlearning on forget sets it was not tuned on (${values.people} people × ${relations.length} relations, question form)`, args);
const opts = { seed: args.bootSeed };
for (const m of methods) {
  const x = per[m];
  r.add(`${m}: forget top-1 after (trained questions)`, bootMean(x.forget, opts));
  r.add(`${m}: sets reaching the stop criterion within the step limit`, bootMean(x.stopped, opts));
  r.add(`${m}: same facts, other training question`, bootMean(x.otherQuestion, opts));
  r.add(`${m}: same facts, held-out question`, bootMean(x.heldoutQuestion, opts));
  r.add(`${m}: same facts, held-out declarative`, bootMean(x.heldoutDeclarative, opts));
  r.add(`${m}: retain top-1 after`, bootMean(x.retain, opts));
  r.add(`${m}: unrelated facts after`, bootMean(x.unrelated, opts), { extra: `before ${(100 * x.unrelatedBefore.reduce((a, b) => a + b, 0) / x.unrelatedBefore.length).toFixed(1)} %` });
}
r.note(`Steps run (mean): ${methods.map((m) => `${m} ${(per[m].steps.reduce((a, b) => a + b, 0) / per[m].steps.length).toFixed(0)}`).join(', ')}; seconds per set: ${methods.map((m) => `${m} ${(per[m].seconds / args.n).toFixed(1)}`).join(', ')}. Settings given: ${values.set}. Set files under ${dir}.`);
r.print();
r.save({ methods, relations, sets, perSet: per });
await model.release();
