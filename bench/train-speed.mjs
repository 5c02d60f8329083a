#!/usr/bin/env node
// Step time of MechEdit's trainer (core trainer.ts + the training graph, forward + backward on
// onnxruntime, AdamW in JS) against PyTorch eager (tools/train_torch.py: tools/reference.py's
// forward with LoRA factors, torch.optim.AdamW, float32) on the same CPU, the same checkpoint
// (models/default), the same batches, the same initial factors and the same objective.
//
//   npx tsc -p . && node bench/train-speed.mjs [--methods ga,graddiff,npo] [--steps 30]
//        [--threads 2] [--batch 16] [--rank 8] [--lr 2e-3] [--rounds 2] [--out-dir out] [--json FILE]
//        [--keep DIR]   (keeps the batch files given to tools/train_torch.py, DIR/<objective>.json)
//
// Material: the question-answer items of models/default/eval/ort/1_Veltrazine/forget_level2.json
// (forget) and a seeded sample of 256 declarative facts of models/default/facts.jsonl (retain).
// Batches: `--steps` draws of the trainer's seeded batcher (--batch forget + --batch retain items),
// turned into the training graph's feeds by core/train/objectives.ts (GA: no retain term;
// GradDiff and NPO: retain weight 1; NPO's π_ref from the unedited model). The same feeds go to
// PyTorch as JSON. LoRA factors on every layer's MLP output projection, V kaiming-uniform (seeded,
// shared), U = 0; AdamW(0.9, 0.999, eps 1e-8, no weight decay), constant lr, clip 1.
// ms / step: the median over the steps after the first 2 (graph build and session creation, or
// PyTorch's first allocations). The two sides run one after the other, never at the same time,
// `--rounds` times alternately (MechEdit, PyTorch, MechEdit, …); each side's figure is its best
// round (a busy neighbour on the machine only ever slows a round down).
// Both losses are printed: they start equal (same θ₀, same batch) and drift apart only by float32
// rounding.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { outOf, repo } from './lib.mjs';

const { values: opt } = parseArgs({
  options: {
    methods: { type: 'string', default: 'ga,graddiff,npo' }, steps: { type: 'string', default: '30' },
    threads: { type: 'string', default: '2' }, batch: { type: 'string', default: '16' }, rank: { type: 'string', default: '8' },
    lr: { type: 'string', default: '2e-3' }, rounds: { type: 'string', default: '2' }, keep: { type: 'string' }, 'out-dir': { type: 'string', default: path.join(repo, 'out') }, json: { type: 'string' },
  },
});
const outDir = path.resolve(opt['out-dir']);
const load = outOf(outDir);
const { LoadedModel } = load('core/runtime/model.js');
const { train, createBatcher } = load('core/train/trainer.js');
const { tokenStepFeeds } = load('core/train/objectives.js');
const { makeRow } = load('core/train/rows.js');
const { scoreRows } = load('core/train/score.js');
const { gradName } = load('core/graph/trainLoss.js');
const { ortPrompt } = load('core/diagnostics/ort.js');

const methods = opt.methods.split(',');
for (const m of methods) if (!['ga', 'graddiff', 'npo'].includes(m)) throw new Error(`--methods: "${m}" is not one of ga, graddiff, npo`);
const [steps, threads, batchSize, rank, lr, rounds] = [Number(opt.steps), Number(opt.threads), Number(opt.batch), Number(opt.rank), Number(opt.lr), Number(opt.rounds)];
const WARMUP = 2;
const SEED = 1;
const modelDir = path.join(repo, 'models', 'default');
const log = (m) => process.stderr.write(`[train-speed] ${m}\n`);
process.env.MECHEDIT_CACHE ??= fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-train-speed-'));
const tmp = opt.keep ? path.resolve(opt.keep) : fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-train-speed-json-'));
fs.mkdirSync(tmp, { recursive: true });

/** mulberry32, uniform in [0, 1). */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const model = LoadedModel.open(modelDir, { provider: 'cpu', threads });
const forgetFile = path.join(modelDir, 'eval', 'ort', '1_Veltrazine', 'forget_level2.json');
const forgetItems = JSON.parse(fs.readFileSync(forgetFile, 'utf8')).map((it, index) => ({ ...it, index })).filter((it) => it.type === 'qa');
const forgetRows = forgetItems.map((it) => makeRow(model, ortPrompt(model, it.query), it.answer, { file: forgetFile, index: it.index }));
const factsFile = path.join(modelDir, 'facts.jsonl');
const facts = fs.readFileSync(factsFile, 'utf8').trim().split('\n').map((l, index) => ({ ...JSON.parse(l), index })).filter((f) => f.form === 'declarative');
const pick = rng(SEED);
const retainRows = [];
for (const i of new Set(Array.from({ length: 400 }, () => Math.floor(pick() * facts.length)))) {
  if (retainRows.length === 256) break;
  retainRows.push(makeRow(model, facts[i].prompt, facts[i].answer, { file: factsFile, index: facts[i].index }));
}
log(`forget: ${forgetRows.length} qa items of ${path.relative(repo, forgetFile)}; retain: ${retainRows.length} facts of ${path.relative(repo, factsFile)}`);
const refAnswer = (await scoreRows(model, forgetRows)).map((s) => s.seq);

const modules = Array.from({ length: model.dims.layers }, (_, l) => `${l}:mlp.out`);
const init = () => {
  const rand = rng(SEED ^ 0x5eed);
  return modules.map((key) => {
    const w = model.plan.blocks[Number(key.split(':')[0])].down;
    const bound = 1 / Math.sqrt(w.in);
    return { key, layer: Number(key.split(':')[0]), out: w.out, in: w.in, U: new Float32Array(rank * w.out), V: Float32Array.from({ length: rank * w.in }, () => Math.fround((2 * rand() - 1) * bound)) };
  });
};
const rows2 = (data, B, S) => Array.from({ length: B }, (_, b) => Array.from(data.subarray(b * S, (b + 1) * S), Number));

async function one(method) {
  const retainWeight = method === 'ga' ? 0 : 1;
  const next = createBatcher([forgetRows.length, retainWeight > 0 ? retainRows.length : 0], [batchSize, batchSize], SEED);
  const plan = Array.from({ length: steps }, () => {
    const [f, r] = next();
    return tokenStepFeeds(model, method, f.map((i) => ({ answer: forgetRows[i], refAnswer: refAnswer[i], refRefusal: 0 })), r.map((i) => retainRows[i]), { beta: 0.1, retainWeight });
  });

  // MechEdit: the core trainer on the training graph.
  const mechedit = async () => {
    const factors = init();
    const params = factors.flatMap((f) => [{ name: `${f.key}.U`, value: f.U, decay: false }, { name: `${f.key}.V`, value: f.V, decay: false }]);
    const options = { train: { modules } };
    log(`${method}: MechEdit, ${steps} steps…`);
    const result = await train(params, {
      steps, lr, weightDecay: 0, betas: [0.9, 0.999], eps: 1e-8, warmup: 0, schedule: 'constant', clip: 1, batchSizes: [1], seed: SEED,
    }, {
      pools: [1],
      compute: async (_, k) => {
        const edits = new Map(factors.map((f) => [f.key, { rank, U: f.U, V: f.V }]));
        const out = await model.withEdits(edits).run(options, plan[k].batch, plan[k].feeds);
        return { loss: Number(out.loss.data[0]), grads: factors.flatMap((f) => [out[gradName(f.layer, 'mlp.out', 'U')].data, out[gradName(f.layer, 'mlp.out', 'V')].data]) };
      },
    });
    const msSteps = result.curve.map((p, i) => p.ms - (i ? result.curve[i - 1].ms : 0));
    return { msPerStep: median(msSteps.slice(WARMUP)), losses: result.curve.map((p) => p.loss), msSteps };
  };

  // PyTorch: the same batches and initial factors.
  const V0 = init().map((f) => f.V);
  const file = path.join(tmp, `${method}.json`);
  fs.writeFileSync(file, JSON.stringify({
    settings: { modules, rank, lr, steps, objective: method, betas: [0.9, 0.999], eps: 1e-8, weight_decay: 0, clip: 1, threads, seed: SEED, warmup: WARMUP },
    init: Object.fromEntries(modules.map((key, i) => [key, { V: Array.from(V0[i]) }])),
    batches: plan.map(({ batch, feeds }) => {
      const [B, S] = [batch.batch, batch.seq];
      const P = feeds.pref_coef.dims[0];
      const pref = Array.from(feeds.pref_coef.data).some((c) => c !== 0);
      return {
        ids: rows2(batch.ids, B, S), mask: rows2(batch.mask, B, S), positions: rows2(batch.positions, B, S),
        target_ids: rows2(feeds.target_ids.data, B, S), token_weights: rows2(feeds.token_weights.data, B, S),
        ...(pref ? { seq_mask: rows2(feeds.seq_mask.data, B, S), seq_ref: Array.from(feeds.seq_ref.data), pref_matrix: rows2(feeds.pref_matrix.data, P, B), pref_coef: Array.from(feeds.pref_coef.data) } : {}),
      };
    }),
  }));
  const pytorch = () => {
    log(`${method}: PyTorch, ${steps} steps…`);
    return JSON.parse(execFileSync('/usr/bin/python3', [path.join(repo, 'tools', 'train_torch.py'), modelDir, file, '--threads', String(threads)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 << 20 }));
  };
  let mech;
  let torch;
  const best = (a, b) => (a && a.msPerStep <= b.msPerStep ? a : b);
  for (let k = 0; k < rounds; k++) {
    mech = best(mech, await mechedit());
    torch = best(torch, pytorch());
  }
  const rows = plan.map((p) => p.batch.batch);
  return { method, rows: `${Math.min(...rows)}–${Math.max(...rows)}`, seq: Math.max(...plan.map((p) => p.batch.seq)), mech, torch };
}

const results = [];
for (const m of methods) results.push(await one(m));
await model.release();

console.log(`\nTraining step time, models/default (${model.dims.layers} × ${model.dims.dModel}, vocab ${model.dims.vocab}), LoRA rank ${rank} on ${model.dims.layers} MLP output projections, ${steps} steps, CPU ${os.cpus()[0]?.model ?? '?'} (${os.cpus().length} cores), ${threads} thread${threads === 1 ? '' : 's'} each\n`);
console.log('| objective | batch rows × seq | MechEdit ms / step | PyTorch eager ms / step | MechEdit ÷ PyTorch | loss step 0 (MechEdit / PyTorch) | loss last step (MechEdit / PyTorch) |');
console.log('|---|---|---|---|---|---|---|');
for (const r of results) {
  const l0 = `${r.mech.losses[0].toFixed(4)} / ${r.torch.losses[0].toFixed(4)}`;
  const lN = `${r.mech.losses.at(-1).toFixed(4)} / ${r.torch.losses.at(-1).toFixed(4)}`;
  console.log(`| ${r.method} | ${r.rows} × ≤${r.seq} | ${r.mech.msPerStep.toFixed(1)} | ${r.torch.msPerStep.toFixed(1)} | ${(r.mech.msPerStep / r.torch.msPerStep).toFixed(2)} | ${l0} | ${lN} |`);
}
const npo = results.find((r) => r.method === 'npo');
if (npo) console.log(`\nNPO π_ref check (PyTorch seq log-prob at step 0 vs MechEdit's reference): max |Δ| ${npo.torch.refCheck?.toExponential(2)}`);
console.log(`PyTorch side: ${results[0]?.torch.forward}, torch ${results[0]?.torch.torch}. ms / step: median after ${WARMUP} warm-up steps. Load average at the end: ${os.loadavg().map((x) => x.toFixed(2)).join(', ')}.`);
if (opt.json) fs.writeFileSync(opt.json, JSON.stringify(results, null, 1));
if (!opt.keep) fs.rmSync(tmp, { recursive: true, force: true });
