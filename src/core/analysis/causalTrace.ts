// Causal tracing (ROME, shared METHODS.md): corrupt the subject tokens' embeddings with Gaussian
// noise (3 × the embedding std), then restore one clean state at a time — the residual at
// (token, layer), or the MLP / attention outputs of a window of layers at a token — and record
// P(answer): the indirect effect of that state. Batched: each run holds several restorations ×
// the noise samples; the clean states are fed once as [1, S, d] patches that broadcast.
// The recommended edit layer comes from the scores by layerRule.ts's RECOMMENDED_RULE (measured in
// docs/results/guided-path.md) — only when the trace is informative (traceInformative): the model must
// know the answer (clean P ≥ TRACE_MIN_CLEAN) and corrupting the subject must take it away
// (clean − corrupted ≥ TRACE_MIN_DROP); otherwise every restoration is noise around the
// corrupted level and the "strongest" layer means nothing.

import type { LoadedModel } from '../runtime/model';
import { loadOrt, type OrtTensor } from '../runtime/ort';
import { readTensorF32 } from '../checkpoint/safetensors';
import { badInput, cancelled } from '../errors';
import { PATCH_TAPS, type PatchTap } from '../graph/forward';
import { tapName } from '../graph/taps';
import type { CausalTraceResult } from '../../protocol/model';
import { recommendLayer, traceLayerSummary } from './layerRule';

export interface CausalTraceRequest {
  prompt: string;
  subject: string;
  /** The answer whose probability is traced (default: the clean run's most likely next token). */
  answer?: string;
  samples?: number;
  /** Noise standard deviation in units of the embedding std (ROME: 3). */
  noise?: number;
  /** Layers restored together for the MLP and attention traces (default: defaultTraceWindow). */
  window?: number;
  seed?: number;
  /** false: only the clean and corrupted runs (cleanProb, corruptedProb, informative; the score grids stay 0). */
  restorations?: boolean;
  onProgress?: (done: number, total: number) => void;
  isCancelled?: () => boolean;
}

export type { CausalTraceResult } from '../../protocol/model';

const KIND_TAP: Record<'resid' | 'mlp' | 'attn', PatchTap> = { resid: 'resid_post', mlp: 'mlp_out', attn: 'attn_out' };

/**
 * Token range [start, end) of `subject` inside `prompt`: the tokens whose characters overlap the
 * subject's (a leading space merged into the subject's first token, " cat", counts as the subject).
 */
export function subjectRange(model: LoadedModel, prompt: string, subject: string): [number, number] {
  const at = prompt.lastIndexOf(subject);
  if (at < 0 || !subject) throw badInput(`The subject ${JSON.stringify(subject)} does not occur in the prompt`, { field: 'subject' });
  const ids = model.tokenizer.encode(prompt);
  // End offset (in characters of the decoded text) of each token.
  const ends = ids.map((_, i) => model.tokenizer.decode(ids.slice(0, i + 1)).length);
  const decoded = model.tokenizer.decode(ids);
  const shift = decoded.length - prompt.length; // special tokens (BOS) decoded in front
  const startChar = at + shift;
  const endChar = at + subject.length + shift;
  const start = ends.findIndex((e) => e > startChar);
  const end = ends.findIndex((e) => e >= endChar) + 1;
  if (start < 0 || end <= start) throw badInput(`Cannot locate the subject ${JSON.stringify(subject)} in the prompt's tokens`, { field: 'subject' });
  return [start, end];
}

/** The clean P(answer) below which a trace is not informative: the model does not know the answer. */
export const TRACE_MIN_CLEAN = 0.1;
/** The least drop of P(answer) that corrupting the subject must cause for a trace to be informative. */
export const TRACE_MIN_DROP = 0.05;

/** Whether a trace can locate the fact, and why not (the result's `informative` and `reason`). */
export function traceInformative(cleanProb: number, corruptedProb: number): { informative: boolean; reason?: string } {
  const pct = (p: number) => `${(100 * p).toFixed(1)} %`;
  if (!(cleanProb >= TRACE_MIN_CLEAN)) {
    return { informative: false, reason: `The model gives the answer only ${pct(cleanProb)} on the clean prompt (under ${pct(TRACE_MIN_CLEAN)}): it does not know this fact, so there is nothing to locate. Trace a fact the model predicts, or leave the answer empty to trace its own top-1.` };
  }
  if (!(cleanProb - corruptedProb >= TRACE_MIN_DROP)) {
    return { informative: false, reason: `Corrupting the subject lowers P(answer) only from ${pct(cleanProb)} to ${pct(corruptedProb)} (a drop under ${(100 * TRACE_MIN_DROP).toFixed(0)} points): the answer does not depend on the subject, so no restoration can show where the fact is stored. Check that the subject is the entity the answer is about, or raise the noise.` };
  }
  return { informative: true };
}

function gaussian(seed: number): () => number {
  let s = seed >>> 0 || 1;
  const uniform = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 0.5) / 2 ** 32;
  };
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

/**
 * ROME's window of 10 layers on GPT-2 XL's 48, scaled by depth (at least 1): on a shallow model a
 * window of 10 restores nearly every layer at once and the recommended layer means nothing (the
 * bundled 6-layer model gets 1, each layer's own effect).
 */
export function defaultTraceWindow(layers: number): number {
  return Math.max(1, Math.min(10, Math.round((layers * 10) / 48)));
}

/**
 * The corruption of the subject's tokens: Gaussian noise [samples, S, d] (zero outside the
 * subject) with std `req.noise` (default 3) × the std of the token embeddings (over up to 4096
 * rows of the table), seeded.
 */
function subjectNoise(model: LoadedModel, req: CausalTraceRequest, samples: number, S: number, [s0, s1]: [number, number]): { noise: Float32Array; noiseStd: number } {
  const d = model.dims.dModel;
  const E = readTensorF32(model.plan.embed);
  const rows = Math.min(model.plan.embed.shape[0], 4096);
  let sum = 0;
  let sq = 0;
  for (let i = 0; i < rows * d; i++) {
    sum += E[i];
    sq += E[i] * E[i];
  }
  const mean = sum / (rows * d);
  const noiseStd = (req.noise ?? 3) * Math.sqrt(sq / (rows * d) - mean * mean);
  const rand = gaussian(req.seed ?? 1);
  const noise = new Float32Array(samples * S * d);
  for (let n = 0; n < samples; n++) for (let t = s0; t < s1; t++) for (let j = 0; j < d; j++) noise[(n * S + t) * d + j] = noiseStd * rand();
  return { noise, noiseStd };
}

/** A restored state: none (the corrupted baseline), or a kind of state at a layer and token. */
type Restore = { kind: 'resid' | 'mlp' | 'attn'; layer: number; token: number } | undefined;

/** The baseline, then every (kind, layer, token), in the order the score grids are filled. */
function restorationsOf(layers: number, S: number): Restore[] {
  const restores: Restore[] = [undefined];
  for (const kind of ['resid', 'mlp', 'attn'] as const) for (let l = 0; l < layers; l++) for (let t = 0; t < S; t++) restores.push({ kind, layer: l, token: t });
  return restores;
}

export async function causalTrace(model: LoadedModel, req: CausalTraceRequest): Promise<CausalTraceResult> {
  const ort = loadOrt();
  const { layers, dModel: d } = model.dims;
  const ids = model.tokenizer.encode(req.prompt);
  const S = ids.length;
  const [s0, s1] = subjectRange(model, req.prompt, req.subject);
  const samples = req.samples ?? 10;
  const window = req.window ?? defaultTraceWindow(layers);

  // Clean run: every patchable state, and P(answer).
  const tapNames = Array.from({ length: layers }, (_, l) => PATCH_TAPS.map((k) => tapName(l, k))).flat();
  const clean = await model.run({ taps: tapNames, logits: 'last' }, model.makeBatch([ids]));
  const cleanLogits = clean.logits.data as Float32Array;
  const vocab = model.dims.vocab;
  // A given answer is scored by its first token (the answer-scoring convention); the result says
  // so when the answer has more (answerGiven).
  const answerIds = req.answer !== undefined ? model.tokenizer.encode(` ${req.answer}`, false) : [argmax(cleanLogits, vocab)];
  const answerId = answerIds[0];
  if (answerId === undefined) throw badInput('The answer is empty', { field: 'answer' });
  const prob = (logits: Float32Array, offset: number) => softmaxAt(logits, offset, vocab, answerId);
  const cleanProb = prob(cleanLogits, 0);

  const { noise, noiseStd } = subjectNoise(model, req, samples, S, [s0, s1]);

  const restores: Restore[] = req.restorations === false ? [undefined] : restorationsOf(layers, S);
  const restoredLayers = (r: NonNullable<Restore>) => (r.kind === 'resid' ? [r.layer] : range(Math.max(0, r.layer - Math.floor(window / 2)), Math.min(layers, r.layer - Math.floor(-window / 2))));

  const patchValues: Record<string, OrtTensor> = {};
  for (let l = 0; l < layers; l++) for (const k of PATCH_TAPS) patchValues[`patch.${l}.${k}`] = new ort.Tensor('float32', clean[tapName(l, k)].data as Float32Array, [1, S, d]);

  const perRun = Math.max(1, Math.floor(256 / samples));
  const results = new Float64Array(restores.length);
  for (let start = 0; start < restores.length; start += perRun) {
    if (req.isCancelled?.()) throw cancelled('Causal tracing cancelled.');
    const group = restores.slice(start, start + perRun);
    const B = group.length * samples;
    const batch = model.makeBatch(Array.from({ length: B }, () => ids));
    const feeds: Record<string, OrtTensor> = { ...patchValues };
    const embedNoise = new Float32Array(B * S * d);
    for (let g = 0; g < group.length; g++) embedNoise.set(noise, g * samples * S * d);
    feeds.embed_noise = new ort.Tensor('float32', embedNoise, [B, S, d]);
    const masks: Record<string, Uint8Array> = {};
    for (let l = 0; l < layers; l++) for (const k of PATCH_TAPS) masks[`patchmask.${l}.${k}`] = new Uint8Array(B * S);
    group.forEach((r, g) => {
      if (!r) return;
      for (const l of restoredLayers(r)) {
        const m = masks[`patchmask.${l}.${KIND_TAP[r.kind]}`];
        for (let n = 0; n < samples; n++) m[(g * samples + n) * S + r.token] = 1;
      }
    });
    for (const [name, m] of Object.entries(masks)) feeds[name] = new ort.Tensor('bool', m, [B, S, 1]);
    const out = await model.run({ patch: true, logits: 'last' }, batch, feeds);
    const logits = out.logits.data as Float32Array;
    const width = out.logits.dims[2];
    group.forEach((_, g) => {
      let p = 0;
      for (let n = 0; n < samples; n++) p += prob(logits, (g * samples + n) * width) / samples;
      results[start + g] = p;
    });
    req.onProgress?.(Math.min(start + perRun, restores.length), restores.length);
  }

  const scores = { resid: grid(layers, S), mlp: grid(layers, S), attn: grid(layers, S) };
  restores.forEach((r, i) => r && (scores[r.kind][r.layer][r.token] = results[i]));
  const verdict = traceInformative(cleanProb, results[0]);
  // The recommended layer: layerRule.ts's RECOMMENDED_RULE on the scores (none when not informative).
  const recommended = req.restorations === false ? undefined : recommendLayer(traceLayerSummary({ scores, subject: [s0, s1], cleanProb, corruptedProb: results[0], informative: verdict.informative }));
  return {
    tokens: ids.map((id) => ({ id, text: model.tokenizer.tokenText(id) })),
    subject: [s0, s1],
    answer: { id: answerId, text: model.tokenizer.tokenText(answerId) },
    ...(answerIds.length > 1 ? { answerGiven: { text: req.answer!, tokens: answerIds.length } } : {}),
    cleanProb,
    corruptedProb: results[0],
    scores,
    ...(recommended !== undefined ? { recommendedLayer: recommended } : {}),
    ...verdict,
    noiseStd,
  };
}

const range = (a: number, b: number) => Array.from({ length: Math.max(0, b - a) }, (_, i) => a + i);
const grid = (rows: number, cols: number) => Array.from({ length: rows }, () => new Array<number>(cols).fill(0));

function argmax(x: Float32Array, n: number): number {
  let best = 0;
  for (let i = 1; i < n; i++) if (x[i] > x[best]) best = i;
  return best;
}

function softmaxAt(logits: Float32Array, offset: number, n: number, id: number): number {
  let max = -Infinity;
  for (let i = 0; i < n; i++) max = Math.max(max, logits[offset + i]);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += Math.exp(logits[offset + i] - max);
  return Math.exp(logits[offset + id] - max) / sum;
}
