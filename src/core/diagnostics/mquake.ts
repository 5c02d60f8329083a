// MQuAKE-style multi-hop metrics on EVOKE's portability questions (the question + EVOKE's suffix
// " The answer to this question, most simply, is"):
//   teacher-forced  [P(new answer) > P(original answer)] per question (EVOKE's "ams" indicator:
//                   mean per-token NLL of " " + answer compared), and P(new) − P(original);
//   generated       greedy decoding of GENERATED_TOKENS tokens after the question; the case counts
//                   when the continuation contains the new answer (case-insensitive), as MQuAKE's
//                   evaluation checks the generated answer against the answer and its aliases
//                   (EVOKE's data has no aliases: the answer string only). containsOld likewise.
// Summary: means over the cases with a portability question, × 100.

import type { LoadedModel } from '../runtime/model';
import { generate } from '../runtime/run';
import type { CaseResult } from './evoke';
import type { MultiHopGenerated } from '../../protocol/diagnostics';

export const MQUAKE_VERSION = 'mquake-v1';
export const GENERATED_TOKENS = 8;

export type { MultiHopGenerated };

export interface MultiHopSummary {
  version: string;
  cases: number;
  /** Teacher-forced: P(new) > P(original), × 100. */
  score: number;
  /** Teacher-forced: mean P(new) − P(original), × 100. */
  magnitude: number;
  /** Generated (greedy): share of cases whose continuation contains the new / the original answer, × 100. */
  generated?: { cases: number; containsNew: number; containsOld: number; tokens: number };
}

const contains = (text: string, answer: string) => (text.toLowerCase().includes(answer.trim().toLowerCase()) ? 1 : 0);

/** Greedy continuation of the question prompt, checked for both answers. */
export async function generateMultiHop(model: LoadedModel, prompt: string, newAnswer: string, oldAnswer: string, isCancelled?: () => boolean): Promise<MultiHopGenerated> {
  const budget = Math.min(GENERATED_TOKENS, model.dims.maxPositions - model.tokenizer.encode(prompt).length);
  if (budget < 1) return { text: '', containsNew: 0, containsOld: 0 };
  const r = await generate(model, prompt, { maxTokens: budget, temperature: 0, isCancelled });
  return { text: r.text, containsNew: contains(r.text, newAnswer), containsOld: contains(r.text, oldAnswer) };
}

const pct = (xs: number[]) => (xs.length ? (100 * xs.reduce((a, b) => a + b, 0)) / xs.length : NaN);

/** Over the EVOKE cases with a multi-hop task. */
export function summarizeMultiHop(results: (CaseResult & { multihopGenerated?: MultiHopGenerated })[]): MultiHopSummary | undefined {
  const withTask = results.filter((r) => r.tasks.multihop?.prompts);
  if (!withTask.length) return undefined;
  const gen = withTask.map((r) => r.multihopGenerated).filter((g): g is MultiHopGenerated => !!g);
  return {
    version: MQUAKE_VERSION,
    cases: withTask.length,
    score: pct(withTask.map((r) => r.tasks.multihop.indicators.ams)),
    magnitude: pct(withTask.map((r) => r.tasks.multihop.probs.newAnswer - r.tasks.multihop.probs.original)),
    ...(gen.length ? { generated: { cases: gen.length, containsNew: pct(gen.map((g) => g.containsNew)), containsOld: pct(gen.map((g) => g.containsOld)), tokens: GENERATED_TOKENS } } : {}),
  };
}
