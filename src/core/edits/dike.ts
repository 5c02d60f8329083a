// DiKE's Disentanglement-based Knowledge Edit (METHODS.md "DiKE"; arXiv 2505.18774 §4), one fact at
// one MLP output projection, with a frozen KRD module (krd.ts) trained for that layer:
//   h_s, h_r   resid_post of block l at the bare prompt's subject's last token and last token;
//   z_r, z_u   the KRD's components of (h_s, h_r);
//   δ [dz]     optimised by vstar.ts with h*_s = Rec(z_r + δ, z_u): the residual moves by W5 δ
//              (Rec is linear, Rec(z_r + δ, z_u) − Rec(z_r, z_u) = W5 δ; we add that change to the
//              model's own h_s, so KRD's reconstruction error never enters v*), loss as ROME's
//              (NLL of o* after the templates, KL on "{s} is a", weight decay, clamp);
//   v*         h^p_s + (h*_s − h^p_s): r = v* − W k = W5 δ;
//   update     Δ_MEMIT = r k̃ᵀ with k̃ = (λ C + k kᵀ)⁻¹ k (MEMIT's single-layer closed form; k the
//              key at the subject, ½ the bare prompt's and ½ the templates' mean),
//              Ŵ = W + (I + W3ᵀW3)⁻¹ Δ_MEMIT — the minimiser of
//              ‖Ŵk − v*‖² + λ‖(Ŵ − W)K0‖² + ‖W3(Ŵ − W)k‖² + λ‖W3(Ŵ − W)K0‖²
//              (K0 K0ᵀ = C): the last two keep z_u ≈ GELU(W3 h + W4 h_r) where it was, with the
//              activation dropped (the paper's linearisation). (I + W3ᵀW3) acts in d_model, the
//              output side of W. Stored as U = (I + W3ᵀW3)⁻¹ r [d_model], V = k̃ [d_mlp].
//   inLoop     (ours, default on) the δ loop sees the edit as the closed form will apply it: the
//              residual change (I + W3ᵀW3)⁻¹ W5 δ, scaled at every position by k̃ᵀk_pos (ROME's
//              "update in the loop"). Off: the paper's loop (W5 δ at the subject's last token only),
//              which leaves the shrink of (I + W3ᵀW3)⁻¹ and λ uncompensated.
//   hStar      'residual' (ours, default): h*_s = h_s + W5 δ, as above. 'reconstruction' (the
//              paper's): h*_s = Rec(z_r + δ, z_u) = ĥ_s + W5 δ, so the residual moves by
//              e + W5 δ with e = ĥ_s − h_s the KRD's reconstruction error at the bare prompt (the
//              same e at every template's lookup); δ then starts from e, clamped, and r = e + W5 δ.
// The paper's δ objective (NLL only) is klFactor 0 and weightDecay 0 (the paper preset's values).

import * as path from 'node:path';
import * as fs from 'node:fs';
import type { LoadedModel } from '../runtime/model';
import { badInput } from '../errors';
import { tapName } from '../graph/taps';
import type { EditStack } from './stack';
import { newEditId, type Edit, type EditJson } from './editFile';
import { optimiseDelta, type DeltaBasis, type VStarHparams, type VStarResult, type VStarRun } from './vstar';
import { adjustedColumns, solveC } from './stats';
import { cholesky, choleskySolve, dot, matTVec, matVec, norm } from './linalg';
import { checkRequest, contextTemplates, defaultEditLayer, factProblem, keysAtSubject, resolveLti, statsFor, stepBudget, updateScales, withSubject, type FactRequest, type LtiHparams } from './rome';
import { paperMemitLambda } from './memit';
import { krdForward, readKrd, type Krd } from './krd';

export interface DikeHparams extends VStarHparams {
  klFactor: number;
  bareWeight?: number;
  /** λ (MEMIT's mom2_update_weight) in Δ_MEMIT: the paper's on the models it tuned, else set per edit (computeDike). */
  lambda: number;
  /** See the header. */
  inLoop: boolean;
  /** Apply (I + W3ᵀW3)⁻¹ (off: Δ_MEMIT of the disentangled δ alone, an ablation). */
  fine: boolean;
  /** See the header (default 'residual'). */
  hStar?: 'residual' | 'reconstruction';
}

/** ROME's v* settings (rome.ts ROME_HPARAMS) with DiKE's; λ defaults to MEMIT's for the model. */
export const DIKE_HPARAMS: Omit<DikeHparams, 'lambda'> = { steps: 20, lr: 0.5, weightDecay: 0.5, clamp: 4, klFactor: 0.0625, bareWeight: 0.5, inLoop: true, fine: true };

export interface DikeOptions extends VStarRun {
  layer?: number;
  /** The KRD module or its file (default: krd-L{layer}.safetensors beside the checkpoint). */
  krd?: string | Krd;
  lti?: boolean | Partial<LtiHparams>;
  hparams?: Partial<DikeHparams>;
  corpus?: string[];
  samples?: number;
  seed?: number;
  label?: string;
}

export interface DikeReport {
  vstar: VStarResult;
  timing: { stats: number; keys: number; vstar: number; solve: number };
  krd: { file?: string; sha256?: string };
  /** r = v* − W k = W5 δ [d_model], before (I + W3ᵀW3)⁻¹. */
  r: Float64Array;
}

/** Where the default KRD module of a model and layer lives: beside the checkpoint. */
export function defaultKrdFile(model: LoadedModel, layer: number): string {
  return path.join(model.checkpoint.dir, `krd-L${layer}.safetensors`);
}

/** The KRD module for `layer`: the given file, else the checkpoint's own; a clear error if there is none. */
export function resolveKrd(model: LoadedModel, layer: number, file?: string): Krd {
  const f = file ?? defaultKrdFile(model, layer);
  if (!file && !fs.existsSync(f)) {
    throw badInput(`DiKE needs a KRD module for layer ${layer} of this model; there is none beside the checkpoint (${f})`, {
      field: 'krd',
      hint: `Train one: mechedit dike train --model ${model.checkpoint.dir} --layer ${layer} --out krd-L${layer}.safetensors, then pass it as the KRD file (--krd), or copy it to ${f}.`,
    });
  }
  const krd = readKrd(f, model);
  if (krd.layer !== layer) throw badInput(`The KRD module was trained at layer ${krd.layer}, the edit is at layer ${layer}`, { file: f, field: 'layer', hint: `Edit at layer ${krd.layer}, or train a KRD for layer ${layer}.` });
  return krd;
}

/** v ↦ (I + W3ᵀW3)⁻¹ v [d] (Cholesky of the d × d matrix, once). */
export function fineSolver(W3: ArrayLike<number>, d: number, dz: number): (v: ArrayLike<number>) => Float64Array {
  const A = new Float64Array(d * d);
  for (let k = 0; k < dz; k++) {
    const o = k * d;
    for (let i = 0; i < d; i++) {
      const wi = W3[o + i];
      if (wi === 0) continue;
      for (let j = 0; j <= i; j++) A[i * d + j] += wi * W3[o + j];
    }
  }
  for (let i = 0; i < d; i++) A[i * d + i] += 1;
  const L = cholesky(A, d, 0);
  return (v) => choleskySolve(L, d, v);
}

/**
 * δ's basis: the residual moves by inLoop(W5 θ) ('residual'), or by inLoop(e + W5 θ) with e the
 * reconstruction error ('reconstruction': affine, so a non-linear basis from θ = 0). `move` is
 * the move before inLoop.
 */
function deltaBasis(krd: Krd, d: number, inLoop: (v: ArrayLike<number>) => Float64Array, e?: Float64Array): { basis: DeltaBasis; move: (theta: Float64Array) => Float64Array } {
  const move = (theta: Float64Array) => {
    const m = matVec(krd.W[4], d, krd.dz, theta);
    if (e) for (let j = 0; j < d; j++) m[j] += e[j];
    return m;
  };
  const basis: DeltaBasis = {
    dim: krd.dz,
    map: (theta) => inLoop(move(theta)),
    adjoint: (g) => matTVec(krd.W[4], d, krd.dz, inLoop(g)), // (I + W3ᵀW3)⁻¹ is symmetric
    ...(e ? { nonlinear: { init: new Float64Array(krd.dz) } } : {}),
  };
  return { basis, move };
}

export async function computeDike(model: LoadedModel, stack: EditStack, req: FactRequest, o: DikeOptions = {}): Promise<{ edit: Edit; report: DikeReport }> {
  checkRequest(req);
  void stack; // like ROME: the model as the stack leaves it
  const dims = model.dims;
  const d = dims.dModel;
  const layer = o.layer ?? (typeof o.krd === 'object' ? o.krd.layer : defaultEditLayer(dims).layer);
  if (!Number.isInteger(layer) || layer < 0 || layer >= dims.layers) throw badInput(`Layer must be in 0…${dims.layers - 1}, got ${layer}`, { field: 'layer' });
  const krd = typeof o.krd === 'object' ? o.krd : resolveKrd(model, layer, o.krd);
  if (krd.layer !== layer || krd.d !== d) throw badInput(`The KRD module is for layer ${krd.layer}, d_model ${krd.d}; the edit is at layer ${layer}, d_model ${d}`, { field: 'krd' });
  const lti = resolveLti(model, o.lti);
  // δ lives in z-space and moves the residual through W5 and the shrink, so it climbs slower than
  // ROME's v*: where the papers' budget does not apply, 400 steps instead of ROME's 160 (one FINE-KED
  // case of 30 on the bundled model, an employer edit, needs more than 160; the loop stops at loss < 0.05).
  const paperSteps = lti?.steps ?? DIKE_HPARAMS.steps;
  const budget = stepBudget(dims.modelType, dims.layers, paperSteps);
  const hp: DikeHparams = { ...DIKE_HPARAMS, lambda: NaN, steps: budget > paperSteps ? Math.max(budget, 400) : budget, ...o.hparams };
  const t0 = performance.now();
  const stats = await statsFor(model, layer, o);
  const tStats = performance.now();
  const templates = await contextTemplates(model, o.seed ?? 0);
  const keys = await keysAtSubject(model, req, layer, templates);
  const T = templates.length;
  const key = Float64Array.from(keys.mean, (m, j) => (T > 1 ? 0.5 * keys.bare[j] + (0.5 * (T * m - keys.bare[j])) / (T - 1) : m));
  // λ: the paper's (MEMIT's) on the models it tuned; elsewhere the one at which the edit's own key
  // takes 95 % of the update (k̃ᵀk = s / (1 + s), s = kᵀC⁻¹k / λ = 19). MEMIT's d_mlp-scaled λ (469 on
  // the bundled model) gives s ≈ 1 there, where the keys of facts are typical keys of the corpus.
  if (!(hp.lambda > 0)) hp.lambda = paperMemitLambda(dims.modelType, dims.layers) ?? dot(key, solveC(stats, key)) / 19;
  const kTilde = adjustedColumns(stats, hp.lambda, [key])[0];
  // h_s, h_r of the bare prompt, and the KRD's components.
  const bare = withSubject(model, req.prompt, req.subject);
  const tap = tapName(layer, 'resid_post');
  const resid = (await model.run({ taps: [tap], layers: layer + 1 }, model.makeBatch([bare.ids])))[tap].data as Float32Array;
  const z = krdForward(krd.W, d, krd.dz, resid.subarray(bare.lookup * d, (bare.lookup + 1) * d), resid.subarray((bare.ids.length - 1) * d, bare.ids.length * d));
  const t1 = performance.now();

  const shrink = hp.fine ? fineSolver(krd.W[2], d, krd.dz) : (v: ArrayLike<number>) => Float64Array.from(v);
  const inLoop = hp.inLoop ? shrink : (v: ArrayLike<number>) => Float64Array.from(v);
  const problem = await factProblem(model, req, layer, templates, 'mlp_out', hp.klFactor, lti, hp.bareWeight);
  // δ lives in z-space: the residual moves by W5 δ (then, in the loop, as the update will move it);
  // hStar 'reconstruction' adds the reconstruction error e.
  const e = hp.hStar === 'reconstruction' ? Float64Array.from(z.hhat, (v, j) => v - resid[bare.lookup * d + j]) : undefined;
  const { basis, move } = deltaBasis(krd, d, inLoop, e);
  problem.basis = basis;
  if (hp.inLoop) problem.scales = await updateScales(model, problem.rows, layer, kTilde, 1);
  const vstar = await optimiseDelta(model, problem, hp, o);
  const t2 = performance.now();
  // The non-linear basis clamps δ = c · inLoop(move(θ)) (c ≤ 1), not θ: r carries the same c.
  const r = move(vstar.theta!);
  if (e) {
    const c = norm(vstar.delta) / Math.max(norm(inLoop(r)), 1e-30);
    if (c < 1) for (let j = 0; j < d; j++) r[j] *= c;
  }
  const U = shrink(r);
  const json: EditJson = {
    format: 'mechedit-edit/1',
    id: newEditId(`dike-${req.subject}`),
    label: o.label ?? `DiKE: ${req.prompt.replace('{}', req.subject)} → ${req.target}`,
    method: 'dike',
    modelFingerprint: model.checkpoint.fingerprint,
    targets: [{ layer, module: 'mlp.out', rank: 1, U: `U.${layer}`, V: `V.${layer}`, K: `K.${layer}` }],
    vectors: '',
    request: { ...req },
    hparams: {
      layer, ...hp, lti: lti ?? false, seed: o.seed ?? 0, templates, stats: { corpus: stats.corpus, samples: stats.count },
      krd: { file: krd.file ? path.basename(krd.file) : undefined, sha256: krd.sha256, layer: krd.layer, dz: krd.dz, hparams: krd.meta.hparams },
      deltaSteps: vstar.steps.length,
      hStar: hp.hStar ?? 'residual',
      components: { zr: norm(z.zr), zu: norm(z.zu), delta: norm(vstar.theta!), ...(e ? { reconError: norm(e) } : {}) },
    },
    created: new Date().toISOString(),
  };
  const edit: Edit = { json, tensors: [{ U: Float32Array.from(U), V: Float32Array.from(kTilde), K: Float32Array.from(key) }] };
  return { edit, report: { vstar, timing: { stats: tStats - t0, keys: t1 - tStats, vstar: t2 - t1, solve: performance.now() - t2 }, krd: { file: krd.file, sha256: krd.sha256 }, r } };
}
