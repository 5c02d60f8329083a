#!/usr/bin/env node
// Known vs unknown subjects on the bundled model: the P of the model's own answer that the
// pre-compute subject check (src/core/edits/subjectCheck.ts) reads, for
//   known      a seeded draw of facts of models/default's world, on their training declarative prompts
//   heldout    the same facts on a held-out declarative template (never seen in training)
//   swapped    the same prompts with a made-up person: the first name of one world person and the
//              last name of another (never a world person): known tokens, an unknown combination
//   scrambled  the same prompts with each word of the subject's name letter-shuffled (seeded)
//   real       the same prompts with real-world names the bundled world does not have
// Prints, per group, quantiles of the answer's length-normalised P (and of its first token's P),
// and for candidate floors the share of known subjects above and of unknown ones below; with
// --trace, also how many of each group get an informative causal trace (traceInformative, on the
// model's own top-1: clean P ≥ 0.1 and a drop ≥ 0.05 when the subject is corrupted) and the
// quantiles of that drop.
//
//   node bench/unknown-subject.mjs [--seed 1] [--n 40] [--trace] [--model DIR]
// Needs `npx tsc -p .` (reads out/).

import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { counterfactualCases, out, repo as root, seededPicker } from './lib.mjs';

const { values } = parseArgs({ options: { seed: { type: 'string', default: '1' }, n: { type: 'string', default: '40' }, trace: { type: 'boolean' }, model: { type: 'string' } } });
const { LoadedModel } = out('core/runtime/model.js');
const { subjectCheck, SUBJECT_KNOWN_FLOOR } = out('core/edits/subjectCheck.js');
const { causalTrace } = out('core/analysis/causalTrace.js');
const modelDir = values.model ?? path.join(root, 'models', 'default');
const model = LoadedModel.open(modelDir, { provider: 'cpu' });
const world = JSON.parse(fs.readFileSync(path.join(modelDir, 'world.json'), 'utf8'));
const facts = fs.readFileSync(path.join(modelDir, 'facts.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const pick = seededPicker(Number(values.seed));
const people = new Set(world.entities.people);
const { cases } = counterfactualCases(facts.filter((f) => people.has(f.subject)), Number(values.n), pick);
const REAL = ['Ada Lovelace', 'Marie Curie', 'Alan Turing', 'Nobody Here', 'Grace Hopper', 'Isaac Newton', 'Jane Austen', 'John Smith'];
const peopleList = world.entities.people;

function swapped() {
  for (;;) {
    const name = `${pick(peopleList).split(' ')[0]} ${pick(peopleList).split(' ').at(-1)}`;
    if (!people.has(name)) return name;
  }
}
function scrambled(name) {
  return name.split(' ').map((w) => {
    const cs = [...w.toLowerCase()];
    for (let i = cs.length - 1; i > 0; i--) {
      const j = Math.floor(pick(Array.from({ length: i + 1 }, (_, k) => k)));
      [cs[i], cs[j]] = [cs[j], cs[i]];
    }
    return cs[0].toUpperCase() + cs.slice(1).join('');
  }).join(' ');
}

const groups = { known: [], heldout: [], swapped: [], scrambled: [], real: [] };
async function check(group, prompt, subject) {
  const r = await subjectCheck(model, prompt, subject);
  if (values.trace) {
    // The causal trace's clean and corrupted runs only (its informativeness check), on the model's own top-1.
    const t = await causalTrace(model, { prompt: prompt.replace('{}', subject), subject, restorations: false });
    r.informative = t.informative;
    r.drop = t.cleanProb - t.corruptedProb;
  }
  groups[group].push(r);
}
for (const [i, c] of cases.entries()) {
  const { prompt, subject } = c.request;
  await check('known', prompt, subject);
  const held = c.heldout.find((h) => h.form === 'declarative' && h.prompt.includes(subject));
  if (held) await check('heldout', held.prompt.replace(subject, '{}'), subject);
  await check('swapped', prompt, swapped());
  await check('scrambled', prompt, scrambled(subject));
  await check('real', prompt, REAL[i % REAL.length]);
  process.stderr.write(`${i + 1}/${cases.length}\n`);
}

const q = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
};
const f = (x) => x.toFixed(4);
console.log(`Seed ${values.seed}: ${cases.length} facts of people in models/default's world; each prompt also with a made-up subject of each kind.\n`);
console.log('| subjects | n | P(answer): min | 5 % | median | 95 % | max | P(first token): median |');
console.log('|---|---|---|---|---|---|---|---|');
for (const [g, rows] of Object.entries(groups)) {
  const p = rows.map((r) => r.prob);
  console.log(`| ${g} | ${rows.length} | ${f(Math.min(...p))} | ${f(q(p, 0.05))} | ${f(q(p, 0.5))} | ${f(q(p, 0.95))} | ${f(Math.max(...p))} | ${f(q(rows.map((r) => r.firstProb), 0.5))} |`);
}
if (values.trace) {
  console.log('\n| subjects | informative trace | drop of P(top-1) when the subject is corrupted: 5 % | median | 95 % |');
  console.log('|---|---|---|---|---|');
  for (const [g, rows] of Object.entries(groups)) {
    const d = rows.map((r) => r.drop);
    console.log(`| ${g} | ${rows.filter((r) => r.informative).length}/${rows.length} | ${f(q(d, 0.05))} | ${f(q(d, 0.5))} | ${f(q(d, 0.95))} |`);
  }
}
console.log('\n| floor | known at or above | held-out prompts at or above | swapped below | scrambled below | real below |');
console.log('|---|---|---|---|---|---|');
for (const floor of [0.5, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995]) {
  const share = (rows, above) => `${rows.filter((r) => (above ? r.prob >= floor : r.prob < floor)).length}/${rows.length}`;
  console.log(`| ${floor}${floor === SUBJECT_KNOWN_FLOOR ? ' (SUBJECT_KNOWN_FLOOR)' : ''} | ${share(groups.known, true)} | ${share(groups.heldout, true)} | ${share(groups.swapped, false)} | ${share(groups.scrambled, false)} | ${share(groups.real, false)} |`);
}
console.log('\nExamples (first 3 of each):');
for (const [g, rows] of Object.entries(groups)) for (const r of rows.slice(0, 3)) console.log(`- ${g}: ${JSON.stringify(r.prompt)} → ${JSON.stringify(r.answer)} P ${f(r.prob)}`);
