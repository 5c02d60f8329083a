// `mechedit ort`: form-independent unlearning (the ORT paper): for the forget and neighbour sets
// of a target, per form of expression (fill-in, question-answer, adversarial, multiple choice,
// true/false, character-by-character), loss_prob = mean over items of exp(−mean token NLL) of
// " " + answer after the query (the chat template plus "Answer:" for chat models), and token
// accuracy (teacher-forced top-1 of each answer token). Measured on the unedited model and with
// the edits, reported as the change. Forget: lower is better; neighbour: higher is better.

import type { LoadedModel } from '../runtime/model';
import { pairLength, scoreAnswers, type AnswerScore } from '../analysis/answers';
import type { EditStack } from '../edits/stack';
import { characterForm, readOrtTarget, type OrtItem } from './ortData';
import type { RecordIssue } from './records';

export interface FormScore {
  items: number;
  lossProb: number;
  tokenAccuracy: number;
}

export interface OrtRow {
  set: string;
  form: string;
  before: FormScore;
  after?: FormScore;
}

export interface OrtResult {
  target: string;
  rows: OrtRow[];
  issues: RecordIssue[];
  skipped: number;
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

async function measure(model: LoadedModel, items: OrtItem[], isCancelled?: () => boolean): Promise<Map<string, FormScore>> {
  const tallies = tallyForms(items, await scoreOrtItems(model, items, isCancelled));
  return new Map([...tallies].map(([k, { items: n, lossProb, tokenAccuracy }]) => [k, { items: n, lossProb, tokenAccuracy }]));
}

/**
 * The items runOrt measures in a target folder: its records, plus every fill-in and question
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

export async function runOrt(model: LoadedModel, stack: EditStack, targetDir: string, opts: { isCancelled?: () => boolean; log?: (m: string) => void } = {}): Promise<OrtResult> {
  const { name, items: fits, issues, skipped } = ortItems(model, targetDir);
  // Before: the unedited model; after: the model with the stack's edits (the stack's own view,
  // which the stack is not changed to make).
  const edited = stack.list().some((e) => e.enabled && e.strength !== 0);
  const before = await measure(stack.model.bare(), fits, opts.isCancelled);
  const after = edited ? await measure(stack.model, fits, opts.isCancelled) : undefined;
  const rows = [...before.keys()].map((k) => {
    const [set, form] = k.split('\u0000');
    return { set, form, before: before.get(k)!, after: after?.get(k) };
  });
  rows.sort((a, b) => (a.set === b.set ? 0 : a.set === 'forget' ? -1 : 1));
  return { target: name, rows, issues, skipped };
}
