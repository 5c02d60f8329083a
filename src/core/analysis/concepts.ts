// Concept directions: a concept is two prompt sets, with and without it. Per layer, the direction
// is the difference of the means of resid_post at each prompt's last token (d_l, unit d̂_l); its
// separability is the AUC of the projections x·d̂_l (positive vs negative prompts) — on the
// prompts the direction was computed from (`auc`, optimistic) and held out (`heldOutAuc`: each
// prompt projected on the direction computed without it, leave-one-out); it is read
// through the unembedding (the top tokens of W_U d̂_l, direct logit attribution, no final norm);
// it is compared with the values U of the edits in the stack at that layer (|cos|); and a probe
// prompt's tokens are projected on it at every layer.

import type { LoadedModel } from '../runtime/model';
import { tapName } from '../graph/taps';
import { readTensorF32 } from '../checkpoint/safetensors';
import { badInput } from '../errors';
import type { EditStack } from '../edits/stack';
import { dot } from '../edits/linalg';
import type { ConceptResult } from '../../protocol/concepts';

export interface ConceptRequest {
  positive: string[];
  negative: string[];
  /** A prompt whose tokens are projected on the directions. */
  probe?: string;
  /** Top tokens of the lens read of each direction. */
  top?: number;
}

/** Per checkpoint (shared by every view of the model). */
const unembedCache = new WeakMap<object, Float32Array>();

/** resid_post of every layer for each prompt: [layer][prompt or token][d_model]. */
async function residuals(model: LoadedModel, prompts: string[], allPositions: boolean): Promise<{ vectors: Float64Array[][]; tokens: number[][] }> {
  const L = model.dims.layers;
  const d = model.dims.dModel;
  const rows = prompts.map((p) => model.tokenizer.encode(p));
  const b = model.makeBatch(rows);
  const taps = Array.from({ length: L }, (_, l) => tapName(l, 'resid_post'));
  const out = await model.run({ taps, logits: 'none' }, b);
  const vectors = taps.map((t) => {
    const data = out[t].data as Float32Array;
    const at = (row: number, pos: number) => Float64Array.from(data.subarray((row * b.seq + pos) * d, (row * b.seq + pos + 1) * d));
    return allPositions ? rows[0].map((_, p) => at(0, p)) : rows.map((r, i) => at(i, r.length - 1));
  });
  return { vectors, tokens: rows };
}

/** P(score of a positive > score of a negative), ties counting one half. */
export function auc(pos: number[], neg: number[]): number {
  let wins = 0;
  for (const p of pos) for (const n of neg) wins += p > n ? 1 : p === n ? 0.5 : 0;
  return wins / (pos.length * neg.length);
}

/**
 * Leave-one-out AUC: each prompt's score is its projection on the mean difference computed
 * without it (so no prompt is scored by a direction it helped make). Needs ≥ 2 prompts per side.
 */
export function heldOutAuc(pos: Float64Array[], neg: Float64Array[]): number {
  const d = pos[0].length;
  const sum = (vs: Float64Array[]) => vs.reduce((s, v) => { for (let j = 0; j < d; j++) s[j] += v[j]; return s; }, new Float64Array(d));
  const [sp, sn] = [sum(pos), sum(neg)];
  // Score of x, left out of its own set: x · (mean(pos \ x) − mean(neg \ x)) / ‖…‖.
  const score = (x: Float64Array, fromPos: boolean) => {
    const dir = new Float64Array(d);
    for (let j = 0; j < d; j++) {
      const mp = fromPos ? (sp[j] - x[j]) / (pos.length - 1) : sp[j] / pos.length;
      const mn = fromPos ? sn[j] / neg.length : (sn[j] - x[j]) / (neg.length - 1);
      dir[j] = mp - mn;
    }
    return dot(x, dir) / (Math.sqrt(dot(dir, dir)) || 1);
  };
  return auc(pos.map((x) => score(x, true)), neg.map((x) => score(x, false)));
}

export async function conceptDirections(model: LoadedModel, stack: EditStack, req: ConceptRequest): Promise<ConceptResult> {
  const clean = (xs: string[], field: string) => {
    const out = xs.map((x) => x.trim()).filter(Boolean);
    if (out.length < 2) throw badInput(`Give at least two ${field} prompts (one per line)`, { field });
    return out;
  };
  const positive = clean(req.positive, 'positive');
  const negative = clean(req.negative, 'negative');
  const d = model.dims.dModel;
  const pos = await residuals(model, positive, false);
  const neg = await residuals(model, negative, false);
  const probe = req.probe?.trim() ? await residuals(model, [req.probe.trim()], true) : undefined;
  let W = unembedCache.get(model.checkpoint);
  if (!W) unembedCache.set(model.checkpoint, (W = readTensorF32(model.plan.unembed.w))); // [vocab, d_model]
  const vocab = Math.min(model.dims.vocab, W.length / d);
  const top = req.top ?? 8;
  const edits = stack.values();
  const layers = pos.vectors.map((pv, l) => {
    const mean = (vs: Float64Array[]) => Float64Array.from({ length: d }, (_, j) => vs.reduce((s, v) => s + v[j], 0) / vs.length);
    const negMean = mean(neg.vectors[l]);
    const diff = mean(pv).map((v, j) => v - negMean[j]);
    const norm = Math.sqrt(dot(diff, diff)) || 1;
    const unit = diff.map((v) => v / norm);
    const logits = new Float64Array(vocab);
    for (let t = 0; t < vocab; t++) logits[t] = dot(W!.subarray(t * d, (t + 1) * d), unit);
    const order = Array.from(logits.keys()).sort((a, b) => logits[b] - logits[a]).slice(0, top);
    return {
      layer: l,
      auc: auc(pv.map((v) => dot(v, unit)), neg.vectors[l].map((v) => dot(v, unit))),
      heldOutAuc: heldOutAuc(pv, neg.vectors[l]),
      norm,
      direction: Array.from(unit),
      lens: order.map((id) => ({ id, text: model.tokenizer.tokenText(id), logit: logits[id] })),
      cosEdits: edits.filter((e) => e.layer === l).map((e) => ({ id: e.id, label: e.label, module: e.module, cos: Math.max(...e.values.map((u) => Math.abs(dot(u, unit)) / (Math.sqrt(dot(u, u)) || 1))) })),
    };
  });
  const best = layers.reduce((b, x) => (x.auc > layers[b].auc || (x.auc === layers[b].auc && x.norm > layers[b].norm) ? x.layer : b), 0);
  return {
    positive: positive.length,
    negative: negative.length,
    layers,
    best,
    probe: probe ? { tokens: probe.tokens[0].map((id) => ({ id, text: model.tokenizer.tokenText(id) })), values: probe.vectors.map((vs, l) => vs.map((v) => dot(v, layers[l].direction))) } : undefined,
  };
}
