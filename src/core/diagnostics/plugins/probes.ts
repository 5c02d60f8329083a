// Knowledge probes as a diagnostic plugin (probesRun.ts): per edit of the stack (method none) or
// each case's own edit; the CLI's result, the panel's, the merge of its shards.

import * as path from 'node:path';
import type { ProbesDiagnostics } from '../../../protocol/diagnostics';
import { readEdit } from '../../edits/editFile';
import { badInput } from '../../errors';
import { PROBE_LINES, runProbes, writeProbesSummary, type ProbesRunResult } from '../probesRun';
import { DEFAULT_FRAME } from '../probes';
import { mergedIssues, writeIssues, type CaseLineRules } from '../runner';
import { beside, dataSetting, limitSetting, methodSetting, PER_CASE_SETTINGS, RUN_SETTINGS } from './common';
import type { DiagnosticPlugin } from './types';
import { readInputText } from '../../inputs';

/** The groups (edit, note) and frame a shard's summary.json records: what a merge rebuilds the groups from. */
function shardGroups(dir: string): { frame: string; groups: { edit?: ProbesDiagnostics['groups'][number]['edit']; note: string }[] } {
  const file = path.join(dir, 'summary.json');
  const text = readInputText(file, 'run');
  try {
    const s = JSON.parse(text) as { frame?: unknown; groups?: unknown };
    if (typeof s.frame === 'string' && Array.isArray(s.groups) && s.groups.every((g) => typeof g?.note === 'string')) return { frame: s.frame, groups: s.groups };
  } catch {
    // refused below
  }
  throw badInput("The shard's summary.json has no probe groups (frame, groups)", { file, hint: 'Finish the shard again: delete summary.json and run the same command with --resume.' });
}

export const probesPlugin: DiagnosticPlugin = {
  descriptor: {
    id: 'probes',
    label: 'Knowledge probes',
    doc: 'docs/diagnostics/probes.md',
    measured: 'the new fact stated in context: two-hop success 99.4 %, same-subject R-Loc 49.6 (`node bench/glame.mjs --limit 20 --probe-limit 20 …`, 2026-12-03)',
    description: 'per edit: reversal, context–memory conflict, consistency, in-context vs parametric, multi-hop ripple',
    family: 'diagnostic',
    kind: 'diagnostic',
    settings: [
      dataSetting('data', 'probe cases (format: tools/world/README.md, "Knowledge probes")', 'eval/probes.json'),
      methodSetting(),
      ...PER_CASE_SETTINGS,
      { name: 'contextFrame', type: 'string', default: DEFAULT_FRAME, doc: 'how a fact is stated in the prompt, "{}" for it ("\\n" for a line break)' },
      limitSetting('cases (per edit)'),
      ...RUN_SETTINGS,
    ],
    presets: [],
    outputs: ['a run folder: run.json, cases.jsonl, issues.json, summary.json, results.json'],
  },
  dataSetting: 'data',
  defaultData: (m) => beside(m, 'probes.json', 'data', 'probe cases file', 'Give a probes cases file (format: tools/world/README.md, "Knowledge probes").'),
  async run(model, stack, o, hooks): Promise<ProbesRunResult> {
    // The enabled edits' files give their requests (which cases each one is probed on).
    const edits = stack.list().filter((e) => e.enabled && e.file).map((e) => readEdit(e.file!));
    const r = await runProbes(model, {
      cases: o.data, method: o.method, edits, limit: o.limit, shard: o.shard, out: o.out, resume: o.resume,
      frame: (o.settings.contextFrame as string).replace(/\\n/g, '\n'),
      perCase: o.perCase, log: hooks.log, onProgress: hooks.onProgress, isCancelled: hooks.isCancelled,
    });
    return { ...r, out: path.resolve(r.out) };
  },
  async panel(stack, o, hooks): Promise<ProbesDiagnostics> {
    const r = (await probesPlugin.run!(stack.model, stack, o, { ...hooks, onProgress: (p) => hooks.onProgress?.(p, 'knowledge probes') })) as ProbesRunResult;
    return { kind: 'probes', method: `${o.method}${o.lti ? '+lti' : ''}`, data: r.data, groups: r.groups, summary: r.summary, out: r.out, issues: r.issues.length, seconds: r.seconds };
  },
  merge: {
    rules: PROBE_LINES as CaseLineRules<unknown>,
    finish: (out, config, results, dirs) => {
      writeIssues(out, mergedIssues(dirs));
      const { frame, groups } = shardGroups(dirs[0]);
      const merged = writeProbesSummary(out, config, frame, groups, results as Parameters<typeof writeProbesSummary>[4]);
      return { probes: { groups: merged } };
    },
  },
  records: PROBE_LINES.schema!,
  renderer: 'diagnostics.probes',
};
