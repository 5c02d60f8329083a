// Scores training rows on a model view: per row the summed log-prob of its trained tokens (a
// sequence log-prob, NPO's and DPO's π(y|x)), their mean, and whether every trained token is the
// argmax (teacher-forced top-1: greedy decoding would produce the continuation). Used for the
// reference log-probs, the early-stop check and the before / after figures.

import type { LoadedModel } from '../runtime/model';
import { loadOrt } from '../runtime/ort';
import type { Row } from './rows';
import { f32, fillTrained, tokenFeeds } from './rows';

export interface RowScore {
  seq: number;
  mean: number;
  top1: boolean;
}

export async function scoreRows(model: LoadedModel, rows: Row[], chunk = 32): Promise<RowScore[]> {
  const out: RowScore[] = [];
  for (let i = 0; i < rows.length; i += chunk) {
    const part = rows.slice(i, i + chunk);
    const f = tokenFeeds(model, part);
    part.forEach((row, b) => fillTrained(f.seqMask, f.batch.seq, b, row, 1));
    // The training graph with nothing trained: a forward pass that unembeds only the trained positions.
    const [B, S] = [f.batch.batch, f.batch.seq];
    const r = await model.run({ train: { modules: [] } }, f.batch, {
      target_ids: new (loadOrt().Tensor)('int64', f.targets, [B, S]),
      token_weights: f32(f.weights, [B, S]),
      seq_mask: f32(f.seqMask, [B, S]),
      seq_ref: f32(new Float32Array(B), [B]),
      pref_matrix: f32(new Float32Array(B), [1, B]),
      pref_coef: f32(new Float32Array(1), [1]),
    });
    const lp = r.token_logprobs.data as Float32Array;
    const top = r.top_logprobs.data as Float32Array;
    part.forEach((row, b) => {
      let seq = 0;
      let top1 = true;
      for (const t of row.trained) {
        const k = b * f.batch.seq + t;
        seq += lp[k];
        if (lp[k] < top[k]) top1 = false;
      }
      out.push({ seq, mean: seq / row.trained.length, top1 });
    });
  }
  return out;
}

/** Fraction of rows whose continuation is top-1, and the mean of exp(mean log-prob). */
export function summarise(scores: RowScore[]): { top1: number; prob: number } {
  if (scores.length === 0) return { top1: 0, prob: 0 };
  return {
    top1: scores.filter((s) => s.top1).length / scores.length,
    prob: scores.reduce((a, s) => a + Math.exp(s.mean), 0) / scores.length,
  };
}
