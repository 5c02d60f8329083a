#!/usr/bin/env node
// Finding a (issue 31 item 4): DiKE keeps more of the edited subject's other facts than ROME /
// MEMIT / AlphaEdit at equal efficacy (DiKE paper, FINE-KED R-Loc).
//
// Cases (--cases):
//   fine-ked (default)  a seeded sample of the model's eval/fine_ked.json cases after the first 30
//                       (the first 30 are the ones the registry's measured figures used: 120 left on
//                       the bundled world), each with its same-subject facts graded easy / middle / hard;
//   world               birthplace (--relation) counterfactuals on distinct people, the person's other
//                       relations (first --templates templates each) as the same-subject facts.
// Seed --seed (default 3101). Each method computes each case's edit on the bare model at --preset;
// measured per case:
//   efficacy      the new object top-1 on the edit prompt (every token teacher-forced), and the
//                 CounterFact score P(new) > P(old) (mean log-probability per token, as the reference);
//   R-Loc         of the same-subject facts answered top-1 before the edit, the share still answered
//                 after it (per case, and per level for FINE-KED; a case with none known is dropped).
// Rows: per method efficacy and R-Loc with 95 % bootstrap intervals over cases; per other method the
// paired difference R-Loc(focus) − R-Loc(other) over all cases, and over the cases both landed
// (top-1) — the comparison at equal efficacy.
// Ablations are method specs: --variant 'dike-noloop=dike{"inLoop":false}' (direct DiKE hparams),
// --variant 'dike-krd-all=dike{"krd":"FILE"}' (a KRD trained with the test subjects),
// --variant 'dike-L1=dike{"layer":1,"krd":"FILE"}' (the layer).
//
//   node bench/findings/dike-rloc.mjs [--preset tuned|paper] [--n 36] [--seed 3101] [--methods rome,memit,alphaedit,dike]
//        [--variant SPEC …] [--focus dike] [--cases fine-ked|world] [--relation birthplace] [--templates 3] [--out FILE]

import * as fs from 'node:fs';
import * as path from 'node:path';
import { bootMean, bootPaired, costEstimate, drawCounterfactuals, findingArgs, loadWorld, report, rng, sample, scorePairs } from '../findings-lib.mjs';
import { core, specsOf } from './edits.mjs';

const DEFAULT_N = 36; // ≈ 13 s per case for 4 methods at the tuned preset (2 shared cores): 36 cases ≈ 8 min
const args = findingArgs(import.meta.filename, { n: DEFAULT_N, seed: 3101 }, {
  methods: { type: 'string', default: 'rome,memit,alphaedit,dike' }, variant: { type: 'string', multiple: true },
  focus: { type: 'string', default: 'dike' }, cases: { type: 'string', default: 'fine-ked' }, relation: { type: 'string', default: 'birthplace' }, templates: { type: 'string', default: '3' },
});
const { values } = args;
const c = core();
const specs = specsOf(values, c);
const model = c.LoadedModel.open(args.modelDir, { provider: 'cpu', threads: Number(values.threads) });
const w = loadWorld(args.modelDir);
const rel = values.relation;
const others = ['birthplace', 'citizenship', 'native_language', 'occupation', 'employer'].filter((r) => r !== rel);
const TUNED_ON = 30; // fine_ked.json's first cases: the registry's measured figures (`bench/fine-ked.mjs --limit 30`)
/** {subject, prompt, target, old, pairs: [{prompt, answer, level}]} per case. */
function drawCases() {
  if (values.cases === 'world') {
    return drawCounterfactuals(w, rel, args.n, rng(args.seed)).map((cs) => ({
      ...cs, pairs: others.flatMap((r) => w.world.relations[r].templates.slice(0, Number(values.templates)).map((t) => ({ prompt: t.replace('{}', cs.subject), answer: w.obj(cs.subject, r), level: 'all' }))),
    }));
  }
  if (values.cases !== 'fine-ked') throw new Error(`--cases must be fine-ked or world, got ${values.cases}`);
  const data = JSON.parse(fs.readFileSync(path.join(args.modelDir, 'eval', 'fine_ked.json'), 'utf8')).slice(TUNED_ON);
  return sample(data, args.n, rng(args.seed)).map((x) => {
    const q = x.requested_rewrite;
    return { id: x.case_id, subject: q.subject, prompt: q.prompt, target: q.target_new.str, old: q.target_true.str, pairs: x.fine_grained.map((f) => ({ prompt: f.prompt, answer: f.answer, level: f.level })) };
  });
}
const cases = drawCases();
const levels = [...new Set(cases.flatMap((cs) => cs.pairs.map((p) => p.level)))].filter((l) => l !== 'all').sort();
const per = Object.fromEntries(specs.map((s) => [s.name, { top: [], score: [], rloc: [], ...Object.fromEntries(levels.map((l) => [`rloc-${l}`, []])), seconds: 0 }]));
const t0 = performance.now();
for (const [i, cs] of cases.entries()) {
  const stack = new c.EditStack(model);
  const pairs = cs.pairs.map(({ prompt, answer }) => ({ prompt, answer }));
  const before = await scorePairs(c.scoreAnswers, model, pairs);
  const edited = { prompt: cs.prompt.replace('{}', cs.subject), answer: cs.target };
  for (const s of specs) {
    const t = performance.now();
    const edit = await s.compute(model, stack, [{ subject: cs.subject, prompt: cs.prompt, target: cs.target }]);
    per[s.name].seconds += (performance.now() - t) / 1000;
    const withIt = stack.fork();
    withIt.apply(edit);
    const [eNew, eOld, ...after] = await scorePairs(c.scoreAnswers, withIt.model, [edited, { ...edited, answer: cs.old }, ...pairs]);
    per[s.name].top.push(eNew.top ? 1 : 0);
    per[s.name].score.push(eNew.lp > eOld.lp ? 1 : 0);
    const kept = (level) => {
      const known = before.map((b, k) => (b.top && (level === undefined || cs.pairs[k].level === level) ? after[k].top : undefined)).filter((x) => x !== undefined);
      return known.length ? known.filter(Boolean).length / known.length : NaN;
    };
    per[s.name].rloc.push(kept());
    for (const l of levels) per[s.name][`rloc-${l}`].push(kept(l));
  }
  if (i === 0 || i === cases.length - 1) process.stderr.write(`${costEstimate('case (all methods)', (performance.now() - t0) / 1000, i + 1, DEFAULT_N)}\n`);
}

const what = values.cases === 'world' ? `${rel} edits, ${others.length} other relations × ${values.templates} templates` : `FINE-KED cases ${TUNED_ON + 1}… of eval/fine_ked.json, levels ${levels.join(' / ')}`;
const r = report(`a. DiKE vs ROME / MEMIT / AlphaEdit: same-subject R-Loc (${what})`, args);
const opts = { seed: args.bootSeed };
for (const s of specs) {
  const x = per[s.name];
  const tag = s.direct ? ' [direct computeDike]' : '';
  r.add(`${s.name}${tag}: efficacy top-1`, bootMean(x.top, opts));
  r.add(`${s.name}: efficacy score P(new) > P(old)`, bootMean(x.score, opts));
  r.add(`${s.name}: R-Loc`, bootMean(x.rloc, opts));
  for (const l of levels) r.add(`${s.name}: R-Loc ${l}`, bootMean(x[`rloc-${l}`], opts));
}
const focus = specs.find((s) => s.name === values.focus);
if (focus) {
  for (const s of specs.filter((x) => x !== focus)) {
    const a = per[focus.name].rloc;
    const b = per[s.name].rloc;
    r.add(`R-Loc ${focus.name} − ${s.name} (paired, all cases)`, bootPaired(a, b, opts), { unit: ' points' });
    const both = a.map((_, k) => per[focus.name].top[k] && per[s.name].top[k]);
    r.add(`R-Loc ${focus.name} − ${s.name} (paired, cases both landed)`, bootPaired(a.filter((_, k) => both[k]), b.filter((_, k) => both[k]), opts), { unit: ' points' });
  }
} else r.note(`(no method named ${values.focus}: no paired rows)`);
if (cases.length < args.n) r.note(`Only ${cases.length} cases are there to draw from: n is ${cases.length}.`);
r.note(`Seconds per edit: ${specs.map((s) => `${s.name} ${(per[s.name].seconds / cases.length).toFixed(1)}`).join(', ')}. Model ${path.basename(args.modelDir)}.`);
r.print();
r.save({ cases, methods: specs.map(({ name, method, settings, direct }) => ({ name, method, settings, direct })), perCase: per });
await model.release();
