// AlphaEdit's null-space projector P = U_s U_sᵀ (U_s: the eigenvectors of the key statistics C
// whose eigenvalues are below τ) without an eigendecomposition, so that it scales to d_mlp 6400
// (GPT-2 XL) and 11008–14336 (Llama): P = (I + sign(M)) / 2 with M = (τ I − C) / ‖τ I − C‖_F,
// whose eigenvalues (τ − λ_i)/s lie in [−1, 1] and are positive exactly for λ_i < τ. sign(M) is
// reached by matrix products only, run as two tiny ONNX graphs on the model's execution provider
// (the GPU where there is one):
//   quintic steps  X ← X (a I + b X² + c X⁴), (a, b, c) = (3.4445, −4.7750, 2.0315): small
//                  eigenvalues grow 3.44× per step (3 products) while those in (0, 1] stay in
//                  [0.7, 1.2]; as many steps as it takes to lift |μ| = ε τ / s (eigenvalues within
//                  a relative ε = 1 % of τ) to ½;
//   cubic steps    X ← X (3 I − X²) / 2 (Newton–Schulz) until ‖X² − I‖_F / √d < 1e-4 (quadratic
//                  convergence from the [0.7, 1.2] band; at most 12).
// About 40–50 products of d × d matrices in float32; eigenvalues within ~1 % of τ may end
// between 0 and 1 (they are on the threshold either way). Cached beside the statistics file:
// <cache>/stats/<fingerprint>/<stats name>-null-<τ>.safetensors (tensor "P", metadata: tau,
// dimension = round(trace P), steps, residual).

import * as fs from 'node:fs';
import type { LoadedModel } from '../runtime/model';
import { loadOrt, sessionOptions, type InferenceSession } from '../runtime/ort';
import { GraphBuilder } from '../onnx/proto';
import { readSafetensorsHeader, readTensorF32 } from '../checkpoint/safetensors';
import { f32Tensor, writeSafetensors } from '../checkpoint/writeSafetensors';
import { badInput, cancelled } from '../errors';
import type { ExecutionProvider } from '../../protocol/engine';
import type { KeyStats } from './stats';
import { matVec, symmetricEigenvalues } from './linalg';

export const QUINTIC = [3.4445, -4.775, 2.0315] as const;

export interface NullSpace {
  /** τ, absolute (on C's scale). */
  tau: number;
  /** P, row-major [d, d] float32 (symmetric). */
  P: Float32Array;
  dim: number;
  /** round(trace P): the null space's dimension. */
  dimension: number;
  quinticSteps: number;
  cubicSteps: number;
  /** ‖X² − I‖_F / √d at the end. */
  residual: number;
  seconds: number;
  cached: boolean;
}

export interface ProjectorRun {
  provider: ExecutionProvider;
  threads: number;
  /** Relative resolution ε around τ (default 0.01). */
  resolution?: number;
  onProgress?: (step: number, residual?: number) => void;
  isCancelled?: () => boolean;
}

/** τ = threshold × the mean eigenvalue of C (trace C / d): AlphaEdit's threshold on any model's scale. */
export function relativeTau(C: Float64Array, d: number, threshold: number): number {
  let trace = 0;
  for (let i = 0; i < d; i++) trace += C[i * d + i];
  return (threshold * trace) / d;
}

/** C's eigenvalues, ascending (clipped at 0), per statistics matrix. */
const spectra = new WeakMap<Float64Array, number[]>();

/**
 * τ for an energy share: the eigenvalues of C below τ together hold at most `share` of trace C
 * (the null space's share of the keys' energy). τ lies halfway between the last eigenvalue kept in
 * the null space and the next one (at least one direction is kept). Eigenvalues by Householder
 * + QL (linalg.symmetricEigenvalues), cached per C: under a second at d_mlp 512, minutes at 6400.
 */
export function energyShareTau(C: Float64Array, d: number, share: number): { tau: number; dimension: number; energy: number } {
  let values = spectra.get(C);
  if (!values) spectra.set(C, (values = Array.from(symmetricEigenvalues(C, d), (v) => Math.max(0, v))));
  const total = values.reduce((a, v) => a + v, 0);
  let sum = 0;
  let k = 0;
  while (k < d && sum + values[k] <= share * total) sum += values[k++];
  if (k === 0) {
    sum = values[0];
    k = 1;
  }
  const tau = k < d ? (values[k - 1] + values[k]) / 2 : values[d - 1] * (1 + 1e-9);
  return { tau, dimension: k, energy: sum / total };
}

/**
 * The projector's leakage on the keys C was built from: √(trace(P C) / trace C), the RMS of
 * ‖P k‖ / ‖k‖ weighted by ‖k‖² (E‖Pk‖² / E‖k‖², since C = E[k kᵀ]); 0 would protect them exactly.
 */
export function projectorLeakage(P: Float32Array, C: Float64Array, d: number): number {
  let pc = 0;
  let trace = 0;
  for (let i = 0; i < d; i++) {
    trace += C[i * d + i];
    for (let j = 0; j < d; j++) pc += P[i * d + j] * C[i * d + j];
  }
  return Math.sqrt(Math.max(0, pc) / trace);
}

/** [n, n] → [n, n]: one quintic step, or one cubic step with ‖X² − I‖²_F (before the step) as `r`. */
function stepGraph(kind: 'quintic' | 'cubic'): Uint8Array {
  const g = new GraphBuilder(`null-space-${kind}`);
  const X = g.input('X', 'float32', ['n', 'n']);
  const I = g.op('EyeLike', [X]);
  const X2 = g.op('MatMul', [X, X]);
  if (kind === 'quintic') {
    const [a, b, c] = QUINTIC;
    const X4 = g.op('MatMul', [X2, X2]);
    const T = g.op('Add', [g.op('Add', [g.op('Mul', [I, g.float(a)]), g.op('Mul', [X2, g.float(b)])]), g.op('Mul', [X4, g.float(c)])]);
    g.op('MatMul', [X, T], {}, 'Y');
  } else {
    g.op('Mul', [g.op('MatMul', [X, g.op('Sub', [g.op('Mul', [I, g.float(3)]), X2])]), g.float(0.5)], {}, 'Y');
    g.op('ReduceSumSquare', [g.op('Sub', [X2, I])], { keepdims: 0 }, 'r');
    g.output('r', 'float32', []);
  }
  g.output('Y', 'float32', ['n', 'n']);
  return g.toBytes();
}

/**
 * P for eigenvalues of C (row-major [d, d], symmetric PSD) below τ, by the matrix-sign iteration
 * above, on `run.provider`. Throws a bad-input error when C holds non-finite values.
 */
export async function spectralProjector(C: Float64Array, d: number, tau: number, run: ProjectorRun): Promise<Omit<NullSpace, 'cached'>> {
  const t0 = performance.now();
  if (!(tau > 0)) throw badInput(`The null-space threshold must be positive, got ${tau}`, { field: 'threshold' });
  let s2 = 0;
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < d; j++) {
      const m = (i === j ? tau : 0) - C[i * d + j];
      s2 += m * m;
    }
  }
  if (!Number.isFinite(s2)) throw badInput('The key statistics hold NaN or infinite values', { field: 'C' });
  const s = Math.sqrt(s2);
  let X: Float32Array = new Float32Array(d * d);
  for (let i = 0; i < d * d; i++) X[i] = ((i % (d + 1) === 0 ? tau : 0) - C[i]) / s;
  const ort = loadOrt();
  const options = sessionOptions(run.provider, run);
  const open = (kind: 'quintic' | 'cubic'): Promise<InferenceSession> => ort.InferenceSession.create(stepGraph(kind), options);
  const [quintic, cubic] = await Promise.all([open('quintic'), open('cubic')]);
  const eps = run.resolution ?? 0.01;
  const quinticSteps = Math.max(1, Math.ceil(Math.log(0.5 / Math.min(0.5, (eps * tau) / s)) / Math.log(QUINTIC[0])));
  let step = 0;
  const check = () => {
    if (run.isCancelled?.()) throw cancelled(`The null-space projector was cancelled after ${step} steps.`);
  };
  try {
    for (let k = 0; k < quinticSteps; k++) {
      check();
      X = (await quintic.run({ X: new ort.Tensor('float32', X, [d, d]) })).Y.data as Float32Array;
      run.onProgress?.(++step);
    }
    let residual = Infinity;
    let cubicSteps = 0;
    for (; cubicSteps < 12; cubicSteps++) {
      check();
      const out = await cubic.run({ X: new ort.Tensor('float32', X, [d, d]) });
      residual = Math.sqrt((out.r.data as Float32Array)[0] / d);
      run.onProgress?.(++step, residual);
      if (residual < 1e-4) break;
      X = out.Y.data as Float32Array;
    }
    // P = (I + X) / 2, symmetrised (float32 products drift from symmetry by rounding only).
    const P = new Float32Array(d * d);
    let trace = 0;
    for (let i = 0; i < d; i++) {
      for (let j = 0; j <= i; j++) {
        const v = 0.25 * (X[i * d + j] + X[j * d + i]) + (i === j ? 0.5 : 0);
        P[i * d + j] = v;
        P[j * d + i] = v;
      }
      trace += P[i * d + i];
    }
    return { tau, P, dim: d, dimension: Math.round(trace), quinticSteps, cubicSteps, residual, seconds: (performance.now() - t0) / 1000 };
  } finally {
    await Promise.all([quintic.release(), cubic.release()]);
  }
}

/** v ↦ P v (float64 accumulation). */
export function applyProjector(ns: { P: Float32Array; dim: number }, v: ArrayLike<number>): Float64Array {
  return matVec(ns.P, ns.dim, ns.dim, v);
}

/** Where P for these statistics and τ is cached: beside the statistics file. */
export function nullSpaceFile(stats: KeyStats, tau: number): string {
  return stats.file.replace(/\.safetensors$/, `-null-${tau.toExponential(6)}.safetensors`);
}

/** Projectors already loaded, per statistics matrix and τ. */
const loaded = new WeakMap<Float64Array, Map<number, NullSpace>>();

/**
 * The null-space projector of `stats` for τ (absolute): from memory, from the file beside the
 * statistics, or computed on the model's execution provider and written there.
 */
export async function nullSpaceFor(model: LoadedModel, stats: KeyStats, tau: number, run: Omit<ProjectorRun, 'provider' | 'threads'> = {}): Promise<NullSpace> {
  let perStats = loaded.get(stats.C);
  if (!perStats) loaded.set(stats.C, (perStats = new Map()));
  const known = perStats.get(tau);
  if (known) return { ...known, cached: true };
  const file = nullSpaceFile(stats, tau);
  let ns: NullSpace;
  if (fs.existsSync(file)) {
    const header = readSafetensorsHeader(file);
    const entry = header.tensors.get('P');
    if (!entry || entry.shape[0] !== stats.dim || entry.shape[1] !== stats.dim) throw badInput(`The cached null-space projector has no [${stats.dim}, ${stats.dim}] tensor "P"`, { file, hint: 'Delete the file so that it is computed again.' });
    const m = header.metadata;
    ns = { tau, P: readTensorF32(entry), dim: stats.dim, dimension: Number(m.dimension), quinticSteps: Number(m.quinticSteps), cubicSteps: Number(m.cubicSteps), residual: Number(m.residual), seconds: Number(m.seconds), cached: true };
  } else {
    ns = { ...(await spectralProjector(stats.C, stats.dim, tau, { ...run, provider: model.options.provider, threads: model.options.threads })), cached: false };
    writeSafetensors(file, [f32Tensor('P', [stats.dim, stats.dim], ns.P)], {
      tau: String(tau), dimension: String(ns.dimension), quinticSteps: String(ns.quinticSteps), cubicSteps: String(ns.cubicSteps), residual: String(ns.residual), seconds: ns.seconds.toFixed(3), layer: String(stats.layer),
    });
  }
  perStats.set(tau, ns);
  return ns;
}
