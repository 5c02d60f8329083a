// `mechedit evoke`: EVOKE diagnostics over a data file (core/diagnostics/evokeRun.ts).

import { runEvoke, EVOKE_METHODS } from '../../core/diagnostics/evokeRun';
import { parseShard, stackRefs } from '../../core/diagnostics/runner';
import type { TaskSummary } from '../../core/diagnostics/evoke';
import * as path from 'node:path';
import { checkRunFolder } from '../../core/outputs';
import { intOption, modelHelp, modelOptions, openModel, perCaseOptions, requireString, runFolder, runProgress, stacks, type Command } from '../common';

export function formatSummary(tasks: Record<string, TaskSummary>): string {
  const rows = Object.entries(tasks).map(([task, t]) =>
    `| ${task} | ${t.cases} | ${Object.entries(t.indicators).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')} | ${Object.entries(t.probs).map(([k, v]) => `${k} ${v.toPrecision(3)}`).join(', ')} |`);
  return ['| task | cases | indicators (×100) | mean probabilities (×100) |', '|---|---|---|---|', ...rows].join('\n');
}

export const evoke: Command = {
  summary: 'EVOKE diagnostics (efficacy, paraphrase, multi-hop, prefix distraction, specificity) over a data file',
  help: [
    `mechedit evoke --model DIR --data evoke_main.json [--subj-spec evoke_subj_spec.json] --method ${EVOKE_METHODS.join('|')} [--lti]`,
    '               [--layer L | --layers …] [--corpus FILE …] [--limit N] [--out DIR] [--resume] [--shard i/n] [--json]',
    modelHelp,
    '  --data FILE          evoke_main.json or a CounterFact-format file',
    '  --subj-spec FILE     evoke_subj_spec.json (subject specificity)',
    `  --method M           ${EVOKE_METHODS.join('|')}: none scores the model as it is; the fact editors compute each case's`,
    '                       edit (on top of --edits), apply it, score the case and revert it',
    '  --lti                EVOKE\'s LTI for the per-case edits; --layer (ROME, DiKE) / --layers (MEMIT, AlphaEdit) override the defaults',
    '  --corpus FILE …      key statistics corpus for the per-case edits (default corpus.txt beside the model)',
    '  --limit N            the first N records of each file',
    '  --out DIR            run folder: run.json, cases.jsonl (one line per case), summary.json, report.html',
    '  --resume             continue a run folder after a crash or cancel',
    '  --shard i/n          only cases i, i+n, i+2n, … (0 ≤ i < n); merge the folders with mechedit merge',
    '  --edits FILE …       a fixed edit stack for the whole run',
    '  --baseline DIR       a finished run (e.g. without edits) to show as "before" in the report',
  ].join('\n'),
  options: {
    ...modelOptions, data: { type: 'string' }, 'subj-spec': { type: 'string' }, method: { type: 'string' }, limit: { type: 'string' }, out: { type: 'string' }, resume: { type: 'boolean' }, shard: { type: 'string' }, baseline: { type: 'string' },
    lti: { type: 'boolean' }, layer: { type: 'string' }, layers: { type: 'string' }, corpus: { type: 'string', multiple: true },
  },
  async run(values) {
    const data = requireString(values, 'data');
    const method = (values.method as string | undefined) ?? 'none';
    const model = await openModel(values);
    const perCase = perCaseOptions(values, model, method !== 'none');
    const shard = parseShard(values.shard as string | undefined);
    const out = runFolder(values, 'evoke', method, shard);
    checkRunFolder(out, model.checkpoint);
    const result = await runEvoke(model, {
      data,
      subjSpec: values['subj-spec'] as string | undefined,
      method,
      limit: values.limit === undefined ? undefined : intOption(values, 'limit', 0, 1, 10_000_000),
      shard,
      out,
      resume: !!values.resume,
      edits: stackRefs(stacks.get(model)!),
      baseline: values.baseline as string | undefined,
      perCase,
      log: (m) => process.stderr.write(`mechedit: ${m}\n`),
      onProgress: runProgress('evoke'),
    });
    return { out: path.resolve(result.out), cases: result.cases, skippedRecords: result.issues, tasks: result.summary };
  },
  format: (r) => {
    const x = r as { out: string; cases: number; skippedRecords: unknown[]; tasks: Record<string, TaskSummary> };
    return `${formatSummary(x.tasks)}\n\n${x.cases} cases, ${x.skippedRecords.length} records skipped; results in ${x.out} (report.html)`;
  },
};
