// ROCR on the default model (issue 5's acceptance): redirect each hazard concept of the fact world
// to its harmless concept, and measure, through MechEdit's runtime, top-1 of the first answer token
//   - on the hazard's own probes, per form (declarative, cloze, question, multiple choice, true/false):
//     the share no longer answered as before ("forgotten");
//   - on facts about unrelated entities (sampled from facts.jsonl): accuracy after / before;
//   - after reverting: whether the logits are bit-identical to the unedited model's.
// Prints markdown tables. Not a test.
//
// Usage: npx tsc -p . && node bench/rocr-acceptance.mjs [--model models/default] [--layers 0,1] [--lambda X] [--positions last|all] [--templates JSON] [--n 400]
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { out, repo } from './lib.mjs';

const { LoadedModel } = out('core/runtime/model.js');
const { EditStack } = out('core/edits/stack.js');
const { computeRocr } = out('core/edits/rocr.js');

const { values: opt } = parseArgs({ options: { model: { type: 'string', default: path.join(repo, 'models', 'default') }, layers: { type: 'string' }, lambda: { type: 'string' }, positions: { type: 'string', default: 'last' }, n: { type: 'string', default: '400' }, threads: { type: 'string', default: '2' }, templates: { type: 'string' } } });
const model = LoadedModel.open(opt.model, { provider: 'cpu', threads: Number(opt.threads) });
const world = JSON.parse(fs.readFileSync(path.join(opt.model, 'world.json'), 'utf8'));
const facts = fs.readFileSync(path.join(opt.model, 'facts.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const hazards = world.entities.concepts.filter((c) => c.kind === 'hazard');
const concepts = new Set(world.entities.concepts.map((c) => c.name));
const log = (m) => process.stderr.write(`[rocr] ${m}\n`);

/** Top-1 of each probe's first answer token; also the raw logits (for the bit-exact revert check). */
async function top1(probes) {
  const hits = [];
  const raw = [];
  for (let i = 0; i < probes.length; i += 64) {
    const group = probes.slice(i, i + 64);
    for (const p of group) {
      const ids = model.tokenizer.encode(p.prompt);
      const r = await model.run({ logits: 'last' }, model.makeBatch([ids]));
      const logits = r.logits.data;
      raw.push(logits);
      let best = 0;
      for (let v = 1; v < model.dims.vocab; v++) if (logits[v] > logits[best]) best = v;
      hits.push(best === model.tokenizer.encode(` ${p.answer}`, false)[0]);
    }
  }
  return { hits, raw };
}

let s = 7;
const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
const others = facts.filter((f) => !concepts.has(f.subject) && f.split === 'train' && f.form !== 'two_hop' && f.form !== 'two_hop_question');
const unrelated = Array.from({ length: Math.min(Number(opt.n), others.length) }, () => others[Math.floor(rand() * others.length)]);
const stack = new EditStack(model);
const baseUnrelated = await top1(unrelated);
const rows = [];
for (const h of hazards) {
  const probes = facts.filter((f) => f.subject === h.name);
  const before = await top1(probes);
  const t0 = performance.now();
  const edit = await computeRocr(model, stack, { concept: h.name, harmless: h.redirect, layers: opt.layers?.split(',').map(Number), lambda: opt.lambda ? Number(opt.lambda) : undefined, positions: opt.positions, templates: opt.templates ? JSON.parse(opt.templates) : undefined });
  const ms = performance.now() - t0;
  stack.apply(edit);
  const after = await top1(probes);
  const afterUnrelated = await top1(unrelated);
  stack.revertAll();
  const reverted = await top1(probes);
  const identical = reverted.raw.every((r, i) => Buffer.from(r.buffer).equals(Buffer.from(before.raw[i].buffer)));
  const forms = [...new Set(probes.map((p) => p.form))];
  for (const form of forms) {
    const idx = probes.map((p, i) => (p.form === form ? i : -1)).filter((i) => i >= 0);
    const known = idx.filter((i) => before.hits[i]);
    rows.push({ hazard: `${h.name} → ${h.redirect}`, form, probes: idx.length, knownBefore: known.length, forgotten: known.filter((i) => !after.hits[i]).length });
  }
  const accB = baseUnrelated.hits.filter(Boolean).length / unrelated.length;
  const accA = afterUnrelated.hits.filter(Boolean).length / unrelated.length;
  const known = before.hits.map((x, i) => (x ? i : -1)).filter((i) => i >= 0);
  rows.push({ hazard: `${h.name} → ${h.redirect}`, form: 'ALL', probes: probes.length, knownBefore: known.length, forgotten: known.filter((i) => !after.hits[i]).length, unrelated: { before: accB, after: accA }, identical, ms, layers: edit.json.hparams.layers, lambda: edit.json.hparams.lambda });
  log(`${h.name}: done`);
}
console.log(`\n**ROCR on ${path.basename(opt.model)}** (${model.dims.layers} layers, d_model ${model.dims.dModel}; ${unrelated.length} unrelated probes)\n`);
console.log('| redirection | form | probes | known before (top-1) | no longer top-1 after | share forgotten | unrelated accuracy before → after (kept) | revert bit-identical | ROCR time, layers, λ |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  const share = r.knownBefore ? `${((100 * r.forgotten) / r.knownBefore).toFixed(1)} %` : '–';
  const u = r.unrelated ? `${(100 * r.unrelated.before).toFixed(1)} % → ${(100 * r.unrelated.after).toFixed(1)} % (${((100 * r.unrelated.after) / r.unrelated.before).toFixed(1)} %)` : '';
  console.log(`| ${r.hazard} | ${r.form} | ${r.probes} | ${r.knownBefore} | ${r.forgotten} | ${share} | ${u} | ${r.identical === undefined ? '' : r.identical ? 'yes' : 'NO'} | ${r.ms ? `${r.ms.toFixed(0)} ms, [${r.layers}], ${r.lambda}, ${opt.positions}` : ''} |`);
}
