// Edit benchmark: apply / revert latency of the edit stack (no session rebuild), forward latency
// before and after an apply, ROCR end to end, and key-statistics throughput. Prints markdown.
// Not a test: nothing fails on a missed target (targets: apply/revert ≤ 1 ms for rank one).
//
// Usage: npx tsc -p . && node bench/edits.mjs [--models DIR,DIR…] [--threads N] [--samples N]
//   Default models: models/default (when present) and the random GPT-2-small / GPT-2-XL-shaped
//   checkpoints of bench/runtime.mjs's cache (~/.cache/mechedit-bench/ckpt), when present.
//   Corpus for the statistics: the model's corpus.txt, else this repository's README and docs.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { out, repo } from './lib.mjs';

const { LoadedModel } = out('core/runtime/model.js');
const { EditStack } = out('core/edits/stack.js');
const { computeRocr } = out('core/edits/rocr.js');
const { keyStats } = out('core/edits/stats.js');

const { values: opt } = parseArgs({ options: { models: { type: 'string' }, threads: { type: 'string', default: String(os.availableParallelism()) }, samples: { type: 'string' } } });
const benchCkpt = path.join(os.homedir(), '.cache', 'mechedit-bench', 'ckpt');
const models = opt.models
  ? opt.models.split(',')
  : [path.join(repo, 'models', 'default'), path.join(benchCkpt, 'gpt2-L12-d768-h12-v50257'), path.join(benchCkpt, 'gpt2-L48-d1600-h25-v50257')].filter((d) => fs.existsSync(path.join(d, 'config.json')));
if (models.length === 0) {
  console.error('no models: pass --models DIR,… or run bench/runtime.mjs first (it makes the random checkpoints)');
  process.exit(2);
}
process.env.MECHEDIT_CACHE ??= path.join(os.homedir(), '.cache', 'mechedit-bench', 'mechedit');
const log = (m) => process.stderr.write(`[bench:edits] ${m}\n`);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (x) => (x < 1 ? `${(x * 1000).toFixed(1)} µs` : `${x.toFixed(1)} ms`);

const rows = [];
for (const dir of models) {
  log(`${dir}`);
  const stack = new EditStack(LoadedModel.open(dir, { provider: 'cpu', threads: Number(opt.threads) }));
  const model = stack.model; // the stack's view: its runs carry the applied edit
  const d = model.dims;
  const ids = model.tokenizer.encode('The quick brown fox jumps over the lazy dog. '.repeat(3)).slice(0, 32);
  const batch = model.makeBatch([ids]);
  const forward = async () => {
    const t0 = performance.now();
    await model.run({ logits: 'last' }, batch);
    return performance.now() - t0;
  };
  await forward();
  const plain = [];
  for (let i = 0; i < 5; i++) plain.push(await forward());

  // A rank-one edit at a middle layer.
  const layer = Math.floor(d.layers / 2);
  const w = model.plan.blocks[layer].down;
  const edit = { json: { format: 'mechedit-edit/1', id: 'bench', label: 'bench', method: 'manual', modelFingerprint: model.checkpoint.fingerprint, targets: [{ layer, module: 'mlp.out', rank: 1, U: 'U', V: 'V' }], vectors: 'bench.safetensors', created: '' }, tensors: [{ U: new Float32Array(w.out).fill(0.01), V: new Float32Array(w.in).fill(0.01) }] };
  const apply = [];
  const revert = [];
  for (let i = 0; i < 200; i++) {
    let t0 = performance.now();
    stack.apply(edit);
    apply.push(performance.now() - t0);
    t0 = performance.now();
    stack.revert('bench');
    revert.push(performance.now() - t0);
  }
  stack.apply(edit);
  const edited = [];
  for (let i = 0; i < 5; i++) edited.push(await forward());
  stack.revertAll();

  // ROCR end to end (default layers by depth; six templates).
  const t0 = performance.now();
  const rocr = await computeRocr(model, stack, { concept: 'the lazy dog', harmless: 'a warm croissant' });
  const rocrMs = performance.now() - t0;

  // Key statistics at the first ROCR layer.
  const corpusFile = fs.existsSync(path.join(dir, 'corpus.txt')) ? [path.join(dir, 'corpus.txt')] : [path.join(repo, 'README.md'), ...fs.readdirSync(path.join(repo, '..', 'shared', 'docs')).map((f) => path.join(repo, '..', 'shared', 'docs', f))].filter((f) => fs.existsSync(f));
  const samples = opt.samples ? Number(opt.samples) : Math.min(10 * d.dMlp, 20000);
  const statsFile = path.join(process.env.MECHEDIT_CACHE, 'stats', model.checkpoint.fingerprint);
  fs.rmSync(statsFile, { recursive: true, force: true });
  const s0 = performance.now();
  const stats = await keyStats(model, { layer: rocr.json.targets[0].layer, corpus: corpusFile, samples });
  const statsS = (performance.now() - s0) / 1000;
  rows.push({
    model: path.basename(dir), shape: `${d.layers} × ${d.dModel} (d_mlp ${d.dMlp})`, params: `${(d.params / 1e6).toFixed(1)}M`,
    apply: median(apply), revert: median(revert), applyMax: Math.max(...apply), plain: median(plain), edited: median(edited),
    rocr: rocrMs, rocrLayers: rocr.json.targets.map((t) => t.layer).join(','), statsKeys: stats.count, statsS, keysPerS: stats.count / statsS,
  });
  await model.release();
}

console.log(`\n**Edit stack, ROCR and key statistics** (CPU, ${opt.threads} threads, ${os.cpus()[0].model}; Node ${process.version})\n`);
console.log('| model | layers × d_model | params | apply rank-1 (median / max of 200) | revert (median) | forward before apply | forward with the edit | ROCR end to end (layers) | key statistics |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(`| ${r.model} | ${r.shape} | ${r.params} | ${ms(r.apply)} / ${ms(r.applyMax)} | ${ms(r.revert)} | ${ms(r.plain)} | ${ms(r.edited)} | ${(r.rocr / 1000).toFixed(2)} s (${r.rocrLayers}) | ${r.statsKeys} keys in ${r.statsS.toFixed(1)} s = ${r.keysPerS.toFixed(0)} keys/s |`);
}
