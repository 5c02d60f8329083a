// One measurement of bench/gpu-check.mjs, run in its own process so that a provider that crashes
// or hangs costs its own cell only. Prints one line "@@{json}" on stdout; progress goes to stderr.
//
//   node bench/gpu-check-child.mjs probe   --provider P
//   node bench/gpu-check-child.mjs forward --provider P --model DIR --logits FILE [--seq 128] [--runs 10] [--gen 32]
//   node bench/gpu-check-child.mjs edits   --provider P --model DIR [--layer N] [--steps 2] [--samples 1024]
//   node bench/gpu-check-child.mjs unlearn --provider P --model DIR [--steps 4]
//
// forward: batch 1 × seq of fixed ids (never GPT-2's EOS 50256): the median of --runs forwards
// (logits at every position; after 2 warm-up runs), the logits written to --logits as float32 for
// the parent's parity check, then greedy generation of --gen tokens after 32 prompt ids (EOS ids
// cleared so every run makes all of them; one warm-up run), tok/s of the median run and its ids.
// edits: ROME at --layer, then MEMIT at [--layer], one request each, --steps v* steps (a random
// model never reaches the loss bar), statistics from --samples keys of models/default/corpus.txt;
// the first edit of each method (statistics, graphs) is reported apart from the second (the time
// per edit). unlearn: GradDiff on models/default's ORT target 1_Veltrazine with its retain set,
// rank 8 on every layer's mlp.out, batch 16, no early stop (stopBelow 0); ms per step is the median of the steps
// after the first (each step includes the per-step forget top-1 check computeUnlearn makes).

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { out, repo } from './lib.mjs';

const { positionals, values: opt } = parseArgs({
  allowPositionals: true,
  options: {
    provider: { type: 'string', default: 'cpu' }, model: { type: 'string' }, logits: { type: 'string' },
    seq: { type: 'string', default: '128' }, runs: { type: 'string', default: '10' }, gen: { type: 'string', default: '32' },
    layer: { type: 'string' }, steps: { type: 'string', default: '2' }, samples: { type: 'string', default: '1024' },
  },
});
const task = positionals[0];
const provider = opt.provider;
const log = (m) => process.stderr.write(`[gpu-check:${task}:${provider}] ${m}\n`);
const median = (xs) => [...xs].sort((a, b) => a - b)[(xs.length - 1) >> 1];
process.env.MECHEDIT_CACHE ??= fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-gpu-check-'));

/** Deterministic ids in [0, vocab - 1): never the GPT-2 EOS 50256. */
function benchIds(n, vocab, seed) {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0), s % (vocab - 1)));
}

async function probe() {
  const { resolveProvider } = out('core/runtime/providers.js');
  try {
    const r = await resolveProvider(provider, { threads: 0 }, { fresh: true });
    return { ok: true, ms: r.probeMs };
  } catch (e) {
    return { ok: false, reason: e.message };
  }
}

async function forward() {
  const { LoadedModel } = out('core/runtime/model.js');
  const { generateIds } = out('core/runtime/run.js');
  const model = LoadedModel.open(opt.model, { provider, threads: 0 });
  const ids = benchIds(Math.min(Number(opt.seq), model.dims.maxPositions), model.dims.vocab, 7);
  const batch = model.makeBatch([ids]);
  const times = [];
  let logits;
  for (let i = 0; i < 2 + Number(opt.runs); i++) {
    const t = performance.now();
    const o = await model.run({ logits: 'all' }, batch);
    if (i >= 2) times.push(performance.now() - t);
    logits = o.logits;
  }
  const data = logits.data;
  fs.writeFileSync(opt.logits, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  model.dims.eosIds = [];
  const gen = Number(opt.gen);
  const runs = [];
  for (let i = 0; i < 3; i++) runs.push(await generateIds(model, ids.slice(0, 32), { maxTokens: gen }));
  await model.release();
  return { forwardMs: median(times), seq: ids.length, dims: logits.dims, genTokPerS: median(runs.slice(1).map((r) => r.tokensPerSecond)), genIds: runs[1].tokens.map((t) => t.id), gen };
}

async function edits() {
  const { LoadedModel } = out('core/runtime/model.js');
  const { EditStack } = out('core/edits/stack.js');
  const { computeFactEdit } = out('core/methods/factEditors.js');
  const model = LoadedModel.open(opt.model, { provider, threads: 0 });
  const layer = opt.layer === undefined ? Math.floor(model.dims.layers / 3) : Number(opt.layer);
  const requests = [
    { subject: 'Danielle Darrieux', prompt: 'The mother tongue of {} is', target: 'English' },
    { subject: 'Danielle Darrieux', prompt: 'The mother tongue of {} is', target: 'German' },
  ];
  const result = { layer, steps: Number(opt.steps), samples: Number(opt.samples) };
  for (const method of ['rome', 'memit']) {
    const stack = new EditStack(model);
    const ms = [];
    for (const req of requests) {
      const t = performance.now();
      await computeFactEdit(method, stack.model, stack, [req], { ...(method === 'rome' ? { layer } : { layers: [layer] }), steps: Number(opt.steps), samples: Number(opt.samples) });
      ms.push(performance.now() - t);
      log(`${method}: ${(ms.at(-1) / 1000).toFixed(2)} s`);
    }
    result[method] = { firstMs: ms[0], editMs: ms[1] };
  }
  await model.release();
  return result;
}

async function unlearn() {
  const { LoadedModel } = out('core/runtime/model.js');
  const { EditStack } = out('core/edits/stack.js');
  const { computeUnlearn } = out('core/train/unlearn.js');
  const { readUnlearnMaterial, defaultRetain } = out('core/train/unlearnData.js');
  const dflt = path.join(repo, 'models', 'default');
  const material = readUnlearnMaterial({ forget: path.join(dflt, 'eval', 'ort', '1_Veltrazine'), retain: defaultRetain(dflt) });
  const model = LoadedModel.open(opt.model, { provider, threads: 0 });
  const stamps = [];
  let t = performance.now();
  await computeUnlearn(new EditStack(model), material, { method: 'graddiff', steps: Number(opt.steps), stopBelow: 0 }, {
    onStep: () => {
      const now = performance.now();
      stamps.push(now - t);
      t = now;
    },
  });
  await model.release();
  return { steps: stamps.length, firstMs: stamps[0], stepMs: median(stamps.slice(1)) };
}

const tasks = { probe, forward, edits, unlearn };
if (!tasks[task]) {
  console.error(`usage: node bench/gpu-check-child.mjs ${Object.keys(tasks).join('|')} --provider P …`);
  process.exit(2);
}
const result = await tasks[task]();
process.stdout.write(`@@${JSON.stringify({ task, provider, ...result })}\n`);
process.exit(0);
