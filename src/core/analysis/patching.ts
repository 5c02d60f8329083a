// Exact activation patching on a prompt pair (the clean prompt and a corrupted one of the same
// token length): run the corrupted prompt with one node's activation replaced by its value in the
// clean run, and read the metric at the last position. Nodes (patchGraph.ts / taps.ts names):
//   resid  blocks.{l}.resid_post at token t      mlp   blocks.{l}.mlp_out at t
//   attn   blocks.{l}.attn_out at t              heads blocks.{l}.attn.head.{h} at t
// A head is patched through its layer's attn_out: attn_out_corrupt + head_clean − head_corrupt at
// t, which is exactly the corrupted run with that head's z_h replaced (attn_out is linear in the
// heads). Metric: logit-diff = logit(answer) − logit(wrong), or prob = P(answer); normalised as
// (patched − corrupt) / (clean − corrupt). The patch graph (forward.ts, option patch) does the
// replacement; batches hold many patched rows at once.

import type { LoadedModel } from '../runtime/model';
import { loadOrt, type OrtTensor } from '../runtime/ort';
import { badInput, cancelled } from '../errors';
import { PATCH_TAPS, type PatchTap } from '../graph/forward';
import { tapName } from '../graph/taps';
import { headsTapName } from '../graph/patchGraph';
import type { PatchGrid, PatchingResult, PatchMetric, PatchNodeKind, PatchToken } from '../../protocol/patching';

export interface PatchingRequest {
  clean: string;
  corrupt: string;
  answer: string;
  wrong?: string;
  metric?: PatchMetric;
  nodes?: PatchNodeKind[];
  onProgress?: (done: number, total: number) => void;
  isCancelled?: () => boolean;
}

export const NODE_TAP: Record<Exclude<PatchNodeKind, 'heads'>, PatchTap> = { resid: 'resid_post', mlp: 'mlp_out', attn: 'attn_out' };

/** The prompt pair, the metric and every tap of both runs (row 0 clean, row 1 corrupted). */
export interface PairRuns {
  ids: number[];
  corruptIds: number[];
  S: number;
  metric: PatchMetric;
  answer: PatchToken;
  wrong?: PatchToken;
  /** The metric of one row of last-position logits (vocab floats from offset). */
  score: (logits: Float32Array, offset: number) => number;
  /** metric = weights · logits (logit-diff) or · softmax(logits) (prob). */
  weights: Float32Array;
  clean: number;
  corrupt: number;
  /** tap name → [2, ...] (clean row, corrupted row). */
  taps: Record<string, Float32Array>;
  tokens: PatchToken[];
  corruptTokens: PatchToken[];
}

const tokenOf = (model: LoadedModel, id: number): PatchToken => ({ id, text: model.tokenizer.tokenText(id) });

/** The first token of " text" (the answer-scoring convention, as causal tracing). */
function answerToken(model: LoadedModel, text: string, field: string): number {
  const id = model.tokenizer.encode(` ${text}`, false)[0];
  if (id === undefined) throw badInput(`The ${field} is empty`, { field });
  return id;
}

/** Taps both runs need: every patchable state, and the heads' outputs when heads are patched. */
export function pairTapNames(layers: number, withHeads: boolean): string[] {
  const names: string[] = ['blocks.0.resid_pre'];
  for (let l = 0; l < layers; l++) {
    for (const k of PATCH_TAPS) names.push(tapName(l, k));
    if (withHeads) names.push(headsTapName(l));
  }
  return names;
}

/** Tokenises and checks the pair, runs both prompts with their taps, and fixes the metric. */
export async function runPair(model: LoadedModel, req: PatchingRequest, withHeads: boolean): Promise<PairRuns> {
  const ids = model.tokenizer.encode(req.clean);
  const corruptIds = model.tokenizer.encode(req.corrupt);
  if (ids.length !== corruptIds.length) {
    throw badInput(`The clean prompt is ${ids.length} tokens and the corrupted prompt ${corruptIds.length}: patching needs prompts of the same token length`, { field: 'corrupt', hint: 'Choose a corrupted prompt that tokenises to as many tokens as the clean one (e.g. swap the subject for one of the same length).' });
  }
  const metric = req.metric ?? 'logit-diff';
  const out = await model.run({ taps: pairTapNames(model.dims.layers, withHeads), logits: 'last' }, model.makeBatch([ids, corruptIds]));
  const logits = out.logits.data as Float32Array;
  const width = out.logits.dims[2];
  const answerId = answerToken(model, req.answer, 'answer');
  let wrongId: number | undefined;
  if (metric === 'logit-diff') {
    wrongId = req.wrong !== undefined ? answerToken(model, req.wrong, 'wrong') : argmax(logits, width, width);
    if (wrongId === answerId) throw badInput(`The wrong answer is the answer's token (${JSON.stringify(model.tokenizer.tokenText(answerId))}): logit-diff needs two different tokens`, { field: 'wrong', hint: 'Give --wrong (the corrupted prompt\'s answer), or use --metric prob.' });
  }
  const weights = new Float32Array(width);
  weights[answerId] = 1;
  if (wrongId !== undefined) weights[wrongId] = -1;
  const score = (x: Float32Array, offset: number) => (metric === 'prob' ? softmaxAt(x, offset, width, answerId) : x[offset + answerId] - x[offset + wrongId!]);
  const taps: Record<string, Float32Array> = {};
  for (const [name, t] of Object.entries(out)) if (name !== 'logits') taps[name] = t.data as Float32Array;
  return {
    ids, corruptIds, S: ids.length, metric, weights,
    answer: tokenOf(model, answerId),
    ...(wrongId !== undefined ? { wrong: tokenOf(model, wrongId) } : {}),
    score, clean: score(logits, 0), corrupt: score(logits, width), taps,
    tokens: ids.map((id) => tokenOf(model, id)),
    corruptTokens: corruptIds.map((id) => tokenOf(model, id)),
  };
}

/** A patched node: a kind at a layer (and head) and token. */
export interface PatchNode {
  kind: PatchNodeKind;
  layer: number;
  head?: number;
  token: number;
}

/** Every node of the kinds asked for, in grid order (kind, layer, head, token). */
export function nodesOf(kinds: PatchNodeKind[], layers: number, heads: number, S: number): PatchNode[] {
  const nodes: PatchNode[] = [];
  for (const kind of kinds) {
    for (let l = 0; l < layers; l++) {
      for (let h = 0; h < (kind === 'heads' ? heads : 1); h++) {
        for (let t = 0; t < S; t++) nodes.push(kind === 'heads' ? { kind, layer: l, head: h, token: t } : { kind, layer: l, token: t });
      }
    }
  }
  return nodes;
}

/** Lays per-node values out as grids (nodes in nodesOf's order); raw = corrupt + effect. */
export function gridsOf(kinds: PatchNodeKind[], layers: number, heads: number, S: number, effects: Float64Array, pair: Pick<PairRuns, 'clean' | 'corrupt'>): PatchGrid[] {
  const span = pair.clean - pair.corrupt;
  let i = 0;
  return kinds.map((kind) => {
    const rows: string[] = [];
    for (let l = 0; l < layers; l++) for (let h = 0; h < (kind === 'heads' ? heads : 1); h++) rows.push(kind === 'heads' ? `L${l}.H${h}` : `L${l}`);
    const raw = rows.map(() => Array.from({ length: S }, () => pair.corrupt + effects[i++]));
    const normalized = raw.map((r) => r.map((v) => (span === 0 ? null : (v - pair.corrupt) / span)));
    return { kind, rows, raw, normalized };
  });
}

export function requestedKinds(nodes: PatchNodeKind[] | undefined): PatchNodeKind[] {
  return nodes && nodes.length > 0 ? [...new Set(nodes)] : ['resid'];
}

/** Rows per patched run: about 4M floats of patch values at most. */
function rowsPerRun(S: number, d: number): number {
  return Math.max(1, Math.min(256, Math.floor(4_000_000 / (S * d))));
}

export async function patchExact(model: LoadedModel, req: PatchingRequest): Promise<PatchingResult> {
  const started = performance.now();
  const { layers, heads, dModel: d } = model.dims;
  const kinds = requestedKinds(req.nodes);
  const pair = await runPair(model, req, kinds.includes('heads'));
  const { S } = pair;
  const nodes = nodesOf(kinds, layers, heads, S);
  const effects = new Float64Array(nodes.length);
  const perRun = rowsPerRun(S, d);
  for (let start = 0; start < nodes.length; start += perRun) {
    if (req.isCancelled?.()) throw cancelled('Patching cancelled.');
    const group = nodes.slice(start, start + perRun);
    const out = await model.run({ patch: true, logits: 'last' }, model.makeBatch(group.map(() => pair.corruptIds)), patchFeeds(model, pair, group));
    const logits = out.logits.data as Float32Array;
    const width = out.logits.dims[2];
    group.forEach((_, g) => (effects[start + g] = pair.score(logits, g * width) - pair.corrupt));
    req.onProgress?.(Math.min(start + perRun, nodes.length), nodes.length);
  }
  return {
    method: 'exact', metric: pair.metric, tokens: pair.tokens, corruptTokens: pair.corruptTokens, answer: pair.answer,
    ...(pair.wrong ? { wrong: pair.wrong } : {}),
    clean: pair.clean, corrupt: pair.corrupt, grids: gridsOf(kinds, layers, heads, S, effects, pair),
    ms: performance.now() - started, rowsRun: nodes.length + 2,
  };
}

/** The patch graph's feeds for a group of rows, each patching one node (see the header). */
function patchFeeds(model: LoadedModel, pair: PairRuns, group: PatchNode[]): Record<string, OrtTensor> {
  const ort = loadOrt();
  const { layers, dModel: d, heads } = model.dims;
  const { S } = pair;
  const B = group.length;
  const feeds: Record<string, OrtTensor> = { embed_noise: new ort.Tensor('float32', new Float32Array(B * S * d), [B, S, d]) };
  const masks: Record<string, Uint8Array> = {};
  const cleanRow = (name: string) => pair.taps[name].subarray(0, S * d);
  for (let l = 0; l < layers; l++) {
    for (const k of PATCH_TAPS) {
      feeds[`patch.${l}.${k}`] = new ort.Tensor('float32', cleanRow(tapName(l, k)), [1, S, d]);
      masks[`patchmask.${l}.${k}`] = new Uint8Array(B * S);
    }
  }
  // Head rows: per-row attn_out values at their layer.
  const headValues = new Map<number, Float32Array>();
  group.forEach((n, g) => {
    const tap = n.kind === 'heads' ? 'attn_out' : NODE_TAP[n.kind];
    masks[`patchmask.${n.layer}.${tap}`][g * S + n.token] = 1;
    if (n.kind !== 'heads') return;
    let v = headValues.get(n.layer);
    if (!v) {
      // Rows that patch something else at this layer keep the clean attn_out (their mask decides).
      v = new Float32Array(B * S * d);
      for (let r = 0; r < B; r++) v.set(cleanRow(tapName(n.layer, 'attn_out')), r * S * d);
      headValues.set(n.layer, v);
    }
    const attn = pair.taps[tapName(n.layer, 'attn_out')];
    const all = pair.taps[headsTapName(n.layer)]; // [2, H, S, d]
    const t = n.token;
    for (let j = 0; j < d; j++) {
      const clean = all[((0 * heads + n.head!) * S + t) * d + j];
      const corrupt = all[((1 * heads + n.head!) * S + t) * d + j];
      v[(g * S + t) * d + j] = attn[(S + t) * d + j] + clean - corrupt;
    }
  });
  for (const [l, v] of headValues) feeds[`patch.${l}.attn_out`] = new ort.Tensor('float32', v, [B, S, d]);
  for (const [name, m] of Object.entries(masks)) feeds[name] = new ort.Tensor('bool', m, [B, S, 1]);
  return feeds;
}

export function argmax(x: Float32Array, n: number, offset = 0): number {
  let best = 0;
  for (let i = 1; i < n; i++) if (x[offset + i] > x[offset + best]) best = i;
  return best;
}

export function softmaxAt(logits: Float32Array, offset: number, n: number, id: number): number {
  let max = -Infinity;
  for (let i = 0; i < n; i++) max = Math.max(max, logits[offset + i]);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += Math.exp(logits[offset + i] - max);
  return Math.exp(logits[offset + id] - max) / sum;
}
