// Unlearning findings d and e (issue 31 item 4) on forget sets drawn from the world, through the
// core unlearning job (jobs/unlearnJob.ts runUnlearnJob) at --preset.
//
// A forget set: --people random people (seeded; none of the hazards' or the tuning's material),
// the first training question of each of their --relations facts ("Question: …\nAnswer:", form
// qa). Retain: 200 question-form facts of other people (seeded; none of the people the unrelated
// facts measure), as the measurement; unrelated: the model's eval/unlearn/unrelated.jsonl
// without the set's people. After training,
// on the model with the edit (teacher-forced top-1, every answer token):
//   forget        the trained questions (the job's forgetTop1) and whether training reached the
//                 stop criterion (stoppedBy 'early-stop') within the step limit;
//   other prompts the same facts' other training question, held-out question and held-out
//                 declarative template ("other forms");
//   related       two-hop questions through a forgotten fact (world.json two_hop_relations whose
//                 path starts with a forgotten relation; the training ones), and the same people's
//                 facts of relations not in the set (questions);
//   kept          the job's retain top-1 and unrelated facts (after / before).
// Every figure is per set; intervals are over sets.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { rng, sample, scorePairs } from '../findings-lib.mjs';

export const PERSON_RELATIONS = ['birthplace', 'citizenship', 'native_language', 'occupation', 'employer'];

const jsonl = (file, rows) => fs.writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');

/** Draws set k (seed + k) and writes its forget / retain / unrelated files under dir; the probes measured after training. */
export function drawSet(w, modelDir, { seed, k, people, relations, dir }) {
  const rand = rng(seed * 1000 + k);
  const everyone = [...new Set(w.world.facts.filter((f) => f.relation === 'birthplace').map((f) => f.subject))];
  const chosen = sample(everyone, people, rand);
  const inSet = new Set(chosen);
  const q = (s, r, form, split) => w.prompts.filter((p) => p.subject === s && p.relation === r && p.form === form && p.split === split);
  const facts = chosen.flatMap((s) => relations.filter((r) => w.obj(s, r) !== undefined).map((r) => ({ s, r })));
  const forget = facts.map(({ s, r }) => ({ ...q(s, r, 'question', 'train')[0], form: 'qa' }));
  const unrelatedAll = fs.readFileSync(path.join(modelDir, 'eval', 'unlearn', 'unrelated.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const unrelated = unrelatedAll.filter((u) => !inSet.has(u.subject));
  // Retain: other people, none of whom the unrelated facts measure (training on them would flatter "unrelated").
  const measured = new Set(unrelatedAll.map((u) => u.subject));
  const others = everyone.filter((s) => !inSet.has(s) && !measured.has(s));
  const retainFacts = sample(others.flatMap((s) => PERSON_RELATIONS.map((r) => ({ s, r }))), 200, rand);
  const retain = retainFacts.map(({ s, r }) => ({ ...q(s, r, 'question', 'train')[0], form: 'qa' })).filter((x) => x.prompt);
  fs.mkdirSync(dir, { recursive: true });
  const files = { forget: path.join(dir, 'forget.jsonl'), retain: path.join(dir, 'retain.jsonl'), unrelated: path.join(dir, 'unrelated.jsonl') };
  jsonl(files.forget, forget);
  jsonl(files.retain, retain);
  jsonl(files.unrelated, unrelated);
  const pair = (p) => ({ prompt: p.prompt, answer: p.answer });
  const hops = Object.entries(w.world.two_hop_relations).filter(([, h]) => relations.includes(h.path[0]));
  const probes = {
    otherQuestion: facts.flatMap(({ s, r }) => q(s, r, 'question', 'train').slice(1).map(pair)),
    heldoutQuestion: facts.flatMap(({ s, r }) => q(s, r, 'question', 'heldout').map(pair)),
    heldoutDeclarative: facts.flatMap(({ s, r }) => q(s, r, 'declarative', 'heldout').map(pair)),
    twoHop: chosen.flatMap((s) => hops.flatMap(([r]) => q(s, r, 'two_hop_question', 'train').concat(q(s, r, 'two_hop_question', 'heldout')).map(pair))),
    otherRelations: chosen.flatMap((s) => PERSON_RELATIONS.filter((r) => !relations.includes(r) && w.obj(s, r) !== undefined).map((r) => pair(q(s, r, 'question', 'train')[0]))),
  };
  return { people: chosen, files, forget: forget.length, retain: retain.length, unrelated: unrelated.length, probes };
}

/** Top-1 share of each probe group on a model: {group: fraction (NaN when empty)}. */
export async function probeShares(scoreAnswers, model, probes) {
  const out = {};
  for (const [g, pairs] of Object.entries(probes)) {
    const s = await scorePairs(scoreAnswers, model, pairs);
    out[g] = s.length ? s.filter((x) => x.top).length / s.length : NaN;
  }
  return out;
}

/** The core job and the model, from out/. */
export function unlearnCore(c) {
  return { runUnlearnJob: c.out('core/jobs/unlearnJob.js').runUnlearnJob };
}

/** A scratch folder for the sets' files. */
export const scratch = () => fs.mkdtempSync(path.join(os.tmpdir(), 'findings-unlearn-'));

/** An edit with its LoRA factors' U scaled by s (UIPE's θ₀ + s(θ_u − θ₀) for s = 1 + α; ΔW is linear in U). */
export function scaled(edit, s) {
  return { ...edit, json: { ...edit.json }, tensors: edit.tensors.map((t) => ({ U: t.U.map((x) => x * s), V: t.V })) };
}
