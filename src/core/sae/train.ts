// Trains a TopK or JumpReLU SAE on activations held in memory, with Adam over float32 arrays
// (the SAE is separate from the model graph; the encoder's dense product runs in onnxruntime).
//
// Loss per batch of n tokens, on activations scaled by s so that E‖x‖² = 1 on the training set:
//   MSE = (1/n) Σ ‖x̂ − x‖²
//   TopK (Gao et al. 2024): + AUX_COEF · (1/n) Σ ‖ê − (x − x̂)‖², AuxK: ê decodes the AUX_K
//     largest pre-activations among dead features (not fired for deadAfter tokens), so dead
//     features get gradient; no gradient to b_dec through this term.
//   JumpReLU (Rajamanoharan et al. 2024, Gemma Scope): + λ · (1/n) Σ L0, with the straight-through
//     estimator for the threshold θ (trained as log θ): ∂JumpReLU/∂θ = −(θ/ε) K((z−θ)/ε),
//     ∂H(z−θ)/∂θ = −(1/ε) K((z−θ)/ε), K the rectangle kernel, bandwidth ε; no gradient to z
//     through the Heaviside. λ is steered towards the target L0 (a stated deviation from a
//     λ sweep): λ ← λ · exp(LAMBDA_RATE · (L0/target − 1)) each step.
// Decoder rows are renormalised to unit norm after every step. Init: unit random decoder rows,
// W_enc = W_decᵀ, b_dec = the mean activation, b_enc = 0, θ_f = the (1 − k/d_sae) quantile of pre_f on the first
// tokens (quantileThresholds; at least INIT_THRESHOLD), λ clamped to [LAMBDA_MIN, LAMBDA_MAX].
// The scale s is folded into the saved weights (b_enc, b_dec, θ divided by s; SAELens's
// normalize_activations 'none'), so the result reads the raw hook activations.

import { cancelled } from '../errors';
import { mulberry32 } from '../runtime/run';
import { affine } from './dense';
import { activate, topIndices, type Sae, type SaeArchitecture } from './sae';
import { Adam } from './adam';

export const AUX_COEF = 1 / 32;
export const BANDWIDTH = 0.001;
export const INIT_THRESHOLD = 0.001;
export const LAMBDA_RATE = 0.05;
export const LAMBDA_MIN = 1e-6;
export const LAMBDA_MAX = 10;

export interface TrainSaeOptions {
  architecture: SaeArchitecture;
  width: number;
  /** TopK's k, or JumpReLU's target L0. */
  k: number;
  lr?: number;
  /** Tokens per step. */
  batch?: number;
  maxEpochs?: number;
  /** Stop when the validation FVU has not improved by 0.5 % for this many checks. */
  patience?: number;
  /** Steps between validation checks. */
  checkEvery?: number;
  /** TopK: a feature is dead after this many training tokens without firing. */
  deadAfter?: number;
  seed?: number;
  threads?: number;
  onProgress?: (p: TrainProgress) => void;
  isCancelled?: () => boolean;
}

export interface TrainProgress {
  step: number;
  epoch: number;
  tokens: number;
  /** Fraction of variance unexplained on the validation tokens. */
  validationFvu: number;
  l0: number;
  dead: number;
  lambda?: number;
  seconds: number;
}

export interface TrainSaeResult {
  sae: Sae;
  steps: number;
  epochs: number;
  stoppedEarly: boolean;
  scale: number;
  history: TrainProgress[];
  seconds: number;
}

export interface State {
  sae: Sae;
  logTheta?: Float32Array;
  lambda: number;
  sinceFired: Float64Array;
  /** W_enc transposed [d_sae, d_in] (refreshed after every step) and its gradient. */
  encT: Float32Array;
  gEncT: Float32Array;
  grads: { W_enc: Float32Array; W_dec: Float32Array; b_enc: Float32Array; b_dec: Float32Array; logTheta?: Float32Array };
}

function gaussian(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
}

export function normaliseRows(W: Float32Array, rows: number, width: number): void {
  for (let r = 0; r < rows; r++) {
    const row = W.subarray(r * width, (r + 1) * width);
    let n = 0;
    for (let i = 0; i < width; i++) n += row[i] * row[i];
    n = Math.sqrt(n);
    if (n > 0) for (let i = 0; i < width; i++) row[i] /= n;
  }
}

export function initialState(x: Float32Array, dIn: number, o: TrainSaeOptions, hook: Sae['hook']): State {
  const rand = mulberry32(o.seed ?? 0);
  const dSae = o.width;
  const W_dec = Float32Array.from({ length: dSae * dIn }, () => gaussian(rand));
  normaliseRows(W_dec, dSae, dIn);
  const W_enc = new Float32Array(dIn * dSae);
  for (let f = 0; f < dSae; f++) for (let i = 0; i < dIn; i++) W_enc[i * dSae + f] = W_dec[f * dIn + i];
  const n = x.length / dIn;
  const mean = new Float64Array(dIn);
  for (let t = 0; t < n; t++) for (let i = 0; i < dIn; i++) mean[i] += x[t * dIn + i] / n;
  const jump = o.architecture === 'jumprelu';
  const sae: Sae = {
    architecture: o.architecture, dIn, dSae, hook, k: jump ? undefined : o.k, applyBDecToInput: true,
    W_enc, W_dec, b_enc: new Float32Array(dSae), b_dec: Float32Array.from(mean), threshold: jump ? new Float32Array(dSae).fill(INIT_THRESHOLD) : undefined, cfg: {},
  };
  return {
    sae, lambda: 1e-3, sinceFired: new Float64Array(dSae), encT: W_dec.slice(), gEncT: new Float32Array(dSae * dIn),
    logTheta: jump ? new Float32Array(dSae).fill(Math.log(INIT_THRESHOLD)) : undefined,
    grads: { W_enc: new Float32Array(dIn * dSae), W_dec: new Float32Array(dSae * dIn), b_enc: new Float32Array(dSae), b_dec: new Float32Array(dIn), logTheta: jump ? new Float32Array(dSae) : undefined },
  };
}

/** Fraction of variance unexplained of x [n, d] by the SAE: Σ‖x − x̂‖² / Σ‖x − mean‖². */
export async function fvu(sae: Sae, x: Float32Array, threads = 0): Promise<{ fvu: number; l0: number }> {
  const { dIn, dSae } = sae;
  const n = x.length / dIn;
  const xin = Float32Array.from(x, (v, i) => v - (sae.applyBDecToInput ? sae.b_dec[i % dIn] : 0));
  const pre = await affine(xin, sae.W_enc, sae.b_enc, dIn, threads);
  const mean = new Float64Array(dIn);
  for (let t = 0; t < n; t++) for (let i = 0; i < dIn; i++) mean[i] += x[t * dIn + i] / n;
  let resid = 0;
  let total = 0;
  let l0 = 0;
  const xhat = new Float32Array(dIn);
  for (let t = 0; t < n; t++) {
    const code = activate(sae, pre.subarray(t * dSae, (t + 1) * dSae));
    l0 += code.ids.length;
    xhat.set(sae.b_dec);
    for (let a = 0; a < code.ids.length; a++) {
      const w = code.ids[a] * dIn;
      for (let i = 0; i < dIn; i++) xhat[i] += code.values[a] * sae.W_dec[w + i];
    }
    for (let i = 0; i < dIn; i++) {
      const v = x[t * dIn + i];
      resid += (v - xhat[i]) ** 2;
      total += (v - mean[i]) ** 2;
    }
  }
  return { fvu: resid / total, l0: l0 / n };
}

/** Adds row f of W_dec times `scale` into out. */
function addRow(W: Float32Array, f: number, d: number, scale: number, out: Float32Array): void {
  const o = f * d;
  for (let i = 0; i < d; i++) out[i] += scale * W[o + i];
}

/** Adds scale · v into row f of G. */
function addToRow(G: Float32Array, f: number, d: number, scale: number, v: Float32Array): void {
  const o = f * d;
  for (let i = 0; i < d; i++) G[o + i] += scale * v[i];
}

function rowDot(W: Float32Array, f: number, d: number, v: Float32Array): number {
  const o = f * d;
  let s = 0;
  for (let i = 0; i < d; i++) s += W[o + i] * v[i];
  return s;
}

/**
 * Gradient of a feature's pre-activation into W_enc (accumulated transposed, [d_sae, d_in], so
 * that a feature's column is contiguous), b_enc, and (added to gxin) the input.
 */
function backEncoder(st: State, f: number, dpre: number, xin: Float32Array, gxin?: Float32Array): void {
  const { dIn } = st.sae;
  st.grads.b_enc[f] += dpre;
  const o = f * dIn;
  const g = st.gEncT;
  const w = st.encT;
  for (let i = 0; i < dIn; i++) {
    g[o + i] += xin[i] * dpre;
    if (gxin) gxin[i] += w[o + i] * dpre;
  }
}

/** dst [rows, cols] = transpose of src [cols, rows]. */
function transpose(src: Float32Array, rows: number, cols: number, dst: Float32Array): void {
  for (let c = 0; c < cols; c++) for (let r = 0; r < rows; r++) dst[r * cols + c] = src[c * rows + r];
}

/** Forward and backward of one token; returns its squared error and L0. */
export function tokenStep(st: State, x: Float32Array, xin: Float32Array, pre: Float32Array, n: number, auxK: number, deadAfter: number): { se: number; l0: number } {
  const { sae } = st;
  const { dIn } = sae;
  const code = activate(sae, pre);
  const e = Float32Array.from(sae.b_dec);
  for (let a = 0; a < code.ids.length; a++) addRow(sae.W_dec, code.ids[a], dIn, code.values[a], e);
  let se = 0;
  for (let i = 0; i < dIn; i++) {
    e[i] -= x[i];
    se += e[i] * e[i];
  }
  const dx = Float32Array.from(e, (v) => (2 * v) / n);
  const gxin = new Float32Array(dIn);
  for (let a = 0; a < code.ids.length; a++) {
    const f = code.ids[a];
    addToRow(st.grads.W_dec, f, dIn, code.values[a], dx);
    backEncoder(st, f, rowDot(sae.W_dec, f, dIn, dx), xin, gxin);
    st.sinceFired[f] = 0;
  }
  for (let i = 0; i < dIn; i++) st.grads.b_dec[i] += dx[i] - gxin[i];
  if (st.logTheta) thresholdGrad(st, pre, dx, n);
  else if (auxK > 0) auxGrad(st, pre, xin, e, n, auxK, deadAfter);
  return { se, l0: code.ids.length };
}

/** JumpReLU: the straight-through gradients of log θ (recon term and λ·L0 term). */
function thresholdGrad(st: State, pre: Float32Array, dx: Float32Array, n: number): void {
  const th = st.sae.threshold!;
  const g = st.grads.logTheta!;
  for (let f = 0; f < pre.length; f++) {
    const u = (pre[f] - th[f]) / BANDWIDTH;
    if (u <= -0.5 || u >= 0.5) continue;
    const dTheta = rowDot(st.sae.W_dec, f, st.sae.dIn, dx) * (-th[f] / BANDWIDTH) + (st.lambda / n) * (-1 / BANDWIDTH);
    g[f] += dTheta * th[f];
  }
}

/** TopK's AuxK: the dead features' top auxK pre-activations reconstruct the error x − x̂. */
function auxGrad(st: State, pre: Float32Array, xin: Float32Array, e: Float32Array, n: number, auxK: number, deadAfter: number): void {
  const { dIn } = st.sae;
  const ids = topIndices(pre, auxK, (f) => st.sinceFired[f] > deadAfter && pre[f] > 0);
  if (ids.length === 0) return;
  const r = Float32Array.from(e); // ê − (x − x̂) = ê + e
  for (const f of ids) addRow(st.sae.W_dec, f, dIn, pre[f], r);
  const dr = Float32Array.from(r, (v) => (2 * AUX_COEF * v) / n);
  for (const f of ids) {
    addToRow(st.grads.W_dec, f, dIn, pre[f], dr);
    backEncoder(st, f, rowDot(st.sae.W_dec, f, dIn, dr), xin);
  }
}


/** One optimisation step on the tokens `idx` of x (scaled activations). */
async function step(st: State, adam: Adam, x: Float32Array, idx: number[], o: Required<Pick<TrainSaeOptions, 'k' | 'deadAfter' | 'threads'>>): Promise<{ mse: number; l0: number }> {
  const { sae } = st;
  const { dIn, dSae } = sae;
  const n = idx.length;
  const xb = new Float32Array(n * dIn);
  idx.forEach((t, r) => xb.set(x.subarray(t * dIn, (t + 1) * dIn), r * dIn));
  const xin = Float32Array.from(xb, (v, i) => v - sae.b_dec[i % dIn]);
  const pre = await affine(xin, sae.W_enc, sae.b_enc, dIn, o.threads);
  for (const g of Object.values(st.grads)) g?.fill(0);
  st.gEncT.fill(0);
  let se = 0;
  let l0 = 0;
  const auxK = Math.min(dIn / 2, dSae);
  for (let r = 0; r < n; r++) {
    const out = tokenStep(st, xb.subarray(r * dIn, (r + 1) * dIn), xin.subarray(r * dIn, (r + 1) * dIn), pre.subarray(r * dSae, (r + 1) * dSae), n, auxK, o.deadAfter);
    se += out.se;
    l0 += out.l0;
  }
  for (let f = 0; f < dSae; f++) st.sinceFired[f] += n;
  transpose(st.gEncT, dIn, dSae, st.grads.W_enc);
  const pairs: [string, Float32Array, Float32Array][] = [['W_enc', sae.W_enc, st.grads.W_enc], ['W_dec', sae.W_dec, st.grads.W_dec], ['b_enc', sae.b_enc, st.grads.b_enc], ['b_dec', sae.b_dec, st.grads.b_dec]];
  if (st.logTheta) pairs.push(['logTheta', st.logTheta, st.grads.logTheta!]);
  adam.step(pairs);
  normaliseRows(sae.W_dec, dSae, dIn);
  transpose(sae.W_enc, dSae, dIn, st.encT);
  if (st.logTheta) {
    for (let f = 0; f < dSae; f++) sae.threshold![f] = Math.exp(st.logTheta[f]);
    st.lambda = Math.min(LAMBDA_MAX, Math.max(LAMBDA_MIN, st.lambda * Math.exp(LAMBDA_RATE * (l0 / n / o.k - 1))));
  }
  return { mse: se / n, l0: l0 / n };
}

/**
 * JumpReLU's starting thresholds: θ_f = the (1 − k/d_sae) quantile of feature f's pre-activation
 * on the first tokens (at least INIT_THRESHOLD), so that L0 starts near the target k; the
 * straight-through gradients move θ from there (a log-θ step is lr-sized, so θ starting at
 * 0.001 would need thousands of steps to reach the activations' scale).
 */
async function quantileThresholds(st: State, x: Float32Array, k: number, threads: number): Promise<void> {
  const { sae } = st;
  const { dIn, dSae } = sae;
  const n = x.length / dIn;
  const xin = Float32Array.from(x, (v, i) => v - sae.b_dec[i % dIn]);
  const pre = await affine(xin, sae.W_enc, sae.b_enc, dIn, threads);
  const col = new Float32Array(n);
  const at = Math.min(n - 1, Math.floor(n * (1 - k / dSae)));
  for (let f = 0; f < dSae; f++) {
    for (let t = 0; t < n; t++) col[t] = pre[t * dSae + f];
    col.sort();
    const th = Math.max(INIT_THRESHOLD, col[at]);
    sae.threshold![f] = th;
    st.logTheta![f] = Math.log(th);
  }
}

/** The scale s with E‖s·x‖² = 1 over x [n, d]. */
export function unitScale(x: Float32Array, d: number): number {
  let sq = 0;
  for (let i = 0; i < x.length; i++) sq += x[i] * x[i];
  return 1 / Math.sqrt(sq / (x.length / d));
}

/** Folds the training scale s into the weights: the SAE then reads raw activations (see the header). */
export function foldScale(sae: Sae, s: number): void {
  for (let f = 0; f < sae.dSae; f++) {
    sae.b_enc[f] /= s;
    if (sae.threshold) sae.threshold[f] /= s;
  }
  for (let i = 0; i < sae.dIn; i++) sae.b_dec[i] /= s;
}

/**
 * Trains on x [n, d_in] (raw hook activations, consumed: scaled in place). The last
 * VALIDATION_SHARE of the tokens is held back for early stopping (never the eval's held-out text).
 */
export async function trainSae(x: Float32Array, dIn: number, hook: Sae['hook'], o: TrainSaeOptions): Promise<TrainSaeResult> {
  const t0 = performance.now();
  const scale = unitScale(x, dIn);
  for (let i = 0; i < x.length; i++) x[i] *= scale;
  const nAll = x.length / dIn;
  const nVal = Math.min(8192, Math.floor(nAll * VALIDATION_SHARE));
  const nTrain = nAll - nVal;
  const val = x.subarray(nTrain * dIn);
  const st = initialState(x.subarray(0, nTrain * dIn), dIn, o, hook);
  if (st.logTheta) await quantileThresholds(st, x.subarray(0, Math.min(nTrain, 2048) * dIn), o.k, o.threads ?? 0);
  const adam = new Adam(o.lr ?? 1e-3);
  const batch = o.batch ?? 2048;
  const rand = mulberry32((o.seed ?? 0) + 1);
  const opts = { k: o.k, deadAfter: o.deadAfter ?? 4 * batch * 10, threads: o.threads ?? 0 };
  const history: TrainProgress[] = [];
  let best = Infinity;
  let stale = 0;
  let steps = 0;
  let epoch = 0;
  let stoppedEarly = false;
  const patience = o.patience ?? 4;
  const checkEvery = o.checkEvery ?? 25;
  train: for (epoch = 0; epoch < (o.maxEpochs ?? 20); epoch++) {
    const order = shuffled(nTrain, rand);
    for (let at = 0; at + batch <= nTrain; at += batch) {
      if (o.isCancelled?.()) throw cancelled('SAE training cancelled.');
      const r = await step(st, adam, x, Array.from(order.subarray(at, at + batch)), opts);
      steps++;
      if (steps % checkEvery !== 0) continue;
      const v = await fvu(st.sae, val, opts.threads);
      const p: TrainProgress = { step: steps, epoch, tokens: steps * batch, validationFvu: v.fvu, l0: v.l0, dead: deadCount(st, opts.deadAfter), lambda: st.logTheta ? st.lambda : undefined, seconds: (performance.now() - t0) / 1000 };
      history.push(p);
      o.onProgress?.(p);
      if (v.fvu < best * 0.995) {
        best = v.fvu;
        stale = 0;
      } else if (++stale >= patience) {
        stoppedEarly = true;
        break train;
      }
      void r;
    }
  }
  foldScale(st.sae, scale);
  return { sae: st.sae, steps, epochs: Math.min(epoch + 1, o.maxEpochs ?? 20), stoppedEarly, scale, history, seconds: (performance.now() - t0) / 1000 };
}

export const VALIDATION_SHARE = 0.05;

function deadCount(st: State, deadAfter: number): number {
  let d = 0;
  for (const s of st.sinceFired) if (s > deadAfter) d++;
  return d;
}

function shuffled(n: number, rand: () => number): Uint32Array {
  const a = Uint32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
  return a;
}
