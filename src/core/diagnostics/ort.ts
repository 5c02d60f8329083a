// `mechedit ort`: form-independent unlearning (the ORT paper): for the forget and neighbour sets
// of a target, per form of expression (fill-in, question-answer, adversarial, multiple choice,
// true/false, character-by-character), loss_prob = mean over items of exp(−mean token NLL) of
// " " + answer after the query (the chat template plus "Answer:" for chat models), and token
// accuracy (teacher-forced top-1 of each answer token). Measured on the unedited model and with
// the edits, reported as the change. Forget: lower is better; neighbour: higher is better.

import type { LoadedModel } from '../runtime/model';
import type { EditStack } from '../edits/stack';
import type { OrtItem } from '../train/ortData';
import { ortItems, scoreOrtItems, tallyForms, type FormScore } from '../train/ortItems';
import { refuseEmpty, type RecordIssue } from '../records';

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

async function measure(model: LoadedModel, items: OrtItem[], isCancelled?: () => boolean): Promise<Map<string, FormScore>> {
  const tallies = tallyForms(items, await scoreOrtItems(model, items, isCancelled));
  return new Map([...tallies].map(([k, { items: n, lossProb, tokenAccuracy }]) => [k, { items: n, lossProb, tokenAccuracy }]));
}

export async function runOrt(model: LoadedModel, stack: EditStack, targetDir: string, opts: { isCancelled?: () => boolean; log?: (m: string) => void } = {}): Promise<OrtResult> {
  const { name, items: fits, issues, skipped } = ortItems(model, targetDir);
  refuseEmpty(fits.length, issues, targetDir, `ORT items of target ${name}`);
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
