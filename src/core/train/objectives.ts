// The unlearning objectives (METHODS.md, "Training edits") as feeds of the training graph's token
// head (trainLoss.ts: loss = Σ w·lp + Σ_p c_p · softplus(Σ_b M[p,b] (seq_b − ref_b))). Per step,
// with F forget items and R retain items in the batch, n_i the trained tokens of row i:
//   GA        w = +1/(F n_i) on the forget answer            (minimise log-prob = ascend the NLL)
//   GradDiff  GA + λ · retain NLL, w = −λ/(R n_j)
//   NPO       (2/β) mean softplus(β (log π_θ − log π_ref)) of the forget answers (+ λ · retain NLL)
//   RT        NLL of the refusal after each forget prompt, w = −1/(F n_i) (+ λ · retain NLL)
//   DPO       s · mean −log σ(β [(log π_θ − log π_ref)(refusal) − (…)(answer)]) (+ λ · retain NLL),
//             s = 1 (dpoScale 'unit') or 2/β (dpoScale 'twoOverBeta': open-unlearning's compute_dpo_loss)
// NLL terms (GA, GradDiff, RT, the retain NLL) average by `lossMean`: 'item' = a mean over items of
// each item's per-token mean (n_i as above); 'token' = one mean over every trained token of the
// batch's rows of that term (Hugging Face's outputs.loss, as open-unlearning uses it).

import type { OrtTensor } from '../runtime/ort';
import { loadOrt } from '../runtime/ort';
import type { LoadedModel, Batch } from '../runtime/model';
import { f32, fillTrained, tokenFeeds, type Row } from './rows';

export type TokenMethod = 'ga' | 'graddiff' | 'npo' | 'rt' | 'dpo';

/** One forget item's rows: its answer row, and (RT, DPO) its refusal row; ref = π_ref's sequence log-probs. */
export interface ForgetRows {
  answer: Row;
  refusal?: Row;
  refAnswer: number;
  refRefusal: number;
}

export interface StepFeeds {
  batch: Batch;
  feeds: Record<string, OrtTensor>;
  /** Batch rows that hold a forget item's true answer (for batch metrics). */
  forgetRows: number[];
}

/** How NLL and activation terms average: per item then over items, or over every token at once. */
export type LossMean = 'item' | 'token';
export type DpoScale = 'unit' | 'twoOverBeta';

export interface TokenLossOptions {
  beta: number;
  retainWeight: number;
  /** Default 'item'. */
  lossMean?: LossMean;
  /** Default 'unit'. */
  dpoScale?: DpoScale;
}

/** Per-row weight of a term whose total weight is `total` over `rows` (see lossMean in the header). */
function termWeights(rows: Row[], total: number, mean: LossMean): number[] {
  const tokens = rows.reduce((a, r) => a + r.trained.length, 0) || 1;
  return rows.map((r) => (mean === 'token' ? total / tokens : total / Math.max(1, rows.length) / r.trained.length));
}

export function tokenStepFeeds(model: LoadedModel, method: TokenMethod, forget: ForgetRows[], retain: Row[], o: TokenLossOptions): StepFeeds {
  const rows: Row[] = [];
  const forgetRows: number[] = [];
  const ref: number[] = [];
  const push = (r: Row, refLp = 0) => {
    rows.push(r);
    ref.push(refLp);
    return rows.length - 1;
  };
  const F = Math.max(1, forget.length);
  const pairs: { pos: number; neg?: number }[] = [];
  const weightOf = new Map<number, number>();
  const nll = (rs: Row[], total: number) => termWeights(rs, total, o.lossMean ?? 'item');
  const rtW = method === 'rt' ? nll(forget.map((f) => f.refusal!), -1) : [];
  const gaW = method === 'ga' || method === 'graddiff' ? nll(forget.map((f) => f.answer), 1) : [];
  forget.forEach((f, k) => {
    if (method === 'rt') {
      weightOf.set(push(f.refusal!), rtW[k]);
    } else if (method === 'dpo') {
      const pos = push(f.refusal!, f.refRefusal);
      const neg = push(f.answer, f.refAnswer);
      forgetRows.push(neg);
      pairs.push({ pos, neg });
    } else {
      const i = push(f.answer, f.refAnswer);
      forgetRows.push(i);
      if (method === 'npo') pairs.push({ pos: i });
      else weightOf.set(i, gaW[k]);
    }
  });
  if (o.retainWeight > 0) {
    const w = nll(retain, -o.retainWeight);
    retain.forEach((r, k) => weightOf.set(push(r), w[k]));
  }

  const t = tokenFeeds(model, rows);
  const S = t.batch.seq;
  for (const [i, w] of weightOf) fillTrained(t.weights, S, i, rows[i], w);
  // Preference rows: NPO z = β(seq − ref); DPO z = −β[(seq − ref)(refusal) − (seq − ref)(answer)].
  const P = Math.max(1, pairs.length);
  const matrix = new Float32Array(P * rows.length);
  const coef = new Float32Array(P);
  pairs.forEach((p, k) => {
    fillTrained(t.seqMask, S, p.pos, rows[p.pos], 1);
    if (p.neg === undefined) {
      matrix[k * rows.length + p.pos] = o.beta;
      coef[k] = 2 / (o.beta * F);
    } else {
      fillTrained(t.seqMask, S, p.neg, rows[p.neg], 1);
      matrix[k * rows.length + p.pos] = -o.beta;
      matrix[k * rows.length + p.neg] = o.beta;
      coef[k] = (o.dpoScale === 'twoOverBeta' ? 2 / o.beta : 1) / F;
    }
  });
  const B = rows.length;
  return {
    batch: t.batch,
    forgetRows,
    feeds: {
      target_ids: new (loadOrt().Tensor)('int64', t.targets, [B, S]),
      token_weights: f32(t.weights, [B, S]),
      seq_mask: f32(t.seqMask, [B, S]),
      seq_ref: f32(ref, [B]),
      pref_matrix: f32(matrix, [P, B]),
      pref_coef: f32(coef, [P]),
    },
  };
}

/**
 * RMU (WMDP): ‖h_L(forget) − c·u‖² + α ‖h_L(retain) − h_L^ref(retain)‖², each a mean over the
 * steered positions and the d_model components: over every token of the batch's rows of that
 * term (lossMean 'token'), or per row then over rows (lossMean 'item': open-unlearning's
 * compute_activation_loss). Steered positions: every position (tokens 'all'), or the answer
 * tokens themselves (tokens 'answer': where open-unlearning's labels are not −100, i.e. trained
 * position t + 1). `retain[k].ref` holds that row's reference activations [len · d_model].
 */
export function rmuStepFeeds(model: LoadedModel, forget: Row[], retain: { row: Row; ref: Float32Array }[], o: { direction: Float32Array; retainWeight: number; lossMean: LossMean; tokens: 'all' | 'answer' }): StepFeeds {
  const rows = [...forget, ...(o.retainWeight > 0 ? retain.map((r) => r.row) : [])];
  const batch = model.makeBatch(rows.map((r) => r.ids));
  const d = model.dims.dModel;
  const S = batch.seq;
  const target = new Float32Array(rows.length * S * d);
  const weights = new Float32Array(rows.length * S);
  const steered = (r: Row) => (o.tokens === 'answer' ? r.trained.map((t) => t + 1) : Array.from({ length: r.ids.length }, (_, s) => s));
  const term = (group: Row[], first: number, total: number, targetOf: (k: number, s: number) => void) => {
    const pos = group.map(steered);
    const tokens = pos.reduce((a, p) => a + p.length, 0) || 1;
    pos.forEach((p, k) => {
      const w = o.lossMean === 'token' ? total / (tokens * d) : total / (group.length * Math.max(1, p.length) * d);
      for (const s of p) {
        targetOf(k, s);
        weights[(first + k) * S + s] = w;
      }
    });
  };
  term(forget, 0, 1, (k, s) => target.set(o.direction, (k * S + s) * d));
  if (o.retainWeight > 0) {
    term(retain.map((r) => r.row), forget.length, o.retainWeight, (k, s) => target.set(retain[k].ref.subarray(s * d, (s + 1) * d), ((forget.length + k) * S + s) * d));
  }
  return { batch, forgetRows: forget.map((_, i) => i), feeds: { rmu_target: f32(target, [rows.length, S, d]), rmu_weights: f32(weights, [rows.length, S]) } };
}
