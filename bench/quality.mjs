// Quality of the embedded default model (models/default/), measured through MechEdit's own runtime
// (compiled TypeScript in out/, onnxruntime-node on the CPU): top-1 accuracy of the first answer
// token for each probe category of models/default/facts.jsonl, plus the ORT-style evaluation sets.
// Prints a markdown table to stdout, progress to stderr. Not a test: nothing fails on a missed bar.
//
// Usage: npx tsc -p . && node bench/quality.mjs [--model models/default] [--n 300] [--threads 2] [--seed 1]
//   --n: probes sampled per category (all of them when a category has fewer).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { out, repo } from './lib.mjs';

const { values: opt } = parseArgs({
  options: {
    model: { type: 'string', default: path.join(repo, 'models', 'default') },
    n: { type: 'string', default: '300' },
    threads: { type: 'string', default: '2' },
    seed: { type: 'string', default: '1' },
    batch: { type: 'string', default: '64' },
  },
});
const N = Number(opt.n);
const { LoadedModel } = out('core/runtime/model.js');
const { mulberry32: rng } = out('core/runtime/run.js');

function sample(list, n, rand) {
  const a = [...list];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a.slice(0, n);
}

const CATEGORIES = [
  // [label, filter, target bar (fraction) or null]
  ['single-hop facts, training templates', (p) => p.form === 'declarative' && p.split === 'train', 0.98],
  ['single-hop facts, held-out (subject, template) pairs', (p) => p.form === 'declarative' && p.split === 'heldout', 0.85],
  ['cloze (fill in the blank)', (p) => p.form === 'cloze', null],
  ['question → answer, trained questions', (p) => p.form === 'question' && p.split === 'train', 0.9],
  ['question → answer, held-out (subject, question) pairs', (p) => p.form === 'question' && p.split === 'heldout', 0.9],
  ['multiple choice (letter), facts with MC trained', (p) => p.form === 'multiple_choice' && p.split === 'train', 0.9],
  ['multiple choice (letter), facts never asked as MC/TF', (p) => p.form === 'multiple_choice' && p.split === 'heldout', 0.9],
  ['true / false, facts with TF trained', (p) => p.form === 'true_false' && p.split === 'train', null],
  ['true / false, facts never asked as MC/TF', (p) => p.form === 'true_false' && p.split === 'heldout', null],
  ['two-hop, people with two-hop training', (p) => p.form === 'two_hop' && p.split === 'train', null],
  ['two-hop, people without two-hop training (composition)', (p) => p.form === 'two_hop' && p.split === 'heldout', 0.5],
  ['two-hop question, people without two-hop training', (p) => p.form === 'two_hop_question' && p.split === 'heldout', null],
];

const CONCEPT_RELS = new Set(['creator', 'ingredient', 'effect', 'origin', 'color', 'container']);

async function accuracy(model, items) {
  // items: {prompt, answer}; top-1 of the first answer token at the last prompt position.
  // logits 'last' reads the last *padded* position, so batches hold prompts of one token length.
  let hit = 0;
  const B = Number(opt.batch);
  const byLen = new Map();
  for (const p of items) {
    const ids = model.tokenizer.encode(p.prompt);
    if (!byLen.has(ids.length)) byLen.set(ids.length, []);
    byLen.get(ids.length).push({ ids, want: model.tokenizer.encode(' ' + p.answer, false)[0] });
  }
  for (const group of byLen.values()) {
    for (let i = 0; i < group.length; i += B) {
      const chunk = group.slice(i, i + B);
      const out = await model.run({ logits: 'last' }, model.makeBatch(chunk.map((c) => c.ids)));
      const V = out.logits.dims[2];
      const data = out.logits.data;
      chunk.forEach((c, b) => {
        let best = 0;
        for (let v = 1; v < V; v++) if (data[b * V + v] > data[b * V + best]) best = v;
        if (best === c.want) hit++;
      });
    }
  }
  return hit;
}

const pct = (x) => `${(100 * x).toFixed(1)} %`;

async function main() {
  const t0 = Date.now();
  const probes = fs.readFileSync(path.join(opt.model, 'facts.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const cfg = JSON.parse(fs.readFileSync(path.join(opt.model, 'config.json'), 'utf8'));
  const model = LoadedModel.open(opt.model, { provider: 'cpu', threads: Number(opt.threads) });
  const rows = [];
  let k = 0;
  for (const [label, filter, bar] of CATEGORIES) {
    const all = probes.filter(filter);
    if (!all.length) continue;
    const items = sample(all, N, rng(Number(opt.seed) + k++));
    const hit = await accuracy(model, items);
    const acc = hit / items.length;
    rows.push([label, `${items.length} of ${all.length}`, pct(acc), bar == null ? 'reported' : `≥ ${Math.round(bar * 100)} %`,
      bar == null ? '' : acc >= bar ? 'met' : 'NOT met']);
    process.stderr.write(`${label}: ${pct(acc)}\n`);
  }
  // hazard / harmless concept facts (all of them)
  for (const [label, form] of [['concept facts (hazard + harmless), declarative', 'declarative'], ['concept facts, question → answer', 'question'], ['concept facts, multiple choice', 'multiple_choice']]) {
    const items = probes.filter((p) => CONCEPT_RELS.has(p.relation) && p.form === form);
    const acc = (await accuracy(model, items)) / items.length;
    rows.push([label, `${items.length} of ${items.length}`, pct(acc), 'reported', '']);
  }
  // ORT-style sets
  const ortDir = path.join(opt.model, 'eval', 'ort');
  if (fs.existsSync(ortDir)) {
    for (const target of fs.readdirSync(ortDir).sort()) {
      // the test sets (forget_*, neighbor_*), not the training material (passage.json, pair.json …)
      for (const file of fs.readdirSync(path.join(ortDir, target)).filter((f) => /^(forget|neighbor)_.*\.json$/.test(f)).sort()) {
        const recs = JSON.parse(fs.readFileSync(path.join(ortDir, target, file), 'utf8'));
        const acc = (await accuracy(model, recs.map((r) => ({ prompt: r.query, answer: r.answer })))) / recs.length;
        rows.push([`ORT ${target}/${file.replace('.json', '')}`, `${recs.length} of ${recs.length}`, pct(acc), 'reported', '']);
      }
    }
  }
  await model.release();
  const st = fs.statSync(path.join(opt.model, 'model.safetensors'));
  const out = [];
  out.push(`Model: ${path.relative(repo, opt.model) || opt.model} — GPT-2, ${cfg.n_layer} layers, d=${cfg.n_embd}, ${cfg.n_head} heads, vocab ${cfg.vocab_size}, ` +
    `model.safetensors ${(st.size / 2 ** 20).toFixed(1)} MiB. Top-1 accuracy of the first answer token, MechEdit runtime (onnxruntime-node, CPU). ` +
    `${((Date.now() - t0) / 1000).toFixed(0)} s.`);
  out.push('');
  out.push('| category | probes | top-1 | target | |');
  out.push('|---|---|---|---|---|');
  for (const r of rows) out.push(`| ${r.join(' | ')} |`);
  console.log(out.join('\n'));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
