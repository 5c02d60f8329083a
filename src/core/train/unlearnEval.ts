// What an unlearning edit did, per form of expression (ORT, METHODS.md): for the forget and
// neighbour items of an ORT target folder (every form, plus character by character) ORT's
// loss_prob and top-1, and top-1 on unrelated facts. Measured on the model view it is given (a
// stack's view with the edits to measure): call it once without and once with the edit.
// Used by `mechedit unlearn`, its UIPE sweep, the engine and bench/ort-forms.mjs.
//
// Top-1 of an item: every answer token is the most likely one, teacher-forced (scoreAnswers'
// tokenTop all true). ORT items are asked as runOrt asks them (ortPrompt); other items (JSONL
// forget material, unrelated facts) as their prompt is written.

import type { LoadedModel } from '../runtime/model';
import { pairLength, scoreAnswers, type AnswerPair } from '../runtime/answers';
import { ortItems, ortPrompt, tallyForms } from './ortItems';
import type { RecordIssue } from '../records';
import { canonicalForm, type TrainItem } from './unlearnData';

/** The forms of these tables, in order: ORT's test forms by their `--forms` names, then character by character. */
export const EVAL_FORMS = ['cloze', 'qa', 'adversarial', 'mcq', 'tf', 'char'];

/** An ORT form's name in these tables (fill-in → cloze, …, character-by-character → char). */
export function evalForm(ortForm: string): string {
  return ortForm === 'character-by-character' ? 'char' : canonicalForm(ortForm) ?? ortForm;
}

export interface FormEval {
  /** EVAL_FORMS' name, or a JSONL item's own form. */
  form: string;
  items: number;
  /** Mean over items of exp(mean token log-prob) of " " + answer. Forget: lower is better. */
  lossProb: number;
  /** Share of items whose every answer token is the top-1 (0…1). */
  top1: number;
  /** Share of answer tokens that are the top-1. */
  tokenAccuracy: number;
}

export interface UnlearnEval {
  /** The ORT target folder's name, when one was measured. */
  target?: string;
  forget: FormEval[];
  neighbor: FormEval[];
  unrelated?: FormEval;
  /** Means over the forms but char, each form counting once (undefined where there are none). */
  mean: { forgetLossProb?: number; forgetTop1?: number; neighborLossProb?: number; neighborTop1?: number };
  /** Items left out: bad records of the folder, and items longer than the model's context. */
  issues: RecordIssue[];
  skipped: number;
}

export interface UnlearnEvalOptions {
  /** An ORT target folder (Target/<n>_<Name>/): its forget and neighbour sets. */
  ortDir?: string;
  /** Forget items to measure per their form when there is no ortDir (JSONL material). */
  forget?: TrainItem[];
  unrelated?: TrainItem[];
  isCancelled?: () => boolean;
}

interface Scored extends AnswerPair {
  set: 'forget' | 'neighbor' | 'unrelated';
  form: string;
}

export async function evaluateUnlearn(model: LoadedModel, o: UnlearnEvalOptions): Promise<UnlearnEval> {
  const all: Scored[] = [];
  const issues: RecordIssue[] = [];
  let skipped = 0;
  let target: string | undefined;
  if (o.ortDir) {
    const ort = ortItems(model, o.ortDir);
    target = ort.name;
    issues.push(...ort.issues);
    skipped += ort.skipped;
    for (const i of ort.items) all.push({ set: i.set, form: evalForm(i.form), prompt: ortPrompt(model, i.query), answer: i.answer });
  }
  const own = (set: 'forget' | 'unrelated', items: TrainItem[]) => {
    for (const i of items) {
      const n = pairLength(model, i.prompt, i.answer);
      if (n <= model.dims.maxPositions) all.push({ set, form: set === 'unrelated' ? 'unrelated' : i.form, prompt: i.prompt, answer: i.answer });
      else {
        skipped++;
        issues.push({ file: i.file, index: i.index, field: 'prompt', message: `${n} tokens with its answer, longer than the model's context (${model.dims.maxPositions})` });
      }
    }
  };
  if (!o.ortDir && o.forget) own('forget', o.forget);
  if (o.unrelated) own('unrelated', o.unrelated);

  const scores = await scoreAnswers(model, all, { isCancelled: o.isCancelled });
  const tallies = tallyForms(all, scores);
  const rows = (set: string): FormEval[] =>
    [...tallies]
      .filter(([k]) => k.startsWith(`${set}\u0000`))
      .map(([k, t]) => ({ form: k.slice(set.length + 1), items: t.items, lossProb: t.lossProb, top1: t.top1, tokenAccuracy: t.tokenAccuracy }))
      .sort((a, b) => rank(a.form) - rank(b.form));
  const forget = rows('forget');
  const neighbor = rows('neighbor');
  const unrelated = rows('unrelated')[0];
  // The sub-token form stays out of the means: most small models cannot spell at all (0 with
  // and without an edit), which would only dilute the forms they can answer.
  const mean = (rs: FormEval[], f: (r: FormEval) => number) => {
    const xs = rs.filter((r) => r.form !== 'char').map(f);
    return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : undefined;
  };
  return {
    ...(target ? { target } : {}),
    forget,
    neighbor,
    ...(unrelated ? { unrelated } : {}),
    mean: {
      forgetLossProb: mean(forget, (r) => r.lossProb),
      forgetTop1: mean(forget, (r) => r.top1),
      neighborLossProb: mean(neighbor, (r) => r.lossProb),
      neighborTop1: mean(neighbor, (r) => r.top1),
    },
    issues,
    skipped,
  };
}

/** ORT's forms in table order, other forms after them. */
function rank(form: string): number {
  const i = EVAL_FORMS.indexOf(form);
  return i < 0 ? EVAL_FORMS.length : i;
}
