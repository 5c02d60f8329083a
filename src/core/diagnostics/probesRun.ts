// `mechedit probes` and the Diagnostics panel's Knowledge probes: the probes of probes.ts over a cases
// file, grouped per edit. Method 'none' measures the stack as it is against the model without
// edits; with edits in the stack each edit's group holds the cases it matches — a fact edit's
// requests by subject and target (o*), a concept redirection (ROCR) the cases whose subject is the
// concept (their o* taken from the cases file: for the bundled cases, the fact of the concept ROCR
// redirects to) — and without edits one group holds every case (the unedited model: the
// baseline). A fact editor computes each case's own edit on top of the stack (caseEdit.ts). Every
// case also gets the in-context view: the model before the case's edit with the new fact stated.
// A crash-safe run folder (runner.ts): run.json, cases.jsonl (one {group, …ProbeResult} line per
// case: `group` is the index of its group), issues.json, summary.json (the groups' edit, note and
// summary, and the summary of all), results.json (the groups with their results); --resume
// continues it, --shard i/n takes cases i, i+n, … of the groups' cases in order.

import type { LoadedModel } from '../runtime/model';
import type { Edit } from '../edits/editFile';
import * as path from 'node:path';
import { factEditor, type FactMethod } from '../methods/factEditors';
import { badInput } from '../errors';
import { writeOut } from '../outputs';
import { readProbeCases, type ProbeCase } from './probesData';
import { framed, probeResult, scoreMeasured, scoreReference, summarizeProbes, viewPairs, DEFAULT_FRAME, type ProbeResult, type ProbeSummary } from './probes';
import { caseProtocol, METRIC_VERSIONS } from './protocol';
import { caseRunConfig, fitContext, perCaseMethods, withCaseEdit, type PerCaseEdits } from './caseEdit';
import { editConcept, editFactRequests } from './diagnoseEdit';
import { inShard, openRun, processAll, writeIssues, writeSummaryFile, type CaseLineRules, type RunConfig, type RunProgress, type Shard, caseLines } from './runner';
import { formatIssue, refuseEmpty, type RecordIssue } from '../records';
import type { ProbeGroup } from '../../protocol/diagnostics';
import recordsSchema from '../../../schemas/runs/probes.schema.json';

export type { ProbeGroup };

export interface ProbesOptions {
  cases: string;
  method: string;
  /** The edits applied to the model (the stack's, in order): their requests pick the cases (method none). */
  edits?: Edit[];
  limit?: number;
  shard?: Shard;
  /** The in-context frame ("{}" for the statement). */
  frame?: string;
  /** The run folder. */
  out: string;
  resume?: boolean;
  /** Required for the per-case methods. */
  perCase?: PerCaseEdits;
  isCancelled?: () => boolean;
  log?: (message: string) => void;
  onProgress?: (p: RunProgress) => void;
}

export interface ProbesRunResult {
  method: string;
  data: string;
  groups: ProbeGroup[];
  summary: ProbeSummary;
  issues: RecordIssue[];
  seconds: number;
  out: string;
}

/** A line of a probes cases.jsonl: a ProbeResult with the index of its group. */
type ProbeLine = ProbeResult & { group: number };

export const PROBE_LINES: CaseLineRules<ProbeLine> = caseLines<ProbeLine>(recordsSchema, (r) => `${r.group}:${r.caseId}`);

/** The cases an edit's request matches, and what that means in words. */
export function matchEdit(edit: Edit, cases: ProbeCase[]): { cases: ProbeCase[]; note: string } {
  const concept = editConcept(edit);
  if (concept) {
    const hit = cases.filter((c) => c.subject === concept);
    const to = typeof edit.json.request?.harmless === 'string' ? ` → ${edit.json.request.harmless}` : '';
    return { cases: hit, note: `concept redirection ${concept}${to}: the cases whose subject is ${concept} (${hit.length} in the file), o* as the cases file gives it (for the bundled cases: the redirect target's fact); its R-Loc counts the concept's other facts, which a redirection is meant to change too` };
  }
  const reqs = editFactRequests(edit);
  const hit = cases.filter((c) => reqs.some((r) => r.subject === c.subject && r.target === c.targetNew));
  const near = cases.filter((c) => !hit.includes(c) && reqs.some((r) => r.subject === c.subject));
  const why = near.length ? `; ${near.length} case(s) of the same subject have another o* (${near.map((c) => c.targetNew).join(', ')}) and are left out` : '';
  return { cases: hit, note: reqs.length ? `${hit.length} case(s) whose subject and o* match the edit's request${why}` : 'the edit records no fact request or concept: nothing to probe' };
}

export async function runProbes(model: LoadedModel, o: ProbesOptions): Promise<ProbesRunResult> {
  const t0 = performance.now();
  if (!perCaseMethods().includes(o.method)) throw badInput(`Method "${o.method}" is unknown`, { field: 'method', hint: `Use one of: ${perCaseMethods().join(', ')}.` });
  if (o.method !== 'none' && !o.perCase) throw new Error(`runProbes: method ${o.method} needs perCase`);
  const frame = o.frame ?? DEFAULT_FRAME;
  if (!frame.includes('{}')) throw badInput(`The context frame must contain "{}" for the fact statement, got ${JSON.stringify(frame)}`, { field: 'contextFrame' });
  const data = readProbeCases(o.cases);
  const issues = [...data.issues];
  for (const i of issues) o.log?.(`skipped: ${formatIssue(i)}`);
  const fits = fitContext(model, data.records, (c) => [...viewPairs(c, framed(frame, c, c.targetNew)), ...viewPairs(c)], (c) => ({ file: o.cases, index: c.caseId }), issues, o.log);
  const groups = probeGroups(o, fits);
  const items = inShard(groups.flatMap((g, group) => g.cases.map((c) => ({ group, c }))), o.shard);
  refuseEmpty(items.length, issues, o.cases, 'probe cases', o.shard && { ...o.shard, records: fits.length });
  const bare = model.edits.size ? model.bare() : model;
  const reference = o.method === 'none' ? bare : o.perCase!.stack.model;
  const config = probesConfig(model, o);
  const run = openRun<ProbeLine>(o.out, config, !!o.resume, PROBE_LINES);
  writeIssues(o.out, issues);
  const lines = [...run.done];
  await processAll(items, (i) => `${i.group}:${i.c.caseId}`, new Set(run.done.map(PROBE_LINES.key)), async ([{ group, c }]) => {
    // The unedited model is scored once per case: the R-Loc reference, the new fact in context, and the in-context view.
    const ref = await scoreReference(reference, c, frame, true, o.isCancelled);
    const measure = (m: LoadedModel) => scoreMeasured(m, c, frame, ref, viewPairs(c), o.isCancelled);
    const parametric = o.method === 'none' ? await measure(model)
      : await withCaseEdit(o.method as FactMethod, o.perCase!, { subject: c.subject, prompt: c.prompt, target: c.targetNew }, measure, o.isCancelled);
    const line = { group, ...probeResult(c, parametric, ref.inContext!) };
    lines.push(line);
    return [line];
  }, (r) => run.append(r), { chunk: 1, onProgress: o.onProgress, isCancelled: o.isCancelled });
  const out = writeProbesSummary(o.out, config, frame, groups, lines);
  return { method: o.method, data: o.cases, groups: out, summary: summarizeProbes(out.flatMap((g) => g.results)), issues, seconds: (performance.now() - t0) / 1000, out: o.out };
}

interface PlannedGroup {
  edit?: ProbeGroup['edit'];
  note: string;
  cases: ProbeCase[];
}

/** The groups of a run: each case's own edit (all cases), else one group per edit of the stack (the cases it matches), else all cases on the unedited model. */
function probeGroups(o: ProbesOptions, fits: ProbeCase[]): PlannedGroup[] {
  const all = o.limit ? fits.slice(0, o.limit) : fits;
  const edits = o.edits ?? [];
  if (o.method !== 'none') return [{ note: `each case's own ${factEditor(o.method).descriptor.label} edit on top of the stack`, cases: all }];
  if (!edits.length) return [{ note: 'the model without edits (the baseline: no case\'s edit is applied)', cases: all }];
  return edits.map((e) => ({ edit: { id: e.json.id, label: e.json.label, method: e.json.method }, ...matchEdit(e, fits) })).map((g) => ({ ...g, cases: g.cases.slice(0, o.limit) }));
}

function probesConfig(model: LoadedModel, o: ProbesOptions): RunConfig {
  const edits = (o.edits ?? []).map((e) => ({ id: e.json.id, ...(e.file ? { file: e.file } : {}) }));
  const templates = ['requested_rewrite.prompt', 'forms', 'reversal.prompts', 'ripple[].prompt', 'same_subject[].prompt', `the in-context frame before every prompt (${JSON.stringify(o.frame ?? DEFAULT_FRAME)})`];
  const protocol = caseProtocol(o.method, templates, [METRIC_VERSIONS.probes, METRIC_VERSIONS.counterfact, METRIC_VERSIONS.mquake]);
  return caseRunConfig(model, 'probes', 2, { data: o.cases, method: o.method, limit: o.limit, shard: o.shard, out: o.out, perCase: o.perCase, edits }, [o.cases], protocol);
}

/**
 * The groups with their results, as summary.json and results.json record them: in the order of
 * the group's `cases` when given (a run), else by case id (a merge).
 */
export function writeProbesSummary(dir: string, config: RunConfig, frame: string, groups: { edit?: ProbeGroup['edit']; note: string; cases?: ProbeCase[] }[], lines: ProbeLine[]): ProbeGroup[] {
  const out: ProbeGroup[] = groups.map((g, i) => {
    const at = new Map(g.cases?.map((c, k) => [c.caseId, k]));
    const rank = (l: ProbeLine) => at.get(l.caseId) ?? l.caseId;
    return {
      ...(g.edit ? { edit: g.edit } : {}),
      note: g.note,
      results: lines.filter((l) => l.group === i).sort((a, b) => rank(a) - rank(b)).map(({ group: _, ...r }) => r),
    };
  });
  const summary = summarizeProbes(out.flatMap((g) => g.results));
  writeOut(path.join(dir, 'results.json'), `${JSON.stringify({ method: config.method, cases: config.data[0]?.file, groups: out, summary }, null, 1)}\n`);
  writeSummaryFile(dir, { config, cases: lines.length, method: config.method, data: config.data[0]?.file, frame, ...(config.protocol ? { protocol: config.protocol } : {}), groups: out.map((g) => ({ edit: g.edit, note: g.note, summary: summarizeProbes(g.results) })), summary });
  return out;
}
