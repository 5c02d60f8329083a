// zsRE token-level accuracy as MEMIT's and EasyEdit's evaluation code computes it (kmeng01/memit
// experiments/py/eval_utils_zsre.py; EasyEdit's test_prediction_acc): the question, then " " +
// answer tokenised apart, teacher-forced; per answer token, is the argmax of the next-token logits
// that token?
//   efficacy        mean over alt's tokens of [argmax = token] after src;
//   generalisation  the same after rephrase;
//   locality        after loc, loc_ans teacher-forced: the share of answer positions whose argmax
//                   equals the unedited model's argmax there (EasyEdit; 1 when nothing changed);
//   locAnswer       the share of loc_ans's tokens that are the argmax (MEMIT's neighbourhood accuracy).
// Per case in 0…1; the summary is the mean over cases × 100.

import type { LoadedModel } from '../runtime/model';
import { scoreAnswers, type AnswerPair } from '../runtime/answers';
import { cancelled } from '../errors';
import type { ZsreCase } from './zsreData';
import type { ZsreSummary } from '../../protocol/diagnostics';

export type { ZsreSummary };
export const ZSRE_VERSION = 'zsre-v1';

export interface ZsreResult {
  caseId: number;
  subject?: string;
  src: string;
  alt: string;
  efficacy: number;
  generalisation: number;
  locality: number;
  locAnswer: number;
}

/** The pairs scored on the measured model: (src, alt), (rephrase, alt), (loc, loc_ans). */
export const zsrePairs = (c: ZsreCase): AnswerPair[] => [
  { prompt: c.src, answer: c.alt },
  { prompt: c.rephrase, answer: c.alt },
  { prompt: c.loc, answer: c.locAns },
];

/**
 * Per pair, the argmax token id at each answer position (prompt + " " + answer fed, teacher-forced):
 * the prediction for answer token j is read at position len(prompt) + j − 1. Full logits, `batch` rows a run.
 */
export async function teacherForcedArgmax(model: LoadedModel, pairs: AnswerPair[], isCancelled?: () => boolean, batch = 16): Promise<number[][]> {
  const rows = pairs.map((p) => ({ p: model.tokenizer.encode(p.prompt), a: model.tokenizer.encode(` ${p.answer}`, false) }));
  const out: number[][] = [];
  for (let i = 0; i < rows.length; i += batch) {
    if (isCancelled?.()) throw cancelled();
    const chunk = rows.slice(i, i + batch);
    const b = model.makeBatch(chunk.map((r) => [...r.p, ...r.a]));
    const r = await model.run({ logits: 'all' }, b);
    const data = r.logits.data as Float32Array;
    const [, seq, width] = r.logits.dims as number[];
    const V = Math.min(width, model.dims.vocab);
    for (const [k, row] of chunk.entries()) {
      out.push(row.a.map((_, j) => {
        const at = (k * seq + row.p.length + j - 1) * width;
        let best = 0;
        for (let v = 1; v < V; v++) if (data[at + v] > data[at + best]) best = v;
        return best;
      }));
    }
  }
  return out;
}

const share = (xs: boolean[]) => xs.filter(Boolean).length / xs.length;

/**
 * One chunk of cases: scores on `measured`, the loc answers' argmax on `measured` and on `reference`
 * (the unedited model: the checkpoint without edits for method none, the stack before the case's edit).
 */
export async function evaluateZsre(measured: LoadedModel, reference: LoadedModel | number[][], cases: ZsreCase[], isCancelled?: () => boolean): Promise<ZsreResult[]> {
  const scores = await scoreAnswers(measured, cases.flatMap(zsrePairs), { isCancelled });
  const locPairs = cases.map((c) => zsrePairs(c)[2]);
  const after = await teacherForcedArgmax(measured, locPairs, isCancelled);
  const before = Array.isArray(reference) ? reference : reference === measured ? after : await teacherForcedArgmax(reference, locPairs, isCancelled);
  return cases.map((c, i) => {
    const [eff, gen, loc] = scores.slice(3 * i, 3 * i + 3);
    return {
      caseId: c.caseId,
      ...(c.subject ? { subject: c.subject } : {}),
      src: c.src,
      alt: c.alt,
      efficacy: share(eff.tokenTop),
      generalisation: share(gen.tokenTop),
      locality: share(after[i].map((t, j) => t === before[i][j])),
      locAnswer: share(loc.tokenTop),
    };
  });
}

const pct = (xs: number[]) => (xs.length ? (100 * xs.reduce((a, b) => a + b, 0)) / xs.length : NaN);

export function summarizeZsre(results: ZsreResult[]): ZsreSummary {
  return {
    version: ZSRE_VERSION,
    cases: results.length,
    efficacy: pct(results.map((r) => r.efficacy)),
    generalisation: pct(results.map((r) => r.generalisation)),
    locality: pct(results.map((r) => r.locality)),
    locAnswer: pct(results.map((r) => r.locAnswer)),
  };
}
