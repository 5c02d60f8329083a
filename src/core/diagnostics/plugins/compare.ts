// The Diagnostics panel's comparison for case-by-case runs (EVOKE, FINE-KED): one run on the model
// with every edit disabled, method none, into <out>/before; one on the stack (method none: the
// stack as it is; a fact editor: each case's own edit on top of it) into <out>/after, with
// 'before' as its report's baseline.

import * as path from 'node:path';
import type { EditStack } from '../../edits/stack';
import type { LoadedModel } from '../../runtime/model';
import { methodLabel } from '../caseEdit';
import type { DiagnosticHooks, DiagnosticOptions } from './types';

export { methodLabel };

/**
 * One run of a comparison: the model it measures, its options, the stack whose applied edits it
 * records and matches cases against (absent: no edits, the model without them), the baseline folder.
 */
export type CompareRun<R> = (model: LoadedModel, o: DiagnosticOptions, stack: EditStack | undefined, hooks: DiagnosticHooks, baseline?: string) => Promise<R>;

/** The per-case settings as run (absent for method none): what the panel shows next to the figures. */
export function perCaseShown(o: DiagnosticOptions): { layer?: number; layers?: number[]; lambda?: number; preset?: string } | undefined {
  if (!o.perCase) return undefined;
  return { layer: o.perCase.layer, layers: o.perCase.layers, lambda: o.perCase.lambda, preset: o.perCase.preset };
}

export async function beforeAfter<R>(stack: EditStack, o: DiagnosticOptions, hooks: DiagnosticHooks, run: CompareRun<R>): Promise<{ before: R; after: R }> {
  const phase = (name: string): DiagnosticHooks => ({ ...hooks, onProgress: (p) => hooks.onProgress?.(p, name) });
  const beforeDir = path.join(o.out, 'before');
  const bare = { ...o, method: 'none', lti: false, perCase: undefined, out: beforeDir };
  const before = await run(stack.model.bare(), bare, undefined, phase('before the edits'));
  const after = await run(stack.model, { ...o, out: path.join(o.out, 'after') }, stack, phase(o.perCase ? `with each case's ${methodLabel(o.method)} edit` : 'with the edits'), beforeDir);
  return { before, after };
}
