// FINE-KED as a diagnostic plugin (fineKedRun.ts): the CLI's run, the panel's before / after, the
// merge of its shards and its report sections.

import * as path from 'node:path';
import type { FineKedDiagnostics } from '../../../protocol/diagnostics';
import { FINE_KED_LINES, fineKedSections, runFineKed, writeFineKedSummary, type FineKedRunResult } from '../fineKedRun';
import type { FineKedResult, FineKedSummary } from '../fineKed';
import { stackRefs, mergedIssues, writeIssues, type CaseLineRules } from '../runner';
import { stackEdits } from '../caseEdit';
import type { EditStack } from '../../edits/stack';
import type { LoadedModel } from '../../runtime/model';
import { baselineSetting, beside, dataSetting, limitSetting, methodSetting, PER_CASE_SETTINGS, RUN_SETTINGS } from './common';
import { beforeAfter, perCaseShown } from './compare';
import type { DiagnosticHooks, DiagnosticOptions, DiagnosticPlugin } from './types';

/** The CLI's result of `mechedit fine-ked`. */
export interface FineKedCliResult {
  out: string;
  cases: number;
  seconds: number;
  skippedRecords: FineKedRunResult['issues'];
  summary: FineKedSummary;
  protocol?: FineKedRunResult['protocol'];
}

function fineKedRun(model: LoadedModel, o: DiagnosticOptions, stack: EditStack | undefined, hooks: DiagnosticHooks, baseline?: string): Promise<FineKedRunResult> {
  return runFineKed(model, {
    data: o.data, method: o.method, limit: o.limit, shard: o.shard, out: o.out, resume: o.resume,
    edits: stack ? stackRefs(stack) : [], stackEdits: stack ? stackEdits(stack) : undefined, baseline, perCase: o.perCase, log: hooks.log, onProgress: hooks.onProgress, isCancelled: hooks.isCancelled,
  });
}

export const fineKedPlugin: DiagnosticPlugin = {
  descriptor: {
    id: 'fine-ked',
    label: 'FINE-KED',
    doc: 'docs/diagnostics/fine-ked.md',
    measured: 'ROME\'s R-Loc easy 88.7 > middle 85.8 > hard 79.9, neighbourhood specificity 100.0 (`node bench/fine-ked.mjs --limit 30 …`, 2026-12-03)',
    description: "fine-grained locality: does a fact edit keep the subject's other facts (R-Loc easy / middle / hard)?",
    family: 'diagnostic',
    kind: 'diagnostic',
    settings: [
      dataSetting('data', "FINE-KED records: CounterFact's requested_rewrite + fine_grained [{level easy|middle|hard, prompt, answer}]", 'eval/fine_ked.json'),
      methodSetting(['context']),
      ...PER_CASE_SETTINGS,
      limitSetting('records'),
      ...RUN_SETTINGS,
      baselineSetting,
    ],
    presets: [],
    outputs: ['a run folder: run.json, cases.jsonl, issues.json, summary.json, report.html'],
  },
  dataSetting: 'data',
  defaultData: (m) => beside(m, 'fine_ked.json', 'data', 'FINE-KED data file', 'Give a FINE-KED data file (mechedit fine-ked --help shows the format).'),
  async run(model, stack, o, hooks): Promise<FineKedCliResult> {
    const r = await fineKedRun(model, o, stack, hooks, o.settings.baseline as string | undefined);
    return { out: path.resolve(r.out), cases: r.cases, seconds: r.seconds, skippedRecords: r.issues, summary: r.summary, ...(r.protocol ? { protocol: r.protocol } : {}) };
  },
  async panel(stack, o, hooks): Promise<FineKedDiagnostics> {
    const t0 = performance.now();
    const { before, after } = await beforeAfter(stack, o, hooks, fineKedRun);
    return {
      kind: 'fine-ked',
      method: `${o.method}${o.lti ? '+lti' : ''}`,
      ...(after.summary.stack ? { stack: after.summary.stack } : {}),
      settings: perCaseShown(o),
      data: o.data,
      before: before.summary,
      after: after.summary,
      out: { before: before.out, after: after.out },
      issues: after.issues.length,
      seconds: (performance.now() - t0) / 1000,
    };
  },
  merge: {
    rules: FINE_KED_LINES as CaseLineRules<unknown>,
    order: (a, b) => (a as FineKedResult).caseId - (b as FineKedResult).caseId,
    finish: (out, config, results, dirs) => {
      writeIssues(out, mergedIssues(dirs));
      return { fineKed: writeFineKedSummary(out, config, results as FineKedResult[]) };
    },
  },
  reportSections: (s) => {
    const x = s as { summary: FineKedSummary; baseline?: FineKedSummary };
    return fineKedSections(x.summary, x.baseline);
  },
  records: FINE_KED_LINES.schema!,
  renderer: 'diagnostics.fineKed',
};
