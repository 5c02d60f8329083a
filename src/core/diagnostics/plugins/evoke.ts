// EVOKE as a diagnostic plugin (evokeRun.ts): the CLI's run, the panel's before / after, the merge
// of its shards and its report sections.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { EvokeDiagnostics } from '../../../protocol/diagnostics';
import { CASE_LINES, runEvoke, writeSummary, type EvokeRunResult } from '../evokeRun';
import type { CaseResult, TaskSummary } from '../evoke';
import { readCases, stackRefs, mergedIssues, writeIssues, type CaseLineRules } from '../runner';
import { mergedStackMatch, stackEdits } from '../caseEdit';
import type { EditStack } from '../../edits/stack';
import { evokeSections, paperSections, type PaperMetrics } from '../report';
import type { LoadedModel } from '../../runtime/model';
import { baselineSetting, beside, dataSetting, limitSetting, methodSetting, PER_CASE_SETTINGS, RUN_SETTINGS } from './common';
import { beforeAfter, perCaseShown } from './compare';
import type { DiagnosticHooks, DiagnosticOptions, DiagnosticPlugin } from './types';

/** The CLI's result of `mechedit evoke`. */
export interface EvokeCliResult {
  out: string;
  cases: number;
  skippedRecords: EvokeRunResult['issues'];
  tasks: Record<string, TaskSummary>;
  counterfact: EvokeRunResult['counterfact'];
  multihop?: EvokeRunResult['multihop'];
  protocol?: EvokeRunResult['protocol'];
  /** Method none: the applied edits and how many main cases they match. */
  stack?: EvokeRunResult['stack'];
}

/** The subject-specificity file: the one given, else the checkpoint's beside the default data. */
function subjSpecOf(model: LoadedModel, o: DiagnosticOptions): string | undefined {
  const given = o.settings.subjSpec as string | undefined;
  if (given !== undefined) return given;
  const own = path.join(model.checkpoint.dir, 'eval', 'evoke_subj_spec.json');
  return o.settings.data === undefined && fs.existsSync(own) ? own : undefined;
}

function evokeRun(model: LoadedModel, o: DiagnosticOptions, stack: EditStack | undefined, hooks: DiagnosticHooks, baseline?: string): Promise<EvokeRunResult> {
  return runEvoke(model, {
    data: o.data, subjSpec: subjSpecOf(model, o), generationEntropy: o.settings.generationEntropy === true, method: o.method, limit: o.limit, shard: o.shard, out: o.out, resume: o.resume,
    edits: stack ? stackRefs(stack) : [], stackEdits: stack ? stackEdits(stack) : undefined, baseline, perCase: o.perCase, log: hooks.log, onProgress: hooks.onProgress, isCancelled: hooks.isCancelled,
  });
}

export const evokePlugin: DiagnosticPlugin = {
  descriptor: {
    id: 'evoke',
    label: 'EVOKE',
    doc: 'docs/diagnostics/evoke.md',
    measured: 'ROME\'s prefix-distraction EOS 8.0 at efficacy 95.0 on 20 cases (`node bench/glame.mjs --limit 20 …`, 2026-12-03)',
    description: 'editing overfit: efficacy, paraphrase, multi-hop, prefix distraction, subject and relation specificity, per case',
    family: 'diagnostic',
    kind: 'diagnostic',
    settings: [
      dataSetting('data', 'evoke_main.json or a CounterFact-format file', 'eval/evoke.json'),
      { name: 'subjSpec', type: 'file', doc: 'evoke_subj_spec.json (subject specificity)', fromCheckpoint: 'eval/evoke_subj_spec.json beside the checkpoint when the data is the default' },
      methodSetting(),
      { name: 'generationEntropy', type: 'boolean', default: false, doc: "CounterFact's generation entropy: sample each case's generation_prompts (top-5, to 100 tokens) and report the n-gram entropy (slow)" },
      ...PER_CASE_SETTINGS,
      limitSetting('records of each file'),
      ...RUN_SETTINGS,
      baselineSetting,
    ],
    presets: [],
    outputs: ['a run folder: run.json, cases.jsonl, issues.json, summary.json, report.html'],
  },
  dataSetting: 'data',
  defaultData: (m) => beside(m, 'evoke.json', 'data', 'EVOKE data file', 'EVOKE takes evoke_main.json or CounterFact-format files.'),
  async run(model, stack, o, hooks): Promise<EvokeCliResult> {
    const r = await evokeRun(model, o, stack, hooks, o.settings.baseline as string | undefined);
    return { out: path.resolve(r.out), cases: r.cases, skippedRecords: r.issues, tasks: r.summary, counterfact: r.counterfact, ...(r.multihop ? { multihop: r.multihop } : {}), ...(r.protocol ? { protocol: r.protocol } : {}), ...(r.stack ? { stack: r.stack } : {}) };
  },
  async panel(stack, o, hooks): Promise<EvokeDiagnostics> {
    const t0 = performance.now();
    const { before, after } = await beforeAfter(stack, o, hooks, evokeRun);
    const cases = (d: string) => readCases<CaseResult>(path.join(d, 'cases.jsonl'));
    const subjSpec = subjSpecOf(stack.model, o);
    return {
      method: `${o.method}${o.lti ? '+lti' : ''}`,
      ...(after.stack ? { stack: after.stack } : {}),
      settings: perCaseShown(o),
      data: [o.data, ...(subjSpec ? [subjSpec] : [])],
      before: before.summary,
      after: after.summary,
      counterfact: { before: before.counterfact, after: after.counterfact },
      beforeCases: cases(before.out),
      afterCases: cases(after.out),
      out: { before: before.out, after: after.out },
      issues: after.issues.length,
      seconds: (performance.now() - t0) / 1000,
    };
  },
  merge: {
    rules: CASE_LINES as CaseLineRules<unknown>,
    order: (a, b) => {
      const [x, y] = [a as CaseResult, b as CaseResult];
      return x.kind === y.kind ? x.caseId - y.caseId : x.kind < y.kind ? -1 : 1;
    },
    finish: (out, config, results, dirs) => {
      writeIssues(out, mergedIssues(dirs));
      return writeSummary(out, config, results as CaseResult[], undefined, { stack: mergedStackMatch(dirs) });
    },
  },
  reportSections: (s) => {
    const x = s as { tasks: Record<string, TaskSummary>; baseline?: Record<string, TaskSummary> } & PaperMetrics;
    return [...paperSections(x), ...evokeSections(x.tasks, x.baseline)];
  },
  records: CASE_LINES.schema!,
  renderer: 'diagnostics.evoke',
};
