// ROCR on the default model (issue 5's acceptance): redirect each hazard concept of the fact world
// to its harmless concept, and measure, through MechEdit's runtime, top-1 of the first answer token
//   - on the hazard's own probes, per form (declarative, cloze, question, multiple choice, true/false
//     split into true and false statements, and the ORT folder's forget_mcp items): the share no
//     longer answered as before ("forgotten");
//   - the same share for a perfect redirection, as a reference in the same run: the probe with the
//     hazard's name replaced by the harmless concept's. A probe whose answer the harmless concept
//     shares (a false statement about both, a multiple-choice letter the model picks for both)
//     cannot be forgotten by any redirection;
//   - on facts about unrelated entities (sampled from facts.jsonl), per form: accuracy after / before;
//   - after reverting: whether the logits are bit-identical to the unedited model's.
// Settings default to the model's (config.json's "mechedit.rocr", else the paper's). Prints
// markdown tables. Not a test.
//
// Usage: npx tsc -p . && node bench/rocr-acceptance.mjs [--model models/default] [--layers 0,1] [--lambda X]
//          [--positions last|all] [--regularizer identity|covariance] [--templates JSON] [--n 400]
//          [--preset paper|tuned]  (through the registry's ROCR entry, as `mechedit edit rocr --preset`;
//                                   without it computeRocr at the checkpoint's settings)
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { out, repo } from './lib.mjs';

const { LoadedModel } = out('core/runtime/model.js');
const { EditStack } = out('core/edits/stack.js');
const { computeRocr } = out('core/edits/rocr.js');
const { OTHER_EDITORS } = out('core/methods/otherEditors.js');
const { presetOf } = out('core/methods/factEditors.js');
const { resolveSettings } = out('core/methods/settings.js');

const { values: opt } = parseArgs({ options: { model: { type: 'string', default: path.join(repo, 'models', 'default') }, layers: { type: 'string' }, lambda: { type: 'string' }, positions: { type: 'string' }, regularizer: { type: 'string' }, n: { type: 'string', default: '400' }, threads: { type: 'string', default: '2' }, templates: { type: 'string' }, preset: { type: 'string' } } });
const stack = new EditStack(LoadedModel.open(opt.model, { provider: 'cpu', threads: Number(opt.threads) }));
const model = stack.model; // the stack's view: its runs carry the applied edit
const world = JSON.parse(fs.readFileSync(path.join(opt.model, 'world.json'), 'utf8'));
const facts = fs.readFileSync(path.join(opt.model, 'facts.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const hazards = world.entities.concepts.filter((c) => c.kind === 'hazard');
const concepts = new Set(world.entities.concepts.map((c) => c.name));
const log = (m) => process.stderr.write(`[rocr] ${m}\n`);

/** Top-1 of each prompt's first answer token; also the raw logits (for the bit-exact revert check). */
async function top1(probes, rename) {
  const hits = [];
  const raw = [];
  for (const p of probes) {
    const prompt = rename ? p.prompt.replaceAll(rename[0], rename[1]) : p.prompt;
    const r = await model.run({ logits: 'last' }, model.makeBatch([model.tokenizer.encode(prompt)]));
    const logits = r.logits.data;
    raw.push(logits);
    let best = 0;
    for (let v = 1; v < model.dims.vocab; v++) if (logits[v] > logits[best]) best = v;
    hits.push(best === model.tokenizer.encode(` ${p.answer}`, false)[0]);
  }
  return { hits, raw };
}

/** The hazard's probes: facts.jsonl's (true/false split by the statement's truth) and the ORT folder's multiple choice. */
function probesOf(h, n) {
  const form = (f) => (f.form === 'true_false' ? `true_false (${f.answer === 'True' ? 'true' : 'false'} statements)` : f.form);
  const own = facts.filter((f) => f.subject === h.name).map((f) => ({ form: form(f), prompt: f.prompt, answer: f.answer }));
  const mcp = path.join(opt.model, 'eval', 'ort', `${n + 1}_${h.name}`, 'forget_mcp.json');
  const ort = fs.existsSync(mcp) ? JSON.parse(fs.readFileSync(mcp, 'utf8')).map((r) => ({ form: 'ORT forget_mcp (other options)', prompt: r.query, answer: r.answer })) : [];
  return [...own, ...ort];
}

let s = 7;
const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
const others = facts.filter((f) => !concepts.has(f.subject) && f.split === 'train' && f.form !== 'two_hop' && f.form !== 'two_hop_question');
const unrelated = Array.from({ length: Math.min(Number(opt.n), others.length) }, () => others[Math.floor(rand() * others.length)]);
const baseUnrelated = await top1(unrelated);
const share = (a, b) => (b ? `${((100 * a) / b).toFixed(1)} %` : '–');
const rows = [];
const kept = [];
for (const [n, h] of hazards.entries()) {
  const probes = probesOf(h, n);
  const before = await top1(probes);
  const swapped = await top1(probes, [h.name, h.redirect]);
  const t0 = performance.now();
  const given = { concept: h.name, harmless: h.redirect, layers: opt.layers?.split(',').map(Number), lambda: opt.lambda ? Number(opt.lambda) : undefined, positions: opt.positions, regularizer: opt.regularizer, templates: opt.templates ? JSON.parse(opt.templates) : undefined };
  const entry = OTHER_EDITORS.find((e) => e.descriptor.id === 'rocr');
  const edit = opt.preset
    ? await entry.compute(model, stack, resolveSettings(entry.descriptor.settings, given, { layers: model.dims.layers }, presetOf(entry.descriptor, opt.preset).values), { preset: opt.preset })
    : await computeRocr(model, stack, given);
  const ms = performance.now() - t0;
  stack.apply(edit);
  const after = await top1(probes);
  const afterUnrelated = await top1(unrelated);
  stack.revertAll();
  const reverted = await top1(probes);
  const identical = reverted.raw.every((r, i) => Buffer.from(r.buffer).equals(Buffer.from(before.raw[i].buffer)));
  const name = `${h.name} → ${h.redirect}`;
  const count = (idx) => {
    const known = idx.filter((i) => before.hits[i]);
    return { probes: idx.length, known: known.length, forgotten: known.filter((i) => !after.hits[i]).length, reference: known.filter((i) => !swapped.hits[i]).length };
  };
  for (const form of [...new Set(probes.map((p) => p.form))]) rows.push({ name, form, ...count(probes.map((p, i) => (p.form === form ? i : -1)).filter((i) => i >= 0)) });
  const own = probes.map((p, i) => (p.form.startsWith('ORT') ? -1 : i)).filter((i) => i >= 0);
  rows.push({ name, form: "ALL of facts.jsonl's", ...count(own), identical, ms, hp: edit.json.hparams });
  for (const form of [...new Set(unrelated.map((p) => p.form)), 'ALL']) {
    const idx = unrelated.map((p, i) => (form === 'ALL' || p.form === form ? i : -1)).filter((i) => i >= 0);
    const b = idx.filter((i) => baseUnrelated.hits[i]).length;
    const a = idx.filter((i) => afterUnrelated.hits[i]).length;
    kept.push({ name, form, n: idx.length, b, a });
  }
  log(`${h.name}: done`);
}
const hp = rows.find((r) => r.hp).hp;
console.log(`\n**ROCR on ${path.basename(opt.model)}**${opt.preset ? ` (preset ${opt.preset})` : ""} (${model.dims.layers} layers, d_model ${model.dims.dModel}; layers [${hp.layers}], λ ${hp.lambda}, ${hp.regularizer ?? 'identity'} regularizer, positions ${hp.positions})\n`);
console.log('| redirection | form | probes | known before (top-1) | no longer top-1 after | share forgotten | perfect redirection (prompt renamed) | revert bit-identical | ROCR time |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(`| ${r.name} | ${r.form} | ${r.probes} | ${r.known} | ${r.forgotten} | ${share(r.forgotten, r.known)} | ${share(r.reference, r.known)} | ${r.identical === undefined ? '' : r.identical ? 'yes' : 'NO'} | ${r.ms ? `${r.ms.toFixed(0)} ms` : ''} |`);
}
console.log(`\nUnrelated facts (${unrelated.length} sampled), top-1 accuracy before → after the edit (kept = after / before):\n`);
console.log('| redirection | form | probes | before | after | kept |');
console.log('|---|---|---|---|---|---|');
for (const k of kept) console.log(`| ${k.name} | ${k.form} | ${k.n} | ${share(k.b, k.n)} | ${share(k.a, k.n)} | ${share(k.a, k.b)} |`);
await model.release();
