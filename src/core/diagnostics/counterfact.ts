// CounterFact's metrics as ROME / MEMIT's evaluation code computes them (kmeng01/memit
// experiments/py/eval_utils_counterfact.py test_batch_prediction, experiments/summarize.py):
//   per prompt  NLL(answer) = mean over the tokens of " " + answer (tokenised after the prompt) of
//               −log P(token | prompt, earlier answer tokens), teacher-forced; P = exp(−NLL);
//   per case    score = mean over the task's prompts of [NLL(desired) < NLL(other)] (efficacy and
//               paraphrase: desired = target_new; neighbourhood: desired = target_true);
//               magnitude = mean over the prompts of P(desired) − P(other);
//               top1 = share of prompts where every token of the desired answer is the argmax
//               (summarize.py's "_acc", kept as an extra column);
//   summary     mean over the cases that have the task, × 100; Score = harmonic mean of ES, PS, NS.
// Generation entropy: generationEntropy.ts (sampled, opt-in). Consistency (test_generation's TF-IDF
// similarity) needs the reference snippets (AttributeSnippets + TF-IDF), which EVOKE's data lacks.

import type { AnswerPair, AnswerScore } from '../runtime/answers';
import type { RewriteCase } from './evokeData';
import type { CaseResult } from './evoke';
import type { CounterFactSummary, CounterFactTask } from '../../protocol/diagnostics';

export type { CounterFactSummary, CounterFactTask };

export const COUNTERFACT_VERSION = 'counterfact-v1';

/** One case's task, 0…1. */
export interface CounterFactCaseTask {
  score: number;
  magnitude: number;
  top1: number;
  prompts: number;
}

export type CounterFactCase = Partial<Record<'efficacy' | 'paraphrase' | 'neighbourhood', CounterFactCaseTask>>;

const allTop = (s: AnswerScore) => (s.tokenTop.every(Boolean) ? 1 : 0);

/** Per case: prompts of (desired, other) scores → score, magnitude, top1 (averaged over the prompts). */
export function caseTask(pairs: [AnswerScore, AnswerScore][]): CounterFactCaseTask | undefined {
  if (!pairs.length) return undefined;
  const n = pairs.length;
  let score = 0;
  let magnitude = 0;
  let top1 = 0;
  for (const [want, other] of pairs) {
    // NLL(other) > NLL(desired), as summarize.py compares them.
    score += (-other.meanLogprob > -want.meanLogprob ? 1 : 0) / n;
    magnitude += (Math.exp(want.meanLogprob) - Math.exp(other.meanLogprob)) / n;
    top1 += allTop(want) / n;
  }
  return { score, magnitude, top1, prompts: n };
}

const editPrompt = (c: RewriteCase) => c.prompt.replace('{}', c.subject);

/** The pairs of a case, in counterFactCase's order: per prompt (target_new, target_true). */
export function counterFactPairs(c: RewriteCase): AnswerPair[] {
  return [editPrompt(c), ...c.paraphrasePrompts, ...c.neighborhoodPrompts].flatMap((prompt) => [
    { prompt, answer: c.targetNew },
    { prompt, answer: c.targetTrue },
  ]);
}

/** A case's tasks from the scores of counterFactPairs(c) (same order). */
export function counterFactCase(c: RewriteCase, scores: AnswerScore[]): CounterFactCase {
  let i = 0;
  const take = (n: number, neighbour: boolean) =>
    Array.from({ length: n }, (): [AnswerScore, AnswerScore] => {
      const [tNew, tTrue] = [scores[i++], scores[i++]];
      return neighbour ? [tTrue, tNew] : [tNew, tTrue];
    });
  const out: CounterFactCase = {};
  const put = (k: keyof CounterFactCase, t: CounterFactCaseTask | undefined) => {
    if (t) out[k] = t;
  };
  put('efficacy', caseTask(take(1, false)));
  put('paraphrase', caseTask(take(c.paraphrasePrompts.length, false)));
  put('neighbourhood', caseTask(take(c.neighborhoodPrompts.length, true)));
  return out;
}

/**
 * The same per-case tasks read from an EVOKE case (evoke.ts): its efficacy and paraphrase tasks
 * (success = [NLL(new) < NLL(true)], probs = mean exp(−NLL)) and its relation-specificity task
 * (CounterFact's neighbourhood prompts: eos = [NLL(true) < NLL(target)]). Means are linear, so
 * the magnitude is the difference of the mean probabilities.
 */
export function counterFactOfEvoke(r: CaseResult): CounterFactCase {
  const out: CounterFactCase = {};
  const read = (task: string, indicator: string, want: string, other: string) => {
    const t = r.tasks[task];
    if (!t || !t.prompts) return undefined;
    return { score: t.indicators[indicator], magnitude: t.probs[want] - t.probs[other], top1: t.top1?.[want] ?? NaN, prompts: t.prompts };
  };
  const e = read('efficacy', 'success', 'new', 'true');
  const p = read('paraphrase', 'success', 'new', 'true');
  const n = read('relationSpecificity', 'eos', 'true', 'target');
  if (e) out.efficacy = e;
  if (p) out.paraphrase = p;
  if (n) out.neighbourhood = n;
  return out;
}

const pct = (xs: number[]) => (xs.length ? (100 * xs.reduce((a, b) => a + b, 0)) / xs.length : NaN);

/** Means over the cases that have each task, × 100, and the harmonic mean of the three scores. */
export function summarizeCounterFact(cases: CounterFactCase[], entropies: number[] = []): CounterFactSummary {
  const task = (k: keyof CounterFactCase): CounterFactTask => {
    const ts = cases.map((c) => c[k]).filter((t): t is CounterFactCaseTask => !!t);
    const top1 = ts.map((t) => t.top1);
    return { cases: ts.length, score: pct(ts.map((t) => t.score)), magnitude: pct(ts.map((t) => t.magnitude)), ...(top1.every(Number.isFinite) ? { top1: pct(top1) } : {}) };
  };
  const efficacy = task('efficacy');
  const paraphrase = task('paraphrase');
  const neighbourhood = task('neighbourhood');
  const scores = [efficacy.score, paraphrase.score, neighbourhood.score];
  const score = scores.every((s) => Number.isFinite(s) && s > 0) ? 3 / scores.reduce((a, s) => a + 1 / s, 0) : undefined;
  const generationEntropy = entropies.length ? { generationEntropy: { cases: entropies.length, value: pct(entropies) } } : {};
  return { version: COUNTERFACT_VERSION, efficacy, paraphrase, neighbourhood, ...(score !== undefined ? { score } : {}), ...generationEntropy };
}
