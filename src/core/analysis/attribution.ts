// Attribution patching (AtP, Nanda 2023; Syed et al. 2023): the first-order estimate of what
// patching a node would do, (a_clean − a_corrupt) · ∂metric/∂a at the corrupted run, for every
// node from one forward and one backward pass (the attribution graph: forward.ts option
// attribution, gradients by src/core/onnx/grad.ts). A head's gradient is its layer's attn_out
// gradient (attn_out = Σ_h head_h + b_O).
//
// atp-ig (integrated gradients, as EAP-IG): the gradients averaged over `steps` points on the
// straight path from the corrupted to the clean input embeddings, α_k = (k − ½)/steps (midpoint
// rule), the same token positions on both sides; the product with (a_clean − a_corrupt) as above.
// At one step the point is the midpoint, not the corrupted run.
//
// Not implemented: AtP*'s QK fix (recomputing each attention softmax for query–key nodes) and
// GradDrop; docs/patching.md says why and what it means for heads with saturated attention.

import type { LoadedModel } from '../runtime/model';
import { loadOrt, type OrtTensor } from '../runtime/ort';
import { cancelled } from '../errors';
import { tapName } from '../graph/taps';
import { headsTapName, OFFSET_TAPS, offsetGradName, offsetName } from '../graph/patchGraph';
import type { PatchingResult } from '../../protocol/patching';
import { NODE_TAP, gridsOf, nodesOf, requestedKinds, runPair, type PairRuns, type PatchingRequest } from './patching';

export interface AttributionRequest extends PatchingRequest {
  /** Integrated-gradients steps (atp-ig); undefined or 0: plain AtP. */
  igSteps?: number;
}

/** Rows per attribution run (each row: a forward and a backward pass). */
const IG_ROWS = 16;

export async function attributionPatch(model: LoadedModel, req: AttributionRequest): Promise<PatchingResult> {
  const started = performance.now();
  const { layers, heads, dModel: d } = model.dims;
  const kinds = requestedKinds(req.nodes);
  const pair = await runPair(model, req, kinds.includes('heads'));
  const { S } = pair;
  const steps = req.igSteps ?? 0;
  const alphas = steps > 0 ? Array.from({ length: steps }, (_, k) => (k + 0.5) / steps) : [0];
  const grads = await meanGradients(model, pair, alphas, req);

  const nodes = nodesOf(kinds, layers, heads, S);
  const effects = new Float64Array(nodes.length);
  nodes.forEach((n, i) => {
    const t = n.token;
    const grad = grads[offsetGradName(n.layer, n.kind === 'heads' ? 'attn_out' : NODE_TAP[n.kind])];
    let sum = 0;
    if (n.kind === 'heads') {
      const all = pair.taps[headsTapName(n.layer)]; // [2, H, S, d]
      const c = (n.head! * S + t) * d;
      const k = ((heads + n.head!) * S + t) * d;
      for (let j = 0; j < d; j++) sum += (all[c + j] - all[k + j]) * grad[t * d + j];
    } else {
      const a = pair.taps[tapName(n.layer, NODE_TAP[n.kind])]; // [2, S, d]
      for (let j = 0; j < d; j++) sum += (a[t * d + j] - a[(S + t) * d + j]) * grad[t * d + j];
    }
    effects[i] = sum;
  });
  return {
    method: steps > 0 ? 'atp-ig' : 'atp', ...(steps > 0 ? { igSteps: steps } : {}),
    metric: pair.metric, tokens: pair.tokens, corruptTokens: pair.corruptTokens, answer: pair.answer,
    ...(pair.wrong ? { wrong: pair.wrong } : {}),
    clean: pair.clean, corrupt: pair.corrupt, grids: gridsOf(kinds, layers, heads, S, effects, pair),
    ms: performance.now() - started, rowsRun: 2 + alphas.length,
  };
}

/**
 * ∂metric/∂(attn_out, mlp_out, resid_post) of every layer [S, d], averaged over the runs of the
 * corrupted prompt whose input embeddings are moved by α (clean − corrupt) for each α.
 */
async function meanGradients(model: LoadedModel, pair: PairRuns, alphas: number[], req: AttributionRequest): Promise<Record<string, Float64Array>> {
  const ort = loadOrt();
  const { layers, dModel: d } = model.dims;
  const { S } = pair;
  const emb = pair.taps[tapName(0, 'resid_pre')]; // [2, S, d]: the position embeddings cancel in the difference
  const sums: Record<string, Float64Array> = {};
  for (let l = 0; l < layers; l++) for (const k of OFFSET_TAPS) sums[offsetGradName(l, k)] = new Float64Array(S * d);
  for (let start = 0; start < alphas.length; start += IG_ROWS) {
    if (req.isCancelled?.()) throw cancelled('Attribution patching cancelled.');
    const group = alphas.slice(start, start + IG_ROWS);
    const B = group.length;
    const noise = new Float32Array(B * S * d);
    group.forEach((a, b) => {
      for (let i = 0; i < S * d; i++) noise[b * S * d + i] = a * (emb[i] - emb[S * d + i]);
    });
    const feeds: Record<string, OrtTensor> = {
      embed_noise: new ort.Tensor('float32', noise, [B, S, d]),
      metric_weights: new ort.Tensor('float32', pair.weights, [pair.weights.length]),
    };
    for (let l = 0; l < layers; l++) for (const k of OFFSET_TAPS) feeds[offsetName(l, k)] = new ort.Tensor('float32', new Float32Array(B * S * d), [B, S, d]);
    const out = await model.run({ attribution: { metric: pair.metric } }, model.makeBatch(group.map(() => pair.corruptIds)), feeds);
    for (const [name, sum] of Object.entries(sums)) {
      const g = out[name].data as Float32Array;
      for (let b = 0; b < B; b++) for (let i = 0; i < S * d; i++) sum[i] += g[b * S * d + i] / alphas.length;
    }
    req.onProgress?.(Math.min(start + IG_ROWS, alphas.length), alphas.length);
  }
  return sums;
}
