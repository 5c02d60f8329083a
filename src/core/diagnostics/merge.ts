// `mechedit merge`: joins the run folders of a sharded run (of a diagnostic plugin with a `merge`:
// EVOKE, FINE-KED, ORT, probes) into one folder, as if the run had not been sharded. Refused (runner.mergeConfigs) unless the folders are every shard of
// one run, each finished; the shard folders are only read.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { badInput } from '../errors';
import { makeOutFolder, writeOut } from '../outputs';
import { checkCasesHash, mergeConfigs, readCases } from './runner';
import { DIAGNOSTICS } from './plugins/index';
import type { TaskSummary } from './evoke';
import type { OrtResult } from './ort';
import type { FineKedSummary } from './fineKed';
import type { ProbeGroup } from './probesRun';
import { readInputText } from '../inputs';

export interface MergeResult {
  out: string;
  tool: string;
  merged: number;
  cases: number;
  /** EVOKE: the per-task summary of all the cases. */
  tasks?: Record<string, TaskSummary>;
  /** ORT: every target's result. */
  targets?: OrtResult[];
  /** FINE-KED: the summary of all the cases. */
  fineKed?: FineKedSummary;
  /** Knowledge probes: the groups with all their results. */
  probes?: { groups: ProbeGroup[] };
}

export function mergeRuns(dirs: string[], out: string): MergeResult {
  const config = mergeConfigs(dirs);
  const tool = DIAGNOSTICS.find((d) => d.descriptor.id === config.tool)?.merge;
  if (!tool) throw badInput(`Runs of "${config.tool}" cannot be merged`, { file: path.join(dirs[0], 'run.json'), field: 'tool', hint: `merge joins ${DIAGNOSTICS.filter((d) => d.merge).map((d) => d.descriptor.id).join(', ')} runs.` });
  const rules = tool.rules;
  refuseOut(out, dirs);

  const seen = new Map<string, string>();
  const results: unknown[] = [];
  for (const d of dirs) {
    const cases = readCases(path.join(d, 'cases.jsonl'), rules);
    const counted = summaryCount(d);
    if (counted !== cases.length) throw badInput(`The shard holds ${cases.length} results in cases.jsonl but its summary.json counts ${counted}`, { file: d, hint: 'The folder was changed after the run finished: run that shard again (with --resume, after deleting summary.json), then merge.' });
    checkCasesHash(d); // every line as the shard wrote it: a changed figure that still fits the schema is refused too
    for (const c of cases) {
      const key = rules.key(c);
      const other = seen.get(key);
      if (other !== undefined) throw badInput(`Case ${key} is in two shards: ${other} and ${d}`, { file: d, hint: 'Merge the shards of one run, each once.' });
      seen.set(key, d);
      results.push(c);
    }
  }

  if (tool.order) results.sort(tool.order);
  makeOutFolder(out);
  writeOut(path.join(out, 'run.json'), `${JSON.stringify(config, null, 2)}\n`);
  writeOut(path.join(out, 'cases.jsonl'), results.map((c) => `${JSON.stringify(c)}\n`).join(''));
  const finished = tool.finish(out, config, results, dirs);
  return { out: path.resolve(out), tool: config.tool, merged: dirs.length, cases: results.length, ...finished };
}

/** The merged folder is new: not one of the shards, not inside one, and holding no run. */
function refuseOut(out: string, dirs: string[]): void {
  const target = path.resolve(out);
  for (const d of dirs) {
    const shard = fs.realpathSync(d);
    const rel = path.relative(shard, fs.existsSync(target) ? fs.realpathSync(target) : target);
    if (rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel))) throw badInput('out is a shard folder (or inside one): merge never writes into the folders it reads', { file: target, field: 'out', hint: 'Give a new folder.' });
  }
  if (['run.json', 'cases.jsonl'].some((f) => fs.existsSync(path.join(out, f)))) throw badInput('out already holds a run: merge writes only into a new folder', { file: target, field: 'out', hint: 'Give a new folder.' });
}

function summaryCount(dir: string): number {
  const file = path.join(dir, 'summary.json');
  const text = readInputText(file, 'run');
  try {
    const n = (JSON.parse(text) as { cases?: unknown }).cases;
    if (typeof n === 'number') return n;
  } catch {
    // reported below
  }
  throw badInput('summary.json of the shard is unreadable', { file, hint: 'Finish the shard again: delete summary.json and run the same command with --resume.' });
}
