#!/usr/bin/env node
// Finding c (issue 31 item 4): AlphaEdit keeps its edits and the unrelated facts over many
// sequential edits (AlphaEdit paper: 2,000–3,000 edits in batches of 100), and MEMIT lands a batch
// of 100 (MEMIT paper).
//
// Cases: n requests sampled (--seed, default 3103) from the world's counterfactuals
// (eval/counterfactuals.json, without its last 200: the 40 reserved people whose facts are the
// unrelated ones). They are applied in batches (--batch; default: the preset's `batch` when it has
// one, else 100 — AlphaEdit's reference batch), each batch's edit computed at --preset on the
// model as edited so far (the stack of sequential.ts: consolidated exactly), and at each checkpoint
// (--checkpoints, default 50,100,200,300 up to n, and n) the model is measured as sequential runs
// measure it (sequentialMeasure.ts firstTokenTop: the answer's first token is top-1):
//   efficacy     every request applied so far, on its own prompt (95 % CI over those requests);
//   paraphrase   their paraphrases (CI over requests: each request's share);
//   unrelated    of the reserved people's facts the unedited model answers, the share still answered
//                (CI over those facts).
// MEMIT's batch of 100: --method memit --n 100 --batch 100 (one checkpoint, after the batch).
//
//   node bench/findings/lifelong.mjs [--preset tuned|paper] [--method alphaedit] [--n 300] [--batch B] [--checkpoints 50,100,200,300] [--seed 3103] [--set JSON] [--out FILE]

import * as fs from 'node:fs';
import * as path from 'node:path';
import { bootMean, costEstimate, findingArgs, report, rng, sample } from '../findings-lib.mjs';
import { checkPreset, core } from './edits.mjs';

const DEFAULT_N = 300;
const args = findingArgs(import.meta.filename, { n: DEFAULT_N, seed: 3103 }, {
  method: { type: 'string', default: 'alphaedit' }, batch: { type: 'string' }, checkpoints: { type: 'string', default: '50,100,200,300' },
  set: { type: 'string', default: '{}' },
});
const { values } = args;
const c = core();
const { firstTokenTop } = c.out('core/diagnostics/sequentialMeasure.js');
const settings = JSON.parse(values.set);
const descriptor = c.factEditor(values.method).descriptor;
checkPreset(c, values.method, args.preset);
const presetBatch = descriptor.presets.find((p) => p.id === args.preset)?.values?.batch;
const batch = Number(values.batch ?? presetBatch ?? 100);
const model = c.LoadedModel.open(args.modelDir, { provider: 'cpu', threads: Number(values.threads) });
const cf = JSON.parse(fs.readFileSync(path.join(args.modelDir, 'eval', 'counterfactuals.json'), 'utf8'));
const pool = cf.requests.slice(0, cf.requests.length - cf.specificity.length);
const requests = sample(pool, args.n, rng(args.seed));
const checkpoints = [...new Set([...values.checkpoints.split(',').map(Number).filter((k) => k > 0 && k < requests.length), requests.length])].sort((a, b) => a - b);

const bare = model.bare();
const stack = new c.EditStack(bare.withEdits(bare.edits));
stack.setConsolidation({ mode: 'exact' });
const probes = cf.specificity.map((p) => ({ prompt: p.prompt, answer: p.answer }));
const r = report(`c. ${descriptor.label}: ${requests.length} sequential edits in batches of ${batch} (first-token top-1, measured after all edits so far)`, args);
const opts = { seed: args.bootSeed };
const curve = [];
const knownBefore = await firstTokenTop(model, probes);
const keptProbes = probes.filter((_, i) => knownBefore[i]);
const fill = (q) => q.prompt.replace('{}', q.subject);
const t0 = performance.now();
let done = 0;
let editSeconds = 0;
let lastEdit;
while (done < requests.length) {
  const chunk = requests.slice(done, done + batch);
  const t = performance.now();
  const { edit } = await c.computeFactEdit(values.method, stack.model, stack, chunk.map(({ subject, prompt, target }) => ({ subject, prompt, target })), { ...settings, preset: args.preset });
  editSeconds += (performance.now() - t) / 1000;
  stack.apply(edit);
  lastEdit = edit;
  const before = done;
  done += chunk.length;
  process.stderr.write(`${done}/${requests.length} edits; ${costEstimate('request (edit only)', editSeconds, done, DEFAULT_N)}\n`);
  for (const k of checkpoints.filter((x) => x > before && x <= done)) {
    // A checkpoint inside a batch is measured after the whole batch (on the requests up to k).
    const applied = requests.slice(0, k);
    const eff = await firstTokenTop(stack.model, applied.map((q) => ({ prompt: fill(q), answer: q.target })));
    const para = await Promise.all(applied.map(async (q) => {
      const hits = await firstTokenTop(stack.model, (q.paraphrases ?? []).map((p) => ({ prompt: p, answer: q.target })));
      return hits.length ? hits.filter(Boolean).length / hits.length : NaN;
    }));
    const kept = await firstTokenTop(stack.model, keptProbes);
    const point = { edits: k, measuredAfter: done, efficacy: bootMean(eff.map(Number), opts), paraphrase: bootMean(para, opts), unrelated: bootMean(kept.map(Number), opts) };
    curve.push(point);
    const at = done === k ? `${k} edits` : `${k} edits (measured after ${done})`;
    r.add(`${at}: efficacy of all edits so far`, point.efficacy);
    r.add(`${at}: paraphrases`, point.paraphrase);
    r.add(`${at}: unrelated facts kept`, point.unrelated);
  }
}
const hp = lastEdit?.json?.hparams;
r.note(`Unrelated facts: ${keptProbes.length} of the ${probes.length} reserved people's facts answered before editing. Batch ${batch}${values.batch ? ' (given)' : presetBatch ? ` (preset ${args.preset})` : ' (AlphaEdit\'s reference batch; the preset names none)'}. Settings given: ${values.set}.`);
r.note(`Time: edits ${editSeconds.toFixed(0)} s (${(editSeconds / requests.length).toFixed(2)} s per request), whole run ${((performance.now() - t0) / 1000).toFixed(0)} s.${hp ? ` Last edit's hparams: ${JSON.stringify(hp).slice(0, 300)}` : ''}`);
r.print();
r.save({ method: values.method, batch, settings, requests: requests.map((q) => q.case_id), curve: curve.map((p) => ({ edits: p.edits, measuredAfter: p.measuredAfter, efficacy: p.efficacy.value, paraphrase: p.paraphrase.value, unrelated: p.unrelated.value })) });
await model.release();
