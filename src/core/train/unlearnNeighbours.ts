// The neighbour sets of an unlearning run's forget target, measured in the same run: when the
// forget material is an ORT target folder (Target/<n>_<Name>/, e.g. the bundled model's
// eval/ort/1_Veltrazine/), its neighbor_*.json items — facts about the target's neighbours, which
// unlearning should leave alone — scored per form of expression with ORT's own formulas
// (ortItems, scoreOrtItems and tallyForms: the functions `mechedit ort` measures with):
// loss_prob = mean over items of exp(−mean token NLL) of " " + answer, and token accuracy
// (teacher-forced top-1 of each answer token). Before: the model the edit was trained from; after:
// with the edit. The retain set (eval/unlearn/retain.jsonl) is what training kept; these are not
// trained on, so they show what the retain figure does not.

import * as fs from 'node:fs';
import type { LoadedModel } from '../runtime/model';
import { ortItems, scoreOrtItems, tallyForms, type FormScore } from './ortItems';

export interface NeighbourRow {
  form: string;
  items: number;
  before: Omit<FormScore, 'items'>;
  after: Omit<FormScore, 'items'>;
}

export interface NeighbourFigures {
  /** The target's name (the folder's). */
  target: string;
  /** One row per neighbour form, in ORT's order. */
  rows: NeighbourRow[];
}

/** A forget source that is an ORT target folder with neighbour items: those items, else undefined. */
export function neighbourItems(model: LoadedModel, forget: string): { target: string; items: ReturnType<typeof ortItems>['items'] } | undefined {
  if (!fs.existsSync(forget) || !fs.statSync(forget).isDirectory()) return undefined;
  const { name, items } = ortItems(model, forget);
  const neighbours = items.filter((i) => i.set === 'neighbor');
  return neighbours.length ? { target: name, items: neighbours } : undefined;
}

async function scores(model: LoadedModel, items: ReturnType<typeof ortItems>['items'], isCancelled?: () => boolean) {
  return tallyForms(items, await scoreOrtItems(model, items, isCancelled));
}

/** The neighbour forms' figures on `before` and `after` (ORT's formulas); rows in the order first met. */
export async function measureNeighbours(before: LoadedModel, after: LoadedModel, set: { target: string; items: ReturnType<typeof ortItems>['items'] }, isCancelled?: () => boolean): Promise<NeighbourFigures> {
  const b = await scores(before, set.items, isCancelled);
  const a = await scores(after, set.items, isCancelled);
  const rows = [...b].map(([key, x]) => {
    const y = a.get(key)!;
    return { form: key.split('\u0000')[1], items: x.items, before: { lossProb: x.lossProb, tokenAccuracy: x.tokenAccuracy }, after: { lossProb: y.lossProb, tokenAccuracy: y.tokenAccuracy } };
  });
  return { target: set.target, rows };
}
