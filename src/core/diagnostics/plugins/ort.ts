// ORT as a diagnostic plugin (ortRun.ts): every target without and with the stack's edits, one
// line per target in the run folder; the CLI's result, the panel's, the merge of its shards.

import * as path from 'node:path';
import type { OrtDiagnostics } from '../../../protocol/diagnostics';
import { ORT_LINES, runOrtTargets, writeOrtSummary } from '../ortRun';
import type { OrtResult } from '../ort';
import type { CaseLineRules } from '../runner';
import { beside, dataSetting, limitSetting, RUN_SETTINGS } from './common';
import type { DiagnosticPlugin } from './types';

/** The CLI's result of `mechedit ort`: the run folder and every target's rows. */
export interface OrtCliResult {
  out: string;
  targets: OrtResult[];
}

export const ortPlugin: DiagnosticPlugin = {
  descriptor: {
    id: 'ort',
    label: 'ORT',
    doc: 'docs/diagnostics/ort.md',
    measured: 'GradDiff trained on questions: qa 6 / 6 %, multiple choice still 75 / 100 % (`node bench/ort-forms.mjs`, 2026-12-03)',
    description: 'form-independent unlearning: forget and neighbour sets per form (cloze, question, adversarial, multiple choice, true/false, character by character), without and with the edits',
    family: 'diagnostic',
    kind: 'diagnostic',
    settings: [
      dataSetting('target', 'Target/<n>_<Name>/ (forget_level1.json … neighbor_mcp.json), or Target/ with many', 'eval/ort'),
      limitSetting('targets'),
      ...RUN_SETTINGS,
    ],
    presets: [],
    outputs: ['a run folder: run.json, cases.jsonl (one line per target), issues.json, summary.json'],
  },
  dataSetting: 'target',
  defaultData: (m) => beside(m, 'ort', 'target', 'ORT target folder', 'ORT takes a Target/<n>_<Name>/ folder, or Target/ holding many.'),
  async run(model, stack, o, hooks): Promise<OrtCliResult> {
    const r = await runOrtTargets(model, stack, { target: o.data, out: o.out, resume: o.resume, shard: o.shard, limit: o.limit, log: hooks.log, onProgress: hooks.onProgress, isCancelled: hooks.isCancelled });
    return { out: path.resolve(o.out), targets: r.targets };
  },
  async panel(stack, o, hooks): Promise<OrtDiagnostics> {
    const t0 = performance.now();
    const r = (await ortPlugin.run!(stack.model, stack, o, { ...hooks, onProgress: (p) => hooks.onProgress?.(p, 'ORT targets') })) as OrtCliResult;
    return {
      targets: r.targets.map((t) => ({ target: t.target, rows: t.rows, skipped: t.skipped })),
      enabledEdits: stack.list().filter((e) => e.enabled).length,
      seconds: (performance.now() - t0) / 1000,
    };
  },
  merge: {
    rules: ORT_LINES as CaseLineRules<unknown>,
    // The targets as the shards hold them (the summary sorts them).
    finish: (out, config, results) => {
      writeOrtSummary(out, config, results as OrtResult[]);
      return { targets: results as OrtResult[] };
    },
  },
  records: ORT_LINES.schema!,
  renderer: 'diagnostics.ort',
};
