// SAE evaluation as SAELens / SAEBench report it, on held-out text (the documents the trainer
// never saw, activations.ts):
//   explained variance = 1 − Σ‖x − x̂‖² / Σ‖x − mean(x)‖²  (over all held-out tokens)
//   L0 = mean number of active features per token; dead = features that never fire on the
//   held-out tokens; dense = features firing on more than DENSE_FREQUENCY of them
//   CE loss (next-token, mean over positions that have a next token) clean, with the SAE's
//   reconstruction spliced in at the hook, and with the hook zero-ablated;
//   loss recovered = (CE_zero − CE_sae) / (CE_zero − CE_clean).
// Splicing uses the forward graph's patch inputs (the hook's value replaced at every real
// position, everything downstream sees it): resid_post, mlp_out and attn_out directly,
// resid_pre of block l as resid_post of block l − 1. The MLP key and resid_pre of block 0 have no
// patch input: their CE is not computed (ce null, with the reason).

import type { LoadedModel, Batch } from '../runtime/model';
import { loadOrt, type OrtTensor } from '../runtime/ort';
import { PATCH_TAPS, type PatchTap } from '../graph/forward';
import { tapName } from '../graph/taps';
import { cancelled } from '../errors';
import { affine } from './dense';
import { activate, hookString, type Sae } from './sae';
import { lengthBatches } from './activations';

export const DENSE_FREQUENCY = 0.1;

export interface SaeEval {
  hook: string;
  tokens: number;
  documents: number;
  explainedVariance: number;
  mse: number;
  l0: number;
  dead: number;
  dense: number;
  dSae: number;
  ce: { clean: number; sae: number; zero: number; lossRecovered: number } | null;
  ceNote?: string;
  /** Firing frequency of every feature on the held-out tokens. */
  frequency: Float32Array;
}

/** Where the hook's value can be replaced in the patch graph, or why not. */
export function splicePoint(sae: Sae): { layer: number; tap: PatchTap } | string {
  const { layer, tap } = sae.hook;
  if ((PATCH_TAPS as readonly string[]).includes(tap)) return { layer, tap: tap as PatchTap };
  if (tap === 'resid_pre' && layer > 0) return { layer: layer - 1, tap: 'resid_post' };
  return `${hookString(sae.hook)} has no patch input in the forward graph; CE with the SAE spliced in is not computed for it`;
}

/** Reconstructions x̂ [n, d_in] of x, with the codes' sizes and per-feature firing counts. */
export async function reconstruct(sae: Sae, x: Float32Array, threads = 0): Promise<{ recon: Float32Array; l0: number; fired: Float64Array }> {
  const { dIn, dSae } = sae;
  const n = x.length / dIn;
  const xin = Float32Array.from(x, (v, i) => v - (sae.applyBDecToInput ? sae.b_dec[i % dIn] : 0));
  const pre = await affine(xin, sae.W_enc, sae.b_enc, dIn, threads);
  const recon = new Float32Array(x.length);
  const fired = new Float64Array(dSae);
  let l0 = 0;
  for (let t = 0; t < n; t++) {
    const code = activate(sae, pre.subarray(t * dSae, (t + 1) * dSae));
    const out = recon.subarray(t * dIn, (t + 1) * dIn);
    out.set(sae.b_dec);
    l0 += code.ids.length;
    for (let a = 0; a < code.ids.length; a++) {
      const f = code.ids[a];
      fired[f]++;
      const v = code.values[a];
      for (let i = 0; i < dIn; i++) out[i] += v * sae.W_dec[f * dIn + i];
    }
  }
  return { recon, l0, fired };
}

/** Mean next-token CE of one batch's run (target_logprobs) over positions with a next token. */
function ceSum(out: Record<string, OrtTensor>, b: Batch): { sum: number; count: number } {
  const lp = out.target_logprobs.data as Float32Array;
  let sum = 0;
  let count = 0;
  for (let r = 0; r < b.batch; r++) for (let s = 0; s + 1 < b.lengths[r]; s++) {
    sum -= lp[r * b.seq + s];
    count++;
  }
  return { sum, count };
}

function targetIds(b: Batch): OrtTensor {
  const t = new BigInt64Array(b.batch * b.seq);
  for (let r = 0; r < b.batch; r++) for (let s = 0; s + 1 < b.lengths[r]; s++) t[r * b.seq + s] = b.ids[r * b.seq + s + 1];
  return new (loadOrt().Tensor)('int64', t, [b.batch, b.seq]);
}

/** Patch feeds that replace tap `at` by `value` [B, S, d] at the real positions of the batch, and nothing else. */
export function spliceFeeds(model: LoadedModel, b: Batch, at: { layer: number; tap: PatchTap }, value: Float32Array): Record<string, OrtTensor> {
  const ort = loadOrt();
  const d = model.dims.dModel;
  const feeds: Record<string, OrtTensor> = { embed_noise: new ort.Tensor('float32', new Float32Array(b.batch * b.seq * d), [b.batch, b.seq, d]) };
  const none = new ort.Tensor('bool', new Uint8Array(b.batch * b.seq), [b.batch, b.seq, 1]);
  const zeros = new ort.Tensor('float32', new Float32Array(b.seq * d), [1, b.seq, d]);
  for (let l = 0; l < model.dims.layers; l++) for (const k of PATCH_TAPS) {
    feeds[`patch.${l}.${k}`] = zeros;
    feeds[`patchmask.${l}.${k}`] = none;
  }
  const mask = new Uint8Array(b.batch * b.seq);
  for (let r = 0; r < b.batch; r++) mask.fill(1, r * b.seq, r * b.seq + b.lengths[r]);
  feeds[`patch.${at.layer}.${at.tap}`] = new ort.Tensor('float32', value, [b.batch, b.seq, d]);
  feeds[`patchmask.${at.layer}.${at.tap}`] = new ort.Tensor('bool', mask, [b.batch, b.seq, 1]);
  return feeds;
}

/** Evaluates `sae` on `rows` (held-out documents' token ids) of `model` (taken as given: pass model.bare() for the unedited one). */
export async function evaluateSae(model: LoadedModel, sae: Sae, rows: number[][], o: { batch?: number; isCancelled?: () => boolean; onProgress?: (done: number, total: number) => void } = {}): Promise<SaeEval> {
  const { dIn, dSae } = sae;
  const tap = tapName(sae.hook.layer, sae.hook.tap);
  const splice = splicePoint(sae);
  const threads = model.options.threads;
  const stats = { resid: 0, n: 0, l0: 0, sum: new Float64Array(dIn), sumSq: 0 };
  const fired = new Float64Array(dSae);
  const ce = { clean: 0, sae: 0, zero: 0, count: 0 };
  let done = 0;
  for (const group of lengthBatches(rows, o.batch ?? 32)) {
    if (o.isCancelled?.()) throw cancelled('SAE evaluation cancelled.');
    const b = model.makeBatch(group.map((i) => rows[i]));
    const targets = { target_ids: targetIds(b) };
    const clean = await model.run({ taps: [tap], logits: 'targets' }, b, targets);
    const full = clean[tap].data as Float32Array;
    const x = new Float32Array(b.lengths.reduce((a, c) => a + c, 0) * dIn);
    let at = 0;
    for (let r = 0; r < b.batch; r++) {
      x.set(full.subarray(r * b.seq * dIn, (r * b.seq + b.lengths[r]) * dIn), at);
      at += b.lengths[r] * dIn;
    }
    const rec = await reconstruct(sae, x, threads);
    for (let i = 0; i < x.length; i++) {
      stats.resid += (x[i] - rec.recon[i]) ** 2;
      stats.sum[i % dIn] += x[i];
      stats.sumSq += x[i] * x[i];
    }
    stats.n += x.length / dIn;
    stats.l0 += rec.l0;
    for (let f = 0; f < dSae; f++) fired[f] += rec.fired[f];
    if (typeof splice !== 'string') {
      const padded = new Float32Array(b.batch * b.seq * dIn);
      at = 0;
      for (let r = 0; r < b.batch; r++) {
        padded.set(rec.recon.subarray(at, at + b.lengths[r] * dIn), r * b.seq * dIn);
        at += b.lengths[r] * dIn;
      }
      const c = ceSum(clean, b);
      const s = ceSum(await model.run({ patch: true, logits: 'targets' }, b, { ...spliceFeeds(model, b, splice, padded), ...targets }), b);
      const z = ceSum(await model.run({ patch: true, logits: 'targets' }, b, { ...spliceFeeds(model, b, splice, new Float32Array(padded.length)), ...targets }), b);
      ce.clean += c.sum;
      ce.sae += s.sum;
      ce.zero += z.sum;
      ce.count += c.count;
    }
    done += group.length;
    o.onProgress?.(done, rows.length);
  }
  let centred = stats.sumSq;
  for (let i = 0; i < dIn; i++) centred -= (stats.sum[i] * stats.sum[i]) / stats.n;
  const frequency = Float32Array.from(fired, (c) => c / stats.n);
  const cleanCe = ce.clean / ce.count;
  const saeCe = ce.sae / ce.count;
  const zeroCe = ce.zero / ce.count;
  return {
    hook: hookString(sae.hook), tokens: stats.n, documents: rows.length, dSae,
    explainedVariance: 1 - stats.resid / centred, mse: stats.resid / stats.n, l0: stats.l0 / stats.n,
    dead: frequency.filter((f) => f === 0).length, dense: frequency.filter((f) => f > DENSE_FREQUENCY).length,
    ce: typeof splice === 'string' ? null : { clean: cleanCe, sae: saeCe, zero: zeroCe, lossRecovered: (zeroCe - saeCe) / (zeroCe - cleanCe) },
    ceNote: typeof splice === 'string' ? splice : undefined,
    frequency,
  };
}
