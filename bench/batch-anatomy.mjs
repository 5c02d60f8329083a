#!/usr/bin/env node
// Where does one batch edit (MEMIT, AlphaEdit) lose its facts? For each target of a saved edit
// file with several requests (rank n: U = residuals R [n, d_out], V = solved columns [n, d_in],
// K = the keys it was solved for [n, d_in]), the update at request j's key is
// ΔW k_j = Σ_i U_i (V_i · k_j). Prints, per layer (written and crosstalk for MEMIT and AlphaEdit,
// whose U rows are the residuals; a ROME edit gets the other columns, for comparison):
//   written    the median (and least) share of r_j = U_j that ΔW k_j carries along r_j
//   crosstalk  the median (and largest) ‖ΔW k_j − share · r_j‖ / ‖r_j‖ (the other requests' residuals)
//   ‖ΔW‖/‖W‖   the size of the whole update against the module's weight
//   at the subject / elsewhere  median ‖ΔW k‖ / ‖W k + b‖ (the module's output, unedited) at the
//              subject's last token of each edit prompt, and at every other token of those prompts
// A solve that writes its residuals at its keys, yet leaves facts unlanded, loses them elsewhere:
// the update's size moves the activations of other tokens (the prompt's own words, other facts).
//
//   npx tsc -p . && node bench/batch-anatomy.mjs EDIT.json [--model DIR]   (default: models/default)

import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { out, repo } from './lib.mjs';

const { values: opt, positionals } = parseArgs({ allowPositionals: true, options: { model: { type: 'string' } } });
if (positionals.length !== 1) throw new Error('usage: node bench/batch-anatomy.mjs EDIT.json [--model DIR]');
const { LoadedModel } = out('core/runtime/model.js');
const { readEdit } = out('core/edits/editFile.js');
const { stackHealth } = out('core/diagnostics/sequentialMeasure.js');
const { withSubject } = out('core/edits/rome.js');
const { tapName } = out('core/graph/taps.js');

const edit = readEdit(positionals[0]);
const model = LoadedModel.open(opt.model ?? path.join(repo, 'models', 'default'), { provider: 'cpu', threads: 1 });
const health = new Map(stackHealth(model, [edit]).map((h) => [h.module, h.relNorm]));
const dot = (a, ao, b, bo, d) => {
  let s = 0;
  for (let k = 0; k < d; k++) s += a[ao + k] * b[bo + k];
  return s;
};
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

console.log(`\n${edit.json.label} (${edit.json.method}, ${positionals[0]})\n`);
/** MEMIT's and AlphaEdit's U rows are the residuals r_j (ROME's are not). */
const residualRows = ['memit', 'alphaedit'].includes(edit.json.method);
const requests = edit.json.request?.requests ?? (edit.json.request?.subject ? [edit.json.request] : []);
/** Median ‖ΔW k‖ / ‖W k + b‖ over the edit prompts' subject last tokens, and over their other tokens. */
async function reach(layer, U, V, n) {
  const rows = requests.map((r) => withSubject(model, r.prompt, r.subject));
  const b = model.makeBatch(rows.map((r) => r.ids));
  const o = await model.bare().run({ taps: [tapName(layer, 'mlp.key'), tapName(layer, 'mlp_out')], layers: layer + 1 }, b);
  const keys = o[tapName(layer, 'mlp.key')].data;
  const outs = o[tapName(layer, 'mlp_out')].data;
  const [dIn, dOut] = [V.length / n, U.length / n];
  const at = [];
  const elsewhere = [];
  rows.forEach((r, row) => r.ids.forEach((_, pos) => {
    const p = row * b.seq + pos;
    const w = new Float64Array(dOut);
    for (let i = 0; i < n; i++) {
      const c = dot(V, i * dIn, keys, p * dIn, dIn);
      for (let k = 0; k < dOut; k++) w[k] += c * U[i * dOut + k];
    }
    const ratio = Math.sqrt(dot(w, 0, w, 0, dOut) / dot(outs, p * dOut, outs, p * dOut, dOut));
    (pos === r.lookup ? at : elsewhere).push(ratio);
  }));
  return { at: median(at), elsewhere: median(elsewhere) };
}

console.log('| layer | requests | written along r_j (median, least) | crosstalk (median, largest) | ‖ΔW k‖/‖W k + b‖ at the subject · elsewhere in the prompt (median) | ‖ΔW‖/‖W‖ |');
console.log('|---:|---:|---:|---:|---:|---:|');
for (const [ti, t] of edit.json.targets.entries()) {
  const { U, V, K } = edit.tensors[ti];
  const n = t.rank;
  const dIn = V.length / n;
  const dOut = U.length / n;
  const written = [];
  const cross = [];
  for (let j = 0; K && residualRows && j < n; j++) {
    const w = new Float64Array(dOut);
    for (let i = 0; i < n; i++) {
      const c = dot(V, i * dIn, K, j * dIn, dIn);
      for (let k = 0; k < dOut; k++) w[k] += c * U[i * dOut + k];
    }
    const rr = dot(U, j * dOut, U, j * dOut, dOut);
    const along = dot(w, 0, U, j * dOut, dOut) / rr;
    let rest = 0;
    for (let k = 0; k < dOut; k++) rest += (w[k] - along * U[j * dOut + k]) ** 2;
    written.push(along);
    cross.push(Math.sqrt(rest / rr));
  }
  const pct = (x) => `${(100 * x).toFixed(1)} %`;
  const r = t.module === 'mlp.out' && requests.length === n ? await reach(t.layer, U, V, n) : undefined;
  const solved = K && residualRows ? `${pct(median(written))}, ${pct(Math.min(...written))} | ${pct(median(cross))}, ${pct(Math.max(...cross))}` : '– | –';
  console.log(`| ${t.layer} | ${n} | ${solved} | ${r ? `${r.at.toFixed(2)} · ${r.elsewhere.toFixed(2)}` : '–'} | ${health.get(`L${t.layer} ${t.module}`).toFixed(2)} |`);
}
await model.release();
