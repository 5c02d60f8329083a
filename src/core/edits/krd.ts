// DiKE's Knowledge Representation Disentanglement module (METHODS.md "DiKE"; arXiv 2505.18774 §4),
// trained once per model and edit layer l, then frozen:
//   h_s   resid_post of block l at the subject's last token of p(s, r)        [d]
//   h_r   resid_post of block l at the prompt's last token                    [d]
//   z_r = GELU(W1 h_s + W2 h_r),  z_u = GELU(W3 h_s + W4 h_r)                 [dz] (W1…W4 [dz, d])
//   ĥ_s = W5 z_r + W6 z_u                                                     [d]  (W5, W6 [d, dz])
//   loss  L_ctr + α L_con + β L_recon over a batch of facts (s, r, o), each with facts (s, r', o')
//         of the same subject's other relations:
//     L_ctr    InfoNCE with temperature τ on cosine similarities: anchors z_r and z_u, positive h_s,
//              negatives the other component (z_u resp. z_r) and the h_s of the batch's other
//              subjects; mean of the two anchors' terms.
//     L_con    −log P(o | p(s,r); h_s := z_r) + Σ_{r'} −log P(o' | p(s,r'); h_s := z_u), each NLL the
//              mean over the object's tokens (vstar.ts replacedResidualLoss: the model above l).
//     L_recon  ‖h_s − ĥ_s‖² / ‖h_s‖² (relative, so that β carries across models' residual scales).
//   GELU is GPT-2's tanh form. All terms are means over the batch.
// The backward pass of the module itself is done here in float64; the trainer (train/trainer.ts)
// runs AdamW. Saved as safetensors W1…W6 with metadata (format mechedit-krd/1).

import * as fs from 'node:fs';
import { createHash } from 'node:crypto';
import type { LoadedModel } from '../runtime/model';
import { badInput, cancelled } from '../errors';
import { tapName } from '../graph/taps';
import { mulberry32 } from '../runtime/run';
import { readSafetensorsHeader, readTensorF32 } from '../checkpoint/safetensors';
import { f32Tensor, writeSafetensors } from '../checkpoint/writeSafetensors';
import { train, type CurvePoint, type TrainResult } from '../train/trainer';
import { replacedResidualLoss, type Replacement } from './vstar';
import { targetIds, withSubject } from './rome';
import type { KrdFact } from './krdFacts';
import { dot, matTVec, matVec, norm } from './linalg';
import { readInputBytes } from '../inputs';

export const KRD_FORMAT = 'mechedit-krd/1';

export interface KrdHparams {
  /** Width of z_r and z_u: d_model (z_r, z_u stand in for h_s in L_con, so no other width is accepted). */
  dz: number;
  alpha: number;
  beta: number;
  tau: number;
  steps: number;
  lr: number;
  weightDecay: number;
  warmup: number;
  clip: number;
  /** Facts per step. */
  batchSize: number;
  /** Other relations of the subject per fact in L_con (at most). */
  negatives: number;
  /** L_ctr also uses the h_s of the batch's other subjects as negatives. */
  inBatch: boolean;
  seed: number;
}

/** Defaults: chosen on the bundled model (see README "DiKE"). */
export const KRD_DEFAULTS: Omit<KrdHparams, 'dz'> = {
  alpha: 1, beta: 1, tau: 0.1, steps: 400, lr: 2e-3, weightDecay: 0.01, warmup: 20, clip: 1, batchSize: 16, negatives: 4, inBatch: true, seed: 1,
};

/** Bounds of the real-valued hyperparameters `mechedit dike train` takes as flags (min exclusive where 0 would divide). */
export const KRD_BOUNDS: Record<'lr' | 'alpha' | 'beta' | 'tau', { min: number; max: number; exclusiveMin?: boolean }> = {
  lr: { min: 0, max: 10, exclusiveMin: true },
  alpha: { min: 0, max: 1e6 },
  beta: { min: 0, max: 1e6 },
  tau: { min: 0, max: 1e3, exclusiveMin: true },
};

/** The six matrices, row-major: W1…W4 [dz, d], W5, W6 [d, dz]. */
export type KrdWeights = ArrayLike<number>[];

export interface Krd {
  layer: number;
  d: number;
  dz: number;
  W: Float32Array[];
  /** Where it came from (metadata of the file). */
  meta: Record<string, string>;
  file?: string;
  sha256?: string;
}

// ---- the module's math (float64)

const C_GELU = Math.sqrt(2 / Math.PI);
function gelu(x: number): number {
  return 0.5 * x * (1 + Math.tanh(C_GELU * (x + 0.044715 * x * x * x)));
}
function geluGrad(x: number): number {
  const t = Math.tanh(C_GELU * (x + 0.044715 * x * x * x));
  return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * C_GELU * (1 + 3 * 0.044715 * x * x);
}

export interface KrdSample {
  h: ArrayLike<number>;
  q: ArrayLike<number>;
  /** Subject id: in-batch negatives come from other subjects only. */
  group: number;
}

export interface KrdForward {
  ar: Float64Array;
  au: Float64Array;
  zr: Float64Array;
  zu: Float64Array;
  hhat: Float64Array;
}

/** z_r, z_u and ĥ_s of one (h_s, h_r). */
export function krdForward(W: KrdWeights, d: number, dz: number, h: ArrayLike<number>, q: ArrayLike<number>): KrdForward {
  const ar = matVec(W[1], dz, d, q, matVec(W[0], dz, d, h));
  const au = matVec(W[3], dz, d, q, matVec(W[2], dz, d, h));
  const zr = ar.map(gelu);
  const zu = au.map(gelu);
  const hhat = matVec(W[5], d, dz, zu, matVec(W[4], d, dz, zr));
  return { ar, au, zr, zu, hhat };
}

/**
 * L_ctr and L_recon of a batch and the gradients of L_ctr + β L_recon + Σ_i ⟨gzr_i, z_r_i⟩ +
 * ⟨gzu_i, z_u_i⟩ with respect to W1…W6 (the external terms carry α ∂L_con/∂z from the model).
 */
export function krdBackward(W: KrdWeights, d: number, dz: number, samples: KrdSample[], fw: KrdForward[], hp: Pick<KrdHparams, 'tau' | 'beta' | 'inBatch'>, ext?: { gzr: ArrayLike<number>[]; gzu: ArrayLike<number>[] }): { ctr: number; recon: number; grads: Float64Array[] } {
  const B = samples.length;
  const grads = [dz * d, dz * d, dz * d, dz * d, d * dz, d * dz].map((n) => new Float64Array(n));
  const gzr = fw.map((_, i) => (ext ? Float64Array.from(ext.gzr[i]) : new Float64Array(dz)));
  const gzu = fw.map((_, i) => (ext ? Float64Array.from(ext.gzu[i]) : new Float64Array(dz)));
  const norms = samples.map((s) => norm(s.h));
  // L_ctr: cosine logits / τ; candidates [h_i (positive), other component, h_j of other subjects].
  let ctr = 0;
  const w = 1 / (2 * B);
  for (let i = 0; i < B; i++) {
    for (const which of ['r', 'u'] as const) {
      const x = which === 'r' ? fw[i].zr : fw[i].zu;
      const y = which === 'r' ? fw[i].zu : fw[i].zr;
      const gx = which === 'r' ? gzr[i] : gzu[i];
      const gy = which === 'r' ? gzu[i] : gzr[i];
      const nx = norm(x) + 1e-12;
      const ny = norm(y) + 1e-12;
      const cands: { v: ArrayLike<number>; n: number; learn: boolean }[] = [{ v: samples[i].h, n: norms[i] + 1e-12, learn: false }, { v: y, n: ny, learn: true }];
      if (hp.inBatch) for (let j = 0; j < B; j++) if (samples[j].group !== samples[i].group) cands.push({ v: samples[j].h, n: norms[j] + 1e-12, learn: false });
      const cos = cands.map((c) => dot(x, c.v) / (nx * c.n));
      const logits = cos.map((c) => c / hp.tau);
      const max = Math.max(...logits);
      const exps = logits.map((l) => Math.exp(l - max));
      const Z = exps.reduce((a, b) => a + b, 0);
      ctr += w * (-logits[0] + max + Math.log(Z));
      cands.forEach((c, k) => {
        const g = (w * (exps[k] / Z - (k === 0 ? 1 : 0))) / hp.tau; // ∂/∂cos_k
        if (g === 0) return;
        // ∂cos/∂x = c/(|x||c|) − cos·x/|x|²; ∂cos/∂c likewise.
        for (let t = 0; t < dz; t++) gx[t] += g * (c.v[t] / (nx * c.n) - (cos[k] * x[t]) / (nx * nx));
        if (c.learn) for (let t = 0; t < dz; t++) gy[t] += g * (x[t] / (nx * c.n) - (cos[k] * c.v[t]) / (c.n * c.n));
      });
    }
  }
  // L_recon and the backward pass through the recomposer and the disentangler.
  let recon = 0;
  for (let i = 0; i < B; i++) {
    const { h, q } = samples[i];
    const { ar, au, zr, zu, hhat } = fw[i];
    const n2 = norms[i] * norms[i] + 1e-12;
    const gh = new Float64Array(d);
    for (let t = 0; t < d; t++) {
      const e = hhat[t] - h[t];
      recon += (e * e) / n2 / B;
      gh[t] = (2 * hp.beta * e) / n2 / B;
    }
    addOuter(grads[4], gh, zr);
    addOuter(grads[5], gh, zu);
    matTVec(W[4], d, dz, gh, gzr[i]);
    matTVec(W[5], d, dz, gh, gzu[i]);
    const gar = gzr[i].map((g, t) => g * geluGrad(ar[t]));
    const gau = gzu[i].map((g, t) => g * geluGrad(au[t]));
    addOuter(grads[0], gar, h);
    addOuter(grads[1], gar, q);
    addOuter(grads[2], gau, h);
    addOuter(grads[3], gau, q);
  }
  return { ctr, recon, grads };
}

/** G += a bᵀ (G [a.length, b.length] row-major). */
function addOuter(G: Float64Array, a: ArrayLike<number>, b: ArrayLike<number>): void {
  const n = b.length;
  for (let i = 0; i < a.length; i++) {
    const ai = a[i];
    if (ai === 0) continue;
    const o = i * n;
    for (let j = 0; j < n; j++) G[o + j] += ai * b[j];
  }
}

/** nn.Linear's initialisation: U(−1/√in, 1/√in), seeded. */
export function initKrdWeights(d: number, dz: number, seed: number): Float32Array[] {
  const rand = mulberry32(seed ^ 0x6b7264);
  const make = (rows: number, cols: number) => Float32Array.from({ length: rows * cols }, () => (2 * rand() - 1) / Math.sqrt(cols));
  return [make(dz, d), make(dz, d), make(dz, d), make(dz, d), make(d, dz), make(d, dz)];
}

// ---- the facts as model inputs

interface EncodedFact {
  fact: KrdFact;
  ids: number[];
  lookup: number;
  target: number[];
  h: Float32Array;
  q: Float32Array;
}

/** Token ids of each fact and h_s, h_r at `layer` (the model as given, edits included). */
async function encodeFacts(model: LoadedModel, layer: number, facts: KrdFact[], isCancelled?: () => boolean): Promise<EncodedFact[]> {
  const d = model.dims.dModel;
  const tap = tapName(layer, 'resid_post');
  const out: EncodedFact[] = [];
  const limit = model.dims.maxPositions;
  for (let start = 0; start < facts.length; start += 64) {
    if (isCancelled?.()) throw cancelled('KRD training cancelled while reading the facts.');
    const chunk = facts.slice(start, start + 64).map((fact) => ({ fact, ...withSubject(model, fact.prompt, fact.subject), target: targetIds(model, fact.object) }));
    const b = model.makeBatch(chunk.map((c) => c.ids));
    const data = (await model.run({ taps: [tap], layers: layer + 1 }, b))[tap].data as Float32Array;
    chunk.forEach((c, i) => {
      if (c.ids.length + c.target.length - 1 > limit) return;
      const at = (pos: number) => data.slice((i * b.seq + pos) * d, (i * b.seq + pos + 1) * d);
      out.push({ ...c, h: at(c.lookup), q: at(c.ids.length - 1) });
    });
  }
  return out;
}

export interface KrdProgress extends CurvePoint {
  steps: number;
}

export interface KrdTrainResult {
  krd: Krd;
  result: TrainResult;
  /** Facts used (of subjects with ≥ 2 relations) and subjects. */
  facts: number;
  subjects: number;
}

/** The module file's metadata: what it was trained on and how, and its first and last loss. */
function krdMeta(model: LoadedModel, layer: number, hp: KrdHparams, result: TrainResult, facts: { source: string; facts: number; subjects: number }): Record<string, string> {
  const first = result.curve[0];
  const last = result.curve[result.curve.length - 1];
  return {
    format: KRD_FORMAT,
    layer: String(layer),
    d_model: String(model.dims.dModel),
    dz: String(hp.dz),
    hparams: JSON.stringify(hp),
    modelFingerprint: model.checkpoint.fingerprint,
    facts: JSON.stringify(facts),
    curve: JSON.stringify({ steps: result.steps, stoppedBy: result.stoppedBy, ms: Math.round(result.ms), first: first && { loss: first.loss, ...first.metrics }, last: last && { loss: last.loss, ...last.metrics } }),
    created: new Date().toISOString(),
  };
}

/** Per subject, its facts (indices into `enc`) by relation; the pool holds the facts of subjects with ≥ 2 relations, grouped by subject. */
function factPools(enc: EncodedFact[]) {
  const bySubject = new Map<string, Map<string, number[]>>();
  enc.forEach((e, i) => {
    if (!bySubject.has(e.fact.subject)) bySubject.set(e.fact.subject, new Map());
    const rel = bySubject.get(e.fact.subject)!;
    if (!rel.has(e.fact.relation)) rel.set(e.fact.relation, []);
    rel.get(e.fact.relation)!.push(i);
  });
  const subjects = [...bySubject.keys()].filter((s) => bySubject.get(s)!.size >= 2);
  const groupOf = new Map(subjects.map((s, i) => [s, i]));
  const pool = enc.map((_, i) => i).filter((i) => groupOf.has(enc[i].fact.subject));
  return { bySubject, subjects, groupOf, pool };
}

/**
 * Trains a KRD module at `layer` on same-subject facts (the model is frozen; its current edits
 * are part of it). Each step: a batch of facts, for each up to `negatives` facts of the subject's
 * other relations (one random prompt per relation, seeded), the module's forward pass, one run of
 * the v* graph for L_con's gradients at the replaced residuals, the module's backward pass, AdamW.
 */
export async function trainKrd(model: LoadedModel, facts: KrdFact[], o: { layer: number; hparams?: Partial<KrdHparams>; onStep?: (p: KrdProgress) => void; isCancelled?: () => boolean; source?: string }): Promise<KrdTrainResult> {
  const d = model.dims.dModel;
  const { layer } = o;
  if (!Number.isInteger(layer) || layer < 0 || layer >= model.dims.layers) throw badInput(`Layer must be in 0…${model.dims.layers - 1}, got ${layer}`, { field: 'layer' });
  if (layer === model.dims.layers - 1) throw badInput(`KRD needs layers above the edit layer (L_con runs the model above it); the last layer is ${layer}`, { field: 'layer' });
  const hp: KrdHparams = { ...KRD_DEFAULTS, dz: d, ...o.hparams };
  if (hp.dz !== d) throw badInput(`dz must equal d_model (${d}): z_r and z_u stand in for h_s in L_con`, { field: 'dz' });
  const enc = await encodeFacts(model, layer, facts, o.isCancelled);
  const { bySubject, subjects, groupOf, pool } = factPools(enc);
  if (pool.length === 0) throw badInput('No subject has facts of two relations that fit the context', { field: 'facts' });

  const W = initKrdWeights(d, hp.dz, hp.seed);
  const names = ['W1', 'W2', 'W3', 'W4', 'W5', 'W6'];
  const params = W.map((value, i) => ({ name: names[i], value, decay: true }));
  const rand = mulberry32(hp.seed ^ 0x6e6567);
  const result = await train(params, {
    steps: hp.steps, lr: hp.lr, weightDecay: hp.weightDecay, betas: [0.9, 0.999], eps: 1e-8, warmup: hp.warmup, schedule: 'cosine', clip: hp.clip,
    batchSizes: [hp.batchSize], seed: hp.seed,
  }, {
    pools: [pool.length],
    isCancelled: o.isCancelled,
    compute: async ([batch]) => {
      const items = batch.map((k) => enc[pool[k]]);
      const samples = items.map((e) => ({ h: e.h, q: e.q, group: groupOf.get(e.fact.subject)! }));
      const fw = samples.map((s) => krdForward(W, d, hp.dz, s.h, s.q));
      // L_con rows: the fact with z_r at its subject, then the other relations' facts with z_u.
      const rows: number[][] = [];
      const reps: Replacement[] = [];
      const nll: { row: number; pos: number; target: number; weight: number }[] = [];
      const owner: { sample: number; part: 'r' | 'u' }[] = [];
      const addRow = (e: EncodedFact, vector: Float64Array, sample: number, part: 'r' | 'u') => {
        const row = rows.length;
        rows.push([...e.ids, ...e.target.slice(0, -1)]);
        reps.push({ row, pos: e.lookup, vector });
        owner.push({ sample, part });
        e.target.forEach((target, j) => nll.push({ row, pos: e.ids.length - 1 + j, target, weight: 1 / (items.length * e.target.length) }));
      };
      items.forEach((e, i) => {
        addRow(e, fw[i].zr, i, 'r');
        const others = [...bySubject.get(e.fact.subject)!.entries()].filter(([r]) => r !== e.fact.relation);
        for (let k = others.length - 1; k > 0; k--) {
          const j = Math.floor(rand() * (k + 1));
          [others[k], others[j]] = [others[j], others[k]];
        }
        for (const [, idx] of others.slice(0, hp.negatives)) addRow(enc[idx[Math.floor(rand() * idx.length)]], fw[i].zu, i, 'u');
      });
      const con = await replacedResidualLoss(model, layer, rows, reps, nll);
      const gzr = items.map(() => new Float64Array(hp.dz));
      const gzu = items.map(() => new Float64Array(hp.dz));
      con.grads.forEach((g, r) => {
        const into = owner[r].part === 'r' ? gzr[owner[r].sample] : gzu[owner[r].sample];
        for (let t = 0; t < hp.dz; t++) into[t] += hp.alpha * g[t];
      });
      const head = krdBackward(W, d, hp.dz, samples, fw, hp, { gzr, gzu });
      // P(o | h_s := z_r): the mean over the batch of the main rows' per-token probability.
      let pr = 0;
      nll.forEach((n, k) => {
        if (owner[n.row].part === 'r') pr += Math.exp(con.logprobs[k]) * n.weight;
      });
      return {
        loss: head.ctr + hp.alpha * con.loss + hp.beta * head.recon,
        grads: head.grads.map((g) => Float32Array.from(g)),
        metrics: { ctr: head.ctr, con: con.loss, recon: head.recon, pRelated: pr },
      };
    },
    onStep: (p) => o.onStep?.({ ...p, steps: hp.steps }),
  });
  const meta = krdMeta(model, layer, hp, result, { source: o.source ?? '', facts: pool.length, subjects: subjects.length });
  return { krd: { layer, d, dz: hp.dz, W, meta }, result, facts: pool.length, subjects: subjects.length };
}

// ---- files

/** Writes the module as safetensors (W1…W6 and the metadata). */
export function writeKrd(file: string, krd: Krd): void {
  const shapes = [[krd.dz, krd.d], [krd.dz, krd.d], [krd.dz, krd.d], [krd.dz, krd.d], [krd.d, krd.dz], [krd.d, krd.dz]];
  writeSafetensors(file, krd.W.map((w, i) => f32Tensor(`W${i + 1}`, shapes[i], w)), krd.meta);
}

export function isKrdFile(file: string): boolean {
  try {
    return readSafetensorsHeader(file).metadata?.format === KRD_FORMAT;
  } catch {
    return false;
  }
}

/** Reads and checks a KRD file (format, shapes, finite values; for a model: its fingerprint and width). */
export function readKrd(file: string, model?: LoadedModel): Krd {
  if (!fs.existsSync(file)) throw badInput('The KRD file is not there', { file, field: 'krd', hint: 'Train one with mechedit dike train --model DIR --out FILE.' });
  let header;
  try {
    header = readSafetensorsHeader(file);
  } catch (e) {
    throw badInput(`Cannot read the KRD file: ${(e as Error).message}`, { file, field: 'krd' });
  }
  const meta = header.metadata ?? {};
  if (meta.format !== KRD_FORMAT) throw badInput(`Not a KRD module (metadata format ${JSON.stringify(meta.format)}, expected ${KRD_FORMAT})`, { file, field: 'format', hint: 'Train one with mechedit dike train.' });
  const layer = Number(meta.layer);
  const d = Number(meta.d_model);
  const dz = Number(meta.dz);
  if (![layer, d, dz].every((x) => Number.isInteger(x) && x >= 0) || d === 0 || dz === 0) throw badInput('The KRD metadata needs whole numbers layer, d_model and dz', { file, field: 'metadata' });
  const shapes = [[dz, d], [dz, d], [dz, d], [dz, d], [d, dz], [d, dz]];
  const W = shapes.map((shape, i) => {
    const t = header.tensors.get(`W${i + 1}`);
    if (!t || t.shape.join(',') !== shape.join(',')) throw badInput(`Tensor W${i + 1} is missing or not [${shape}]`, { file, field: `W${i + 1}` });
    const v = readTensorF32(t);
    if (!v.every(Number.isFinite)) throw badInput(`Tensor W${i + 1} holds NaN or infinite values`, { file, field: `W${i + 1}` });
    return v;
  });
  if (model) {
    if (d !== model.dims.dModel) throw badInput(`The KRD module is for d_model ${d}; this model has ${model.dims.dModel}`, { file, field: 'd_model', hint: 'Train a KRD for this model with mechedit dike train.' });
    if (meta.modelFingerprint && meta.modelFingerprint !== model.checkpoint.fingerprint) {
      throw badInput(`The KRD module was trained on another model (fingerprint ${meta.modelFingerprint}, this one ${model.checkpoint.fingerprint})`, { file, field: 'modelFingerprint', hint: 'Train a KRD for this model with mechedit dike train.' });
    }
  }
  const sha256 = createHash('sha256').update(readInputBytes(file, 'vectors')).digest('hex');
  return { layer, d, dz, W, meta, file, sha256 };
}
