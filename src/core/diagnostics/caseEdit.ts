// The per-case edits of the diagnostics (EVOKE, FINE-KED): each case's requested rewrite is
// computed with a fact editor (edits/factEditors.ts) on top of the given stack and scored on a
// private copy of the stack with that edit on top; the given stack itself is never changed.

import type { LoadedModel } from '../runtime/model';
import type { EditStack } from '../edits/stack';
import { computeFactEdit, type FactMethod } from '../edits/factEditors';
import type { FactRequest } from '../edits/rome';
import { fileHash, type EditRef, type RunConfig, type RunProgress, type Shard } from './runner';
import { defaultCorpus } from '../edits/stats';

/** What per-case methods need: the stack each case's edit goes on, and the edit settings. */
export interface PerCaseEdits {
  stack: EditStack;
  lti?: boolean;
  corpus?: string[];
  layer?: number;
  layers?: number[];
  /** MEMIT's mom2 weight or AlphaEdit's ridge; absent: the method's default for the model. */
  lambda?: number;
}

export async function withCaseEdit<T>(method: FactMethod, p: PerCaseEdits, req: FactRequest, score: (edited: LoadedModel) => Promise<T>, isCancelled?: () => boolean): Promise<T> {
  const { edit } = await computeFactEdit(method, p.stack.model, p.stack, [req], { lti: p.lti, corpus: p.corpus, layer: p.layer, layers: p.layers, lambda: p.lambda, isCancelled });
  const edited = p.stack.fork();
  edited.apply(edit);
  return score(edited.model);
}

/** The options of a case-by-case diagnostic run (EVOKE, FINE-KED) into a run folder (runner.ts). */
export interface CaseRunOptions {
  data: string;
  /** 'none' measures the model as it is; a fact editor computes each case's own edit (perCase). */
  method: string;
  limit?: number;
  shard?: Shard;
  out: string;
  resume?: boolean;
  onProgress?: (p: RunProgress) => void;
  isCancelled?: () => boolean;
  log?: (message: string) => void;
  /**
   * The edits applied to the model for the whole run (a fixed edit stack; runner.stackRefs): run.json
   * records them, and --resume / merge refuse another stack. A bare id is recorded as the id only.
   */
  edits?: (EditRef | string)[];
  /** A finished run folder of the same tool (e.g. the unedited baseline) to compare with in the report. */
  baseline?: string;
  /** Required for the per-case methods. */
  perCase?: PerCaseEdits;
}

/** run.json of a case-by-case run: what --resume and merge compare (the data files by sha256). */
export function caseRunConfig(model: LoadedModel, tool: string, version: number, o: CaseRunOptions, data: string[]): RunConfig {
  const p = o.perCase;
  return {
    tool,
    version,
    modelFingerprint: model.checkpoint.fingerprint,
    modelPath: model.checkpoint.dir,
    method: `${o.method}${p?.lti ? '+lti' : ''}`,
    data: data.map(fileHash),
    limit: o.limit,
    shard: o.shard,
    edits: (o.edits ?? []).map((e) => (typeof e === 'string' ? { id: e } : e)),
    perCase: p ? { layer: p.layer, layers: p.layers, lambda: p.lambda, corpus: (p.corpus ?? defaultCorpus(model)).map(fileHash) } : undefined,
  };
}
