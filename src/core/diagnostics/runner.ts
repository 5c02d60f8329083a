// Batch runs of a diagnostic over a data set, crash-safe: one JSON line per finished case is
// appended to cases.jsonl, so a crash or cancel loses no finished case and --resume continues
// where the run stopped. A run folder holds:
//   run.json      what was run (model fingerprint, data files and their sha256, method, shard)
//   cases.jsonl   one CaseResult per line
//   issues.json   records of the data files that failed validation (file, index, field)
//   summary.json  per-task means (written at the end, and by `mechedit merge`)
//   report.html   self-contained report (no remote content)

import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { badInput, cancelled } from '../errors';
import type { RecordIssue } from './records';

export interface Shard {
  index: number;
  count: number;
}

export interface RunConfig {
  tool: string;
  version: number;
  modelFingerprint: string;
  modelPath: string;
  method: string;
  data: { file: string; sha256: string }[];
  limit?: number;
  shard?: Shard;
  /** EVOKE's per-case edits: the settings they were computed with (absent: the model's defaults). */
  perCase?: { layer?: number; layers?: number[]; lambda?: number; corpus?: string[] };
}

export function sha256File(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

export function parseShard(text: string | undefined): Shard | undefined {
  if (text === undefined) return undefined;
  const m = /^(\d+)\/(\d+)$/.exec(text);
  const shard = m ? { index: Number(m[1]), count: Number(m[2]) } : undefined;
  if (!shard || shard.count < 1 || shard.index >= shard.count) {
    throw badInput(`--shard must be i/n with 0 ≤ i < n (e.g. 0/8 … 7/8, as $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT), got "${text}"`, { field: '--shard' });
  }
  return shard;
}

export function inShard<T>(items: T[], shard: Shard | undefined): T[] {
  return shard ? items.filter((_, i) => i % shard.count === shard.index) : items;
}

/** Same run? Everything but the shard must match for a resume or a merge. */
function sameRun(a: RunConfig, b: RunConfig, withShard: boolean): string | undefined {
  const keys: (keyof RunConfig)[] = ['tool', 'version', 'modelFingerprint', 'method', 'limit', 'perCase'];
  for (const k of keys) if (JSON.stringify(a[k]) !== JSON.stringify(b[k])) return `${k}: ${JSON.stringify(a[k])} ≠ ${JSON.stringify(b[k])}`;
  if (JSON.stringify(a.data.map((d) => d.sha256)) !== JSON.stringify(b.data.map((d) => d.sha256))) return 'the data files differ';
  if (withShard && JSON.stringify(a.shard) !== JSON.stringify(b.shard)) return `shard: ${JSON.stringify(a.shard)} ≠ ${JSON.stringify(b.shard)}`;
  return undefined;
}

/** Reads cases.jsonl, dropping a last line cut off by a crash (and truncating it away). */
export function readCases<T>(file: string): T[] {
  if (!fs.existsSync(file)) return [];
  const text = fs.readFileSync(file, 'utf8');
  const lines = text.split('\n');
  const out: T[] = [];
  let good = 0;
  for (const line of lines) {
    if (!line.trim()) {
      good += line.length + 1;
      continue;
    }
    try {
      out.push(JSON.parse(line));
      good += line.length + 1;
    } catch {
      break;
    }
  }
  if (good < text.length) fs.truncateSync(file, Buffer.byteLength(text.slice(0, Math.min(good, text.length))));
  return out;
}

export interface OpenedRun<T> {
  dir: string;
  done: T[];
  append(results: T[]): void;
}

/** Creates (or, with resume, reopens) a run folder. */
export function openRun<T>(dir: string, config: RunConfig, resume: boolean): OpenedRun<T> {
  const casesFile = path.join(dir, 'cases.jsonl');
  const runFile = path.join(dir, 'run.json');
  fs.mkdirSync(dir, { recursive: true });
  let done: T[] = [];
  if (fs.existsSync(runFile) && fs.existsSync(casesFile)) {
    if (!resume) throw badInput(`The output folder already holds a run`, { file: dir, hint: 'Pass --resume to continue it, or choose another --out.' });
    const previous = JSON.parse(fs.readFileSync(runFile, 'utf8')) as RunConfig;
    const diff = sameRun(previous, config, true);
    if (diff) throw badInput(`--resume: the folder holds a different run (${diff})`, { file: runFile, hint: 'Resume with the same model, data, method, limit and shard, or choose another --out.' });
    done = readCases<T>(casesFile);
  } else {
    fs.writeFileSync(runFile, `${JSON.stringify(config, null, 2)}\n`);
    fs.writeFileSync(casesFile, '');
  }
  return {
    dir,
    done,
    append(results) {
      if (results.length) fs.appendFileSync(casesFile, results.map((r) => `${JSON.stringify(r)}\n`).join(''));
    },
  };
}

export interface RunProgress {
  done: number;
  total: number;
  etaSeconds?: number;
}

/**
 * Processes `items` in chunks, skipping those already done, appending results as it goes.
 * `work` turns a chunk into one result per item (batched inside).
 */
export async function processAll<I, R>(
  items: I[],
  key: (item: I) => string,
  doneKeys: Set<string>,
  work: (chunk: I[]) => Promise<R[]>,
  append: (results: R[]) => void,
  opts: { chunk?: number; onProgress?: (p: RunProgress) => void; isCancelled?: () => boolean },
): Promise<void> {
  const todo = items.filter((i) => !doneKeys.has(key(i)));
  const total = items.length;
  let done = total - todo.length;
  const t0 = Date.now();
  let processed = 0;
  opts.onProgress?.({ done, total });
  const size = opts.chunk ?? 8;
  for (let i = 0; i < todo.length; i += size) {
    if (opts.isCancelled?.()) throw cancelled(`Cancelled after ${done} of ${total} cases; finished cases are saved (use --resume).`);
    const chunk = todo.slice(i, i + size);
    append(await work(chunk));
    done += chunk.length;
    processed += chunk.length;
    const rate = processed / ((Date.now() - t0) / 1000);
    opts.onProgress?.({ done, total, etaSeconds: rate > 0 ? (total - done) / rate : undefined });
  }
}

export function writeIssues(dir: string, issues: RecordIssue[]): void {
  fs.writeFileSync(path.join(dir, 'issues.json'), `${JSON.stringify(issues, null, 2)}\n`);
}

/** Checks that run folders can be merged (same run, different shards) and returns the config. */
export function mergeConfigs(dirs: string[]): RunConfig {
  if (dirs.length === 0) throw badInput('Nothing to merge', { field: 'folders', hint: 'Give the run folders of the shards.' });
  const configs = dirs.map((d) => {
    const f = path.join(d, 'run.json');
    if (!fs.existsSync(f)) throw badInput('Not a run folder (no run.json)', { file: d });
    return JSON.parse(fs.readFileSync(f, 'utf8')) as RunConfig;
  });
  for (let i = 1; i < configs.length; i++) {
    const diff = sameRun(configs[0], configs[i], false);
    if (diff) throw badInput(`These runs cannot be merged (${diff})`, { file: dirs[i] });
  }
  return { ...configs[0], shard: undefined };
}
