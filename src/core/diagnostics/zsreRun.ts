// `mechedit zsre`: zsRE token-level accuracy (zsre.ts) over a zsRE request file (zsreData.ts), per
// case, as a crash-safe run folder (runner.ts: run.json, cases.jsonl, issues.json, summary.json,
// report.html; resumable, shardable, merged by merge.ts). Method 'none' measures the model as it
// is against the checkpoint without edits (locality); a fact editor computes each case's edit
// (subject, src with the subject as "{}", alt) on top of the stack and measures it against the stack.

import * as path from 'node:path';
import type { LoadedModel } from '../runtime/model';
import { badInput } from '../errors';
import { writeOut } from '../outputs';
import { readZsre, type ZsreCase } from './zsreData';
import { evaluateZsre, summarizeZsre, zsrePairs, type ZsreResult, type ZsreSummary } from './zsre';
import { inShard, openRun, processAll, writeIssues, writeSummaryFile, type CaseLineRules, type RunConfig, caseLines } from './runner';
import { formatIssue, refuseEmpty, type RecordIssue } from '../records';
import { paperSections, renderPage } from './report';
import type { FactMethod } from '../methods/factEditors';
import { caseRunConfig, perCaseMethods, fitContext, reportTitle, runMeta, withCaseEdit, type CaseRunOptions } from './caseEdit';
import { caseProtocol, METRIC_VERSIONS, type RunProtocol } from './protocol';
import recordsSchema from '../../../schemas/runs/zsre.schema.json';

export interface ZsreRunResult {
  out: string;
  cases: number;
  issues: RecordIssue[];
  summary: ZsreSummary;
  protocol: RunProtocol;
}

export async function runZsre(model: LoadedModel, o: CaseRunOptions): Promise<ZsreRunResult> {
  if (!perCaseMethods().includes(o.method)) throw badInput(`Method "${o.method}" is unknown`, { field: 'method', hint: `Use one of: ${perCaseMethods().join(', ')}.` });
  if (o.method !== 'none' && !o.perCase) throw new Error(`runZsre: method ${o.method} needs perCase`);
  const data = readZsre(o.data);
  const issues = [...data.issues];
  if (o.method !== 'none') {
    // A per-case edit needs the subject (the position ROME-style editors read the key at).
    for (const c of data.records.filter((r) => !r.subject)) issues.push({ file: o.data, index: c.caseId, field: 'subject', message: `method ${o.method} edits the subject: the record has none` });
  }
  for (const i of issues) o.log?.(`skipped: ${formatIssue(i)}`);
  const usable = o.method === 'none' ? data.records : data.records.filter((r) => r.subject);
  const selected = inShard(o.limit ? usable.slice(0, o.limit) : usable, o.shard);
  const items = fitContext(model, selected, zsrePairs, (c) => ({ file: o.data, index: c.caseId }), issues, o.log);
  refuseEmpty(items.length, issues, o.data, 'zsRE cases', o.shard && { ...o.shard, records: usable.length });
  const protocol = caseProtocol(o.method, ['src', 'rephrase', 'loc'], [METRIC_VERSIONS.zsre]);
  const config = caseRunConfig(model, 'zsre', 1, o, [o.data], protocol);
  const run = openRun<ZsreResult>(o.out, config, !!o.resume, ZSRE_LINES);
  writeIssues(o.out, issues);
  const results = [...run.done];
  const bare = model.edits.size ? model.bare() : model;
  await processAll(
    items,
    (c) => String(c.caseId),
    new Set(run.done.map((r) => String(r.caseId))),
    async (chunk: ZsreCase[]) => {
      let out: ZsreResult[];
      if (o.method === 'none') out = await evaluateZsre(model, bare, chunk, o.isCancelled);
      else {
        const c = chunk[0];
        const p = o.perCase!;
        const req = { subject: c.subject!, prompt: c.src.replace(c.subject!, '{}'), target: c.alt };
        out = await withCaseEdit(o.method as FactMethod, p, req, (edited) => evaluateZsre(edited, p.stack.model, chunk, o.isCancelled), o.isCancelled);
      }
      results.push(...out);
      return out;
    },
    (r) => run.append(r),
    { onProgress: o.onProgress, isCancelled: o.isCancelled, chunk: o.method === 'none' ? undefined : 1 },
  );
  results.sort((a, b) => a.caseId - b.caseId);
  const summary = writeZsreSummary(o.out, config, results);
  return { out: o.out, cases: results.length, issues, summary, protocol };
}

/** A line of a zsRE cases.jsonl: {caseId, efficacy, generalisation, locality, locAnswer, …}. */
export const ZSRE_LINES: CaseLineRules<ZsreResult> = caseLines<ZsreResult>(recordsSchema, (r) => String(r.caseId));

/** summary.json and report.html of a run folder from its results. */
export function writeZsreSummary(dir: string, config: RunConfig, results: ZsreResult[]): ZsreSummary {
  const summary = summarizeZsre(results);
  const note = 'Token-level accuracy × 100 (MEMIT / EasyEdit): the share of answer tokens that are the argmax, teacher-forced; locality: the share equal to the unedited model\'s argmax.';
  writeOut(path.join(dir, 'report.html'), renderPage(reportTitle('zsRE', config), runMeta(config, results.length), note, paperSections({ zsre: summary })));
  writeSummaryFile(dir, { config, cases: results.length, summary, ...(config.protocol ? { protocol: config.protocol } : {}) });
  return summary;
}
