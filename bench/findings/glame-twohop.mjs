#!/usr/bin/env node
// Finding b (issue 31 item 4): GLAME carries an edit to two-hop questions better than ROME (GLAME
// paper, portability), on composition-only questions: two-hop facts the model was never trained on
// (world.json two_hop_facts[].trained === false), and only those whose path goes through the edited
// fact (birth_country, birth_capital, birth_country_language through birthplace).
//
// Cases: the people whose two-hop facts are all untrained (108 in the bundled world), each with a
// counterfactual birthplace edit to a city in ANOTHER country (so the two-hop answer changes), drawn
// with --seed (default 3102). For each case, the two-hop questions (world.json two_hop_relations
// questions, "Question: …\nAnswer:"; --cloze adds the declarative templates) whose answer through
// the new city differs from the answer through the old one. Per case and method:
//   efficacy       the new city top-1 on the edit prompt (every token teacher-forced);
//   portability    the share of those questions whose answer through o* is top-1 (every token), and
//                  the share where it beats the answer through o (mean log-probability per token);
// and, on the unedited model, the share whose true two-hop answer is top-1 (does the model compose?).
// Rows: per method, 95 % intervals over cases; paired GLAME − ROME (--focus − each other method).
// Ablations are method specs: --variant 'glame-1=glame{"subgraphSize":1}', and any setting the
// registry gives GLAME (feature block, dropout, weight decay) the same way.
//
//   node bench/findings/glame-twohop.mjs [--preset tuned|paper] [--n 60 (all: 108)] [--seed 3102] [--methods rome,glame] [--variant SPEC …] [--focus glame] [--cloze] [--out FILE]

import { bootMean, bootPaired, costEstimate, drawCounterfactuals, findingArgs, loadWorld, report, rng, scorePairs } from '../findings-lib.mjs';
import { core, specsOf } from './edits.mjs';

const DEFAULT_N = 60; // ≈ 8 s per case for 2 methods at the tuned preset: 60 cases ≈ 8 min (all 108: --n 108, ≈ 15 min)
const args = findingArgs(import.meta.filename, { n: DEFAULT_N, seed: 3102 }, {
  methods: { type: 'string', default: 'rome,glame' }, variant: { type: 'string', multiple: true },
  focus: { type: 'string', default: 'glame' }, cloze: { type: 'boolean' },
});
const { values } = args;
const c = core();
const specs = specsOf(values, c);
const model = c.LoadedModel.open(args.modelDir, { provider: 'cpu', threads: Number(values.threads) });
const w = loadWorld(args.modelDir);
const REL = 'birthplace';
const hops = Object.entries(w.world.two_hop_relations).filter(([, h]) => h.path[0] === REL);
const untrained = new Set(w.world.two_hop_facts.filter((t) => t.trained === false).map((t) => `${t.subject}|${t.relation}`));
const onlyUntrained = (s) => hops.every(([r]) => untrained.has(`${s}|${r}`));
/** The object reached from `start` along a path's remaining hops. */
const walk = (start, rest) => rest.reduce((x, r) => (x === undefined ? undefined : w.obj(x, r)), start);
const country = (city) => w.obj(city, 'city_country');
const cases = drawCounterfactuals(w, REL, args.n, rng(args.seed), (s, o) => onlyUntrained(s) && country(o) !== undefined && country(o) !== country(w.obj(s, REL)));
for (const cs of cases) {
  cs.questions = hops.flatMap(([r, h]) => {
    const oldAnswer = walk(cs.old, h.path.slice(1));
    const newAnswer = walk(cs.target, h.path.slice(1));
    if (oldAnswer === undefined || newAnswer === undefined || oldAnswer === newAnswer) return [];
    const prompts = [...h.questions.map((q) => w.question(q, cs.subject)), ...(values.cloze ? h.templates.map((t) => t.replace('{}', cs.subject)) : [])];
    return prompts.map((prompt) => ({ relation: r, prompt, newAnswer, oldAnswer }));
  });
}

const per = Object.fromEntries(specs.map((s) => [s.name, { top: [], portTop: [], portScore: [], seconds: 0 }]));
const composes = [];
const t0 = performance.now();
for (const [i, cs] of cases.entries()) {
  const stack = new c.EditStack(model);
  const q = cs.questions;
  const before = await scorePairs(c.scoreAnswers, model, q.map((x) => ({ prompt: x.prompt, answer: x.oldAnswer })));
  composes.push(before.length ? before.filter((b) => b.top).length / before.length : NaN);
  for (const s of specs) {
    const t = performance.now();
    const edit = await s.compute(model, stack, [{ subject: cs.subject, prompt: cs.prompt, target: cs.target }]);
    per[s.name].seconds += (performance.now() - t) / 1000;
    const withIt = stack.fork();
    withIt.apply(edit);
    const pairs = [{ prompt: cs.prompt.replace('{}', cs.subject), answer: cs.target }, ...q.map((x) => ({ prompt: x.prompt, answer: x.newAnswer })), ...q.map((x) => ({ prompt: x.prompt, answer: x.oldAnswer }))];
    const [eff, ...rest] = await scorePairs(c.scoreAnswers, withIt.model, pairs);
    const nw = rest.slice(0, q.length);
    const old = rest.slice(q.length);
    per[s.name].top.push(eff.top ? 1 : 0);
    per[s.name].portTop.push(q.length ? nw.filter((x) => x.top).length / q.length : NaN);
    per[s.name].portScore.push(q.length ? nw.filter((x, k) => x.lp > old[k].lp).length / q.length : NaN);
  }
  if (i === 0 || i === cases.length - 1) process.stderr.write(`${costEstimate('case (all methods)', (performance.now() - t0) / 1000, i + 1, DEFAULT_N)}\n`);
}

const r = report(`b. GLAME vs ROME: portability on composition-only two-hop ${values.cloze ? 'questions and cloze prompts' : 'questions'} through the edited ${REL}`, args);
const opts = { seed: args.bootSeed };
r.add('unedited model: true two-hop answer top-1 (does it compose?)', bootMean(composes, opts));
for (const s of specs) {
  const x = per[s.name];
  r.add(`${s.name}${s.direct ? ' [direct]' : ''}: efficacy top-1`, bootMean(x.top, opts));
  r.add(`${s.name}: portability top-1`, bootMean(x.portTop, opts));
  r.add(`${s.name}: portability P(through o*) > P(through o)`, bootMean(x.portScore, opts));
}
const focus = specs.find((s) => s.name === values.focus);
for (const s of focus ? specs.filter((x) => x !== focus) : []) {
  r.add(`portability top-1 ${focus.name} − ${s.name} (paired)`, bootPaired(per[focus.name].portTop, per[s.name].portTop, opts), { unit: ' points' });
  r.add(`portability score ${focus.name} − ${s.name} (paired)`, bootPaired(per[focus.name].portScore, per[s.name].portScore, opts), { unit: ' points' });
}
const nq = cases.reduce((a, cs) => a + cs.questions.length, 0);
r.note(`${cases.length} cases, ${nq} questions (${hops.map(([h]) => h).join(', ')}; a question whose two answers coincide is left out).${cases.length < args.n ? ` The world has no more people whose two-hop facts are untrained: n is ${cases.length}.` : ''}`);
r.note(`Seconds per edit: ${specs.map((s) => `${s.name} ${(per[s.name].seconds / Math.max(1, cases.length)).toFixed(1)}`).join(', ')}.`);
r.print();
r.save({ cases, methods: specs.map(({ name, method, settings, direct }) => ({ name, method, settings, direct })), perCase: { ...per, composes } });
await model.release();
