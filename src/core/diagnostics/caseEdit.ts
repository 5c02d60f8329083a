// What the case-by-case diagnostics (EVOKE, FINE-KED) share: the per-case edit — each case's
// requested rewrite computed with a fact editor (methods/factEditors.ts) on top of the given stack and
// scored on a private copy of the stack with that edit on top (the given stack is never changed) —
// and the run's options, its run.json record, the context-length check, the report's header lines
// and the baseline reader.

import type { RunProtocol, StackMatch } from '../../protocol/diagnostics';
import { editFactRequests } from './diagnoseEdit';
import { protocolMeta } from './protocol';
import type { LoadedModel } from '../runtime/model';
import type { EditStack } from '../edits/stack';
import { computeFactEdit, FACT_EDITORS, factMethodIds, type FactMethod } from '../methods/factEditors';
import type { FactRequest } from '../edits/rome';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { badInput } from '../errors';
import { editRefText, fileHash, type EditRef, type RunConfig, type RunProgress, type Shard } from './runner';
import { pairLength, type AnswerPair } from '../runtime/answers';
import { formatIssue, type RecordIssue } from '../records';
import { defaultCorpus } from '../edits/stats';
import { readInputText } from '../inputs';

/**
 * The methods a case-by-case diagnostic (EVOKE, FINE-KED, probes) takes: 'none' (the stack as it
 * is) and each fact editor usable as a case's own edit. Every list of them derives from this.
 */
export function perCaseMethods(): string[] {
  return ['none', ...factMethodIds('perCase')];
}

/** What per-case methods need: the stack each case's edit goes on, and the edit settings. */
export interface PerCaseEdits {
  stack: EditStack;
  lti?: boolean;
  corpus?: string[];
  layer?: number;
  layers?: number[];
  /** MEMIT's mom2 weight or AlphaEdit's ridge; absent: the method's default for the model. */
  lambda?: number;
  /** The method's preset (computeFactEdit resolves it; absent: its default preset). */
  preset?: string;
}

export async function withCaseEdit<T>(method: FactMethod, p: PerCaseEdits, req: FactRequest, score: (edited: LoadedModel) => Promise<T>, isCancelled?: () => boolean): Promise<T> {
  const { edit } = await computeFactEdit(method, p.stack.model, p.stack, [req], { lti: p.lti, corpus: p.corpus, layer: p.layer, layers: p.layers, lambda: p.lambda, preset: p.preset, isCancelled });
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
  /**
   * Method none: the stack's applied edits with their fact requests (stackEdits). The run reports
   * how many cases they match (StackMatch); FINE-KED's worst cases come only from those cases.
   */
  stackEdits?: StackEdit[];
}

/** An applied edit as a case-by-case run sees it: its label and the facts it requested. */
export interface StackEdit {
  label: string;
  requests: FactRequest[];
}

/** The applied edits of a stack (enabled, strength ≠ 0, as stackRefs), in order. */
export function stackEdits(stack: EditStack): StackEdit[] {
  return stack.applied().map((e) => ({ label: e.json.label, requests: editFactRequests(e) }));
}

/** Whether a case's requested fact (subject, new target o*) is a request of one of the edits. */
export function caseInStack(edits: StackEdit[], c: { subject: string; targetNew: string }): boolean {
  return edits.some((e) => e.requests.some((r) => r.subject === c.subject && r.target === c.targetNew));
}

/** The edits and how many of `cases` they match (StackMatch). */
export function stackMatch(edits: StackEdit[], cases: { subject: string; targetNew: string }[]): StackMatch {
  return { edits: edits.map((e) => e.label), matching: cases.filter((c) => caseInStack(edits, c)).length, cases: cases.length };
}

/**
 * The StackMatch of shards merged: each shard's summary.json `stack` counts its own cases, so the
 * merged run's is their sum (the edits are the same in every shard: merge checks run.json).
 * Undefined when no shard recorded one (method not none, or no edits given).
 */
export function mergedStackMatch(dirs: string[]): StackMatch | undefined {
  const parts = dirs.map((d) => {
    const file = path.join(d, 'summary.json');
    const s = JSON.parse(readInputText(file, 'run')) as { stack?: StackMatch };
    return s.stack;
  }).filter((x): x is StackMatch => !!x);
  if (!parts.length) return undefined;
  return { edits: parts[0].edits, matching: parts.reduce((n, x) => n + x.matching, 0), cases: parts.reduce((n, x) => n + x.cases, 0) };
}

/**
 * A StackMatch in words, for the CLI: which edits were applied and how many cases they match;
 * none matching says so, and what to do, instead of letting 0 → 0 stand for a result.
 */
export function stackMatchText(m: StackMatch): string {
  const edits = m.edits.length ? `the ${m.edits.length} applied edit${m.edits.length === 1 ? '' : 's'} (${m.edits.join(', ')})` : 'the applied edits (none)';
  if (m.matching) return `${m.matching} of ${m.cases} cases have their own edit among ${edits}; the others measure the stack's effect on facts it was not made for.`;
  return `None of the ${m.cases} cases has its own edit among ${edits}: efficacy and paraphrase here measure edits the stack does not hold, not the stack. Apply the edits of these cases, or give --method (a fact editor) to edit each case.`;
}

/**
 * What a run measured, in words, for report.html's title: "the model without edits", "the edit
 * stack (2 edits: a, b)", or "each case's own ROME edit" (`label` names a method as users know it).
 */
export function measuredText(config: Pick<RunConfig, 'method' | 'edits'>, stack?: StackMatch, label: (method: string) => string = methodLabel): string {
  const [method, lti] = config.method.split('+');
  if (method === 'context') return 'the new fact stated in the prompt (no edit)';
  if (method !== 'none') return `each case's own ${label(method)}${lti ? ' + LTI' : ''} edit`;
  const names = stack?.edits ?? (config.edits ?? []).map((e) => e.id);
  if (!names.length) return 'the model without edits';
  return `the edit stack (${names.length} edit${names.length === 1 ? '' : 's'}: ${names.join(', ')})`;
}

/** run.json of a case-by-case run: what --resume and merge compare (the data files by sha256). */
export function caseRunConfig(model: LoadedModel, tool: string, version: number, o: CaseRunOptions, data: string[], protocol?: RunProtocol): RunConfig {
  const p = o.perCase;
  return {
    tool,
    version,
    modelFingerprint: model.checkpoint.fingerprint,
    modelPath: model.checkpoint.dir,
    method: `${o.method}${p?.lti ? '+lti' : ''}`,
    data: data.map((f) => fileHash(f)),
    limit: o.limit,
    shard: o.shard,
    edits: (o.edits ?? []).map((e) => (typeof e === 'string' ? { id: e } : e)),
    perCase: p ? { layer: p.layer, layers: p.layers, lambda: p.lambda, preset: p.preset, corpus: (p.corpus ?? defaultCorpus(model)).map((f) => fileHash(f, 'text')) } : undefined,
    ...(protocol ? { protocol } : {}),
  };
}

/**
 * The items whose every prompt + answer fits the model's context; each other one is reported in
 * `issues` like a bad record (file, case id, field "prompt") and logged, and the run goes on.
 */
export function fitContext<T>(model: LoadedModel, items: T[], pairs: (t: T) => AnswerPair[], where: (t: T) => { file: string; index: number }, issues: RecordIssue[], log?: (m: string) => void): T[] {
  return items.filter((t) => {
    const longest = Math.max(0, ...pairs(t).map((p) => pairLength(model, p.prompt, p.answer)));
    if (longest <= model.dims.maxPositions) return true;
    const issue = { ...where(t), field: 'prompt', message: `${longest} tokens with its answer, longer than the model's context (${model.dims.maxPositions})` };
    issues.push(issue);
    log?.(`skipped: ${formatIssue(issue)}`);
    return false;
  });
}

/** A fact editor as users know it ("AlphaEdit", not "alphaedit"). */
export const methodLabel = (method: string) => FACT_EDITORS.find((f) => f.descriptor.id === method)?.descriptor.label ?? method.toUpperCase();

/**
 * report.html's title: the tool, what "after" measured and, against a baseline, what "before"
 * measured (read from the baseline folder's summary.json config), e.g. "EVOKE — the edit stack
 * (1 edit: x) vs the model without edits". Never the bare method id ("EVOKE — none").
 */
export function reportTitle(tool: string, config: RunConfig, stack?: StackMatch, baselineDir?: string): string {
  const after = measuredText(config, stack);
  if (baselineDir === undefined) return `${tool} — ${after}`;
  let before = 'the baseline run';
  try {
    const c = (JSON.parse(readInputText(path.join(baselineDir, 'summary.json'), 'config', 'baseline')) as { config?: Pick<RunConfig, 'method' | 'edits'> }).config;
    if (c && typeof c.method === 'string') before = measuredText(c);
  } catch {
    // the baseline's summary was read and checked before the run; a failure here only shortens the title
  }
  return `${tool} — ${after} vs ${before}`;
}

/** The header lines of a run's report.html: model, method, data, cases, shard, edit stack, per-case settings. */
export function runMeta(config: RunConfig, cases: number): Record<string, string> {
  const meta: Record<string, string> = {
    model: `${config.modelPath} (fingerprint ${config.modelFingerprint})`,
    method: config.method,
    data: config.data.map((d) => path.basename(d.file)).join(', '),
    cases: String(cases),
  };
  if (config.shard) meta.shard = `${config.shard.index}/${config.shard.count}`;
  if (config.edits?.length) meta.edits = config.edits.map(editRefText).join(', ');
  const pc = config.perCase;
  if (pc) meta['per-case edits'] = [pc.layer !== undefined ? `layer ${pc.layer}` : '', pc.layers ? `layers ${pc.layers.join(',')}` : '', pc.lambda !== undefined ? `λ ${pc.lambda}` : '', pc.preset ? `preset ${pc.preset}` : '', pc.corpus ? `corpus ${pc.corpus.map((c) => path.basename(c.file)).join(', ')}` : ''].filter(Boolean).join(' · ') || "the model's defaults";
  return { ...meta, ...protocolMeta(config.protocol) };
}

/**
 * `key` of a finished run folder's summary.json (a baseline for the report); errors name the file
 * and --baseline, and say which folder to give.
 */
export function readBaselineSummary(dir: string, tool: string, key: string, what: string, ok: (x: unknown) => boolean): unknown {
  const file = path.join(dir, 'summary.json');
  const hint = `Give the --out folder of a finished ${tool} run.`;
  if (!fs.existsSync(file)) throw badInput('The baseline folder has no summary.json', { file: dir, field: 'baseline', hint });
  const text = readInputText(file, 'config', 'baseline');
  let value: unknown;
  try {
    value = (JSON.parse(text) as Record<string, unknown> | null)?.[key];
  } catch (e) {
    throw badInput(`The baseline's summary.json is unreadable: ${(e as Error).message}`, { file, field: 'baseline' });
  }
  if (!ok(value)) throw badInput(`The baseline's summary.json has no ${what}`, { file, field: 'baseline', hint });
  return value;
}
