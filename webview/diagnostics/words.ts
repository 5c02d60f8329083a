// What the Diagnostics panel says it measures, in words (no DOM: the unit tests import it in Node):
// the mode line for each mode the panel offers, and the notice for a run on a stack that holds no
// case's edit (instead of a bare 0 → 0).

import type { StackMatch } from '../../src/protocol/diagnostics';

/** The enabled edits as words: "the 2 enabled edits (a, b)", or "no edit (none is enabled)". */
export function editsText(labels: string[]): string {
  if (!labels.length) return 'no edit (none is enabled)';
  return `the ${labels.length} enabled edit${labels.length === 1 ? '' : 's'} (${labels.join(', ')})`;
}

/**
 * What EVOKE / FINE-KED / the knowledge probes compare in the mode `method` ('none' = the edit
 * stack as it is; else a per-case fact editor, `label` as users know it, `layer` where it takes one).
 */
export function modeLine(method: string, labels: string[], label?: string, layer?: string): string {
  if (method === 'none') {
    if (!labels.length) return 'EVOKE / FINE-KED compare: before = the model without edits; after = the same model, as no edit is enabled: nothing changes. Apply edits, or choose "Each case\'s own … edit" to measure a method.';
    return `EVOKE / FINE-KED compare: before = the model without edits; after = the model with ${editsText(labels)}. Each case is scored on its own requested fact: only the cases whose edit is in the stack can show efficacy; the others show what the stack does to facts it was not made for.`;
  }
  const on = labels.length ? `on top of ${editsText(labels)}` : 'on the model without edits';
  return `EVOKE / FINE-KED compare: before = the model without edits; after = for each case, its own ${label ?? method} edit${layer ? ` (${layer})` : ''} computed ${on}, applied for that case alone, scored, then removed.`;
}

/** ORT and the knowledge probes, which the mode does not change for ORT. */
export function otherLines(labels: string[]): string[] {
  return [
    `ORT compares the model without edits (before) with the model with ${editsText(labels)} (after).`,
    'Knowledge probes compare the new fact stated in the prompt on the model without edits (blue) with the edit in the weights (orange); with the edit stack, each enabled edit on the cases it matches.',
  ];
}

/** EVOKE's and FINE-KED's figures that score a case's own requested fact: without the case's edit they measure nothing. */
export const EDIT_TASKS: Record<'evoke' | 'fine-ked', string[]> = {
  evoke: ['efficacy', 'paraphrase', 'multihop', 'prefix'],
  'fine-ked': ['efficacy', 'paraphrase'],
};

/** A run on the stack that matched no case: why its efficacy figures are not results, and what to do. Undefined when some case matched. */
export function noMatchText(tool: 'EVOKE' | 'FINE-KED', m: StackMatch | undefined): string | undefined {
  if (!m || m.matching > 0) return undefined;
  const held = m.edits.length ? `the stack's ${m.edits.length} applied edit${m.edits.length === 1 ? '' : 's'} (${m.edits.join(', ')})` : 'the stack (no edit was applied)';
  const what = tool === 'EVOKE' ? 'Efficacy, paraphrase, multi-hop and prefix distraction' : 'Efficacy and paraphrase';
  return `None of the ${m.cases} ${tool} cases has its edit in ${held}. ${what} score each case's own requested fact, which the stack does not hold: they are not measured here (not 0 → 0). The other figures show what the stack does to facts it was not made for. To measure a method, choose "Each case's own … edit"; to measure one edit, use Diagnose This Edit.`;
}

/** A run on the stack that matched some cases: how many. */
export function matchText(m: StackMatch | undefined): string {
  if (!m || !m.matching) return '';
  return ` · ${m.matching} of ${m.cases} cases have their edit in the stack`;
}
