// ORT items as both the ORT diagnostic (diagnostics/ort.ts runOrt) and unlearning's evaluation
// (unlearnEval.ts) ask them: the query in the chat template plus "Answer:" for chat models
// (ortPrompt), scored per item, and tallied per set and form of expression.

import type { LoadedModel } from '../runtime/model';
import { pairLength, scoreAnswers, type AnswerScore } from '../runtime/answers';
import { characterForm, readOrtTarget, type OrtItem } from './ortData';
import type { RecordIssue } from '../records';

export interface FormScore {
  items: number;
  lossProb: number;
  tokenAccuracy: number;
}

export function ortPrompt(model: LoadedModel, query: string): string {
  return model.tokenizer.hasChatTemplate ? `${model.tokenizer.applyChatTemplate([{ role: 'user', content: query }])}Answer:` : query;
}

/** A form's scores, plus top-1: the share of items whose every answer token is the argmax (teacher-forced). */
export interface FormTally extends FormScore {
  top1: number;
}

/** Per-item scores of ORT items: " " + answer after ortPrompt(query) (scoreAnswers). */
export function scoreOrtItems(model: LoadedModel, items: OrtItem[], isCancelled?: () => boolean): Promise<AnswerScore[]> {
  return scoreAnswers(model, items.map((i) => ({ prompt: ortPrompt(model, i.query), answer: i.answer })), { isCancelled });
}

/** Scores of items[i] (scores[i]) added up per `${set}\u0000${form}`, in the order first met. */
export function tallyForms(items: { set: string; form: string }[], scores: AnswerScore[]): Map<string, FormTally> {
  const acc = new Map<string, { n: number; lp: number; hit: number; tok: number; all: number }>();
  items.forEach((item, i) => {
    const key = `${item.set}\u0000${item.form}`;
    const a = acc.get(key) ?? { n: 0, lp: 0, hit: 0, tok: 0, all: 0 };
    const hits = scores[i].tokenTop.filter(Boolean).length;
    a.n++;
    a.lp += Math.exp(scores[i].meanLogprob);
    a.hit += hits;
    a.tok += scores[i].tokenTop.length;
    a.all += hits === scores[i].tokenTop.length ? 1 : 0;
    acc.set(key, a);
  });
  return new Map([...acc].map(([k, a]) => [k, { items: a.n, lossProb: a.lp / a.n, tokenAccuracy: a.hit / a.tok, top1: a.all / a.n }]));
}

/**
 * The items runOrt (diagnostics/ort.ts) measures in a target folder: its records, plus every fill-in and question
 * item asked character by character (the sub-token form); items longer than the model's context
 * with their answer are left out, each reported in `issues` and counted in `skipped`.
 */
export function ortItems(model: LoadedModel, targetDir: string): { name: string; items: OrtItem[]; issues: RecordIssue[]; skipped: number } {
  const { name, items: raw, issues } = readOrtTarget(targetDir);
  const all = [...raw, ...raw.filter((i) => i.form === 'fill-in' || i.form === 'question-answer').map(characterForm)];
  const fits: OrtItem[] = [];
  let skipped = 0;
  for (const item of all) {
    const n = pairLength(model, ortPrompt(model, item.query), item.answer);
    if (n <= model.dims.maxPositions) fits.push(item);
    else {
      skipped++;
      issues.push({ file: item.file, index: item.index, field: 'query', message: `${n} tokens with its answer (${item.form}), longer than the model's context (${model.dims.maxPositions})` });
    }
  }
  return { name, items: fits, issues, skipped };
}
