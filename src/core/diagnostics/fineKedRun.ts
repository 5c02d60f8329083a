// `mechedit fine-ked`: FINE-KED over a data file (fineKedData.ts), per case, as a crash-safe run
// folder (runner.ts: run.json, cases.jsonl, issues.json, summary.json, report.html; resumable,
// shardable, merged by merge.ts). Methods: 'none' measures the model as it is (with the edits
// applied to it) against the checkpoint without edits; a fact editor (rome, memit, alphaedit, dike;
// methods/factEditors.ts) computes each case's edit on top of the stack, scores the case on a fork of
// the stack with that edit, and measures it against the stack before the edit. The caller's stack
// is never changed.

import * as path from 'node:path';
import type { LoadedModel } from '../runtime/model';
import { scoreAnswers, type AnswerScore } from '../runtime/answers';
import { badInput } from '../errors';
import { writeOut } from '../outputs';
import { readFineKed, FINE_LEVELS, type FineKedCase } from './fineKedData';
import { casePairs, contextPairs, evaluateCase, referencePairs, summarizeFineKed, type FineKedResult, type FineKedSummary } from './fineKed';
import { inShard, openRun, processAll, writeIssues, writeSummaryFile, type CaseLineRules, type RunConfig, caseLines } from './runner';
import { formatIssue, refuseEmpty, type RecordIssue } from '../records';
import { bars, BEFORE_AFTER_NOTE, esc, paperSections, renderPage, valueTable, type BarRow } from './report';
import { caseProtocol, METRIC_VERSIONS, type RunProtocol } from './protocol';
import type { FactMethod } from '../methods/factEditors';
import { caseInStack, caseRunConfig, perCaseMethods, fitContext, readBaselineSummary, reportTitle, runMeta, stackMatch, stackMatchText, withCaseEdit, type CaseRunOptions, type StackEdit } from './caseEdit';
import type { StackMatch } from '../../protocol/diagnostics';
import recordsSchema from '../../../schemas/runs/fine-ked.schema.json';

/** The per-case methods and 'context': the new fact stated in the prompt (a reference, no edit). */
export const fineKedMethods = (): string[] => [...perCaseMethods(), 'context'];

export type FineKedOptions = CaseRunOptions;

export interface FineKedRunResult {
  out: string;
  cases: number;
  issues: RecordIssue[];
  summary: FineKedSummary;
  /** Seconds for the whole run (cases already done by an earlier run are not counted). */
  seconds: number;
  /** How the run measured (run.json's protocol). */
  protocol?: RunProtocol;
}

export async function runFineKed(model: LoadedModel, o: FineKedOptions): Promise<FineKedRunResult> {
  const t0 = performance.now();
  if (!fineKedMethods().includes(o.method)) {
    throw badInput(`Method "${o.method}" is unknown`, { field: 'method', hint: `Use one of: ${fineKedMethods().join(', ')}.` });
  }
  if (o.method !== 'none' && o.method !== 'context' && !o.perCase) throw new Error(`runFineKed: method ${o.method} needs perCase`);
  const baseline = o.baseline ? readFineKedBaseline(o.baseline) : undefined;
  const data = readFineKed(o.data);
  const issues = [...data.issues];
  for (const i of issues) o.log?.(`skipped: ${formatIssue(i)}`);
  const selected = inShard(o.limit ? data.records.slice(0, o.limit) : data.records, o.shard);
  const items = fitContext(model, selected, o.method === 'context' ? contextPairs : casePairs, (c) => ({ file: o.data, index: c.caseId }), issues, o.log);
  refuseEmpty(items.length, issues, o.data, 'FINE-KED cases', o.shard && { ...o.shard, records: data.records.length });

  const config = fineKedConfig(model, o);
  const run = openRun<FineKedResult>(o.out, config, !!o.resume, FINE_KED_LINES);
  writeIssues(o.out, issues);
  const results = [...run.done];
  const score = (m: LoadedModel, cases: FineKedCase[], pairs: (c: FineKedCase) => { prompt: string; answer: string }[]) =>
    scoreAnswers(m, cases.flatMap(pairs), { isCancelled: o.isCancelled });
  // Method none measures the model against the checkpoint without edits (the same model when none are applied).
  const bare = model.edits.size ? model.bare() : model;
  await processAll(
    items,
    (c) => String(c.caseId),
    new Set(run.done.map((r) => String(r.caseId))),
    async (chunk) => {
      let scores: AnswerScore[];
      let reference: AnswerScore[];
      if (o.method === 'none') {
        scores = await score(model, chunk, casePairs);
        reference = bare === model ? pickReference(chunk, scores) : await score(bare, chunk, referencePairs);
      } else if (o.method === 'context') {
        scores = await score(model, chunk, contextPairs);
        reference = await score(model, chunk, referencePairs);
      } else {
        const p = o.perCase!;
        reference = await score(p.stack.model, chunk, referencePairs);
        scores = await withCaseEdit(o.method as FactMethod, p, { subject: chunk[0].subject, prompt: chunk[0].prompt, target: chunk[0].targetNew }, (edited) => score(edited, chunk, casePairs), o.isCancelled);
      }
      let at = 0;
      let ref = 0;
      const out = chunk.map((c) => evaluateCase(c, scores.slice(at, (at += casePairs(c).length)), reference.slice(ref, (ref += c.fineGrained.length))));
      results.push(...out);
      return out;
    },
    (r) => run.append(r),
    { onProgress: o.onProgress, isCancelled: o.isCancelled, chunk: o.method === 'none' || o.method === 'context' ? undefined : 1 },
  );
  results.sort((a, b) => a.caseId - b.caseId);
  const summary = writeFineKedSummary(o.out, config, results, baseline, { stackEdits: o.method === 'none' ? o.stackEdits : undefined, baselineDir: o.baseline });
  return { out: o.out, cases: results.length, issues, summary, seconds: (performance.now() - t0) / 1000, ...(config.protocol ? { protocol: config.protocol } : {}) };
}

/** The facts' own scores within casePairs' scores (the reference is the measured model itself). */
function pickReference(chunk: FineKedCase[], scores: AnswerScore[]): AnswerScore[] {
  const out: AnswerScore[] = [];
  let at = 0;
  for (const c of chunk) {
    const n = casePairs(c).length;
    const facts = 2 * c.fineGrained.length;
    for (let k = n - facts; k < n; k += 2) out.push(scores[at + k]);
    at += n;
  }
  return out;
}

function fineKedConfig(model: LoadedModel, o: FineKedOptions): RunConfig {
  const protocol = caseProtocol(o.method === 'context' ? 'none' : o.method, ['requested_rewrite.prompt', 'paraphrase_prompts', 'neighborhood_prompts', 'fine_grained[].prompt', ...(o.method === 'context' ? ['"{prompt} {target_new}.\\n" before every prompt'] : [])], [METRIC_VERSIONS.fineKed, METRIC_VERSIONS.counterfact]);
  return caseRunConfig(model, 'fine-ked', 1, o, [o.data], protocol);
}

/** A line of a FINE-KED cases.jsonl: {caseId, efficacy, facts, …}. */
export const FINE_KED_LINES: CaseLineRules<FineKedResult> = caseLines<FineKedResult>(recordsSchema, (r) => String(r.caseId));

/** The summary of a finished FINE-KED run folder (a baseline for the report). */
export function readFineKedBaseline(dir: string): FineKedSummary {
  return readBaselineSummary(dir, 'fine-ked', 'summary', 'FINE-KED summary', (s) => typeof (s as FineKedSummary | undefined)?.levels === 'object') as FineKedSummary;
}

/** The figures of a summary as rows (× 100), with a baseline's as "before". */
export function fineKedRows(s: FineKedSummary, b?: FineKedSummary): BarRow[] {
  const row = (label: string, get: (x: FineKedSummary) => number) => ({ label, value: get(s), ...(b ? { before: get(b) } : {}) });
  return [
    row('efficacy (P(o*) > P(o))', (x) => x.efficacy.success),
    row('efficacy top-1', (x) => x.efficacy.top1),
    ...(s.paraphrase.cases ? [row('paraphrase', (x) => x.paraphrase.success), row('paraphrase top-1', (x) => x.paraphrase.top1)] : []),
    ...FINE_LEVELS.filter((l) => s.levels[l].known).map((l) => row(`R-Loc ${l}`, (x) => x.levels[l].rloc)),
    row('R-Loc average', (x) => x.average.rloc),
    ...(s.neighbourhood.cases ? [row('neighbourhood specificity', (x) => x.neighbourhood.success)] : []),
  ];
}

/** FINE-KED's sections of report.html: the summary (against a baseline's), R-Loc per level, the worst cases. */
export function fineKedSections(summary: FineKedSummary, baseline?: FineKedSummary): string[] {
  const rows = fineKedRows(summary, baseline);
  const levels = `<table><tr><th>level</th><th>facts</th><th>known</th><th>R-Loc</th><th>top-1 kept</th><th>P(o′) &gt; P(o*)</th></tr>${FINE_LEVELS.map((l) => {
    const x = summary.levels[l];
    return `<tr><td>${l}</td><td>${x.facts}</td><td>${x.known}</td><td>${x.rloc.toFixed(2)}</td><td>${x.top1.toFixed(2)}</td><td>${x.wins.toFixed(2)}</td></tr>`;
  }).join('')}</table>`;
  const worst = summary.worst.length
    ? `<table><tr><th>case</th><th>edit</th><th>R-Loc</th><th>facts lost</th></tr>${summary.worst.map((w) => `<tr><td>${w.caseId}</td><td>${esc(`${w.subject}: ${w.targetTrue} → ${w.targetNew}`)}</td><td>${w.rloc.toFixed(1)}</td><td>${esc(w.lost.map((f) => `${f.level}: ${f.prompt} ${f.answer}`).join('; ') || '–')}</td></tr>`).join('')}</table>`
    : summary.stack && !summary.stack.matching
      ? `<p>None of the ${summary.stack.cases} cases has its edit in the stack (${summary.stack.edits.length ? `applied: ${esc(summary.stack.edits.join(', '))}` : 'no edit is applied'}): no worst cases to list.</p>`
      : '<p>No case lost any part of a known fact.</p>';
  return [
    `<section><h2>Summary <small>${summary.cases} cases, ${summary.unknown} facts unknown to the reference model</small></h2>${valueTable(rows, !!baseline)}${bars('FINE-KED', rows)}</section>`,
    `<section><h2>R-Loc per level</h2>${levels}</section>`,
    `<section><h2>Worst cases</h2>${worst}</section>`,
    ...paperSections({ counterfact: summary.counterfact }),
  ];
}

/**
 * summary.json and report.html of a run folder from its results. `stackEdits` (method none): the
 * applied edits; the summary records how many cases they match, and its worst cases come only
 * from those cases.
 */
export function writeFineKedSummary(dir: string, config: RunConfig, results: FineKedResult[], baseline?: FineKedSummary, extra: { stackEdits?: StackEdit[]; baselineDir?: string } = {}): FineKedSummary {
  const edits = extra.stackEdits;
  const stack: StackMatch | undefined = edits ? stackMatch(edits, results) : undefined;
  const summary: FineKedSummary = { ...summarizeFineKed(results, edits ? (r) => caseInStack(edits, r) : undefined), ...(stack ? { stack } : {}) };
  const meta = runMeta(config, results.length);
  if (stack) meta['cases whose edit is applied'] = `${stack.matching} of ${stack.cases} (the worst cases come only from these)`;
  const note = `${stack && !stack.matching ? `<strong>${esc(stackMatchText(stack))}</strong><br>` : ''}Figures × 100; higher is better. R-Loc: the share of a same-subject fact's answer tokens still predicted top-1 after the edit, over the facts the model knew before. ${baseline ? BEFORE_AFTER_NOTE : ''}`;
  writeOut(path.join(dir, 'report.html'), renderPage(reportTitle('FINE-KED', config, stack, baseline ? extra.baselineDir : undefined), meta, note, fineKedSections(summary, baseline)));
  writeSummaryFile(dir, { config, cases: results.length, summary, ...(config.protocol ? { protocol: config.protocol } : {}), ...(baseline ? { baseline } : {}) });
  return summary;
}
