// One sequential-editing job for every front end (its settings: diagnostics/plugins/sequential.ts): check the inputs against SEQUENTIAL_DESCRIPTOR's
// settings → read the requests → runSequential (diagnostics/sequential.ts) → the result. The CLI
// (`mechedit sequential`) and the engine ('lifelong/run') are adapters: flags or request fields
// in, the same bounds and errors out, each naming the neutral field ('batch', 'worldCounterfactuals';
// the CLI shows --batch, --world-counterfactuals; its --requests is the setting 'requestsFile').
//
// The run edits a stack of its own over the unedited model (runSequential makes it on
// model.bare()): no caller's stack is read or changed.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { badInput } from '../errors';
import type { LoadedModel } from '../runtime/model';
import type { ConsolidationPolicy } from '../edits/consolidate';
import { resolveSettings, type SettingContext, type Settings } from '../methods/settings';
import { SEQUENTIAL_DESCRIPTOR, SEQUENTIAL_EDIT_SETTINGS, SEQUENTIAL_METHODS, SEQUENTIAL_SETTINGS } from '../diagnostics/plugins/sequential';
import { FACT_EDITORS } from '../methods/factEditors';
import { runSequential, type SequentialHooks, type SequentialResult } from '../diagnostics/sequential';
import { readSequentialRequests } from '../diagnostics/sequentialData';

/** exact | off | svd:TOL (TOL in [0, 1)); exact is the stack's own default (undefined). */
export function parseConsolidation(text: unknown, field = 'consolidate'): ConsolidationPolicy | undefined {
  if (text === undefined || text === null || text === 'exact') return undefined;
  if (text === 'off') return { mode: 'off' };
  const m = typeof text === 'string' ? /^svd:(.+)$/.exec(text) : null;
  const tolerance = m ? Number(m[1]) : NaN;
  if (!(tolerance >= 0 && tolerance < 1)) throw badInput(`${field} must be exact, off or svd:TOL with TOL in [0, 1), got ${JSON.stringify(text)}`, { field, hint: 'For example svd:0.01 (1 % relative Frobenius error per module).' });
  return { mode: 'svd', tolerance };
}

export interface SequentialJobInput {
  /** Raw settings of the run by neutral name (SEQUENTIAL_SETTINGS): CLI strings or JSON values. */
  settings: Record<string, unknown>;
  /** Raw per-edit settings (SEQUENTIAL_EDIT_SETTINGS). */
  edit?: Record<string, unknown>;
  /** How errors name the per-edit settings: '' (the CLI's flat flags) or 'settings.' (the engine's nested object). */
  editPrefix?: string;
  /** The run folder. */
  out: string;
  /** Continue the run in `out`. */
  resume?: boolean;
  /** The output gate's force: write into a folder that is not empty and is not a run's (outputs.ts FORCE_SETTING). */
  force?: boolean;
}

export interface CheckedSequentialInput {
  method: string;
  batch: number;
  every: number;
  requestsFile?: string;
  worldCounterfactuals?: number;
  consolidation?: ConsolidationPolicy;
  /** The per-edit settings given, checked (left out: the method's own rules). */
  edit: Settings;
}

/** The checks that need no model but its layer count (`c`): the CLI runs them before opening the model. */
export function checkSequentialInput(input: Pick<SequentialJobInput, 'settings' | 'edit' | 'editPrefix'>, c: SettingContext = {}): CheckedSequentialInput {
  const s = resolveSettings(SEQUENTIAL_SETTINGS, input.settings, c);
  if ((s.requestsFile === undefined) === (s.worldCounterfactuals === undefined)) {
    throw badInput('Give the requests (a file) or a number of world counterfactuals: one of the two', { field: 'requestsFile', hint: 'A file of fact requests, or N of the bundled world\'s counterfactuals.' });
  }
  const file = s.requestsFile as string | undefined;
  if (file !== undefined && !fs.existsSync(file)) throw badInput('The requests file is not there', { file: path.resolve(file), field: 'requestsFile' });
  const single = FACT_EDITORS.find((f) => f.descriptor.id === s.method)!.descriptor;
  if (single.kind === 'fact' && s.batch !== 1) throw badInput(`batch must be 1 for ${single.label} (it edits one fact at a time), got ${s.batch}`, { field: 'batch', hint: `Use ${FACT_EDITORS.filter((f) => f.descriptor.kind === 'batch' && f.descriptor.capabilities?.sequential).map((f) => f.descriptor.label).join(' or ')} for batches.` });
  const prefix = input.editPrefix ?? '';
  const specs = SEQUENTIAL_EDIT_SETTINGS.map((x) => ({ ...x, name: `${prefix}${x.name}` }));
  const given = Object.fromEntries(Object.entries(input.edit ?? {}).map(([k, v]) => [`${prefix}${k}`, v]));
  const edit = Object.fromEntries(Object.entries(resolveSettings(specs, given, c)).filter(([, v]) => v !== undefined).map(([k, v]) => [k.slice(prefix.length), v]));
  return {
    method: s.method as string, batch: s.batch as number, every: s.every as number, requestsFile: file,
    worldCounterfactuals: s.worldCounterfactuals as number | undefined, consolidation: parseConsolidation(s.consolidate), edit,
  };
}

export interface SequentialJobResult extends SequentialResult, CheckedSequentialInput {}

/** Checks, reads the requests and runs (or, with resume, continues) a sequential run on `model`'s unedited checkpoint. */
export async function runSequentialJob(model: LoadedModel, input: SequentialJobInput, hooks: SequentialHooks = {}): Promise<SequentialJobResult> {
  const checked = checkSequentialInput(input, { layers: model.dims.layers });
  const requests = checked.requestsFile === undefined ? undefined : readSequentialRequests(checked.requestsFile);
  const r = await runSequential(model, {
    method: checked.method, requests, worldCounterfactuals: checked.worldCounterfactuals, batch: checked.batch, every: checked.every,
    out: input.out, resume: input.resume === true, force: input.force === true, consolidation: checked.consolidation, settings: checked.edit,
  }, hooks);
  return { ...checked, ...r };
}

export { SEQUENTIAL_DESCRIPTOR, SEQUENTIAL_EDIT_SETTINGS, SEQUENTIAL_METHODS, SEQUENTIAL_SETTINGS };
