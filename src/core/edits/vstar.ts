// v* optimisation shared by ROME, MEMIT and LTI (METHODS.md): find δ [d_model] that, added to
// the residual after block `layer` at each row's lookup position, makes the model produce the
// new target, with a KL term that keeps other predictions and a weight decay. Each Adam step is
// one run of the v* graph (forward.ts options.delta), which starts after the edit layer and
// returns the loss and grad_delta; Adam, weight decay and the norm clamp are done here in float64.
//
// Loop semantics follow the reference code (ROME compute_v / MEMIT compute_z): for each step,
// evaluate the loss (+ weight decay v_wd · ‖δ‖ / ‖v_init‖²); stop when it is < 0.05 or on the
// last step; otherwise back-propagate, take an Adam step (torch defaults), and clamp
// ‖δ‖ ≤ clamp · ‖v_init‖.

import type { LoadedModel, Batch } from '../runtime/model';
import type { OrtTensor } from '../runtime/ort';
import { loadOrt } from '../runtime/ort';
import { deltaEntryTap, tapName } from '../graph/taps';
import { badInput } from '../errors';
import { cancelled } from '../errors';

/** A position in the batch: row and token index. */
export interface At {
  row: number;
  pos: number;
}

export interface VStarProblem {
  /** δ goes into resid_post of this block (= the MLP output for ROME). */
  layer: number;
  rows: number[][];
  /** Per row, where δ is added (the subject's last token), or −1 for none. */
  lookups: number[];
  /**
   * Instead of δ at the lookups: δ · scale[row][pos] at every position (ROME's update in the loop,
   * scale = uᵀk / uᵀk_bare); rows as in `rows`.
   */
  scales?: Float64Array[];
  nll: (At & { target: number; weight: number })[];
  /** KL(teacher ‖ model) terms at the final layer; teacher log-probs [K, V] row-major. */
  kl: (At & { weight: number })[];
  klTeacher: Float32Array;
  /** LTI: KL of the logit lens at layer `mid` (must be > layer). */
  mid?: { layer: number; items: (At & { weight: number })[]; teacher: Float32Array };
  /** Which vector δ is measured against (‖v_init‖ for decay and clamp): row 0 at its lookup. */
  init: 'mlp_out' | 'resid_post';
  /**
   * DiKE: δ = map(θ) for a parameter θ [dim] (a linear map and its adjoint, so ∂loss/∂θ =
   * adjoint(∂loss/∂δ)). Adam runs on θ; weight decay and the clamp still measure δ. Default: θ = δ.
   */
  basis?: DeltaBasis;
  /**
   * The KL term as the ROME / MEMIT reference code takes it, KL(p_edit ‖ p_init) (torch
   * kl_div(init, current, log_target=True)); default KL(p_init ‖ p_edit) (graph/loss.ts).
   */
  klReverse?: boolean;
}

export interface DeltaBasis {
  dim: number;
  map: (theta: Float64Array) => Float64Array;
  adjoint: (g: Float64Array) => Float64Array;
  /**
   * GLAME: δ = map(θ) is a graph network's output (not linear; `adjoint` back-propagates through
   * the last `map` call). θ starts at `init`; the clamp rescales δ = M x / ‖x‖ (x = map(θ), M the
   * clamp), not θ, and ∂loss/∂x is its exact gradient (M / ‖x‖)(I − δ̂δ̂ᵀ) ∂loss/∂δ — or, with
   * `straightThrough`, ∂loss/∂δ itself (the reference clamps δ in place, outside autograd).
   */
  nonlinear?: { init: Float64Array; straightThrough?: boolean; final?: (theta: Float64Array) => Float64Array };
  // `final` (GLAME with dropout): the map in eval mode. The loop's δ come from `map` (training mode);
  // after the loop δ = clamp(final(θ)), its loss is measured once more (the reference's
  // output_loss_no_grad), and keepBest compares that loss with the best step's.
}

export interface VStarHparams {
  steps: number;
  lr: number;
  weightDecay: number;
  clamp: number;
  /** AdamW's decoupled weight decay on θ (GLAME: 0.1); default 0, Adam. */
  adamWDecay?: number;
  /** Stop once the loss is below this (default 0.05; GLAME 0.04). */
  stopLoss?: number;
  /** GLAME: when the last loss is above stopLoss and above the best + 0.1, return the best step's δ. */
  keepBest?: boolean;
  /** The essence KL as the reference code takes it, KL(p_edit ‖ p_init) (VStarProblem.klReverse); default KL(p_init ‖ p_edit). */
  klReverse?: boolean;
}

export interface VStarStep {
  step: number;
  loss: number;
  nll: number;
  kl: number;
  mid: number;
  decay: number;
  /** Mean over the NLL rows of P(target token). */
  targetProb: number;
}

export interface VStarResult {
  delta: Float64Array;
  /** With a basis: the parameter θ (delta = map(θ)). */
  theta?: Float64Array;
  vInit: Float64Array;
  steps: VStarStep[];
  /** With a basis's `final` map: the loss of the final (eval-mode) δ, before keepBest. */
  finalLoss?: number;
  /** Milliseconds in onnxruntime (forward + backward) and in the JS around it. */
  ortMs: number;
  jsMs: number;
}

export interface VStarRun {
  onStep?: (s: VStarStep) => void;
  isCancelled?: () => boolean;
}

const ort = () => loadOrt();
const i64 = (v: number[]) => new (ort().Tensor)('int64', BigInt64Array.from(v, BigInt), [v.length]);
const f32 = (v: ArrayLike<number>, dims: number[]) => new (ort().Tensor)('float32', Float32Array.from(v), dims);

/** The v* graph's feeds for a batch: rows are flattened as b · S + s. */
function lossFeeds(b: Batch, p: Pick<VStarProblem, 'nll' | 'kl' | 'klTeacher' | 'mid'>, vocab: number): Record<string, OrtTensor> {
  const flat = (a: At) => a.row * b.seq + a.pos;
  const feeds: Record<string, OrtTensor> = {
    nll_rows: i64(p.nll.map(flat)),
    nll_targets: i64(p.nll.map((n) => n.target)),
    nll_weights: f32(p.nll.map((n) => n.weight), [p.nll.length]),
    kl_rows: i64(p.kl.map(flat)),
    kl_teacher: new (ort().Tensor)('float32', p.klTeacher, [p.kl.length, vocab]),
    kl_weights: f32(p.kl.map((k) => k.weight), [p.kl.length]),
  };
  if (p.mid) {
    feeds.mid_rows = i64(p.mid.items.map(flat));
    feeds.mid_teacher = new (ort().Tensor)('float32', p.mid.teacher, [p.mid.items.length, vocab]);
    feeds.mid_weights = f32(p.mid.items.map((k) => k.weight), [p.mid.items.length]);
  }
  return feeds;
}

/**
 * resid_post and mlp_out of block `layer` for a batch, from a graph truncated after it (one
 * graph variant for the teacher distributions and the optimisation, so one session).
 */
async function residual(model: LoadedModel, layer: number, b: Batch): Promise<Record<string, OrtTensor>> {
  const out = await model.run({ taps: [tapName(layer, 'resid_pre'), tapName(layer, 'resid_post'), tapName(layer, 'mlp_out')], layers: layer + 1 }, b);
  return { ...out, entry: out[tapName(layer, deltaEntryTap(model.plan.spec))] };
}

function deltaMask(b: Batch, lookups: number[], scales?: Float64Array[]): Float32Array {
  const m = new Float32Array(b.batch * b.seq);
  if (scales) scales.forEach((row, r) => row.forEach((v, pos) => (m[r * b.seq + pos] = v)));
  else lookups.forEach((pos, row) => {
    if (pos >= 0) m[row * b.seq + pos] = 1;
  });
  return m;
}

/**
 * Log-probs of the unedited model (current stack, δ = 0) at KL and mid-lens positions: ROME's
 * kl_distr_init, and LTI's teacher distributions on the prefixed prompts.
 */
export async function distributions(model: LoadedModel, layer: number, rows: number[][], kl: At[], mid?: { layer: number; items: At[] }): Promise<{ kl: Float32Array; mid?: Float32Array; vocab: number }> {
  const vocab = model.plan.unembed.w.shape[0];
  const b = model.makeBatch(rows);
  const resid = (await residual(model, layer, b)).entry;
  const zeros = (n: number) => new Float32Array(n * vocab);
  const problem = {
    nll: [{ ...kl[0], target: 0, weight: 0 }],
    kl: kl.map((a) => ({ ...a, weight: 0 })),
    klTeacher: zeros(kl.length),
    mid: mid ? { layer: mid.layer, items: mid.items.map((a) => ({ ...a, weight: 0 })), teacher: zeros(mid.items.length) } : undefined,
  };
  const out = await model.run({ delta: { layer, mid: mid?.layer } }, b, {
    resid,
    delta: f32(new Float32Array(model.dims.dModel), [model.dims.dModel]),
    delta_mask: f32(new Float32Array(b.batch * b.seq), [b.batch, b.seq, 1]),
    ...lossFeeds(b, problem, vocab),
  });
  return { kl: out.kl_logprobs.data as Float32Array, mid: mid ? (out.mid_logprobs.data as Float32Array) : undefined, vocab };
}

/**
 * ∂loss/∂x from g = ∂loss/∂δ for δ = M x / ‖x‖ (the clamp, active: ‖x‖ = rawNorm > M = ‖δ‖):
 * (M / ‖x‖)(I − δ̂δ̂ᵀ) g.
 */
export function clampGradient(g: Float64Array, delta: Float64Array, rawNorm: number): Float64Array {
  const m2 = delta.reduce((s, x) => s + x * x, 0);
  const radial = g.reduce((s, x, j) => s + x * delta[j], 0) / m2;
  const scale = Math.sqrt(m2) / rawNorm;
  return g.map((x, j) => (x - radial * delta[j]) * scale);
}

/** One (decoupled-decay) Adam step on θ in place: θ ← θ · keep − lr · m̂ / (√v̂ + ε), step `it` from 0. */
function adamStep(theta: Float64Array, grad: Float64Array, m: Float64Array, v: Float64Array, it: number, lr: number, keep: number): void {
  const [beta1, beta2, eps] = [0.9, 0.999, 1e-8];
  const bc1 = 1 - beta1 ** (it + 1);
  const bc2 = 1 - beta2 ** (it + 1);
  for (let j = 0; j < theta.length; j++) {
    const g = grad[j];
    m[j] = beta1 * m[j] + (1 - beta1) * g;
    v[j] = beta2 * v[j] + (1 - beta2) * g * g;
    theta[j] = theta[j] * keep - (lr * (m[j] / bc1)) / (Math.sqrt(v[j] / bc2) + eps);
  }
}

export async function optimiseDelta(model: LoadedModel, p: VStarProblem, hp: VStarHparams, run: VStarRun = {}): Promise<VStarResult> {
  const d = model.dims.dModel;
  const vocab = model.plan.unembed.w.shape[0];
  const t0 = performance.now();
  let ortMs = 0;
  const b = model.makeBatch(p.rows);
  const initTap = tapName(p.layer, p.init);
  const pre = await residual(model, p.layer, b);
  const resid = pre.entry;
  const initData = pre[initTap].data as Float32Array;
  const at0 = p.lookups[0] * d; // row 0
  const vInit = Float64Array.from(initData.subarray(at0, at0 + d));
  const initNorm2 = vInit.reduce((s, v) => s + v * v, 0);
  const fixed = { resid, delta_mask: f32(deltaMask(b, p.lookups, p.scales), [b.batch, b.seq, 1]), ...lossFeeds(b, p, vocab) };
  const options = { delta: { layer: p.layer, mid: p.mid?.layer, ...(p.klReverse || hp.klReverse ? { klReverse: true } : {}) } };

  /** The loss of one δ (the final eval-mode δ): the graph's loss and the δ decay. */
  const lossAt = async (x: Float64Array) => {
    const out = await model.run(options, b, { ...fixed, delta: f32(x, [d]) });
    return Number(out.loss.data[0]) + (hp.weightDecay * Math.sqrt(x.reduce((s, y) => s + y * y, 0))) / initNorm2;
  };
  const basis: DeltaBasis = p.basis ?? { dim: d, map: (x) => x, adjoint: (g) => g };
  const n = basis.dim;
  const theta = basis.nonlinear ? Float64Array.from(basis.nonlinear.init) : new Float64Array(n);
  const maxNorm = hp.clamp * Math.sqrt(initNorm2);
  let rawNorm = 0; // ‖map(θ)‖ before the clamp (non-linear bases)
  const clampDelta = (x: Float64Array) => {
    rawNorm = Math.sqrt(x.reduce((s, y) => s + y * y, 0));
    return rawNorm > maxNorm ? x.map((y) => (y * maxNorm) / rawNorm) : x;
  };
  const throughClamp = (g: Float64Array) => (!basis.nonlinear || basis.nonlinear.straightThrough || rawNorm <= maxNorm ? g : clampGradient(g, delta, rawNorm));
  let delta = basis.nonlinear ? clampDelta(basis.map(theta)) : basis.map(theta);
  let best = { loss: Infinity, delta };
  const stopLoss = hp.stopLoss ?? 5e-2;
  const keep = 1 - hp.lr * (hp.adamWDecay ?? 0);
  const m = new Float64Array(n);
  const v = new Float64Array(n);
  const steps: VStarStep[] = [];
  for (let it = 0; it < hp.steps; it++) {
    if (run.isCancelled?.()) throw cancelled(`v* optimisation cancelled after ${it} steps.`);
    const t = performance.now();
    const out = await model.run(options, b, { ...fixed, delta: f32(delta, [d]) });
    ortMs += performance.now() - t;
    const norm = Math.sqrt(delta.reduce((s, x) => s + x * x, 0));
    const decay = (hp.weightDecay * norm) / initNorm2;
    const num = (name: string) => (out[name] ? Number(out[name].data[0]) : 0);
    const lps = out.nll_logprobs.data as Float32Array;
    const step: VStarStep = {
      step: it, loss: num('loss') + decay, nll: num('loss_nll'), kl: num('loss_kl'), mid: num('loss_mid'), decay,
      targetProb: lps.reduce((s, x) => s + Math.exp(x), 0) / lps.length,
    };
    steps.push(step);
    run.onStep?.(step);
    if (step.loss <= best.loss) best = { loss: step.loss, delta };
    if (step.loss < stopLoss || it === hp.steps - 1) break;
    const gradDelta = Float64Array.from(out.grad_delta.data as Float32Array, (g, j) => g + (norm > 0 ? (hp.weightDecay * delta[j]) / (norm * initNorm2) : 0));
    const grad = basis.adjoint(throughClamp(gradDelta));
    adamStep(theta, grad, m, v, it, hp.lr, keep);
    delta = basis.map(theta);
    if (basis.nonlinear) {
      delta = clampDelta(delta);
      continue;
    }
    const after = Math.sqrt(delta.reduce((s, x) => s + x * x, 0));
    if (after > maxNorm) {
      for (let j = 0; j < n; j++) theta[j] *= maxNorm / after;
      delta = basis.map(theta);
    }
  }
  let last = steps[steps.length - 1].loss;
  let finalLoss: number | undefined;
  if (basis.nonlinear?.final) {
    delta = clampDelta(basis.nonlinear.final(theta));
    const t = performance.now();
    last = finalLoss = await lossAt(delta);
    ortMs += performance.now() - t;
  }
  if (hp.keepBest && last > stopLoss && last > best.loss + 0.1) delta = best.delta;
  return { delta, theta: p.basis ? theta : undefined, vInit, steps, finalLoss, ortMs, jsMs: performance.now() - t0 - ortMs };
}

/** A vector put in place of the residual after block `layer` at one position of the batch. */
export interface Replacement extends At {
  vector: ArrayLike<number>;
}

export interface ReplacedLoss {
  /** Σ_i w_i · −log P(target_i). */
  loss: number;
  /** log P(target) per NLL term. */
  logprobs: Float32Array;
  /** ∂loss/∂(residual) at each replacement [d_model]. */
  grads: Float32Array[];
}

/**
 * The NLL of targets with the residual after block `layer` replaced at chosen positions (DiKE's
 * "h_s := z"), and its gradient with respect to the vectors put there. The v* graph with
 * grad_resid: its `resid` input is the model's residual with the replacements written in, δ = 0,
 * so ∂loss/∂δ at a position is ∂loss/∂(residual) there. Two runs: the truncated forward for the
 * residual, then the v* graph.
 */
export async function replacedResidualLoss(model: LoadedModel, layer: number, rows: number[][], replacements: Replacement[], nll: (At & { target: number; weight: number })[]): Promise<ReplacedLoss> {
  const d = model.dims.dModel;
  const vocab = model.plan.unembed.w.shape[0];
  const b = model.makeBatch(rows);
  if (deltaEntryTap(model.plan.spec) !== 'resid_post') {
    throw badInput(`Replacing the residual after block ${layer} is not supported on ${model.dims.modelType}, whose MLP output is normed inside the residual branch`, { field: 'method', hint: 'Use ROME, MEMIT, AlphaEdit or ROCR on this architecture.' });
  }
  const resid = (await residual(model, layer, b))[tapName(layer, 'resid_post')];
  const data = Float32Array.from(resid.data as Float32Array);
  for (const r of replacements) data.set(Float32Array.from(r.vector), (r.row * b.seq + r.pos) * d);
  const problem = { nll, kl: [{ row: 0, pos: 0, weight: 0 }], klTeacher: new Float32Array(vocab) };
  const out = await model.run({ delta: { layer, gradResid: true } }, b, {
    resid: new (ort().Tensor)('float32', data, resid.dims as number[]),
    delta: f32(new Float32Array(d), [d]),
    delta_mask: f32(new Float32Array(b.batch * b.seq), [b.batch, b.seq, 1]),
    ...lossFeeds(b, problem, vocab),
  });
  const g = out.grad_resid.data as Float32Array;
  return {
    loss: Number(out.loss_nll.data[0]),
    logprobs: Float32Array.from(out.nll_logprobs.data as Float32Array),
    grads: replacements.map((r) => g.slice((r.row * b.seq + r.pos) * d, (r.row * b.seq + r.pos + 1) * d)),
  };
}
