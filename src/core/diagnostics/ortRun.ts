// `mechedit ort` over many targets, on the same run folders as EVOKE (runner.ts): one line per
// finished target in cases.jsonl (an OrtResult), so --resume continues after a crash, --shard i/n
// takes targets i, i+n, …, and `mechedit merge` joins the shards. run.json records the model,
// the targets' files (one sha256 per target folder), --limit, the shard and the edit stack
// (ids, strengths, sha256 of each edit's files): --resume and merge refuse another stack.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import type { LoadedModel } from '../runtime/model';
import type { EditStack } from '../edits/stack';
import { badInput } from '../errors';
import { runOrt, type OrtResult } from './ort';
import { ORT_FILES, ortTargets } from '../train/ortData';
import { formatIssue, type RecordIssue } from '../records';
import { inShard, openRun, processAll, stackRefs, writeIssues, writeSummaryFile, type CaseLineRules, type FileHash, type RunConfig, type RunProgress, type Shard, caseLines } from './runner';
import recordsSchema from '../../../schemas/runs/ort.schema.json';
import { readInputBytes } from '../inputs';

export interface OrtRunOptions {
  /** Target/<n>_<Name>/, or Target/ holding many. */
  target: string;
  /** The run folder; without it nothing is written (and --resume is refused). */
  out?: string;
  resume?: boolean;
  shard?: Shard;
  /** The first N targets. */
  limit?: number;
  onProgress?: (p: RunProgress) => void;
  isCancelled?: () => boolean;
  log?: (message: string) => void;
}

export interface OrtRunResult {
  out?: string;
  targets: OrtResult[];
  issues: RecordIssue[];
}

/** A line of an ORT cases.jsonl: one target's OrtResult. */
export const ORT_LINES: CaseLineRules<OrtResult> = caseLines<OrtResult>(recordsSchema, (r) => r.target);

/** One sha256 per target folder, over its name and its ORT files (name and bytes). */
function targetHash(dir: string): FileHash {
  const h = createHash('sha256').update(path.basename(dir)).update('\0');
  for (const f of ORT_FILES) {
    const file = path.join(dir, f.file);
    if (fs.existsSync(file)) h.update(f.file).update('\0').update(readInputBytes(file, 'data')).update('\0');
  }
  return { file: path.resolve(dir), sha256: h.digest('hex') };
}

function ortConfig(model: LoadedModel, stack: EditStack, targets: string[], o: Pick<OrtRunOptions, 'limit' | 'shard'>): RunConfig {
  return {
    tool: 'ort',
    version: 2,
    modelFingerprint: model.checkpoint.fingerprint,
    modelPath: model.checkpoint.dir,
    method: 'edits',
    data: targets.map(targetHash),
    limit: o.limit,
    shard: o.shard,
    edits: stackRefs(stack),
  };
}

/** Measures every target (of the shard) without and with the stack's edits (runOrt). */
export async function runOrtTargets(model: LoadedModel, stack: EditStack, o: OrtRunOptions): Promise<OrtRunResult> {
  if (o.resume && !o.out) throw badInput('resume needs the run folder to continue', { field: 'resume', hint: 'Give the folder of the run to continue (--out DIR).' });
  const all = ortTargets(o.target);
  const chosen = o.limit ? all.slice(0, o.limit) : all;
  const dirs = inShard(chosen, o.shard);
  const byName = new Map(dirs.map((d) => [path.basename(d), d]));
  const results: OrtResult[] = [];
  const work = async ([name]: string[]) => {
    const r = await runOrt(model, stack, byName.get(name)!, { isCancelled: o.isCancelled });
    for (const i of r.issues) o.log?.(`skipped: ${formatIssue(i)}`);
    results.push(r);
    return [r];
  };
  const opts = { chunk: 1, onProgress: o.onProgress, isCancelled: o.isCancelled };
  if (!o.out) {
    await processAll([...byName.keys()], (n) => n, new Set(), work, () => undefined, opts);
    return { targets: results, issues: results.flatMap((r) => r.issues) };
  }
  const config = ortConfig(model, stack, chosen, o);
  const run = openRun<OrtResult>(o.out, config, !!o.resume, ORT_LINES);
  const stray = run.done.find((r) => !byName.has(r.target));
  if (stray) throw badInput(`cases.jsonl holds a result for target "${stray.target}", which is not a target of this run`, { file: path.join(o.out, 'cases.jsonl'), hint: 'Choose another --out.' });
  results.push(...run.done);
  await processAll([...byName.keys()], (n) => n, new Set(run.done.map((r) => r.target)), work, (r) => run.append(r), opts);
  writeOrtSummary(o.out, config, results);
  return { out: o.out, targets: sortTargets(results), issues: results.flatMap((r) => r.issues) };
}

function sortTargets(results: OrtResult[]): OrtResult[] {
  return [...results].sort((a, b) => a.target.localeCompare(b.target, 'en', { numeric: true }));
}

/** issues.json and summary.json (every target's rows, in target order) of a finished ORT run. */
export function writeOrtSummary(dir: string, config: RunConfig, results: OrtResult[]): void {
  const targets = sortTargets(results);
  writeIssues(dir, targets.flatMap((r) => r.issues));
  writeSummaryFile(dir, { config, cases: targets.length, targets });
}
