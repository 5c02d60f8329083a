// FINE-KED metrics (DiKE, ICLR 2026: fine-grained locality). Every (prompt, answer) pair is scored
// like EVOKE's (runtime/answers: the mean per-token log-probability of " " + answer after the
// prompt, and per token whether it is the top-1 prediction, teacher-forced). Per case:
//   efficacy       the edit prompt: success = P(o*) > P(o) (mean log-probs compared), top1 = every
//                  token of o* is the top-1 prediction;
//   paraphrase     the same over the paraphrase prompts, averaged over them;
//   neighbourhood  other subjects with the same answer o (CounterFact's specificity): success =
//                  P(o) > P(o*), top1 = o still top-1 on every token; averaged over the prompts;
//   facts          the subject's facts of other relations (s, r', o'), graded easy / middle / hard.
//                  A fact is *known* when the reference model (the model before what is measured:
//                  before the case's edit; for method none, the checkpoint without any edit)
//                  predicts every token of o' top-1. R-Loc of a known fact = the fraction of o''s
//                  tokens whose teacher-forced top-1 prediction is the same after as before (as
//                  EasyEdit's locality; before, all of them are o''s tokens), so 1 = kept, 0 = lost.
//                  top1 = every token still top-1; wins = P(o') > P(o*). Unknown facts are listed
//                  and left out of R-Loc.
// CounterFact's magnitude per task: mean over the prompts of P(desired) − P(other), P = exp(mean
// log-prob); the summary's `counterfact` block is ES / PS / NS with magnitudes (counterfact.ts).
// Summary (× 100): efficacy, paraphrase and neighbourhood averaged over cases; per level the mean
// over that level's known facts of every case; the average over the levels that have known facts.

import type { AnswerPair, AnswerScore } from '../runtime/answers';
import { FINE_LEVELS, type FineKedCase } from './fineKedData';
import { caseIdentity } from './evokeData';
import { summarizeCounterFact, type CounterFactCase } from './counterfact';
import type { FactScore, FineKedResult, FineKedSummary, FineLevel, LevelSummary, PromptTask } from '../../protocol/diagnostics';

export type { FactScore, FineKedResult, FineKedSummary, LevelSummary, PromptTask };

/** The pairs scored on the measured model, in evaluate()'s order. */
export function casePairs(c: FineKedCase): AnswerPair[] {
  const both = (prompt: string, first: string, second: string) => [{ prompt, answer: first }, { prompt, answer: second }];
  return [
    ...both(c.prompt.replace('{}', c.subject), c.targetNew, c.targetTrue),
    ...c.paraphrasePrompts.flatMap((p) => both(p, c.targetNew, c.targetTrue)),
    ...c.neighborhoodPrompts.flatMap((p) => both(p, c.targetTrue, c.targetNew)),
    ...c.fineGrained.flatMap((f) => both(f.prompt, f.answer, c.targetNew)),
  ];
}

/**
 * The in-context reference (method 'context'): the new fact stated before every prompt of the case
 * ("{s} was born in {o*}." and a newline) on the model as it is — what a perfect, prompt-only edit
 * of the fact does to the subject's other facts (in this world some of them are tied to it).
 */
export function contextPairs(c: FineKedCase): AnswerPair[] {
  const fact = `${c.prompt.replace('{}', c.subject)} ${c.targetNew}.\n`;
  return casePairs(c).map((p) => ({ prompt: fact + p.prompt, answer: p.answer }));
}

/** The pairs scored on the reference model: each fact's answer. */
export function referencePairs(c: FineKedCase): AnswerPair[] {
  return c.fineGrained.map((f) => ({ prompt: f.prompt, answer: f.answer }));
}

/** 1 when every answer token is the top-1 prediction, else 0. */
export const allTop = (s: AnswerScore) => (s.tokenTop.every(Boolean) ? 1 : 0);
/** The share of answer tokens that are the top-1 prediction. */
export const topShare = (s: AnswerScore) => s.tokenTop.filter(Boolean).length / s.tokenTop.length;

/** One case's result from the scores of casePairs(c) and referencePairs(c) (same orders). */
export function evaluateCase(c: FineKedCase, scores: AnswerScore[], reference: AnswerScore[]): FineKedResult {
  let i = 0;
  // n prompts of (desired, other) pairs: the desired answer wins / is top-1, averaged.
  const task = (n: number): PromptTask => {
    let success = 0;
    let top1 = 0;
    let magnitude = 0;
    for (let k = 0; k < n; k++) {
      const [want, other] = [scores[i++], scores[i++]];
      success += (want.meanLogprob > other.meanLogprob ? 1 : 0) / n;
      top1 += allTop(want) / n;
      magnitude += (Math.exp(want.meanLogprob) - Math.exp(other.meanLogprob)) / n;
    }
    return { success, top1, magnitude, prompts: n };
  };
  const efficacy = task(1);
  const paraphrase = c.paraphrasePrompts.length ? task(c.paraphrasePrompts.length) : undefined;
  const neighbourhood = c.neighborhoodPrompts.length ? task(c.neighborhoodPrompts.length) : undefined;
  const facts = c.fineGrained.map((f, k): FactScore => {
    const [kept, target] = [scores[i++], scores[i++]];
    return {
      ...(f.relation ? { relation: f.relation } : {}),
      level: f.level,
      prompt: f.prompt,
      answer: f.answer,
      known: allTop(reference[k]) === 1,
      rloc: topShare(kept),
      top1: allTop(kept),
      wins: kept.meanLogprob > target.meanLogprob ? 1 : 0,
    };
  });
  return {
    ...caseIdentity(c),
    efficacy,
    ...(paraphrase ? { paraphrase } : {}),
    ...(neighbourhood ? { neighbourhood } : {}),
    facts,
  };
}

const mean = (xs: number[]) => (xs.length ? (100 * xs.reduce((a, b) => a + b, 0)) / xs.length : 0);

/**
 * The summary of a run's cases. `applied` says which cases had their edit applied in the run
 * (method none: the cases the stack's edits match); the worst cases come only from those, so a
 * stack never lists cases whose edit it does not hold. Absent: every case (each case's own edit).
 * The figures themselves are over every case.
 */
export function summarizeFineKed(results: FineKedResult[], applied: (r: FineKedResult) => boolean = () => true): FineKedSummary {
  const tasks = (pick: (r: FineKedResult) => PromptTask | undefined) => {
    const ts = results.map(pick).filter((t): t is PromptTask => !!t);
    return { cases: ts.length, success: mean(ts.map((t) => t.success)), top1: mean(ts.map((t) => t.top1)) };
  };
  const levels = Object.fromEntries(FINE_LEVELS.map((level) => {
    const all = results.flatMap((r) => r.facts.filter((f) => f.level === level));
    const known = all.filter((f) => f.known);
    return [level, { facts: all.length, known: known.length, rloc: mean(known.map((f) => f.rloc)), top1: mean(known.map((f) => f.top1)), wins: mean(known.map((f) => f.wins)) }];
  })) as Record<FineLevel, LevelSummary>;
  const present = FINE_LEVELS.filter((l) => levels[l].known > 0).map((l) => levels[l]);
  const avg = (k: 'rloc' | 'top1' | 'wins') => (present.length ? present.reduce((a, l) => a + l[k], 0) / present.length : 0);
  const worst = results
    .filter(applied)
    .map((r) => ({ r, known: r.facts.filter((f) => f.known) }))
    .filter((x) => x.known.length > 0)
    .map(({ r, known }) => ({
      caseId: r.caseId,
      subject: r.subject,
      ...(r.relation ? { relation: r.relation } : {}),
      targetNew: r.targetNew,
      targetTrue: r.targetTrue,
      rloc: mean(known.map((f) => f.rloc)),
      lost: known.filter((f) => !f.top1).map((f) => ({ ...(f.relation ? { relation: f.relation } : {}), level: f.level, prompt: f.prompt, answer: f.answer })),
    }))
    .filter((w) => w.rloc < 100)
    .sort((a, b) => a.rloc - b.rloc || a.caseId - b.caseId)
    .slice(0, 10);
  const eff = tasks((r) => r.efficacy);
  return {
    cases: results.length,
    efficacy: { success: eff.success, top1: eff.top1 },
    paraphrase: tasks((r) => r.paraphrase),
    neighbourhood: tasks((r) => r.neighbourhood),
    levels,
    average: { rloc: avg('rloc'), top1: avg('top1'), wins: avg('wins') },
    unknown: results.reduce((n, r) => n + r.facts.filter((f) => !f.known).length, 0),
    worst,
    counterfact: summarizeCounterFact(results.map(counterFactOfFineKed)),
  };
}

/** A FINE-KED case's efficacy, paraphrase and neighbourhood tasks as CounterFact's (counterfact.ts). */
export function counterFactOfFineKed(r: FineKedResult): CounterFactCase {
  const as = (t: PromptTask | undefined) => (t && t.magnitude !== undefined ? { score: t.success, magnitude: t.magnitude, top1: t.top1, prompts: t.prompts } : undefined);
  const out: CounterFactCase = {};
  const [e, p, n] = [as(r.efficacy), as(r.paraphrase), as(r.neighbourhood)];
  if (e) out.efficacy = e;
  if (p) out.paraphrase = p;
  if (n) out.neighbourhood = n;
  return out;
}
