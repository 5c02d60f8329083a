// Graph pieces for activation and attribution patching (forward.ts calls these).
//
// Attention-head taps (built only when asked for):
//   blocks.{l}.attn.pattern  [B, H, S, T]  the softmax of each query head (query × key)
//   blocks.{l}.attn.heads    [B, H, S, d_model]  each head's contribution to attn_out:
//                            z_h · W_O[h] (+ z_h · ΔW_O[h] of the edit inputs); the bias is not in any head,
//                            so attn_out = Σ_h heads[:, h] + b_O exactly (up to rounding)
//   blocks.{l}.attn.head.{h} [B, S, d_model]  one head of the above
// Attribution graph (ForwardOptions.attribution): inputs offset.{l}.{k} [B, S, d_model] added to
// attn_out, mlp_out and resid_post (zero in use: their gradients are the gradients of the metric
// with respect to those activations), metric_weights [vocab]; the metric at the last position is
//   logit-diff: logits · w   (w = e_answer − e_wrong)        prob: softmax(logits) · w   (w = e_answer)
// outputs metric [B] and grad.{l}.{k} [B, S, d_model] = ∂ Σ_b metric_b / ∂ offset.{l}.{k}.

import type { GraphBuilder } from '../onnx/proto';
import { addGradients } from '../onnx/grad';

export type AttributionMetric = 'logit-diff' | 'prob';
export const OFFSET_TAPS = ['attn_out', 'mlp_out', 'resid_post'] as const;
export type OffsetTap = (typeof OFFSET_TAPS)[number];

export const headTapName = (layer: number, head: number): string => `blocks.${layer}.attn.head.${head}`;
export const headsTapName = (layer: number): string => `blocks.${layer}.attn.heads`;
export const patternTapName = (layer: number): string => `blocks.${layer}.attn.pattern`;
export const offsetName = (layer: number, tap: OffsetTap): string => `offset.${layer}.${tap}`;
export const offsetGradName = (layer: number, tap: OffsetTap): string => `grad.${layer}.${tap}`;

/** Whether a tap name is one of the attention-head taps of layer l. */
export function wantsHeadTaps(wanted: Set<string>, layer: number): boolean {
  for (const name of wanted) if (name.startsWith(`blocks.${layer}.attn.head`) || name === patternTapName(layer)) return true;
  return false;
}

export interface HeadDims {
  heads: number;
  headDim: number;
  dModel: number;
}

/**
 * Sets the head taps of layer l in `taps`. probs [B, kv, rep, S, T]; ctx [B, H, S, hd] (query
 * heads in HF's order: head h reads kv head h // rep); wO the output projection's weight as
 * stored (outIn: [d_model, H·hd], else [H·hd, d_model]); edit: the layer's U [r, d], V [r, H·hd].
 */
export function addHeadTaps(g: GraphBuilder, taps: Map<string, string>, l: number, dims: HeadDims, p: { probs: string; ctx: string; wO: string; outIn: boolean; edit: [string, string] }): void {
  const { heads: H, headDim: hd, dModel: d } = dims;
  const shape = g.op('Shape', [p.probs]); // [B, kv, rep, S, T] → [B, H, S, T]
  const slice = (from: number, to: number) => g.op('Slice', [shape, g.int64([from]), g.int64([to])]);
  taps.set(patternTapName(l), g.op('Reshape', [p.probs, g.op('Concat', [slice(0, 1), g.int64([H]), slice(3, 5)], { axis: 0 })]));
  const w = p.outIn ? g.op('Transpose', [p.wO], { perm: [1, 0] }) : p.wO; // [H·hd, d]
  const perHead = g.op('MatMul', [p.ctx, g.op('Reshape', [w, g.int64([H, hd, d])])]); // [B, H, S, d]
  const [U, V] = p.edit;
  const vHeads = g.op('Transpose', [g.op('Reshape', [V, g.int64([-1, H, hd])])], { perm: [1, 2, 0] }); // [H, hd, r]
  const editPart = g.op('MatMul', [g.op('MatMul', [p.ctx, vHeads]), U]); // [B, H, S, d]
  const all = g.op('Add', [perHead, editPart]);
  taps.set(headsTapName(l), all);
  for (let h = 0; h < H; h++) taps.set(headTapName(l, h), g.op('Gather', [all, g.int64([h], true)], { axis: 1 }));
}

/** The output shape of a tap (for the graph's output declarations). */
export function tapDims(name: string, dModel: number, dMlp: number): (string | number)[] {
  if (name.endsWith('.attn.pattern')) return ['batch', 'heads', 'seq', 'total'];
  if (name.endsWith('.attn.heads')) return ['batch', 'heads', 'seq', dModel];
  return ['batch', 'seq', name.endsWith('mlp.key') ? dMlp : dModel];
}

/** x + offset.{l}.{k}: declares the offset input. */
export function addOffset(g: GraphBuilder, x: string, l: number, k: OffsetTap, dModel: number): string {
  return g.op('Add', [x, g.input(offsetName(l, k), 'float32', ['batch', 'seq', dModel])]);
}

/**
 * The metric head and its gradients. lastRows: the last position's final-norm output [B, d];
 * unembedRows: rows → logits [B, V].
 */
export function addMetricGradients(g: GraphBuilder, p: { lastRows: string; unembedRows: (x: string) => string; metric: AttributionMetric; layers: number; vocab: number; dModel: number }): void {
  const logits = p.unembedRows(p.lastRows); // [B, V]
  const scored = p.metric === 'prob' ? g.op('Softmax', [logits], { axis: -1 }) : logits;
  const w = g.input('metric_weights', 'float32', [p.vocab]);
  const column = g.op('Unsqueeze', [w, g.int64([1])]); // [V, 1]: grad.ts's MatMul rule wants matrices
  const metric = g.op('Reshape', [g.op('MatMul', [scored, column]), g.int64([-1])], {}, 'metric'); // [B]
  g.output(metric, 'float32', ['batch']);
  const total = g.op('ReduceSum', [metric], { keepdims: 0 });
  const wrt: string[] = [];
  for (let l = 0; l < p.layers; l++) for (const k of OFFSET_TAPS) wrt.push(offsetName(l, k));
  const grads = addGradients(g, total, wrt);
  wrt.forEach((_, i) => {
    const l = Math.floor(i / OFFSET_TAPS.length);
    const name = offsetGradName(l, OFFSET_TAPS[i % OFFSET_TAPS.length]);
    g.op('Identity', [grads[i]], {}, name);
    g.output(name, 'float32', ['batch', 'seq', p.dModel]);
  });
}
