// What the benchmark scripts share: the repository root, and a loader for MechEdit's compiled core
// in out/ (run `npx tsc -p .` first).
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as path from 'node:path';

const require = createRequire(import.meta.url);
export const repo = path.resolve(import.meta.dirname, '..');
/** A module of out/src, e.g. out('core/runtime/model.js'). */
export const out = (p) => require(path.join(repo, 'out', 'src', p));
/** The same from another compiled tree (a script's --out-dir: a snapshot while others recompile out/). */
export function outOf(dir) {
  return (p) => {
    const file = path.join(dir, 'src', p);
    if (!fs.existsSync(file)) throw new Error(`${file} is missing: run \`npx tsc -p .\` first (or give --out-dir)`);
    return require(file);
  };
}

/**
 * Seeded counterfactual requests from a model's facts.jsonl records (the bundled world): a training
 * declarative template of a (subject, relation), and another entity's answer to that relation, with
 * the fact's held-out declarative and question templates. `distinct`: 'pair' (one request per subject
 * and relation) or 'subject' (one per subject). `pick` is the caller's seeded picker (seededPicker),
 * so that later draws (neighbour facts) continue the same sequence.
 */
export function counterfactualCases(facts, n, pick, distinct = 'pair') {
  const declarative = facts.filter((f) => f.form === 'declarative' && f.split === 'train' && f.prompt.includes(f.subject));
  const answersOf = new Map();
  for (const f of declarative) answersOf.set(f.relation, [...new Set([...(answersOf.get(f.relation) ?? []), f.answer])]);
  const cases = [];
  const seen = new Set();
  while (cases.length < n) {
    const f = pick(declarative);
    const key = distinct === 'subject' ? f.subject : `${f.subject}|${f.relation}`;
    if (seen.has(key)) continue;
    seen.add(key);
    let target;
    do target = pick(answersOf.get(f.relation)); while (target === f.answer);
    const heldout = facts.filter((x) => x.subject === f.subject && x.relation === f.relation && x.split === 'heldout' && (x.form === 'declarative' || x.form === 'question'));
    cases.push({ fact: f, request: { subject: f.subject, prompt: f.prompt.replace(f.subject, '{}'), target }, heldout });
  }
  return { cases, declarative };
}

/** The benches' seeded picker (a linear congruential generator; the sequence fact-edits.mjs has always used). */
export function seededPicker(seed) {
  let s = seed;
  const rand = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  return (xs) => xs[Math.floor(rand() * xs.length)];
}
