// GLAME's relational graph network (METHODS.md "GLAME"; the reference's UnionRGCNLayer, uvrgcn, 2
// layers, width d_model), forward and hand-written backward in float64.
//
// Graph: N nodes, edges src → dst with a relation index (GLAME's edges run object → subject), plus
// a self loop on every node (dgl.add_self_loop in the reference) whose relation embedding is zero.
// deg_i = the in-degree of node i over the graph's own edges (self loop excluded).
// Layer (input H [N, d], relation embeddings R [n_rel, d], fixed):
//   A_i   = (H_i + Σ_{e: j → i} (H_j + R_{r_e})) / (deg_i + 1)      mean of the messages' inputs
//   pre_i = A_i W_nb + H_i (deg_i > 0 ? W_loop : W_evolve)
//   out_i = rrelu(pre_i), in its deterministic form: x ≥ 0 ? x : x · (1/8 + 1/3) / 2
//           (the reference calls F.rrelu, whose functional form defaults to training=False).
// Messages (H_j + R) W_nb summed and divided by the in-degree are A_i W_nb (W_nb is linear). The
// reference adds its self loops before testing in-degree > 0, so W_evolve never acts there; here it
// acts on nodes no edge points to (METHODS.md's reading) — for δ = out[subject] it makes no difference:
// the subject and o* always have an edge in.
// Dropout (the reference's nn.Dropout(gnn_feat_drop) after each layer's activation, the last one
// included, so on δ itself): `drop` gives p and a seeded uniform source; each kept unit is scaled
// by 1 / (1 − p) (inverted dropout), the masks are kept in the cache for the backward pass. No
// `drop`: the network in eval mode (the reference's final δ).
// θ is one flat array: per layer W_nb, W_loop, W_evolve, each [d, d] row-major (in × out, y = x W).

import { mulberry32 } from '../runtime/run';

export const RRELU_SLOPE = (1 / 8 + 1 / 3) / 2;
export const RGCN_LAYERS = 2;

export interface RgcnGraph {
  nodes: number;
  edges: { src: number; dst: number; rel: number }[];
}

/** Per layer: its input H, the mean A, and the pre-activation; `out` the last layer's output [N, d]. */
export interface RgcnCache {
  inputs: Float64Array[];
  means: Float64Array[];
  pres: Float64Array[];
  /** Per layer, with dropout: 0 or 1 / (1 − p) per unit [N, d]. */
  masks: (Float64Array | undefined)[];
  out: Float64Array;
}

/** Dropout in training mode: the probability and a uniform source in [0, 1) (seeded by the caller). */
export interface RgcnDropout {
  p: number;
  rand: () => number;
}

export const rgcnParamCount = (d: number, layers = RGCN_LAYERS) => 3 * layers * d * d;

/** xavier_uniform with the ReLU gain (the reference's init): U(±√2 · √(6 / 2d)) = U(±√(6/d)), seeded. */
export function rgcnInit(d: number, seed: number, layers = RGCN_LAYERS): Float64Array {
  const rand = mulberry32(seed ^ 0x67636e);
  const bound = Math.sqrt(6 / d);
  return Float64Array.from({ length: rgcnParamCount(d, layers) }, () => (2 * rand() - 1) * bound);
}

function degrees(g: RgcnGraph): Int32Array {
  const deg = new Int32Array(g.nodes);
  for (const e of g.edges) deg[e.dst]++;
  return deg;
}

/** y[N, d] = x[N, d] · W (W at offset `at` of θ). */
function matmul(x: Float64Array, theta: Float64Array, at: number, rows: number[], d: number, y: Float64Array, add = false): void {
  for (const i of rows) {
    const yi = i * d;
    if (!add) y.fill(0, yi, yi + d);
    for (let k = 0; k < d; k++) {
      const xv = x[i * d + k];
      if (xv === 0) continue;
      const w = at + k * d;
      for (let j = 0; j < d; j++) y[yi + j] += xv * theta[w + j];
    }
  }
}

export function rgcnForward(theta: Float64Array, d: number, g: RgcnGraph, x: Float64Array, rel: Float64Array, layers = RGCN_LAYERS, drop?: RgcnDropout): RgcnCache {
  const N = g.nodes;
  const deg = degrees(g);
  const all = Array.from({ length: N }, (_, i) => i);
  const withIn = all.filter((i) => deg[i] > 0);
  const without = all.filter((i) => deg[i] === 0);
  const cache: RgcnCache = { inputs: [], means: [], pres: [], masks: [], out: x };
  let h = x;
  for (let l = 0; l < layers; l++) {
    const base = 3 * l * d * d;
    const A = Float64Array.from(h);
    for (const e of g.edges) {
      for (let j = 0; j < d; j++) A[e.dst * d + j] += h[e.src * d + j] + rel[e.rel * d + j];
    }
    for (let i = 0; i < N; i++) for (let j = 0; j < d; j++) A[i * d + j] /= deg[i] + 1;
    const pre = new Float64Array(N * d);
    matmul(A, theta, base, all, d, pre);
    matmul(h, theta, base + d * d, withIn, d, pre, true);
    matmul(h, theta, base + 2 * d * d, without, d, pre, true);
    const out = Float64Array.from(pre, (v) => (v >= 0 ? v : v * RRELU_SLOPE));
    let mask: Float64Array | undefined;
    if (drop && drop.p > 0) {
      mask = Float64Array.from(out, () => (drop.rand() < drop.p ? 0 : 1 / (1 - drop.p)));
      for (let i = 0; i < out.length; i++) out[i] *= mask[i];
    }
    cache.masks.push(mask);
    cache.inputs.push(h);
    cache.means.push(A);
    cache.pres.push(pre);
    h = out;
  }
  cache.out = h;
  return cache;
}

/** ∂loss/∂θ from ∂loss/∂out [N, d] (node features and relation embeddings are fixed). */
export function rgcnBackward(theta: Float64Array, d: number, g: RgcnGraph, cache: RgcnCache, gradOut: Float64Array): Float64Array {
  const N = g.nodes;
  const deg = degrees(g);
  const grads = new Float64Array(theta.length);
  let gOut = gradOut;
  for (let l = cache.pres.length - 1; l >= 0; l--) {
    const base = 3 * l * d * d;
    const pre = cache.pres[l];
    const A = cache.means[l];
    const h = cache.inputs[l];
    const mask = cache.masks[l];
    const gPre = Float64Array.from(gOut, (v, i) => (mask ? mask[i] : 1) * (pre[i] >= 0 ? v : v * RRELU_SLOPE));
    const gA = new Float64Array(N * d);
    const gH = new Float64Array(N * d);
    for (let i = 0; i < N; i++) {
      const loop = base + (deg[i] > 0 ? 1 : 2) * d * d;
      for (let k = 0; k < d; k++) {
        const a = A[i * d + k];
        const hk = h[i * d + k];
        let sA = 0;
        let sH = 0;
        for (let j = 0; j < d; j++) {
          const gp = gPre[i * d + j];
          if (gp === 0) continue;
          grads[base + k * d + j] += a * gp; // W_nb
          grads[loop + k * d + j] += hk * gp; // W_loop / W_evolve
          sA += theta[base + k * d + j] * gp;
          sH += theta[loop + k * d + j] * gp;
        }
        gA[i * d + k] = sA / (deg[i] + 1);
        gH[i * d + k] += sH;
      }
    }
    // A_i = (H_i + Σ_{j → i} H_j + R) / (deg_i + 1): gA already divided.
    for (let i = 0; i < N * d; i++) gH[i] += gA[i];
    for (const e of g.edges) for (let j = 0; j < d; j++) gH[e.src * d + j] += gA[e.dst * d + j];
    gOut = gH;
  }
  return grads;
}
