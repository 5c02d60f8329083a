// Pieces of the forward graph that vary by architecture (specs.ts, variants.ts): norms, activations,
// RoPE tables per layer, soft-capping and the attention masks per sliding window. Each follows
// Hugging Face's modeling code in float32; tools/reference.py computes the same independently.

import type { ArchSpec } from '../models/specs';
import type { Dims, NormW } from '../models/model';
import type { GraphBuilder } from '../onnx/proto';
import type { RopeTable } from '../models/variants';

export interface Parts {
  norm(x: string, n: NormW): string;
  activation(x: string): string;
  /** c·tanh(x / c), or x without a cap. */
  softcap(x: string, cap: number | undefined): string;
  /** cos, sin [B, 1, S, rotaryDim] of a RoPE table (built once per table). */
  rope(index: number): { cos: string; sin: string };
  /** allowed [B, 1, 1, S, T] (bool) for a window (undefined: causal + padding only). */
  mask(window: number | undefined): string;
}

export function graphParts(g: GraphBuilder, dims: Dims, spec: ArchSpec, weight: (n: NormW, which: 'w' | 'b') => string): Parts {
  const norm = (x: string, n: NormW): string => {
    if (spec.norm === 'layer') {
      return g.op('LayerNormalization', [x, weight(n, 'w'), ...(n.b ? [weight(n, 'b')] : [])], { axis: -1, epsilon: { float: dims.eps } });
    }
    const variance = g.op('ReduceMean', [g.op('Mul', [x, x])], { axes: [-1], keepdims: 1 });
    const inv = g.op('Reciprocal', [g.op('Sqrt', [g.op('Add', [variance, g.float(dims.eps)])])]);
    // Gemma: x̂ · (1 + w), the sum in float32.
    const scale = spec.normOffset ? g.op('Add', [weight(n, 'w'), g.float(spec.normOffset)]) : weight(n, 'w');
    return g.op('Mul', [scale, g.op('Mul', [x, inv])]);
  };

  const activation = (x: string): string => {
    switch (dims.activation) {
      case 'silu': return g.op('Mul', [x, g.op('Sigmoid', [x])]);
      case 'relu': return g.op('Relu', [x]);
      case 'gelu': {
        const erf = g.op('Erf', [g.op('Mul', [x, g.float(Math.SQRT1_2)])]);
        return g.op('Mul', [g.op('Mul', [x, g.float(0.5)]), g.op('Add', [erf, g.float(1)])]);
      }
      case 'gelu_tanh': {
        const cube = g.op('Mul', [g.op('Mul', [x, x]), x]);
        const inner = g.op('Mul', [g.op('Add', [x, g.op('Mul', [cube, g.float(0.044715)])]), g.float(Math.sqrt(2 / Math.PI))]);
        return g.op('Mul', [g.op('Mul', [x, g.float(0.5)]), g.op('Add', [g.op('Tanh', [inner]), g.float(1)])]);
      }
    }
  };

  const softcap = (x: string, cap: number | undefined) => (cap === undefined ? x : g.op('Mul', [g.op('Tanh', [g.op('Div', [x, g.float(cap)])]), g.float(cap)]));

  // ---- RoPE: positions [B, S, 1] × inv_freq; longrope picks its table by max(position_ids) + 1.
  const tables = new Map<number, { cos: string; sin: string }>();
  const rope = (index: number) => {
    let t = tables.get(index);
    if (t) return t;
    const table: RopeTable = dims.variants.ropes[index];
    const pos = g.op('Unsqueeze', [g.op('Cast', ['position_ids'], { to: 1 }), g.int64([2])]);
    let inv = g.float(Array.from(table.invFreq, Math.fround));
    if (table.long) {
      const seen = g.op('Add', [g.op('ReduceMax', ['position_ids'], { keepdims: 0 }), g.int64([1], true)]);
      inv = g.op('Where', [g.op('Greater', [seen, g.int64([table.long.after], true)]), g.float(Array.from(table.long.invFreq, Math.fround)), inv]);
    }
    const freqs = g.op('Mul', [pos, inv]); // [B, S, rd/2]
    const emb = spec.rotary === 'interleaved'
      ? g.op('Reshape', [g.op('Concat', [g.op('Unsqueeze', [freqs, g.int64([3])]), g.op('Unsqueeze', [freqs, g.int64([3])])], { axis: 3 }), g.int64([0, 0, dims.rotaryDim])])
      : g.op('Concat', [freqs, freqs], { axis: 2 });
    const scaled = (x: string) => (table.scale === 1 ? x : g.op('Mul', [x, g.float(table.scale)]));
    t = { cos: g.op('Unsqueeze', [scaled(g.op('Cos', [emb])), g.int64([1])]), sin: g.op('Unsqueeze', [scaled(g.op('Sin', [emb])), g.int64([1])]) };
    tables.set(index, t);
    return t;
  };

  // ---- masks: causal ∧ padding, ∧ (query index − key index < window) on sliding layers (HF's
  // sliding_window_overlay: kv_idx > q_idx − window).
  const seqLen = g.op('Gather', [g.op('Shape', ['input_ids']), g.int64([1], true)], { axis: 0 });
  const total = g.op('Gather', [g.op('Shape', ['attention_mask']), g.int64([1], true)], { axis: 0 });
  const qpos = g.op('Range', [g.op('Sub', [total, seqLen]), total, g.int64([1], true)]); // [S]
  const kpos = g.op('Range', [g.int64([0], true), total, g.int64([1], true)]); // [T]
  const qCol = g.op('Unsqueeze', [qpos, g.int64([1])]);
  const kRow = g.op('Unsqueeze', [kpos, g.int64([0])]);
  const pad = g.op('Unsqueeze', [g.op('Cast', ['attention_mask'], { to: 9 }), g.int64([1, 2, 3])]); // [B, 1, 1, 1, T]
  const masks = new Map<number | undefined, string>();
  const mask = (window: number | undefined) => {
    let m = masks.get(window);
    if (m) return m;
    let allowed = g.op('LessOrEqual', [kRow, qCol]); // [S, T]
    if (window !== undefined) allowed = g.op('And', [allowed, g.op('Less', [g.op('Sub', [qCol, kRow]), g.int64([window], true)])]);
    m = g.op('And', [allowed, pad]);
    masks.set(window, m);
    return m;
  };
  return { norm, activation, softcap, rope, mask };
}
