#!/usr/bin/env node
// Time per edit of MechEdit's ROME, MEMIT and AlphaEdit (core fact editors: v* on onnxruntime, solves
// in JS) against an independent PyTorch implementation of the same algorithms
// (tools/edit_speed_torch.py: eager float32, float64 solves) on the same CPU, the same checkpoint,
// the same key statistics (MechEdit's cached C, read by PyTorch), the same requests and context
// templates (as token ids) and the same number of v* steps per request (PyTorch runs exactly as
// many forward + backward steps as MechEdit's loop took). Edits are sequential: each is applied
// before the next is computed (AlphaEdit's K_p grows). One request per edit.
//
//   npx tsc -p . && node bench/edit-speed.mjs [--edits 4] [--threads 2] [--methods rome,memit,alphaedit]
//        [--xl DIR] [--xl-edits 2] [--xl-steps 2] [--xl-samples 1024] [--xl-methods rome,memit] [--xl-only] [--json FILE]
//
// --xl DIR: also a random GPT-2-XL-shaped checkpoint (48 × 1600, d_mlp 6400, vocab 50257; written
// there by tools/random-checkpoint.mjs when DIR has no config.json), ROME at 17 and MEMIT / AlphaEdit
// at layer 17 alone, a fixed --xl-steps v* steps (no early stop: a random model never reaches the loss
// bar), statistics from --xl-samples keys (the key-statistics time at 10 · d_mlp keys is then projected
// from that measurement: its forward + Kᵀ K part linearly, its one-off part once; printed as projected).
// Per side, the first edit of each method builds sessions and factorisations and is not counted;
// "ms / edit" is the mean of the others (their total time / their number: the edits differ in v*
// steps, the same edits on both sides), "ms / v* step" their v* time / their steps. Edits per minute
// at N = 1,000 are projected from that mean (60 000 / ms), not measured at 1,000 edits.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { counterfactualCases, out, repo, seededPicker } from './lib.mjs';

const { values: opt } = parseArgs({
  options: {
    edits: { type: 'string', default: '4' }, threads: { type: 'string', default: '2' }, methods: { type: 'string', default: 'rome,memit,alphaedit' },
    xl: { type: 'string' }, 'xl-edits': { type: 'string', default: '2' }, 'xl-steps': { type: 'string', default: '2' }, 'xl-samples': { type: 'string', default: '1024' },
    'xl-methods': { type: 'string', default: 'rome,memit' }, 'xl-only': { type: 'boolean' }, json: { type: 'string' },
  },
});
const { LoadedModel } = out('core/runtime/model.js');
const { EditStack } = out('core/edits/stack.js');
const { computeFactEdit } = out('core/methods/factEditors.js');
const { contextTemplates, withSubject, targetIds, statsFor } = out('core/edits/rome.js');
const { keyStats, corpusDocuments, spreadDocuments, defaultCorpus, STATS_BATCH } = out('core/edits/stats.js');

const threads = Number(opt.threads);
const log = (m) => process.stderr.write(`[edit-speed] ${m}\n`);
process.env.MECHEDIT_CACHE ??= fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-edit-speed-'));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-edit-speed-json-'));
const sum = (xs) => xs.reduce((t, x) => t + x, 0);
const mean = (xs) => (xs.length ? sum(xs) / xs.length : NaN);

/** Seeded counterfactual requests from the bundled world, one per subject (bench/lib.mjs). */
function worldRequests(n, seed = 1) {
  const facts = fs.readFileSync(path.join(repo, 'models', 'default', 'facts.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  return counterfactualCases(facts, n, seededPicker(seed), 'subject').cases.map((c) => c.request);
}

/** A request as token ids for PyTorch: the rewrite prompts per template, the target, the KL prompt, the step count. */
function requestIds(model, req, templates, steps) {
  return {
    templates: templates.map((t) => withSubject(model, t.replace('{}', req.prompt), req.subject)),
    target: targetIds(model, req.target),
    kl: withSubject(model, '{} is a', req.subject),
    steps,
  };
}

/** The key statistics' token rows (MechEdit's sampling: documents across the corpus, cut into 128-token sequences). */
function statsRows(model, samples) {
  const ids = [];
  for (const doc of spreadDocuments(corpusDocuments(defaultCorpus(model)))) {
    ids.push(...model.tokenizer.encodeDocument(doc));
    if (ids.length >= samples) break;
  }
  return Array.from({ length: Math.ceil(samples / 128) }, (_, i) => ids.slice(i * 128, (i + 1) * 128)).filter((r) => r.length > 0);
}

async function measure(label, modelDir, o) {
  const model = LoadedModel.open(modelDir, { provider: 'cpu', threads });
  const romeLayer = o.romeLayer;
  // Key statistics at o.samples keys, timed (a fresh cache folder: computed, not loaded).
  const t0 = performance.now();
  await keyStats(model, { layer: romeLayer, corpus: defaultCorpus(model), samples: o.samples });
  const statsMs = performance.now() - t0;
  const job = { model: modelDir, threads, stats: {}, edits: [], statsRows: statsRows(model, o.samples), statsLayer: romeLayer, statsBatch: STATS_BATCH };
  // The forward + Kᵀ K part alone, on the warm session, over the rows PyTorch times (what its side measures).
  const t1 = performance.now();
  for (let i = 0; i < job.statsRows.length; i += STATS_BATCH) await model.bare().run({ gram: romeLayer, layers: romeLayer + 1 }, model.makeBatch(job.statsRows.slice(i, i + STATS_BATCH)));
  const statsForwardMs = performance.now() - t1;
  const ours = [];
  const requests = worldRequests(o.edits * o.methods.length, 7);
  for (const [mi, method] of o.methods.entries()) {
    const stack = new EditStack(model);
    for (let e = 0; e < o.edits; e++) {
      const req = requests[mi * o.edits + e];
      const t = performance.now();
      const r = await computeFactEdit(method, stack.model, stack, [req], { layers: method === 'rome' ? undefined : o.layers, layer: method === 'rome' ? romeLayer : undefined, samples: o.statsSamples, steps: o.steps });
      const ms = performance.now() - t;
      stack.apply(r.edit);
      const hp = r.edit.json.hparams;
      const layers = method === 'rome' ? [hp.layer] : hp.layers;
      for (const l of layers) job.stats[l] = (await statsFor(model, l, { samples: o.statsSamples })).file;
      const kind = method === 'rome' ? 'rome' : 'memit';
      const templates = await contextTemplates(model, 0, kind);
      const steps = r.vstar[0].steps.length;
      const tHp = { lr: hp.lr, weightDecay: hp.weightDecay, clamp: hp.clamp, klFactor: hp.klFactor, bareWeight: hp.bareWeight, updateInLoop: hp.updateInLoop, lambda: typeof hp.lambda === 'number' ? hp.lambda : undefined };
      if (method === 'alphaedit') Object.assign(tHp, { taus: hp.nullSpace.map((s) => s.tau), lambdas: hp.nullSpace.map((s) => s.lambda) });
      if (method === 'memit' && hp.lambdas) tHp.lambda = hp.lambdas[0].lambda;
      job.edits.push({ method, layers, hp: tHp, requests: [requestIds(model, req, templates, steps)] });
      ours.push({ method, ms, steps, loss: r.vstar[0].steps.at(-1).loss, vstar: r.timing.vstar });
      log(`${label} ${method} edit ${e + 1}/${o.edits}: ${(ms / 1000).toFixed(2)} s, ${steps} v* steps`);
    }
  }
  await model.release();
  const file = path.join(tmp, `${label}.json`);
  fs.writeFileSync(file, JSON.stringify(job));
  log(`${label}: PyTorch …`);
  const theirs = JSON.parse(execFileSync('/usr/bin/python3', [path.join(repo, 'tools', 'edit_speed_torch.py'), file, '--threads', String(threads)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 << 20 }));
  const rows = o.methods.map((method) => {
    const a = ours.filter((x) => x.method === method);
    const b = theirs.edits.filter((x) => x.method === method);
    // Mean over the timed edits (the same edits and v* steps on both sides): what N edits cost / N.
    const msA = mean(a.slice(1).map((x) => x.ms));
    const msB = mean(b.slice(1).map((x) => x.ms));
    const stepsA = a.slice(1).reduce((s, x) => s + x.steps, 0) / Math.max(1, a.length - 1);
    const lossGap = Math.max(...a.map((x, i) => Math.abs(x.loss - b[i].loss[0])));
    log(`${label} ${method} final v* losses, MechEdit ${a.map((x) => x.loss.toFixed(5)).join(' ')} · PyTorch ${b.map((x) => x.loss[0].toFixed(5)).join(' ')}`);
    const perStepA = sum(a.slice(1).map((x) => x.vstar)) / sum(a.slice(1).map((x) => x.steps));
    const perStepB = sum(b.slice(1).map((x) => x.vstarMs)) / sum(b.slice(1).map((x) => x.steps));
    return { model: label, method, edits: a.length - 1, steps: stepsA, msMechEdit: msA, msTorch: msB, ratio: msA / msB, perStepA, perStepB, perMinuteA: 60000 / msA, perMinuteB: 60000 / msB, lossGap, firstA: a[0].ms, firstB: b[0].ms };
  });
  const stats = { model: label, samples: o.samples, msMechEdit: statsMs, msMechEditForward: statsForwardMs, msTorch: theirs.statsMs, msTorchFirst: theirs.statsFirstMs, keysTorch: theirs.statsKeys, project: o.project };
  return { rows, stats, torch: theirs.torch, setupTorchMs: theirs.setupMs };
}

const results = [];
const methods = opt.methods.split(',');
const dflt = path.join(repo, 'models', 'default');
if (!opt['xl-only']) {
  const m = LoadedModel.open(dflt, { provider: 'cpu', threads });
  const d = m.dims;
  await m.release();
  results.push(await measure('default', dflt, { romeLayer: d.editLayer ?? 0, samples: 10 * d.dMlp, statsSamples: undefined, edits: Number(opt.edits) + 1, methods }));
}
if (opt.xl) {
  const dir = path.resolve(opt.xl);
  if (!fs.existsSync(path.join(dir, 'config.json'))) {
    log(`writing a random GPT-2-XL-shaped checkpoint to ${dir} …`);
    execFileSync(process.execPath, [path.join(repo, 'tools', 'random-checkpoint.mjs'), '--arch', 'gpt2', '--out', dir, '--layers', '48', '--d-model', '1600', '--heads', '25', '--tied'], { stdio: 'inherit' });
  }
  const samples = Number(opt['xl-samples']);
  const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  const dMlp = cfg.n_inner ?? 4 * cfg.n_embd;
  fs.copyFileSync(path.join(repo, 'models', 'default', 'corpus.txt'), path.join(dir, 'corpus.txt'));
  results.push(await measure('gpt2-xl-shape', dir, { romeLayer: 17, layers: [17], samples, statsSamples: samples, steps: Number(opt['xl-steps']), edits: Number(opt['xl-edits']) + 1, methods: opt['xl-methods'].split(','), project: 10 * dMlp }));
}

const f = (x, n = 0) => (Number.isFinite(x) ? x.toFixed(n) : '–');
console.log(`\nEdit speed, MechEdit (onnxruntime) against PyTorch ${results[0]?.torch} eager, ${threads} threads each, ${os.cpus().length}-core CPU, ${new Date().toISOString().slice(0, 10)}\n`);
console.log('| model | method | edits timed | v* steps / edit | MechEdit ms / edit | PyTorch ms / edit | ratio (MechEdit / PyTorch) | ms / v* step (MechEdit · PyTorch) | edits / min at N = 1,000, projected (MechEdit · PyTorch) | final v* loss gap |');
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const r of results.flatMap((x) => x.rows)) {
  console.log(`| ${r.model} | ${r.method} | ${r.edits} | ${f(r.steps, 1)} | ${f(r.msMechEdit)} | ${f(r.msTorch)} | ${f(r.ratio, 2)} | ${f(r.perStepA, 1)} · ${f(r.perStepB, 1)} | ${f(r.perMinuteA, 1)} · ${f(r.perMinuteB, 1)} | ${r.lossGap.toExponential(1)} |`);
}
// "first computation": keyStats on a fresh cache (tokenising the corpus, the truncated graph's session,
// forward + Kᵀ K, writing the file); "forward + Kᵀ K": the same rows again on the warm session, which is
// what PyTorch's side times, on its second (warm) pass over them (its model is loaded and the rows tokenised
// before; its first pass is printed too). A projection scales the forward part only; the one-off rest of the
// first computation is added once.
console.log('\n| model | key statistics | MechEdit, first computation | MechEdit, forward + Kᵀ K | PyTorch, forward + Kᵀ K (first pass) | ratio (forward + Kᵀ K) |');
console.log('|---|---|---|---|---|---|');
for (const { stats: s } of results) {
  const scale = s.project ? s.project / s.samples : 1;
  const what = s.project ? `${s.samples} keys measured → ${s.project} (10 · d_mlp) projected ×${scale.toFixed(1)}` : `${s.samples} keys (10 · d_mlp), measured`;
  const first = s.msMechEdit - s.msMechEditForward + s.msMechEditForward * scale;
  console.log(`| ${s.model} | ${what} | ${f(first / 1000, 2)} s | ${f((s.msMechEditForward * scale) / 1000, 2)} s | ${f((s.msTorch * scale) / 1000, 2)} s (${f((s.msTorchFirst * scale) / 1000, 2)} s) | ${f(s.msMechEditForward / s.msTorch, 2)} |`);
}
if (opt.json) fs.writeFileSync(opt.json, JSON.stringify(results, null, 2));
