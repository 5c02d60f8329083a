// The unlearning objectives (METHODS.md, "Training edits") as feeds of the training graph's token
// head (trainLoss.ts: loss = Σ w·lp + Σ_p c_p · softplus(Σ_b M[p,b] (seq_b − ref_b))). Per step,
// with F forget items and R retain items in the batch, n_i the trained tokens of row i:
//   GA        w = +1/(F n_i) on the forget answer            (minimise log-prob = ascend the NLL)
//   GradDiff  GA + λ · retain NLL, w = −λ/(R n_j)
//   NPO       (2/β) mean softplus(β (log π_θ − log π_ref)) of the forget answers (+ λ · retain NLL)
//   RT        NLL of the refusal after each forget prompt, w = −1/(F n_i) (+ λ · retain NLL)
//   DPO       mean −log σ(β [(log π_θ − log π_ref)(refusal) − (…)(answer)]) (+ λ · retain NLL)
// The retain NLL is a mean over items of the per-token mean, like the forget terms.

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

export function tokenStepFeeds(model: LoadedModel, method: TokenMethod, forget: ForgetRows[], retain: Row[], o: { beta: number; retainWeight: number }): StepFeeds {
  const rows: Row[] = [];
  const forgetRows: number[] = [];
  const ref: number[] = [];
  const push = (r: Row, refLp = 0) => {
    rows.push(r);
    ref.push(refLp);
    return rows.length - 1;
  };
  const F = Math.max(1, forget.length);
  const R = Math.max(1, retain.length);
  const pairs: { pos: number; neg?: number }[] = [];
  const weightOf = new Map<number, number>();
  for (const f of forget) {
    if (method === 'rt') {
      weightOf.set(push(f.refusal!), -1 / F);
    } else if (method === 'dpo') {
      const pos = push(f.refusal!, f.refRefusal);
      const neg = push(f.answer, f.refAnswer);
      forgetRows.push(neg);
      pairs.push({ pos, neg });
    } else {
      const i = push(f.answer, f.refAnswer);
      forgetRows.push(i);
      if (method === 'npo') pairs.push({ pos: i });
      else weightOf.set(i, 1 / F);
    }
  }
  if (o.retainWeight > 0) for (const r of retain) weightOf.set(push(r), -o.retainWeight / R);

  const t = tokenFeeds(model, rows);
  const S = t.batch.seq;
  for (const [i, w] of weightOf) fillTrained(t.weights, S, i, rows[i], w / rows[i].trained.length);
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
      coef[k] = 1 / F;
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
 * tokens and the d_model components. Forget rows are steered at every position; `retainRef`
 * holds each retain row's reference activations [len · d_model].
 */
export function rmuStepFeeds(model: LoadedModel, forget: Row[], retain: { row: Row; ref: Float32Array }[], o: { direction: Float32Array; retainWeight: number }): StepFeeds {
  const rows = [...forget, ...(o.retainWeight > 0 ? retain.map((r) => r.row) : [])];
  const batch = model.makeBatch(rows.map((r) => r.ids));
  const d = model.dims.dModel;
  const S = batch.seq;
  const target = new Float32Array(rows.length * S * d);
  const weights = new Float32Array(rows.length * S);
  const forgetTokens = forget.reduce((a, r) => a + r.ids.length, 0) || 1;
  const retainTokens = retain.reduce((a, r) => a + r.row.ids.length, 0) || 1;
  forget.forEach((r, b) => {
    for (let s = 0; s < r.ids.length; s++) {
      target.set(o.direction, (b * S + s) * d);
      weights[b * S + s] = 1 / (forgetTokens * d);
    }
  });
  if (o.retainWeight > 0) {
    retain.forEach((r, k) => {
      const b = forget.length + k;
      target.set(r.ref, b * S * d);
      for (let s = 0; s < r.row.ids.length; s++) weights[b * S + s] = o.retainWeight / (retainTokens * d);
    });
  }
  return { batch, forgetRows: forget.map((_, i) => i), feeds: { rmu_target: f32(target, [rows.length, S, d]), rmu_weights: f32(weights, [rows.length, S]) } };
}
