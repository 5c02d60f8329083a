// Edit health, shown with every edit:
//   relNorm     ‖ΔW‖_F / ‖W‖_F per target (ΔW = α Uᵀ V; ‖UᵀV‖² = Σ_rs (U_r·U_s)(V_r·V_s));
//   keyScore    kᵀ C⁻¹ k / d_mlp of the edit's key (mean of the recorded keys) against the key
//               statistics of its layer: ≈ 1 for a typical key (E[kᵀC⁻¹k] = d_mlp when C = E[kkᵀ]),
//               large for an out-of-distribution one;
//   klNeutral   mean KL(P_without ‖ P_with) of the next-token distribution on fixed neutral prompts.
// Warnings above thresholds.

import type { LoadedModel } from '../runtime/model';
import { readTensorF32 } from '../checkpoint/safetensors';
import { dot } from './linalg';
import type { Edit } from './editFile';
import type { EditStack } from './stack';
import { solveC, type KeyStats } from './stats';

export const NEUTRAL_PROMPTS = [
  'The weather today is',
  'Once upon a time, there was',
  'The most important thing to remember is',
  'In the morning, I usually',
  'The book on the table was',
  'She opened the door and',
  'The numbers one, two, three,',
  'A good way to start the day is',
];

export const THRESHOLDS = { relNorm: 0.25, keyScore: 5, klNeutral: 0.1 };

export interface EditHealth {
  targets: { layer: number; module: string; relNorm: number; keyScore?: number }[];
  klNeutral: number;
  warnings: string[];
}

function frobeniusUV(U: Float32Array, V: Float32Array, rank: number): number {
  const dOut = U.length / rank;
  const dIn = V.length / rank;
  let s = 0;
  for (let r = 0; r < rank; r++) {
    for (let q = 0; q < rank; q++) {
      s += dot(U.subarray(r * dOut, (r + 1) * dOut), U.subarray(q * dOut, (q + 1) * dOut)) * dot(V.subarray(r * dIn, (r + 1) * dIn), V.subarray(q * dIn, (q + 1) * dIn));
    }
  }
  return Math.sqrt(Math.max(s, 0));
}

async function nextTokenLogprobs(model: LoadedModel): Promise<Float64Array[]> {
  const out: Float64Array[] = [];
  for (const p of NEUTRAL_PROMPTS) {
    const ids = model.tokenizer.encode(p);
    if (ids.length > model.dims.maxPositions) continue;
    const r = await model.run({ logits: 'last' }, model.makeBatch([ids]));
    const logits = r.logits.data as Float32Array;
    const v = model.dims.vocab;
    let max = -Infinity;
    for (let i = 0; i < v; i++) max = Math.max(max, logits[i]);
    let sum = 0;
    for (let i = 0; i < v; i++) sum += Math.exp(logits[i] - max);
    const lse = max + Math.log(sum);
    out.push(Float64Array.from(logits.subarray(0, v), (x) => x - lse));
  }
  return out;
}

/** Health of `edit` as applied on top of the stack (which is not changed). */
export async function editHealth(model: LoadedModel, stack: EditStack, edit: Edit, stats: Map<number, KeyStats> = new Map()): Promise<EditHealth> {
  const targets = edit.json.targets.map((t, i) => {
    const w = t.module === 'mlp.out' ? model.plan.blocks[t.layer].down : model.plan.blocks[t.layer].o;
    const W = readTensorF32(w.w);
    const relNorm = frobeniusUV(edit.tensors[i].U, edit.tensors[i].V, t.rank) / Math.sqrt(dot(W, W));
    let keyScore: number | undefined;
    const K = edit.tensors[i].K;
    const s = stats.get(t.layer);
    if (K && s && t.module === 'mlp.out') {
      const n = K.length / s.dim;
      const k = new Float64Array(s.dim);
      for (let r = 0; r < n; r++) for (let j = 0; j < s.dim; j++) k[j] += K[r * s.dim + j] / n;
      keyScore = dot(k, solveC(s, k)) / s.dim;
    }
    return { layer: t.layer, module: t.module, relNorm, keyScore };
  });
  // Before: the stack as it is, without this edit; after: with it on top (on private copies).
  const without = stack.fork();
  if (without.list().some((e) => e.id === edit.json.id)) without.revert(edit.json.id);
  const before = await nextTokenLogprobs(without.model);
  const withIt = stack.fork();
  withIt.apply(edit);
  const after = await nextTokenLogprobs(withIt.model);
  let kl = 0;
  before.forEach((p, i) => {
    let s = 0;
    for (let j = 0; j < p.length; j++) if (p[j] > -80) s += Math.exp(p[j]) * (p[j] - after[i][j]);
    kl += s / before.length;
  });
  const warnings: string[] = [];
  for (const t of targets) {
    if (t.relNorm > THRESHOLDS.relNorm) warnings.push(`layer ${t.layer} ${t.module}: ‖ΔW‖/‖W‖ = ${t.relNorm.toFixed(3)} > ${THRESHOLDS.relNorm} (a large change of the weight)`);
    if (t.keyScore !== undefined && t.keyScore > THRESHOLDS.keyScore) warnings.push(`layer ${t.layer}: kᵀC⁻¹k / d_mlp = ${t.keyScore.toFixed(2)} > ${THRESHOLDS.keyScore} (the edit's key is unlike the corpus keys)`);
  }
  if (kl > THRESHOLDS.klNeutral) warnings.push(`KL on neutral prompts = ${kl.toFixed(3)} nats > ${THRESHOLDS.klNeutral} (the edit changes unrelated predictions)`);
  return { targets, klNeutral: kl, warnings };
}
