// Knowledge-paradigm probes (shared METHODS.md "Knowledge-paradigm probes"): how an edit (s, r, o → o*)
// meets the reversal curse, knowledge conflicts and consistency, parametric vs in-context. Every
// (prompt, answer) pair is scored as EVOKE / FINE-KED score them (runtime/answers: the mean per-token
// log-probability of " " + answer after the prompt, p = exp of it, and per token whether it is the
// top-1 prediction, teacher-forced). Per case and per *view* (a measured model, with or without a
// statement before every prompt), all in 0…1:
//   efficacy     the edit prompt: success = [logP(o*) > logP(o)], top1 = every token of o* top-1;
//   consistency  every form (template, question) of the fact: its top-1 answer = the candidate with
//                the highest logP (ties: the first listed); agreement = the share of forms giving the
//                most common answer; newShare = the share giving o*; entropy = Shannon entropy (bits)
//                of the answers' distribution over the forms (0: one answer everywhere);
//   reversal     the inverse question about o* (answer s, against the world's answer before, a):
//                success = mean over prompts of [logP(s) > logP(a)], top1 = s top-1, pSubject = mean p(s);
//                gap = efficacy.success − success (the reversal gap; absent when the case has no inverse);
//   ripple       two-hop questions through the edited fact: success = mean [logP(new) > logP(old)],
//                top1 = new top-1, pNew / pOld = mean p;
//   rloc         the subject's other facts the reference model (before the edit) knows (top-1 on every
//                token): the mean share of their answer tokens still top-1 (FINE-KED's R-Loc).
// Summary magnitudes (CounterFact's / MQuAKE-style): efficacyMagnitude = mean p(o*) − p(o) on the edit
// prompt; ripple.magnitude = mean pNew − pOld over the case's two-hop questions; both × 100.
// The in-context view states the new fact before every prompt ("Imagine that {s r o*}.\n", the world's
// trained frame, or another frame) on the model without the edit. Context–memory conflict (per case):
//   oldInContext  the measured model with the *old* fact stated before the edit prompt: P(o*) vs P(o),
//                 winner memory when logP(o*) > logP(o) (the edit holds against the context);
//   newInContext  the unedited model with the *new* fact stated: winner context when logP(o*) > logP(o).

import type { LoadedModel } from '../runtime/model';
import type { EditStack } from '../edits/stack';
import { scoreAnswers, type AnswerPair, type AnswerScore } from '../runtime/answers';
import { allTop, topShare } from './fineKed';
import { caseIdentity } from './evokeData';
import type { ProbeCase } from './probesData';
import type { ProbeConflict, ProbeResult, ProbeSummary, ProbeView, ProbeViewSummary } from '../../protocol/diagnostics';

export type { ProbeConflict, ProbeResult, ProbeSummary, ProbeView, ProbeViewSummary };

/** The world's trained in-context frame; "{}" is the fact statement ("s was born in o*"). */
export const DEFAULT_FRAME = 'Imagine that {}.\n';

const editPrompt = (c: ProbeCase) => c.prompt.replace('{}', c.subject);

/** The frame with the statement "<edit prompt> <target>" in it. */
export function framed(frame: string, c: ProbeCase, target: string): string {
  return frame.replace('{}', `${editPrompt(c)} ${target}`);
}

const both = (prompt: string, first: string, second: string): AnswerPair[] => [{ prompt, answer: first }, { prompt, answer: second }];

/** The pairs of one view, `prefix` before every prompt, in evaluateView's order. */
export function viewPairs(c: ProbeCase, prefix = ''): AnswerPair[] {
  return [
    ...both(prefix + editPrompt(c), c.targetNew, c.targetTrue),
    ...c.forms.flatMap((f) => c.candidates.map((answer) => ({ prompt: prefix + f, answer }))),
    ...(c.reversal ? c.reversal.prompts.flatMap((p) => both(prefix + p, c.reversal!.answer, c.reversal!.answerBefore)) : []),
    ...c.ripple.flatMap((q) => both(prefix + q.prompt, q.new, q.old)),
    ...c.sameSubject.map((f) => ({ prompt: prefix + f.prompt, answer: f.answer })),
  ];
}

/** The reference model's pairs (the subject's other facts, plain prompts): which are known. */
export function referencePairs(c: ProbeCase): AnswerPair[] {
  return c.sameSubject.map((f) => ({ prompt: f.prompt, answer: f.answer }));
}

/** The edit prompt after the old (or new) fact stated in `frame`: (o*, o). */
export function conflictPairs(c: ProbeCase, frame: string, stated: 'old' | 'new'): AnswerPair[] {
  return both(framed(frame, c, stated === 'old' ? c.targetTrue : c.targetNew) + editPrompt(c), c.targetNew, c.targetTrue);
}

const p = (s: AnswerScore) => Math.exp(s.meanLogprob);
const avg = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);

/** One view from the scores of viewPairs(c) and referencePairs(c) (same orders). */
export function evaluateView(c: ProbeCase, scores: AnswerScore[], reference: AnswerScore[]): ProbeView {
  let i = 0;
  const next = () => scores[i++];
  const pairs = (n: number) => Array.from({ length: n }, () => [next(), next()] as const);
  const [eNew, eOld] = [next(), next()];
  const efficacy = { success: eNew.meanLogprob > eOld.meanLogprob ? 1 : 0, top1: allTop(eNew), pNew: p(eNew), pOld: p(eOld) };
  const answers = c.forms.map(() => {
    const cands = c.candidates.map(() => next());
    let best = 0;
    cands.forEach((s, k) => { if (s.meanLogprob > cands[best].meanLogprob) best = k; });
    return c.candidates[best];
  });
  const counts = new Map<string, number>();
  for (const a of answers) counts.set(a, (counts.get(a) ?? 0) + 1);
  const n = answers.length;
  const consistency = {
    forms: n,
    answers,
    agreement: Math.max(...counts.values()) / n,
    newShare: (counts.get(c.targetNew) ?? 0) / n,
    entropy: -[...counts.values()].reduce((h, k) => h + (k / n) * Math.log2(k / n), 0),
  };
  const rev = c.reversal ? pairs(c.reversal.prompts.length) : [];
  const reversal = c.reversal ? (() => {
    const success = avg(rev.map(([s, a]) => (s.meanLogprob > a.meanLogprob ? 1 : 0)));
    return { prompts: rev.length, success, top1: avg(rev.map(([s]) => allTop(s))), pSubject: avg(rev.map(([s]) => p(s))), gap: efficacy.success - success };
  })() : undefined;
  const rip = pairs(c.ripple.length);
  const ripple = rip.length ? { questions: rip.length, success: avg(rip.map(([a, b]) => (a.meanLogprob > b.meanLogprob ? 1 : 0))), top1: avg(rip.map(([a]) => allTop(a))), pNew: avg(rip.map(([a]) => p(a))), pOld: avg(rip.map(([, b]) => p(b))) } : undefined;
  const kept = c.sameSubject.map(() => next()).filter((_, k) => allTop(reference[k]) === 1);
  return { efficacy, consistency, ...(reversal ? { reversal } : {}), ...(ripple ? { ripple } : {}), rloc: { facts: c.sameSubject.length, known: kept.length, rloc: avg(kept.map(topShare)) } };
}

/** The conflict from conflictPairs(c, frame, 'old') on the measured model and (…, 'new') on the unedited one. */
export function evaluateConflict(old: AnswerScore[], fresh: AnswerScore[]): ProbeConflict {
  return {
    oldInContext: { pNew: p(old[0]), pOld: p(old[1]), winner: old[0].meanLogprob > old[1].meanLogprob ? 'memory' : 'context' },
    newInContext: { pNew: p(fresh[0]), pOld: p(fresh[1]), winner: fresh[0].meanLogprob > fresh[1].meanLogprob ? 'context' : 'memory' },
  };
}

export interface ProbeOptions {
  /** State the new fact before every prompt (the in-context view) instead of plain prompts. */
  inContext?: boolean;
  /** The statement's frame, "{}" for the statement (default DEFAULT_FRAME). */
  frame?: string;
  isCancelled?: () => boolean;
}

/**
 * One case's probes on `measured` (one view) and its context–memory conflict; `model` is the model
 * without the case's edit (the R-Loc reference, and where the new fact is stated for the conflict).
 */
export async function measureProbes(model: LoadedModel, measured: LoadedModel, c: ProbeCase, o: ProbeOptions = {}): Promise<{ view: ProbeView; conflict: ProbeConflict }> {
  const frame = o.frame ?? DEFAULT_FRAME;
  const ref = await scoreReference(model, c, frame, false, o.isCancelled);
  const view = viewPairs(c, o.inContext ? framed(frame, c, c.targetNew) : '');
  return scoreMeasured(measured, c, frame, ref, view, o.isCancelled);
}

/**
 * What the unedited model gives one case: its known same-subject facts, the new fact stated before
 * the edit prompt (the conflict's other half) and, with `inContext`, the whole in-context view —
 * one batched run, so a case's edit and its in-context reference share it.
 */
export async function scoreReference(model: LoadedModel, c: ProbeCase, frame: string, inContext: boolean, isCancelled?: () => boolean): Promise<{ known: AnswerScore[]; fresh: AnswerScore[]; inContext?: ProbeView }> {
  const k = c.sameSubject.length;
  const view = inContext ? viewPairs(c, framed(frame, c, c.targetNew)) : [];
  const scores = await scoreAnswers(model, [...referencePairs(c), ...conflictPairs(c, frame, 'new'), ...view], { isCancelled });
  const known = scores.slice(0, k);
  return { known, fresh: scores.slice(k, k + 2), ...(inContext ? { inContext: evaluateView(c, scores.slice(k + 2), known) } : {}) };
}

/** The view `pairs` (viewPairs with its prefix) and the old fact stated in context, on the measured model. */
export async function scoreMeasured(measured: LoadedModel, c: ProbeCase, frame: string, ref: { known: AnswerScore[]; fresh: AnswerScore[] }, pairs: AnswerPair[], isCancelled?: () => boolean): Promise<{ view: ProbeView; conflict: ProbeConflict }> {
  const scores = await scoreAnswers(measured, [...pairs, ...conflictPairs(c, frame, 'old')], { isCancelled });
  return { view: evaluateView(c, scores.slice(0, pairs.length), ref.known), conflict: evaluateConflict(scores.slice(pairs.length), ref.fresh) };
}

/**
 * The bench's entry point: one case's probes on the stack's model (with the case's edit applied or
 * not), `model` being the model without the case's edit. With inContext the new fact is stated
 * before every prompt (give a stack without the edit: the in-context reference).
 */
export function scoreProbes(model: LoadedModel, stack: EditStack, c: ProbeCase, o: ProbeOptions = {}): Promise<{ view: ProbeView; conflict: ProbeConflict }> {
  return measureProbes(model, stack.model, c, o);
}

/** A case's result: the parametric view (edited model), the in-context view (unedited model, new fact stated) and the conflict. */
export function probeResult(c: ProbeCase, parametric: { view: ProbeView; conflict: ProbeConflict }, inContext: ProbeView): ProbeResult {
  return {
    ...caseIdentity(c),
    parametric: parametric.view,
    inContext,
    conflict: parametric.conflict,
    ...(c.reversalAbsent ? { reversalAbsent: c.reversalAbsent } : {}),
  };
}

const pct = (xs: number[]) => 100 * avg(xs);

function summarizeView(views: ProbeView[]): ProbeViewSummary {
  const rev = views.flatMap((v) => (v.reversal ? [v.reversal] : []));
  const rip = views.flatMap((v) => (v.ripple ? [v.ripple] : []));
  const known = views.filter((v) => v.rloc.known > 0);
  return {
    efficacy: pct(views.map((v) => v.efficacy.success)),
    efficacyTop1: pct(views.map((v) => v.efficacy.top1)),
    efficacyMagnitude: pct(views.map((v) => v.efficacy.pNew - v.efficacy.pOld)),
    agreement: pct(views.map((v) => v.consistency.agreement)),
    newShare: pct(views.map((v) => v.consistency.newShare)),
    entropy: avg(views.map((v) => v.consistency.entropy)),
    reversal: { cases: rev.length, success: pct(rev.map((r) => r.success)), gap: pct(rev.map((r) => r.gap)) },
    ripple: { cases: rip.length, success: pct(rip.map((r) => r.success)), top1: pct(rip.map((r) => r.top1)), magnitude: pct(rip.map((r) => r.pNew - r.pOld)) },
    rloc: pct(known.map((v) => v.rloc.rloc)),
  };
}

export function summarizeProbes(results: ProbeResult[]): ProbeSummary {
  return {
    cases: results.length,
    parametric: summarizeView(results.map((r) => r.parametric)),
    inContext: summarizeView(results.map((r) => r.inContext)),
    conflict: {
      editWinsOverOldContext: pct(results.map((r) => (r.conflict.oldInContext.winner === 'memory' ? 1 : 0))),
      newContextWinsOverMemory: pct(results.map((r) => (r.conflict.newInContext.winner === 'context' ? 1 : 0))),
    },
  };
}
