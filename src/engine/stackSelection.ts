// A request that names the edits it runs with (model/causalTrace's `edits`): a fork of the user's
// stack (handlers.ts snapshot) with every other edit reverted on the fork only, so the user's
// stack is never changed and other requests served meanwhile see it as it is.

import type { EditStack } from '../core/edits/stack';
import type { LoadedModel } from '../core/runtime/model';
import type { CausalTraceRun } from '../protocol/model';
import { badInput } from '../core/errors';
import { texts } from './params';

/**
 * The model to run on: `fork` as it is when `ids` is absent, else with only the listed edits (each
 * enabled and scaled as in the stack; [] = none). An id not in the stack is bad input naming it.
 * `edits`: the edits that the model then feeds (enabled, strength ≠ 0), in stack order.
 */
export function selectEdits(fork: EditStack, ids: unknown): { model: LoadedModel; edits: CausalTraceRun['edits'] } {
  if (ids !== undefined && ids !== null) {
    const keep = new Set(texts(ids, 'edits', 0));
    const present = new Set(fork.list().map((e) => e.id));
    const missing = [...keep].filter((id) => !present.has(id));
    if (missing.length) throw badInput(`No edit ${missing.map((id) => JSON.stringify(id)).join(', ')} in the stack (it was reverted?): trace again to run on the stack as it is now`, { field: 'edits' });
    for (const e of fork.list()) if (!keep.has(e.id)) fork.revert(e.id);
  }
  const edits = fork.list().filter((e) => e.enabled && e.strength !== 0).map(({ id, label, strength }) => ({ id, label, strength }));
  return { model: fork.model, edits };
}
