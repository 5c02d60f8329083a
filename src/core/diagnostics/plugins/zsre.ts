// zsRE as a diagnostic plugin (zsreRun.ts): the CLI's run, the merge of its shards, its report sections.

import * as path from 'node:path';
import { runZsre, writeZsreSummary, ZSRE_LINES, type ZsreRunResult } from '../zsreRun';
import type { ZsreResult, ZsreSummary } from '../zsre';
import { stackRefs, mergedIssues, writeIssues, type CaseLineRules } from '../runner';
import { paperSections } from '../report';
import { beside, dataSetting, limitSetting, methodSetting, PER_CASE_SETTINGS, RUN_SETTINGS } from './common';
import type { DiagnosticPlugin } from './types';

/** The CLI's result of `mechedit zsre`. */
export interface ZsreCliResult {
  out: string;
  cases: number;
  skippedRecords: ZsreRunResult['issues'];
  summary: ZsreSummary;
  protocol: ZsreRunResult['protocol'];
}

export const zsrePlugin: DiagnosticPlugin = {
  descriptor: {
    id: 'zsre',
    label: 'zsRE',
    doc: 'docs/diagnostics/zsre.md',
    measured: 'each case\'s own ROME edit on 8 zsRE-form world records: efficacy 100.0, generalisation 93.8, locality 93.8 (`mechedit zsre --data test/fixtures/zsre/world.json --method rome`, 2026-12-07)',
    description: 'zsRE token-level accuracy (MEMIT / EasyEdit): efficacy, generalisation (rephrase), locality against the unedited model',
    family: 'diagnostic',
    kind: 'diagnostic',
    settings: [
      dataSetting('data', 'zsRE records: {subject?, src, rephrase, alt, answers, loc, loc_ans}', 'eval/zsre.json'),
      methodSetting(),
      ...PER_CASE_SETTINGS,
      limitSetting('records'),
      ...RUN_SETTINGS,
    ],
    presets: [],
    outputs: ['a run folder: run.json, cases.jsonl, issues.json, summary.json, report.html'],
  },
  dataSetting: 'data',
  defaultData: (m) => beside(m, 'zsre.json', 'data', 'zsRE data file', 'Give a zsRE request file (mechedit zsre --help shows the format).'),
  async run(model, stack, o, hooks): Promise<ZsreCliResult> {
    const r = await runZsre(model, {
      data: o.data, method: o.method, limit: o.limit, shard: o.shard, out: o.out, resume: o.resume,
      edits: stackRefs(stack), perCase: o.perCase, log: hooks.log, onProgress: hooks.onProgress, isCancelled: hooks.isCancelled,
    });
    return { out: path.resolve(r.out), cases: r.cases, skippedRecords: r.issues, summary: r.summary, protocol: r.protocol };
  },
  merge: {
    rules: ZSRE_LINES as CaseLineRules<unknown>,
    order: (a, b) => (a as ZsreResult).caseId - (b as ZsreResult).caseId,
    finish: (out, config, results, dirs) => {
      writeIssues(out, mergedIssues(dirs));
      return { zsre: writeZsreSummary(out, config, results as ZsreResult[]) };
    },
  },
  reportSections: (s) => paperSections({ zsre: (s as { summary: ZsreSummary }).summary }),
  records: ZSRE_LINES.schema!,
  renderer: 'diagnostics.zsre',
};
