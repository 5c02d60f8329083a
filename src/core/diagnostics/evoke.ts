// EVOKE metrics, exactly as the reference code computes them (docs: shared METHODS.md):
// every prompt/answer pair is scored by the mean per-token NLL of " " + answer after the prompt;
// probabilities are exp(−mean NLL); indicators compare NLLs; per case they are averaged over the
// case's prompts, then over cases, × 100.

import type { AnswerPair, AnswerScore } from '../runtime/answers';
import type { EvokeCase, SubjectSpecCase } from './evokeData';
import type { CaseTask, MultiHopGenerated, TaskSummary } from '../../protocol/diagnostics';

export type { TaskSummary };

export const MULTIHOP_SUFFIX = ' The answer to this question, most simply, is';

/** Per-task result of one case (protocol's CaseTask): indicators (1 = the desired answer wins)
 * and probabilities, means of exp(−NLL), both averaged over the task's prompts. */
export type TaskResult = CaseTask;

export interface CaseResult {
  kind: 'main' | 'subject';
  caseId: number;
  subject: string;
  targetNew: string;
  targetTrue: string;
  tasks: Record<string, TaskResult>;
  /** The greedy answer to the multi-hop question (mquake.ts), main cases with a portability question. */
  multihopGenerated?: MultiHopGenerated;
  /** CounterFact's generation entropy of the case (generationEntropy.ts), when the run samples it. */
  ngramEntropy?: number;
}

/** A task: which prompts, which answers, and which comparisons make its indicators. */
interface TaskPlan {
  name: string;
  prompts: string[];
  answers: Record<string, string>;
  /** indicator name → [answer that should win, answer it is compared with] */
  compare: Record<string, [string, string]>;
}

export function mainTasks(c: EvokeCase): TaskPlan[] {
  const fill = (p: string) => p.replace('{}', c.subject);
  const answers = { new: c.targetNew, true: c.targetTrue };
  const tasks: TaskPlan[] = [
    { name: 'efficacy', prompts: [fill(c.prompt)], answers, compare: { success: ['new', 'true'] } },
    { name: 'paraphrase', prompts: c.paraphrasePrompts, answers, compare: { success: ['new', 'true'] } },
  ];
  if (c.portability) {
    tasks.push({
      name: 'multihop',
      prompts: [c.portability.question + MULTIHOP_SUFFIX],
      answers: { newAnswer: c.portability.newAnswer, target: c.targetNew, original: c.portability.originalAnswer },
      compare: { eos: ['newAnswer', 'target'], ams: ['newAnswer', 'original'] },
    });
  }
  if (c.prefixDistraction.length) tasks.push({ name: 'prefix', prompts: c.prefixDistraction, answers: { true: c.targetTrue, target: c.targetNew }, compare: { eos: ['true', 'target'] } });
  tasks.push({ name: 'relationSpecificity', prompts: c.neighborhoodPrompts, answers: { true: c.targetTrue, target: c.targetNew }, compare: { eos: ['true', 'target'] } });
  return tasks;
}

export function subjectTasks(c: SubjectSpecCase): TaskPlan[] {
  return [{ name: 'subjectSpecificity', prompts: [c.specPrompt], answers: { answer: c.specAnswer, target: c.targetNew }, compare: { eos: ['answer', 'target'] } }];
}

/** Every (prompt, answer) pair a list of tasks needs, in a fixed order. */
export function pairsOf(tasks: TaskPlan[]): AnswerPair[] {
  return tasks.flatMap((t) => t.prompts.flatMap((prompt) => Object.values(t.answers).map((answer) => ({ prompt, answer }))));
}

/** Turns the scores of pairsOf(tasks) (same order) into task results. */
export function evaluate(tasks: TaskPlan[], scores: AnswerScore[]): Record<string, TaskResult> {
  let i = 0;
  const out: Record<string, TaskResult> = {};
  for (const t of tasks) {
    const keys = Object.keys(t.answers);
    const sums: Record<string, number> = Object.fromEntries(Object.keys(t.compare).map((k) => [k, 0]));
    const probs: Record<string, number> = Object.fromEntries(keys.map((k) => [k, 0]));
    const top1: Record<string, number> = Object.fromEntries(keys.map((k) => [k, 0]));
    for (let p = 0; p < t.prompts.length; p++) {
      const nll: Record<string, number> = {};
      for (const k of keys) {
        const s = scores[i++];
        nll[k] = -s.meanLogprob;
        probs[k] += Math.exp(-nll[k]) / t.prompts.length;
        top1[k] += (s.tokenTop.every(Boolean) ? 1 : 0) / t.prompts.length;
      }
      for (const [name, [win, lose]] of Object.entries(t.compare)) sums[name] += (nll[win] < nll[lose] ? 1 : 0) / t.prompts.length;
    }
    out[t.name] = { indicators: sums, probs, top1, prompts: t.prompts.length };
  }
  return out;
}

export function summarize(results: CaseResult[]): Record<string, TaskSummary> {
  const acc: Record<string, { n: number; ind: Record<string, number>; probs: Record<string, number> }> = {};
  for (const r of results) {
    for (const [name, t] of Object.entries(r.tasks)) {
      const a = (acc[name] ??= { n: 0, ind: {}, probs: {} });
      a.n++;
      for (const [k, v] of Object.entries(t.indicators)) a.ind[k] = (a.ind[k] ?? 0) + v;
      for (const [k, v] of Object.entries(t.probs)) a.probs[k] = (a.probs[k] ?? 0) + v;
    }
  }
  const scale = (m: Record<string, number>, n: number) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, (100 * v) / n]));
  return Object.fromEntries(Object.entries(acc).map(([name, a]) => [name, { cases: a.n, indicators: scale(a.ind, a.n), probs: scale(a.probs, a.n) }]));
}
