// `mechedit probes` and the Diagnostics panel's Knowledge probes: the probes of probes.ts over a cases
// file, grouped per edit. Method 'none' measures the stack as it is against the model without
// edits; with edits in the stack each edit's group holds the cases it matches — a fact edit's
// requests by subject and target (o*), a concept redirection (ROCR) the cases whose subject is the
// concept (their o* taken from the cases file: for the bundled cases, the fact of the concept ROCR
// redirects to) — and without edits one group holds every case (the unedited model: the
// baseline). A fact editor computes each case's own edit on top of the stack (caseEdit.ts). Every
// case also gets the in-context view: the model before the case's edit with the new fact stated.
// With `out`, a run folder: run.json, cases.jsonl, issues.json, summary.json (groups + summary).

import type { LoadedModel } from '../runtime/model';
import type { Edit } from '../edits/editFile';
import { FACT_METHODS, factEditor, type FactMethod } from '../methods/factEditors';
import { badInput, cancelled } from '../errors';
import { readProbeCases, type ProbeCase } from './probesData';
import { framed, probeResult, scoreMeasured, scoreReference, summarizeProbes, viewPairs, DEFAULT_FRAME, type ProbeResult, type ProbeSummary } from './probes';
import { caseRunConfig, fitContext, withCaseEdit, type PerCaseEdits } from './caseEdit';
import { editConcept, editFactRequests } from './diagnoseEdit';
import { openRun, writeIssues, writeSummaryFile } from './runner';
import { formatIssue, type RecordIssue } from './records';
import type { ProbeGroup } from '../../protocol/diagnostics';

export type { ProbeGroup };

/** none: the stack as it is; a fact editor: each case's own edit. */
export const PROBE_METHODS = ['none', ...FACT_METHODS] as const;

export interface ProbesOptions {
  cases: string;
  method: string;
  /** The edits applied to the model (the stack's, in order): their requests pick the cases (method none). */
  edits?: Edit[];
  limit?: number;
  /** The in-context frame ("{}" for the statement). */
  frame?: string;
  out?: string;
  /** Required for the per-case methods. */
  perCase?: PerCaseEdits;
  isCancelled?: () => boolean;
  log?: (message: string) => void;
  onProgress?: (done: number, total: number) => void;
}

export interface ProbesRunResult {
  method: string;
  data: string;
  groups: ProbeGroup[];
  summary: ProbeSummary;
  issues: RecordIssue[];
  seconds: number;
  out?: string;
}

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
  if (!(PROBE_METHODS as readonly string[]).includes(o.method)) throw badInput(`Method "${o.method}" is unknown`, { field: '--method', hint: `Use one of: ${PROBE_METHODS.join(', ')}.` });
  if (o.method !== 'none' && !o.perCase) throw new Error(`runProbes: method ${o.method} needs perCase`);
  const frame = o.frame ?? DEFAULT_FRAME;
  if (!frame.includes('{}')) throw badInput(`The context frame must contain "{}" for the fact statement, got ${JSON.stringify(frame)}`, { field: '--context-frame' });
  const data = readProbeCases(o.cases);
  const issues = [...data.issues];
  for (const i of issues) o.log?.(`skipped: ${formatIssue(i)}`);
  const fits = fitContext(model, data.records, (c) => [...viewPairs(c, framed(frame, c, c.targetNew)), ...viewPairs(c)], (c) => ({ file: o.cases, index: c.caseId }), issues, o.log);
  const all = o.limit ? fits.slice(0, o.limit) : fits;
  const edits = o.edits ?? [];
  const groups: { edit?: ProbeGroup['edit']; note: string; cases: ProbeCase[] }[] =
    o.method !== 'none' ? [{ note: `each case's own ${factEditor(o.method).descriptor.label} edit on top of the stack`, cases: all }]
      : edits.length ? edits.map((e) => ({ edit: { id: e.json.id, label: e.json.label, method: e.json.method }, ...matchEdit(e, fits) })).map((g) => ({ ...g, cases: g.cases.slice(0, o.limit) }))
        : [{ note: 'the model without edits (the baseline: no case\'s edit is applied)', cases: all }];
  const bare = model.edits.size ? model.bare() : model;
  const reference = o.method === 'none' ? bare : o.perCase!.stack.model;
  const total = groups.reduce((n, g) => n + g.cases.length, 0);
  let done = 0;
  const run = o.out ? openRun<ProbeResult>(o.out, caseRunConfig(model, 'probes', 1, { data: o.cases, method: o.method, limit: o.limit, out: o.out, perCase: o.perCase, edits: edits.map((e) => ({ id: e.json.id, ...(e.file ? { file: e.file } : {}) })) }, [o.cases]), false) : undefined;
  if (o.out) writeIssues(o.out, issues);
  const out: ProbeGroup[] = [];
  for (const g of groups) {
    const results: ProbeResult[] = [];
    for (const c of g.cases) {
      if (o.isCancelled?.()) throw cancelled(`Cancelled after ${done} of ${total} cases.`);
      // The unedited model is scored once per case: the R-Loc reference, the new fact in context, and the in-context view.
      const ref = await scoreReference(reference, c, frame, true, o.isCancelled);
      const measure = (m: LoadedModel) => scoreMeasured(m, c, frame, ref, viewPairs(c), o.isCancelled);
      const parametric = o.method === 'none' ? await measure(model)
        : await withCaseEdit(o.method as FactMethod, o.perCase!, { subject: c.subject, prompt: c.prompt, target: c.targetNew }, measure, o.isCancelled);
      const r = probeResult(c, parametric, ref.inContext!);
      results.push(r);
      run?.append([r]);
      o.onProgress?.(++done, total);
    }
    out.push({ ...(g.edit ? { edit: g.edit } : {}), note: g.note, results });
  }
  const summary = summarizeProbes(out.flatMap((g) => g.results));
  const result = { method: o.method, data: o.cases, groups: out, summary, issues, seconds: (performance.now() - t0) / 1000, ...(o.out ? { out: o.out } : {}) };
  if (o.out) writeSummaryFile(o.out, { method: o.method, data: o.cases, frame, groups: out.map((g) => ({ edit: g.edit, note: g.note, summary: summarizeProbes(g.results) })), summary });
  return result;
}
