// `mechedit evoke`: EVOKE's tasks over evoke_main.json (+ evoke_subj_spec.json), per case.
// Methods: 'none' (the model as it is, with whatever edits are applied to it), or per case
// 'rome' / 'memit' (optionally with LTI): compute that case's edit on top of the stack, apply it,
// score the case, revert (apply/revert only swap edit inputs, so this costs the edit itself).

import * as path from 'node:path';
import type { LoadedModel } from '../runtime/model';
import { scoreAnswers, type AnswerPair, type AnswerScore } from '../runtime/answers';
import { badInput } from '../errors';
import { writeOut } from '../outputs';
import { readEvokeMain, readSubjectSpec, type EvokeCase, type SubjectSpecCase } from './evokeData';
import { evaluate, mainTasks, MULTIHOP_SUFFIX, pairsOf, subjectTasks, summarize, type CaseResult, type TaskSummary } from './evoke';
import { counterFactOfEvoke, summarizeCounterFact, type CounterFactSummary } from './counterfact';
import { generateMultiHop, summarizeMultiHop, type MultiHopGenerated, type MultiHopSummary } from './mquake';
import { caseProtocol, METRIC_VERSIONS, type RunProtocol } from './protocol';
import { caseEntropy } from './generationEntropy';
import { inShard, openRun, processAll, writeIssues, writeSummaryFile, type CaseLineRules, type RunConfig, caseLines } from './runner';
import { formatIssue, refuseEmpty, type RecordIssue } from '../records';
import { renderReport } from './report';
import type { FactMethod } from '../methods/factEditors';
import { caseRunConfig, perCaseMethods, fitContext, readBaselineSummary, reportTitle, runMeta, stackMatch, stackMatchText, withCaseEdit, type CaseRunOptions, type PerCaseEdits } from './caseEdit';
import type { StackMatch } from '../../protocol/diagnostics';
import recordsSchema from '../../../schemas/runs/evoke.schema.json';

export const PLANNED_METHODS = ['rocr'];

export type { PerCaseEdits };

export interface EvokeOptions extends CaseRunOptions {
  subjSpec?: string;
  /** Sample each main case's generation_prompts and report CounterFact's generation entropy (slow: ~100 tokens per prompt). */
  generationEntropy?: boolean;
}

export interface EvokeRunResult {
  out: string;
  cases: number;
  issues: RecordIssue[];
  summary: Record<string, TaskSummary>;
  /** CounterFact's ES / PS / NS and magnitudes over the main cases (counterfact.ts). */
  counterfact: CounterFactSummary;
  /** MQuAKE-style multi-hop, teacher-forced and generated (mquake.ts); absent without portability questions. */
  multihop?: MultiHopSummary;
  /** How the run measured (run.json's protocol). */
  protocol?: RunProtocol;
  /** Method none with the stack's edits given: the applied edits and how many main cases they match. */
  stack?: StackMatch;
}

type Item = { kind: 'main'; c: EvokeCase } | { kind: 'subject'; c: SubjectSpecCase };
const itemKey = (i: Item) => `${i.kind}:${i.c.caseId}`;

export async function runEvoke(model: LoadedModel, o: EvokeOptions): Promise<EvokeRunResult> {
  if (!perCaseMethods().includes(o.method)) {
    const planned = PLANNED_METHODS.includes(o.method);
    throw badInput(`Method "${o.method}" is ${planned ? 'not an EVOKE method' : 'unknown'}`, {
      field: 'method',
      hint: planned ? 'ROCR redirects concepts, not facts: measure it with "mechedit ort --edits FILE".' : `Use one of: ${perCaseMethods().join(', ')}.`,
    });
  }
  if (o.method !== 'none' && !o.perCase) throw new Error(`runEvoke: method ${o.method} needs perCase`);
  const baseline = o.baseline ? readBaseline(o.baseline) : undefined; // checked before the run
  const main = readEvokeMain(o.data);
  const subj = o.subjSpec ? readSubjectSpec(o.subjSpec) : { records: [], issues: [] };
  const issues = [...main.issues, ...subj.issues];
  for (const i of issues) o.log?.(`skipped: ${formatIssue(i)}`);
  const limit = (xs: Item[]) => (o.limit ? xs.slice(0, o.limit) : xs);
  const selected = inShard([
    ...limit(main.records.map((c) => ({ kind: 'main' as const, c }))),
    ...limit(subj.records.map((c) => ({ kind: 'subject' as const, c }))),
  ], o.shard);
  // A case with a prompt + answer longer than the model's context cannot be scored: it is
  // reported like a bad record and the run goes on.
  const items = fitContext(model, selected, (i) => pairsOf(i.kind === 'main' ? mainTasks(i.c) : subjectTasks(i.c)), (i) => ({ file: i.kind === 'main' ? o.data : o.subjSpec!, index: i.c.caseId }), issues, o.log);
  refuseEmpty(items.length, issues, o.data, 'EVOKE cases', o.shard && { ...o.shard, records: main.records.length + subj.records.length });

  const config = evokeConfig(model, o);
  const run = openRun<CaseResult>(o.out, config, !!o.resume, CASE_LINES);
  writeIssues(o.out, issues);
  const results = [...run.done];
  await processAll(
    items,
    itemKey,
    new Set(run.done.map((r) => `${r.kind}:${r.caseId}`)),
    async (chunk) => {
      const plans = chunk.map((i) => (i.kind === 'main' ? mainTasks(i.c) : subjectTasks(i.c)));
      const pairs = plans.map(pairsOf);
      const measure = (m: LoadedModel) => measureChunk(m, chunk, pairs.flat(), !!o.generationEntropy, o.isCancelled);
      const { scores, generated, entropies } = o.method === 'none'
        ? await measure(model)
        : await withCaseEdit(o.method as FactMethod, o.perCase!, { subject: chunk[0].c.subject, prompt: chunk[0].c.prompt, target: chunk[0].c.targetNew }, measure, o.isCancelled);
      let at = 0;
      const out = chunk.map((item, k): CaseResult => {
        const tasks = evaluate(plans[k], scores.slice(at, (at += pairs[k].length)));
        return { kind: item.kind, caseId: item.c.caseId, subject: item.c.subject, targetNew: item.c.targetNew, targetTrue: item.c.targetTrue, tasks, ...(generated[k] ? { multihopGenerated: generated[k] } : {}), ...(entropies[k] !== undefined ? { ngramEntropy: entropies[k] } : {}) };
      });
      results.push(...out);
      return out;
    },
    (r) => run.append(r),
    { onProgress: o.onProgress, isCancelled: o.isCancelled, chunk: o.method === 'none' ? undefined : 1 },
  );
  // Method none: which main cases (the ones with an efficacy task) have their edit in the stack.
  const stack = o.method === 'none' && o.stackEdits ? stackMatch(o.stackEdits, results.filter((r) => r.kind === 'main')) : undefined;
  const { tasks: summary, counterfact, multihop } = writeSummary(o.out, config, results, baseline, { stack, baselineDir: o.baseline });
  return { out: o.out, cases: results.length, issues, summary, counterfact, ...(multihop ? { multihop } : {}), ...(config.protocol ? { protocol: config.protocol } : {}), ...(stack ? { stack } : {}) };
}

/** The chunk's answer scores, the greedy answer to each main case's multi-hop question, and (when asked) each main case's generation entropy. */
async function measureChunk(m: LoadedModel, chunk: Item[], pairs: AnswerPair[], entropy: boolean, isCancelled?: () => boolean): Promise<{ scores: AnswerScore[]; generated: (MultiHopGenerated | undefined)[]; entropies: (number | undefined)[] }> {
  const scores = await scoreAnswers(m, pairs, { isCancelled });
  const generated: (MultiHopGenerated | undefined)[] = [];
  const entropies: (number | undefined)[] = [];
  for (const item of chunk) {
    const p = item.kind === 'main' ? item.c.portability : undefined;
    generated.push(p ? await generateMultiHop(m, p.question + MULTIHOP_SUFFIX, p.newAnswer, p.originalAnswer, isCancelled) : undefined);
    entropies.push(entropy && item.kind === 'main' ? await caseEntropy(m, item.c.caseId, item.c.generationPrompts ?? [], isCancelled) : undefined);
  }
  return { scores, generated, entropies };
}

/**
 * What an EVOKE run is (run.json): version 2 records the edit stack with file hashes and the
 * per-case settings (layer, layers, λ, the corpus with its sha256; the corpus corpus.txt beside
 * the model when none is given).
 */
function evokeConfig(model: LoadedModel, o: EvokeOptions): RunConfig {
  const templates = ['requested_rewrite.prompt', 'paraphrase_prompts', 'neighborhood_prompts', 'prefix_distraction', `portability["New Question"] + "${MULTIHOP_SUFFIX}"`, ...(o.generationEntropy ? ['generation_prompts (top-5 sampling to 100 tokens)'] : []), ...(o.subjSpec ? ['relation_specificity.prompt'] : [])];
  const protocol = caseProtocol(o.method, templates, [METRIC_VERSIONS.evoke, METRIC_VERSIONS.counterfact, METRIC_VERSIONS.mquake], ['teacher-forced', 'generated']);
  return caseRunConfig(model, 'evoke', 2, o, [o.data, ...(o.subjSpec ? [o.subjSpec] : [])], protocol);
}

/** A line of an EVOKE cases.jsonl: {kind, caseId, tasks, …}. */
export const CASE_LINES: CaseLineRules<CaseResult> = caseLines<CaseResult>(recordsSchema, (r) => `${r.kind}:${r.caseId}`);

/** The per-task summary of a finished run folder. */
export function readBaseline(dir: string): Record<string, TaskSummary> {
  return readBaselineSummary(dir, 'evoke', 'tasks', 'per-task results ("tasks")', (t) => typeof t === 'object' && t !== null) as Record<string, TaskSummary>;
}

/** summary.json and report.html of a run folder from its results: EVOKE's tasks, CounterFact's scores, multi-hop. */
export function writeSummary(dir: string, config: RunConfig, results: CaseResult[], baseline?: Record<string, TaskSummary>, extra: { stack?: StackMatch; baselineDir?: string } = {}): { tasks: Record<string, TaskSummary>; counterfact: CounterFactSummary; multihop?: MultiHopSummary } {
  const tasks = summarize(results);
  const main = results.filter((r) => r.kind === 'main');
  const counterfact = summarizeCounterFact(main.map(counterFactOfEvoke), main.flatMap((r) => (r.ngramEntropy !== undefined ? [r.ngramEntropy] : [])));
  const multihop = summarizeMultiHop(main);
  const meta = runMeta(config, results.length);
  if (extra.stack) meta['main cases whose edit is applied'] = `${extra.stack.matching} of ${extra.stack.cases}`;
  const notice = extra.stack && !extra.stack.matching ? stackMatchText(extra.stack) : '';
  writeOut(path.join(dir, 'report.html'), renderReport(reportTitle('EVOKE', config, extra.stack, baseline ? extra.baselineDir : undefined), meta, tasks, baseline, { counterfact, multihop }, notice));
  // Last: summary.json marks the run as finished (merge checks it).
  writeSummaryFile(dir, { config, cases: results.length, tasks, counterfact, ...(multihop ? { multihop } : {}), ...(config.protocol ? { protocol: config.protocol } : {}), ...(baseline ? { baseline } : {}), ...(extra.stack ? { stack: extra.stack } : {}) });
  return { tasks, counterfact, ...(multihop ? { multihop } : {}) };
}
