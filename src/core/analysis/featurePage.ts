// A feature's page (as Neuronpedia shows one): its top activating contexts in the corpus with
// the activation at every token, its logit read (the unembedding of its decoder direction, no
// final norm: W_U d_f, top and bottom tokens), the histogram of its non-zero activations, and its
// cosine with concept directions and with the values U of the edits in the stack.

import type { LoadedModel } from '../runtime/model';
import type { EditStack } from '../edits/stack';
import { readTensorF32 } from '../checkpoint/safetensors';
import { conceptDirections } from './concepts';
import { hookActivations } from '../sae/activations';
import { affine } from '../sae/dense';
import { activate, featureDirection, hookString, type Sae } from '../sae/sae';
import { steeringVector } from '../sae/features';
import type { FeaturePage } from '../../protocol/features';

export type { FeaturePage, FeatureContext } from '../../protocol/features';

export interface ConceptSpec {
  name: string;
  positive: string[];
  negative: string[];
}

/** Every feature's activations over `rows` (documents): per row, the activation of `feature` at each token. */
async function scan(model: LoadedModel, sae: Sae, feature: number, rows: number[][]): Promise<Float32Array[]> {
  const { x, offsets } = await hookActivations(model, sae.hook, rows);
  const { dIn, dSae } = sae;
  const xin = Float32Array.from(x, (v, i) => v - (sae.applyBDecToInput ? sae.b_dec[i % dIn] : 0));
  const pre = await affine(xin, sae.W_enc, sae.b_enc, dIn, model.options.threads);
  return rows.map((r, ri) => Float32Array.from(r, (_, t) => {
    const code = activate(sae, pre.subarray((offsets[ri] + t) * dSae, (offsets[ri] + t + 1) * dSae));
    const a = code.ids.indexOf(feature);
    return a < 0 ? 0 : code.values[a];
  }));
}

/** The residual-stream direction the feature writes (d_f, or W_down d_f for the MLP key), unit. */
function residualDirection(model: LoadedModel, sae: Sae, feature: number): Float32Array | null {
  if (sae.hook.tap === 'attn_out' || (sae.hook.tap === 'resid_pre' && sae.hook.layer === 0)) return sae.dIn === model.dims.dModel ? unit(featureDirection(sae, feature)) : null;
  return unit(steeringVector(model, sae, feature, 1).vector);
}

function unit(v: Float32Array): Float32Array {
  const n = Math.hypot(...v);
  return n > 0 ? Float32Array.from(v, (a) => a / n) : v;
}

function cos(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : 0;
}

function logitRead(model: LoadedModel, d: Float32Array, k: number): FeaturePage['logits'] {
  const W = readTensorF32(model.plan.unembed.w); // [vocab, d_model]
  const dm = model.dims.dModel;
  const vocab = Math.min(model.dims.vocab, W.length / dm);
  const vals = Array.from({ length: vocab }, (_, t) => ({ id: t, value: dot(W, t * dm, d) }));
  vals.sort((a, b) => b.value - a.value);
  const name = (id: number) => model.tokenizer.tokenText(id);
  return { top: vals.slice(0, k).map((v) => ({ token: name(v.id), value: v.value })), bottom: vals.slice(-k).reverse().map((v) => ({ token: name(v.id), value: v.value })) };
}

function dot(W: Float32Array, at: number, d: Float32Array): number {
  let s = 0;
  for (let i = 0; i < d.length; i++) s += W[at + i] * d[i];
  return s;
}

function histogram(values: number[], bins: number): FeaturePage['histogram'] {
  if (values.length === 0) return { edges: [], counts: [] };
  const max = Math.max(...values);
  const edges = Array.from({ length: bins + 1 }, (_, i) => (max * i) / bins);
  const counts = new Array<number>(bins).fill(0);
  for (const v of values) counts[Math.min(bins - 1, Math.floor((v / max) * bins))]++;
  return { edges, counts };
}

/** The page of `feature`, scanning `rows` (corpus documents' token ids) for its contexts. */
export async function featurePage(model: LoadedModel, stack: EditStack, sae: Sae, feature: number, rows: number[][], o: { contexts?: number; top?: number; concepts?: ConceptSpec[] } = {}): Promise<FeaturePage> {
  featureDirection(sae, feature); // bounds
  const acts = await scan(model.bare(), sae, feature, rows);
  const firing: number[] = [];
  acts.forEach((a) => a.forEach((v) => v > 0 && firing.push(v)));
  const order = acts.map((a, i) => ({ i, max: Math.max(...a) })).filter((r) => r.max > 0).sort((a, b) => b.max - a.max || a.i - b.i).slice(0, o.contexts ?? 10);
  const scanned = acts.reduce((s, a) => s + a.length, 0);
  const d = residualDirection(model, sae, feature);
  const concepts: FeaturePage['concepts'] = [];
  for (const c of o.concepts ?? []) {
    const r = await conceptDirections(model.bare(), stack, { positive: c.positive, negative: c.negative });
    const layer = sae.hook.tap === 'resid_pre' ? sae.hook.layer - 1 : sae.hook.layer;
    const at = r.layers.find((l) => l.layer === layer);
    if (at && d) concepts.push({ name: c.name, layer, cos: cos(d, at.direction) });
  }
  const edits = d ? stack.values().map((e) => ({ id: e.id, label: e.label, layer: e.layer, module: e.module, cos: Math.max(...e.values.map((v) => Math.abs(cos(v, d)))) })) : [];
  return {
    feature, hook: hookString(sae.hook), frequency: firing.length / scanned, scannedTokens: scanned,
    contexts: order.map(({ i, max }) => ({ tokens: rows[i].map((id) => model.tokenizer.tokenText(id)), acts: Array.from(acts[i]), max })),
    logits: d ? logitRead(model, d, o.top ?? 10) : null,
    histogram: histogram(firing, 20),
    concepts, edits,
  };
}
