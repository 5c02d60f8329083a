// Which layer a causal trace recommends for a one-layer fact edit (ROME), from the trace's
// restoration scores. The rules compared by bench/guided-path.mjs (docs/results/guided-path.md)
// live here so the bench and causalTrace() use the same code; RECOMMENDED_RULE is the one the
// trace reports.
//
// A trace summary holds, per layer, P(answer) with one state restored at the subject's last token
// (the MLP output, the residual, the attention output) and the MLP's best over the subject's tokens,
// plus the clean and corrupted P(answer) and whether the trace is informative (traceInformative).

import type { CausalTraceResult } from '../../protocol/model';

export interface TraceLayerSummary {
  informative: boolean;
  cleanProb: number;
  corruptedProb: number;
  /** P(answer) with the MLP output restored at the subject's last token, per layer. */
  mlpLast: number[];
  /** The same for the residual state. */
  residLast: number[];
  /** The same for the attention output. */
  attnLast: number[];
  /** Per layer, the best P(answer) over the subject's tokens with the MLP output restored. */
  mlpSubject: number[];
  /** The layer causalTrace recommended (absent when not informative). */
  recommended?: number;
}

/** The per-layer columns of a trace that the rules read. */
export function traceLayerSummary(t: Pick<CausalTraceResult, 'scores' | 'subject' | 'cleanProb' | 'corruptedProb' | 'informative' | 'recommendedLayer'>): TraceLayerSummary {
  const [s0, s1] = t.subject;
  const last = s1 - 1;
  return {
    informative: t.informative !== false,
    cleanProb: t.cleanProb,
    corruptedProb: t.corruptedProb,
    mlpLast: t.scores.mlp.map((row) => row[last]),
    residLast: t.scores.resid.map((row) => row[last]),
    attnLast: t.scores.attn.map((row) => row[last]),
    mlpSubject: t.scores.mlp.map((row) => Math.max(...row.slice(s0, s1))),
    ...(t.recommendedLayer !== undefined ? { recommended: t.recommendedLayer } : {}),
  };
}

/** The first index of the largest value (the first on ties). */
export function argmaxFirst(xs: number[]): number {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i] > xs[best]) best = i;
  return best;
}

export interface RecommendRule {
  /** What the rule does, in words (the bench's table and the docs quote it). */
  doc: string;
  /** The recommended layer, or undefined when the rule recommends none. */
  pick: (s: TraceLayerSummary) => number | undefined;
}

/** The earliest layer whose effect (P restored − P corrupted) reaches `share` of the largest. */
function earliestReaching(xs: number[], corrupted: number, share: number): number {
  const effects = xs.map((x) => x - corrupted);
  const top = Math.max(...effects);
  const i = effects.findIndex((e) => e >= share * top);
  return i < 0 ? argmaxFirst(xs) : i;
}

export const RECOMMEND_RULES: Record<string, RecommendRule> = {
  'mlp-last': { doc: 'the layer whose MLP output, restored at the subject\'s last token, brings P(answer) back most', pick: (s) => (s.informative ? argmaxFirst(s.mlpLast) : undefined) },
  'mlp-subject': { doc: 'the layer whose MLP output, restored at any subject token, brings P(answer) back most', pick: (s) => (s.informative ? argmaxFirst(s.mlpSubject) : undefined) },
  'resid-last': { doc: 'the layer whose residual state, restored at the subject\'s last token, brings P(answer) back most', pick: (s) => (s.informative ? argmaxFirst(s.residLast) : undefined) },
  'mlp-last-earliest-half': { doc: 'the earliest layer whose MLP effect at the subject\'s last token reaches half the largest', pick: (s) => (s.informative ? earliestReaching(s.mlpLast, s.corruptedProb, 0.5) : undefined) },
  'first-layer': { doc: 'layer 0, whatever the trace shows (when it is informative)', pick: (s) => (s.informative ? 0 : undefined) },
};

/** The rule causalTrace uses for recommendedLayer. */
export const RECOMMENDED_RULE = 'mlp-subject';

/** The layer the recommended rule picks (undefined when the trace is not informative). */
export function recommendLayer(s: TraceLayerSummary): number | undefined {
  return RECOMMEND_RULES[RECOMMENDED_RULE].pick(s);
}
