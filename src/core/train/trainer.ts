// The core trainer: AdamW over Float32Array parameters, linear warm-up then cosine / linear /
// constant decay, global-norm gradient clipping, seeded batching over item pools, early stop, a
// step and time budget, progress, cancel, and the loss curve.
// It knows nothing of models: `compute` runs the forward + backward for a batch.
//
// Semantics (golden-tested against PyTorch + Hugging Face by tools/trainer_golden.py):
//   lr at step k (0-based)  lr·λ(k), λ = HF get_{cosine,linear,constant}_schedule_with_warmup
//                           (torch's LambdaLR stepped after each optimizer step):
//                           k < warmup: k / max(1, warmup); then cosine 0.5(1 + cos(π·p)),
//                           p = (k − warmup) / max(1, steps − warmup); linear max(0, (steps − k) /
//                           max(1, steps − warmup)); constant 1.
//   clipping                torch.nn.utils.clip_grad_norm_: total = sqrt(Σ g²) over all params;
//                           c = clip / (total + 1e-6); if clip > 0 and c < 1, every g ← c·g.
//                           The curve's gradNorm is `total` (before clipping).
//   AdamW (t = k + 1)       torch.optim.AdamW: decay params p ← p(1 − lr·wd) first; m ← β1 m +
//                           (1 − β1) g; v ← β2 v + (1 − β2) g²;
//                           p ← p − lr · (m / (1 − β1ᵗ)) / (sqrt(v / (1 − β2ᵗ)) + eps).
//                           m, v are Float64Array; p is rounded to float32 when stored.
//   batching                per pool k a mulberry32 stream seeded from (seed, k); each epoch is a
//                           Fisher–Yates shuffle; a step takes the next batchSizes[k] indices and
//                           runs on into the next epoch's shuffle, so every item comes once per
//                           epoch. Batch size ≥ pool size: the whole pool (ascending) every step;
//                           pool size 0 or batch size 0: an empty batch.
//   loop, per step k        cancelled → throw 'cancelled'; budget spent (k > 0) → stop 'budget';
//                           draw batches; compute; non-finite loss or grad → throw 'bad-input'
//                           naming the step; clip; AdamW; curve point; onStep; earlyStop → stop.

import { badInput, cancelled } from '../errors';

export type StopReason = 'steps' | 'early-stop' | 'budget';

export interface TrainerHparams {
  steps: number;
  lr: number;
  weightDecay: number;
  betas: [number, number];
  eps: number;
  /** Warm-up steps (lr rises linearly from 0). */
  warmup: number;
  schedule: 'cosine' | 'linear' | 'constant';
  /** Max global gradient norm; 0 = no clipping. */
  clip: number;
  /** Items per batch, one number per pool (e.g. [forget, retain]). */
  batchSizes: number[];
  seed: number;
  /** Wall-clock budget in ms; undefined = none. */
  budgetMs?: number;
}

export interface Param {
  name: string;
  /** Updated in place. */
  value: Float32Array;
  /** AdamW's decoupled weight decay applies. */
  decay: boolean;
}

export interface StepOutcome {
  loss: number;
  /** One per param, same length as its value. */
  grads: Float32Array[];
  metrics?: Record<string, number>;
}

export interface CurvePoint {
  step: number;
  loss: number;
  lr: number;
  gradNorm: number;
  /** ms since the start. */
  ms: number;
  metrics: Record<string, number>;
}

export interface TrainResult {
  curve: CurvePoint[];
  stoppedBy: StopReason;
  steps: number;
  ms: number;
}

export interface TrainOptions {
  /** Pool sizes (items), matching hp.batchSizes. */
  pools: number[];
  /** batches[k] = item indices drawn from pool k for this step. */
  compute: (batches: number[][], step: number) => Promise<StepOutcome>;
  onStep?: (p: CurvePoint) => void;
  /** Checked after each step; true stops with 'early-stop'. */
  earlyStop?: (p: CurvePoint) => boolean | Promise<boolean>;
  isCancelled?: () => boolean;
}


/** Trains `params` in place; resolves with the loss curve and why it stopped. */
export async function train(params: Param[], hp: TrainerHparams, o: TrainOptions): Promise<TrainResult> {
  checkHparams(hp, o.pools);
  const next = createBatcher(o.pools, hp.batchSizes, hp.seed);
  const m = params.map((p) => new Float64Array(p.value.length));
  const v = params.map((p) => new Float64Array(p.value.length));
  const curve: CurvePoint[] = [];
  const t0 = performance.now();
  let stoppedBy: StopReason = 'steps';
  for (let k = 0; k < hp.steps; k++) {
    if (o.isCancelled?.()) throw cancelled(`Training cancelled after ${k} steps.`);
    if (hp.budgetMs !== undefined && k > 0 && performance.now() - t0 >= hp.budgetMs) {
      stoppedBy = 'budget';
      break;
    }
    const out = await o.compute(next(), k);
    checkGrads(params, out.grads);
    const gradNorm = globalNorm(params, out, k);
    const coef = hp.clip > 0 ? hp.clip / (gradNorm + 1e-6) : 1;
    const lr = hp.lr * lrFactor(hp, k);
    adamw(params, out.grads, m, v, Math.min(coef, 1), lr, k + 1, hp);
    const point: CurvePoint = { step: k, loss: out.loss, lr, gradNorm, ms: performance.now() - t0, metrics: out.metrics ?? {} };
    curve.push(point);
    o.onStep?.(point);
    if (o.earlyStop && (await o.earlyStop(point))) {
      stoppedBy = 'early-stop';
      break;
    }
  }
  return { curve, stoppedBy, steps: curve.length, ms: performance.now() - t0 };
}

/** λ(k) of Hugging Face's schedules with warm-up (see the header); lr at step k = hp.lr · λ(k). */
export function lrFactor(hp: Pick<TrainerHparams, 'steps' | 'warmup' | 'schedule'>, k: number): number {
  if (k < hp.warmup) return k / Math.max(1, hp.warmup);
  const span = Math.max(1, hp.steps - hp.warmup);
  if (hp.schedule === 'cosine') return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * ((k - hp.warmup) / span))));
  if (hp.schedule === 'linear') return Math.max(0, (hp.steps - k) / span);
  return 1;
}

/**
 * Seeded batches: each call returns one step's item indices, batches[k] from pool k (see the
 * header for the rules). The same (pools, batchSizes, seed) always gives the same sequence.
 */
export function createBatcher(pools: number[], batchSizes: number[], seed: number): () => number[][] {
  const streams = pools.map((n, k) => poolStream(n, batchSizes[k], mulberry32(mix(mix(seed >>> 0) ^ mix(Math.floor(seed / 2 ** 32) >>> 0) ^ mix(k + 1)))));
  return () => streams.map((s) => s());
}

function poolStream(n: number, size: number, rand: () => number): () => number[] {
  if (n === 0 || size === 0) return () => [];
  if (size >= n) return () => Array.from({ length: n }, (_, i) => i);
  const perm = Int32Array.from({ length: n }, (_, i) => i);
  let pos = n; // forces a shuffle on the first draw
  return () => {
    const batch: number[] = [];
    while (batch.length < size) {
      if (pos === n) {
        shuffle(perm, rand);
        pos = 0;
      }
      batch.push(perm[pos++]);
    }
    return batch;
  };
}

/** Fisher–Yates, in place. */
function shuffle(a: Int32Array, rand: () => number): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
}

/** mulberry32: a 32-bit state PRNG, uniform in [0, 1). */
function mulberry32(state: number): () => number {
  let a = state | 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** murmur3's 32-bit finaliser: spreads seeds that differ in a few bits. */
function mix(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** sqrt(Σ g²) over every param (float64); throws naming the step if the loss or a grad is not finite. */
function globalNorm(params: Param[], out: StepOutcome, k: number): number {
  const diverged = (what: string) =>
    badInput(`Training diverged at step ${k}: ${what} is not finite.`, {
      field: 'lr',
      hint: 'Lower the learning rate (or its warm-up peak), or set gradient clipping, and train again.',
    });
  if (!Number.isFinite(out.loss)) throw diverged(`the loss (${out.loss})`);
  let sum = 0;
  for (let i = 0; i < params.length; i++) {
    let s = 0;
    for (const g of out.grads[i]) s += g * g;
    if (!Number.isFinite(s)) throw diverged(`the gradient of ${params[i].name}`);
    sum += s;
  }
  return Math.sqrt(sum);
}

/** One AdamW step (torch.optim.AdamW) on every param with grads scaled by `scale`; t is 1-based. */
function adamw(params: Param[], grads: Float32Array[], m: Float64Array[], v: Float64Array[], scale: number, lr: number, t: number, hp: TrainerHparams): void {
  const [b1, b2] = hp.betas;
  const stepSize = lr / (1 - b1 ** t);
  const bc2Sqrt = Math.sqrt(1 - b2 ** t);
  for (let i = 0; i < params.length; i++) {
    const p = params[i].value;
    const g = grads[i];
    const mi = m[i];
    const vi = v[i];
    const keep = params[i].decay ? 1 - lr * hp.weightDecay : 1;
    for (let j = 0; j < p.length; j++) {
      const gj = g[j] * scale;
      mi[j] = b1 * mi[j] + (1 - b1) * gj;
      vi[j] = b2 * vi[j] + (1 - b2) * gj * gj;
      p[j] = p[j] * keep - (stepSize * mi[j]) / (Math.sqrt(vi[j]) / bc2Sqrt + hp.eps);
    }
  }
}

/** compute must return one grad per param, each as long as its value (a programming error if not). */
function checkGrads(params: Param[], grads: Float32Array[]): void {
  if (grads.length !== params.length) throw new Error(`train: compute returned ${grads.length} grads for ${params.length} params`);
  params.forEach((p, i) => {
    if (grads[i].length !== p.value.length) throw new Error(`train: grad of ${p.name} has ${grads[i].length} values, expected ${p.value.length}`);
  });
}

function checkHparams(hp: TrainerHparams, pools: number[]): void {
  const bad = (field: string, what: string, hint: string) => badInput(`Trainer setting ${field} ${what}.`, { field, hint });
  const count = (x: number) => Number.isInteger(x) && x >= 0;
  if (!count(hp.steps)) throw bad('steps', `must be a whole number ≥ 0 (got ${hp.steps})`, 'Pass --steps N.');
  if (!count(hp.warmup)) throw bad('warmup', `must be a whole number ≥ 0 (got ${hp.warmup})`, 'Use 0 for no warm-up.');
  if (!(Number.isFinite(hp.lr) && hp.lr >= 0)) throw bad('lr', `must be a number ≥ 0 (got ${hp.lr})`, 'Pass --lr X, e.g. 1e-4.');
  if (!(Number.isFinite(hp.weightDecay) && hp.weightDecay >= 0)) throw bad('weightDecay', `must be ≥ 0 (got ${hp.weightDecay})`, 'Use 0 for none; 0.01 is common.');
  if (!hp.betas.every((b) => b >= 0 && b < 1)) throw bad('betas', `must both lie in [0, 1) (got ${hp.betas.join(', ')})`, 'The usual values are 0.9, 0.999.');
  if (!(hp.eps > 0)) throw bad('eps', `must be > 0 (got ${hp.eps})`, 'The usual value is 1e-8.');
  if (!(Number.isFinite(hp.clip) && hp.clip >= 0)) throw bad('clip', `must be ≥ 0 (got ${hp.clip})`, 'Use 0 for no clipping; 1 is common.');
  if (!['cosine', 'linear', 'constant'].includes(hp.schedule)) throw bad('schedule', `must be cosine, linear or constant (got ${hp.schedule})`, 'Pick one of the three.');
  if (!Number.isSafeInteger(hp.seed)) throw bad('seed', `must be a whole number (got ${hp.seed})`, 'Pass --seed N.');
  if (hp.budgetMs !== undefined && !(hp.budgetMs >= 0)) throw bad('budgetMs', `must be ≥ 0 (got ${hp.budgetMs})`, 'Leave it out for no time limit.');
  if (hp.batchSizes.length !== pools.length) throw bad('batchSizes', `has ${hp.batchSizes.length} entries for ${pools.length} pools`, 'Give one batch size per pool.');
  hp.batchSizes.forEach((b, k) => {
    if (!count(b)) throw bad('batchSizes', `[${k}] must be a whole number ≥ 0 (got ${b})`, 'Pass --batch N.');
  });
  pools.forEach((n, k) => {
    if (!count(n)) throw bad('pools', `[${k}] must be a whole number ≥ 0 (got ${n})`, 'Pool sizes count items.');
  });
}
