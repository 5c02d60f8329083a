#!/usr/bin/env node
// Time per ROME edit, split into key statistics / context templates + keys / v* steps / solve,
// on the bundled default model and on a random GPT-2-XL-shaped checkpoint (48 × 1600, written
// by bench/runtime.mjs or tools/random-checkpoint.mjs into ~/.cache/mechedit-bench/ckpt/).
// Reference: EasyEdit reports about 5 s per ROME edit on GPT-2 XL on a GPU (statistics
// precomputed). The v* loop should be dominated by onnxruntime, not by JS.
//
//   npx tsc -p . && node bench/rome-speed.mjs [--xl DIR] [--samples 1000] [--threads 0] [--no-xl]
// The XL statistics use --samples key vectors of models/default/corpus.txt (the papers use
// 100,000 Wikipedia documents; this measures the machinery, not the statistics' quality).

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { out, repo as root } from './lib.mjs';

const { LoadedModel } = out('core/runtime/model.js');
const { EditStack } = out('core/edits/stack.js');
const { computeRome } = out('core/edits/rome.js');

const { values } = parseArgs({ options: { xl: { type: 'string' }, samples: { type: 'string', default: '1000' }, threads: { type: 'string', default: '0' }, 'no-xl': { type: 'boolean' } } });
const xlDir = values.xl ?? path.join(os.homedir(), '.cache', 'mechedit-bench', 'ckpt', 'gpt2-L48-d1600-h25-v50257');
const corpus = [path.join(root, 'models', 'default', 'corpus.txt')];
process.env.MECHEDIT_CACHE ??= fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-rome-speed-'));

async function one(name, dir, request, samples) {
  const model = LoadedModel.open(dir, { provider: 'cpu', threads: Number(values.threads) });
  const stack = new EditStack(model);
  process.stderr.write(`${name}: first edit (statistics, graphs, templates)…\n`);
  const first = await computeRome(model, stack, request, { corpus, samples });
  process.stderr.write(`${name}: second edit (all cached)…\n`);
  const t0 = performance.now();
  const second = await computeRome(model, stack, { ...request, target: request.target2 }, { corpus, samples });
  const total = performance.now() - t0;
  await model.release();
  const r = second.report;
  const steps = r.vstar.steps.length;
  return {
    name, layer: second.edit.json.targets[0].layer, dims: `${model.dims.layers} × ${model.dims.dModel}, d_mlp ${model.dims.dMlp}`,
    firstMs: Object.values(first.report.timing).reduce((a, b) => a + b, 0), firstStats: first.report.timing.stats, statsCount: first.report.stats.count,
    total, keys: r.timing.keys, vstar: r.timing.vstar, steps, perStep: r.vstar.ortMs / steps, ort: r.vstar.ortMs, js: r.vstar.jsMs, solve: r.timing.solve,
  };
}

const rows = [await one('default (models/default)', path.join(root, 'models', 'default'), { subject: 'Baekhyndvaes Drondraes', prompt: '{} was born in', target: 'Grikport', target2: 'Vyswick' })];
if (!values['no-xl']) {
  if (fs.existsSync(path.join(xlDir, 'config.json'))) rows.push(await one('random GPT-2 XL shape', xlDir, { subject: 'Danielle Darrieux', prompt: 'The mother tongue of {} is', target: 'English', target2: 'German' }, Number(values.samples)));
  else process.stderr.write(`no XL checkpoint at ${xlDir}: run node bench/runtime.mjs --sizes xl once (or tools/random-checkpoint.mjs)\n`);
}
console.log(`\nROME, one edit, CPU (${os.cpus().length} cores), threads ${values.threads === '0' ? 'ORT default' : values.threads}\n`);
console.log('| model | layer | first edit (incl. statistics) | edit with cached statistics | templates + keys | v* | steps | ms / step (ORT) | JS in v* | solve |');
console.log('|---|---|---|---|---|---|---|---|---|---|');
const s = (ms) => `${(ms / 1000).toFixed(2)} s`;
for (const r of rows) {
  console.log(`| ${r.name}: ${r.dims} | ${r.layer} | ${s(r.firstMs)} (statistics ${s(r.firstStats)}, ${r.statsCount} keys) | ${s(r.total)} | ${s(r.keys)} | ${s(r.vstar)} | ${r.steps} | ${r.perStep.toFixed(0)} | ${r.js.toFixed(0)} ms (${((100 * r.js) / (r.js + r.ort)).toFixed(1)} %) | ${s(r.solve)} |`);
}
console.log('\nReference: EasyEdit, ROME on GPT-2 XL, about 5 s per edit on a GPU, statistics precomputed.');
