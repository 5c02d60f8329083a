// DiKE's layer rule on the bundled model ("DiKE at the layer where replacing h_s moves recall
// most", issue 31): for each layer l, n world facts (one person, one relation, the relation's first
// template) are asked with the subject's last-token residual after block l (h_s, resid_post)
// replaced by (a) another person's h_s in the same template (seeded pick) and (b) the mean h_s of
// the n facts' subjects in that template; the table gives the mean P(correct first token) clean and
// replaced, and the drop. The layer with the largest drop is where h_s carries the fact.
//
//   node bench/dike-layer.mjs [--n 36] [--seed 5] [--relations birthplace,citizenship,occupation]
import { parseArgs } from 'node:util';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repo, out } from './lib.mjs';

const { values } = parseArgs({ options: {
  n: { type: 'string', default: '36' }, seed: { type: 'string', default: '5' }, relations: { type: 'string', default: 'birthplace,citizenship,occupation' },
} });
const { LoadedModel } = out('core/runtime/model.js');
const { withSubject, targetIds } = out('core/edits/rome.js');
const { replacedResidualLoss } = out('core/edits/vstar.js');
const { tapName } = out('core/graph/taps.js');
const { mulberry32 } = out('core/runtime/run.js');

const dir = path.join(repo, 'models', 'default');
const model = LoadedModel.open(dir, { provider: 'cpu', threads: 1 });
const world = JSON.parse(fs.readFileSync(path.join(dir, 'world.json'), 'utf8'));
const d = model.dims.dModel;
const rand = mulberry32(Number(values.seed));
const rels = values.relations.split(',');
const n = Number(values.n);
const facts = [];
const pool = world.facts.filter((f) => rels.includes(f.relation));
while (facts.length < n) {
  const f = pool[Math.floor(rand() * pool.length)];
  if (!facts.includes(f)) facts.push(f);
}
// Each fact's donor: another person with the same relation (their own h_s in the same template).
const donors = facts.map((f) => {
  const same = pool.filter((g) => g.relation === f.relation && g.subject !== f.subject);
  return same[Math.floor(rand() * same.length)].subject;
});

/** h_s after block `layer` of `subject` in `template`. */
async function hS(layer, template, subject) {
  const { ids, lookup } = withSubject(model, template, subject);
  const tap = tapName(layer, 'resid_post');
  const data = (await model.run({ taps: [tap], layers: layer + 1 }, model.makeBatch([ids])))[tap].data;
  return Float64Array.from(data.subarray(lookup * d, (lookup + 1) * d));
}

/** P(first token of the object) with h_s replaced by `vector` (none: clean). */
async function prob(layer, f, vector) {
  const template = world.relations[f.relation].templates[0];
  const { ids, lookup } = withSubject(model, template, f.subject);
  const target = targetIds(model, f.object)[0];
  const reps = vector ? [{ row: 0, pos: lookup, vector }] : [];
  const r = await replacedResidualLoss(model, layer, [ids], reps, [{ row: 0, pos: ids.length - 1, target, weight: 1 }]);
  return Math.exp(r.logprobs[0]);
}

const mean = (xs) => xs.reduce((s, x) => s + x, 0) / xs.length;
console.log(`${n} world facts (${rels.join(', ')}; seed ${values.seed}), P(correct first token) with h_s after block l replaced`);
console.log('| layer | clean | another person\'s h_s | drop | mean h_s | drop |');
console.log('|---|---|---|---|---|---|');
const rows = [];
for (let layer = 0; layer < model.dims.layers; layer++) {
  const clean = [];
  const other = [];
  const avg = [];
  const means = new Map();
  for (const rel of rels) {
    const tpl = world.relations[rel].templates[0];
    const hs = await Promise.all(facts.filter((f) => f.relation === rel).map((f) => hS(layer, tpl, f.subject)));
    if (hs.length) means.set(rel, Float64Array.from({ length: d }, (_, j) => mean(hs.map((h) => h[j]))));
  }
  for (const [i, f] of facts.entries()) {
    const tpl = world.relations[f.relation].templates[0];
    clean.push(await prob(layer, f));
    other.push(await prob(layer, f, await hS(layer, tpl, donors[i])));
    avg.push(await prob(layer, f, means.get(f.relation)));
  }
  const [c, o, a] = [mean(clean), mean(other), mean(avg)];
  rows.push({ layer, drop: c - o });
  console.log(`| ${layer} | ${c.toFixed(3)} | ${o.toFixed(3)} | ${(c - o).toFixed(3)} | ${a.toFixed(3)} | ${(c - a).toFixed(3)} |`);
}
const best = rows.reduce((b, r) => (r.drop > b.drop ? r : b));
console.log(`largest drop (another person's h_s): layer ${best.layer}`);
