// `mechedit merge`: one run folder from the folders of a sharded run.

import { mergeRuns, type MergeResult } from '../../core/diagnostics/merge';
import { checkRunFolder, FORCE_SETTING } from '../../core/outputs';
import { settingOptions, settingsHelp } from '../registryFlags';
import { requireString, type Command } from '../common';
import { formatFineKed } from './fineKed';
import { formatOrt } from './ort';
import { formatSummary } from './evoke';
import { formatProbes } from './probes';
import { summarizeProbes } from '../../core/diagnostics/probes';

export const merge: Command = {
  summary: 'merge the run folders of a sharded evoke, fine-ked, probes or ort run into one',
  help: [
    'mechedit merge --out DIR RUN_DIR… [--force] [--json]',
    '  RUN_DIR…             the --out folders of every shard of one run (--shard 0/n … n-1/n), each finished',
    '  --out DIR            a new folder: run.json, cases.jsonl, summary.json (and, for evoke and fine-ked, report.html; for probes, results.json)',
    'Refused unless the folders are the same run (model, edits, data, method, settings, limit) and every',
    'shard is there once; the shard folders are only read. Every line of every shard is checked against the',
    'tool\'s record schema (schemas/runs/<tool>.schema.json): a damaged shard is refused by file, line and field.',
    ...settingsHelp([FORCE_SETTING]),
  ].join('\n'),
  options: { out: { type: 'string' }, ...settingOptions([FORCE_SETTING]) },
  allowPositionals: true,
  async run(values, ctx) {
    const out = requireString(values, 'out');
    checkRunFolder(out, undefined, '--out', values.force === true);
    return mergeRuns(ctx.positionals ?? [], out);
  },
  format: (r) => {
    const x = r as MergeResult;
    const table = x.targets ? formatOrt(x.targets) : x.fineKed ? formatFineKed(x.fineKed) : x.probes ? formatProbes({ groups: x.probes.groups, summary: summarizeProbes(x.probes.groups.flatMap((g) => g.results)) }) : formatSummary(x.tasks ?? {});
    return `${table}\n\nmerged ${x.merged} folders, ${x.cases} ${x.tool === 'ort' ? 'targets' : 'cases'} → ${x.out}`;
  },
};
