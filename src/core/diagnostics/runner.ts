// Batch runs of a diagnostic over a data set, crash-safe: one JSON line per finished case is
// appended to cases.jsonl, so a crash or cancel loses no finished case and --resume continues
// where the run stopped. A run folder holds:
//   run.json      what was run (RunConfig: model fingerprint, data files and their sha256, method,
//                 the fixed edit stack, the per-case edit settings, limit, shard)
//   cases.jsonl   one result per line, each line ending in "\n" (a line without one was cut by
//                 a crash: --resume drops it and does that case again)
//   issues.json   records of the data files that failed validation (file, index, field)
//   summary.json  written when the run finishes (and by `mechedit merge`): a run folder without
//                 it did not finish
//   report.html   self-contained report (no remote content)

import type { RunProtocol } from '../../protocol/diagnostics';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { badInput, cancelled, MechEditError } from '../errors';
import { appendOut, guarded, makeOutFolder, writeOut } from '../outputs';
import type { RecordIssue } from '../records';
import { recordProblem } from './recordSchemas';
import type { EditStack } from '../edits/stack';
import { decodeText, inputPresent, readInputBytes, readInputJson, readInputText, type InputKind } from '../inputs';

export interface Shard {
  index: number;
  count: number;
}

export interface FileHash { file: string; sha256: string }

/** An edit applied for a whole run: its id, strength and the sha256 of its file and vectors (absent for an edit that has no file). */
export interface EditRef {
  id: string;
  strength?: number;
  sha256?: string;
}

export interface RunConfig {
  tool: string;
  version: number;
  modelFingerprint: string;
  modelPath: string;
  method: string;
  data: FileHash[];
  limit?: number;
  shard?: Shard;
  /** The edit stack applied for the whole run (enabled edits, in order). */
  edits?: EditRef[];
  /** EVOKE's per-case edits: the settings they were computed with (absent: the model's defaults). */
  perCase?: { layer?: number; layers?: number[]; lambda?: number; preset?: string; corpus?: FileHash[] };
  /** How the run measured (protocol.ts): scoring, when, templates, metric versions. */
  protocol?: RunProtocol;
}

function sha256File(file: string, kind: InputKind): string {
  return createHash('sha256').update(readInputBytes(file, kind)).digest('hex');
}

/** The file's path and sha256; a file that cannot be read is refused by name. */
export function fileHash(file: string, kind: InputKind = 'data'): FileHash {
  try {
    return { file: path.resolve(file), sha256: sha256File(file, kind) };
  } catch (e) {
    if (e instanceof MechEditError) throw e;
    throw badInput(`Cannot read the file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { file: path.resolve(file), hint: 'Check the path.' });
  }
}

/**
 * The enabled edits of a stack, in order, each with the sha256 of its .json and its vectors file:
 * what a run records so that --resume and merge refuse another stack under the same ids.
 */
export function stackRefs(stack: EditStack): EditRef[] {
  return stack.list().filter((e) => e.enabled && e.strength !== 0).map((e) => {
    let sha256: string | undefined;
    if (e.file) {
      try {
        const json = readInputBytes(e.file, 'edit');
        const vectors = path.join(path.dirname(e.file), String((JSON.parse(json.toString('utf8')) as { vectors?: unknown }).vectors));
        sha256 = createHash('sha256').update(json).update('\0').update(readInputBytes(vectors, 'vectors')).digest('hex');
      } catch (err) {
        throw badInput(`Cannot read the edit to record it with the run: ${(err as Error).message}`, { file: e.file, hint: 'The edit file or its vectors changed while the run started: start it again.' });
      }
    }
    return { id: e.id, strength: e.strength, ...(sha256 ? { sha256 } : {}) };
  });
}

/** An edit of a run as text: its id, with ×strength when that is not 1. */
export const editRefText = (e: EditRef) => `${e.id}${e.strength !== undefined && e.strength !== 1 ? ` ×${e.strength}` : ''}`;

/** "i/n" (field 'shard'), or undefined. */
export function parseShard(text: string | undefined): Shard | undefined {
  if (text === undefined) return undefined;
  const m = /^(\d{1,9})\/(\d{1,9})$/.exec(text);
  const shard = m ? { index: Number(m[1]), count: Number(m[2]) } : undefined;
  if (!shard || shard.count < 1 || shard.index >= shard.count) {
    throw badInput(`shard must be i/n with 0 ≤ i < n (e.g. 0/8 … 7/8, as $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT), got "${text}"`, { field: 'shard' });
  }
  return shard;
}

export function inShard<T>(items: T[], shard: Shard | undefined): T[] {
  return shard ? items.filter((_, i) => i % shard.count === shard.index) : items;
}

const shardText = (s: Shard | undefined) => (s ? `${s.index}/${s.count}` : 'none');

/** What must match for a resume or a merge: everything but the shard (and the paths, which may differ between hosts). */
function sameRun(a: RunConfig, b: RunConfig): string | undefined {
  const same = (x: unknown, y: unknown) => JSON.stringify(x ?? null) === JSON.stringify(y ?? null);
  const hashes = (files: FileHash[] | undefined) => files?.map((f) => f.sha256);
  for (const k of ['tool', 'version', 'modelFingerprint', 'method', 'limit'] as const) {
    if (!same(a[k], b[k])) return `${k}: ${JSON.stringify(a[k] ?? null)} ≠ ${JSON.stringify(b[k] ?? null)}`;
  }
  if (!same(hashes(a.data), hashes(b.data))) return 'the data files differ (sha256)';
  const stack = (x: RunConfig) => (x.edits ?? []).map((e) => `${editRefText(e)}${e.sha256 ? ` (${e.sha256.slice(0, 12)})` : ''}`).join(', ') || 'no edits';
  if (!same(a.edits ?? [], b.edits ?? [])) return `edits: ${stack(a)} ≠ ${stack(b)}`;
  const pa = a.perCase;
  const pb = b.perCase;
  for (const k of ['layer', 'layers', 'lambda', 'preset'] as const) {
    if (!same(pa?.[k], pb?.[k])) return `per-case ${k}: ${JSON.stringify(pa?.[k] ?? 'default')} ≠ ${JSON.stringify(pb?.[k] ?? 'default')}`;
  }
  if (!same(hashes(pa?.corpus), hashes(pb?.corpus))) return 'the per-case corpus differs (sha256)';
  return undefined;
}

/** run.json of a run folder, checked for the fields every run records. */
export function readRunConfig(dir: string): RunConfig {
  const file = path.join(dir, 'run.json');
  const hint = 'run.json records what the run was (model, data, settings): without it the results cannot be checked. Start the run again in a new --out folder.';
  const text = readInputText(file, 'config');
  let c: RunConfig;
  try {
    c = JSON.parse(text) as RunConfig;
  } catch (e) {
    throw badInput(`The run record is unreadable: ${(e as Error).message}`, { file, hint });
  }
  const bad = (field: string) => badInput(`The run record is damaged: "${field}" is missing or of the wrong type`, { file, field, hint });
  if (typeof c !== 'object' || c === null || Array.isArray(c)) throw bad('(the whole file)');
  if (typeof c.tool !== 'string') throw bad('tool');
  if (typeof c.version !== 'number') throw bad('version');
  if (typeof c.modelFingerprint !== 'string') throw bad('modelFingerprint');
  if (typeof c.method !== 'string') throw bad('method');
  if (!Array.isArray(c.data) || !c.data.every((d) => typeof d?.sha256 === 'string' && typeof d.file === 'string')) throw bad('data');
  if (typeof c.modelPath !== 'string') throw bad('modelPath');
  if (c.limit !== undefined && !(Number.isInteger(c.limit) && c.limit > 0)) throw bad('limit');
  if (c.shard !== undefined && !(Number.isInteger(c.shard?.index) && Number.isInteger(c.shard?.count) && c.shard.index >= 0 && c.shard.index < c.shard.count)) throw bad('shard');
  const editRef = (e: EditRef | null) => typeof e?.id === 'string' && ['number', 'undefined'].includes(typeof e.strength) && ['string', 'undefined'].includes(typeof e.sha256);
  if (c.edits !== undefined && !(Array.isArray(c.edits) && c.edits.every(editRef))) throw bad('edits');
  const pc = c.perCase as unknown;
  if (pc !== undefined && (typeof pc !== 'object' || pc === null || Array.isArray(pc))) throw bad('perCase');
  const corpus = c.perCase?.corpus as unknown;
  if (corpus !== undefined && !(Array.isArray(corpus) && corpus.every((f: FileHash | null) => typeof f?.sha256 === 'string' && typeof f.file === 'string'))) throw bad('perCase.corpus');
  const p = c.perCase;
  const opt = (v: unknown, ok: (x: unknown) => boolean) => v === undefined || v === null || ok(v);
  if (p && !opt(p.layer, Number.isInteger)) throw bad('perCase.layer');
  if (p && !opt(p.layers, (x) => Array.isArray(x) && x.every(Number.isInteger))) throw bad('perCase.layers');
  if (p && !opt(p.lambda, (x) => typeof x === 'number')) throw bad('perCase.lambda');
  if (p && !opt(p.preset, (x) => typeof x === 'string')) throw bad('perCase.preset');
  const texts = (x: unknown) => Array.isArray(x) && x.every((t) => typeof t === 'string');
  const pr = c.protocol as unknown as Record<string, unknown> | undefined;
  if (pr !== undefined && !(typeof pr === 'object' && pr !== null && texts(pr.scoring) && typeof pr.measured === 'string' && texts(pr.templates) && texts(pr.metrics))) throw bad('protocol');
  return c;
}

export interface CaseLineRules<T> {
  /** Why a parsed line is not a result of this tool (undefined: it is one). */
  check: (x: unknown) => string | undefined;
  /** The JSON schema of a line (schemas/runs/<tool>.schema.json, recordSchemas.ts): its first violation is refused naming the field. */
  schema?: object;
  /** The case a result is of: two lines of one case are refused. */
  key: (x: T) => string;
}

/** The rules of a tool's cases.jsonl lines: its schema (schemas/runs/<tool>.schema.json), and the key of the case a line is of. */
export function caseLines<T>(schema: object, key: (x: T) => string): CaseLineRules<T> {
  return { schema, key, check: (x) => recordProblem(schema, x)?.message };
}

interface ScannedCases<T> {
  cases: T[];
  /** Bytes of complete lines; less than the file's size when the last line was cut by a crash. */
  complete: number;
  cut: boolean;
}

/** Reads cases.jsonl strictly: a complete line that is not a result (or repeats a case) is refused by line number. */
function scanCases<T>(file: string, rules?: CaseLineRules<T>): ScannedCases<T> {
  if (!inputPresent(file)) return { cases: [], complete: 0, cut: false };
  const bytes = readInputBytes(file, 'run');
  const end = bytes.lastIndexOf(0x0a) + 1; // every complete line ends in "\n"
  const lines = decodeText(bytes.subarray(0, end), file, 'run').split('\n').slice(0, -1); // a BOM is dropped
  const hint = 'cases.jsonl holds one result per line, as MechEdit wrote it. If it was edited, restore it; or delete that line (its case is done again on --resume), or start the run again in a new --out folder.';
  const cases: T[] = [];
  const seen = new Map<string, number>();
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    const field = `line ${i + 1}`;
    let x: unknown;
    try {
      x = JSON.parse(line);
    } catch (e) {
      throw badInput(`Line ${i + 1} is not JSON (${(e as Error).message})`, { file, field, hint });
    }
    const problem = rules?.schema ? recordProblem(rules.schema, x) : undefined;
    if (problem) throw badInput(`Line ${i + 1} is not a result of this run: ${problem.message}`, { file, field: problem.field ? `${field}: ${problem.field}` : field, hint });
    const wrong = rules?.check(x);
    if (wrong) throw badInput(`Line ${i + 1} is not a result of this run: ${wrong}`, { file, field, hint });
    if (rules) {
      const key = rules.key(x as T);
      const first = seen.get(key);
      if (first !== undefined) throw badInput(`Lines ${first} and ${i + 1} are results of the same case (${key})`, { file, field, hint });
      seen.set(key, i + 1);
    }
    cases.push(x as T);
  });
  return { cases, complete: end, cut: end < bytes.length };
}

/**
 * The results in cases.jsonl. A last line cut by a crash (no "\n" at its end) is not a result: it
 * is left out, and with `repair` (--resume) cut from the file so that the case is done again.
 * Any other line that is not a result is refused, naming the file and line.
 */
export function readCases<T>(file: string, rules?: CaseLineRules<T>, repair = false): T[] {
  const scanned = scanCases(file, rules);
  if (scanned.cut && repair) guarded(file, () => fs.truncateSync(file, scanned.complete));
  return scanned.cases;
}

export interface OpenedRun<T> {
  dir: string;
  done: T[];
  append(results: T[]): void;
}

/**
 * Creates (or, with resume, reopens) a run folder. A folder that holds a run is refused without
 * resume; with it, the run must be the same (sameRun) and its cases.jsonl readable.
 */
export function openRun<T>(dir: string, config: RunConfig, resume: boolean, rules?: CaseLineRules<T>): OpenedRun<T> {
  const casesFile = path.join(dir, 'cases.jsonl');
  const runFile = path.join(dir, 'run.json');
  makeOutFolder(dir);
  const held = fs.existsSync(runFile) || fs.existsSync(casesFile);
  let done: T[] = [];
  if (held && !resume) throw badInput('The output folder already holds a run', { file: dir, hint: 'Pass --resume to continue it, or choose another --out.' });
  if (held) {
    if (!fs.existsSync(runFile)) throw badInput('The folder has results (cases.jsonl) but no run record (run.json): they cannot be checked against this run', { file: dir, hint: 'Choose another --out.' });
    const previous = readRunConfig(dir);
    const diff = sameRun(previous, config) ?? (JSON.stringify(previous.shard ?? null) !== JSON.stringify(config.shard ?? null) ? `shard: ${shardText(previous.shard)} ≠ ${shardText(config.shard)}` : undefined);
    if (diff) throw badInput(`--resume: the folder holds a different run (${diff})`, { file: runFile, hint: 'Resume with the same model, edits, data, method, settings, limit and shard, or choose another --out.' });
    done = readCases<T>(casesFile, rules, true);
    if (!fs.existsSync(casesFile)) writeOut(casesFile, '');
    guarded(dir, () => fs.rmSync(path.join(dir, 'summary.json'), { force: true })); // written again when the run finishes
  } else {
    writeOut(runFile, `${JSON.stringify(config, null, 2)}\n`);
    writeOut(casesFile, '');
  }
  return {
    dir,
    done,
    append(results) {
      if (results.length) appendOut(casesFile, results.map((r) => `${JSON.stringify(r)}\n`).join(''));
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
  writeOut(path.join(dir, 'issues.json'), `${JSON.stringify(issues, null, 2)}\n`);
}

/** The shards' issues.json, each issue once. */
export function mergedIssues(dirs: string[]): RecordIssue[] {
  const all = new Map<string, RecordIssue>();
  for (const d of dirs) {
    const file = path.join(d, 'issues.json');
    if (!fs.existsSync(file)) continue;
    const text = readInputText(file, 'run');
    let list: unknown;
    try {
      list = JSON.parse(text);
    } catch (e) {
      throw badInput(`issues.json of the shard is unreadable: ${(e as Error).message}`, { file });
    }
    if (!Array.isArray(list)) throw badInput('issues.json of the shard is not a list', { file });
    for (const i of list as RecordIssue[]) all.set(JSON.stringify(i), i);
  }
  return [...all.values()];
}

/**
 * summary.json (the run finished: merge relies on it); written last, atomically, with the sha256 of
 * cases.jsonl as it is then (`casesSha256`): merge refuses a shard whose lines changed afterwards.
 */
export function writeSummaryFile(dir: string, summary: object): void {
  const cases = path.join(dir, 'cases.jsonl');
  const casesSha256 = fs.existsSync(cases) ? sha256File(cases, 'run') : undefined;
  writeOut(path.join(dir, 'summary.json'), `${JSON.stringify({ ...summary, ...(casesSha256 ? { casesSha256 } : {}) }, null, 2)}\n`);
}

/** Refuses a finished run's cases.jsonl that is not the one its summary.json recorded (casesSha256; runs before it had none). */
export function checkCasesHash(dir: string): void {
  let recorded: unknown;
  try {
    recorded = (readInputJson(path.join(dir, 'summary.json'), 'run') as { casesSha256?: unknown }).casesSha256;
  } catch {
    return; // an unreadable summary.json is refused by its reader
  }
  if (recorded === undefined) return;
  const file = path.join(dir, 'cases.jsonl');
  if (recorded !== sha256File(file, 'run')) {
    throw badInput('cases.jsonl was changed after the run finished: its sha256 is not the one summary.json recorded (casesSha256)', { file, field: 'casesSha256', hint: 'Restore the shard\'s cases.jsonl, or run that shard again (delete summary.json and run the same command with --resume), then merge.' });
  }
}

/**
 * Checks that run folders are the complete set of shards of one run: every folder a finished run
 * with run.json, the same run (sameRun), the same shard count, every shard index exactly once.
 * Returns the run's config without the shard.
 */
export function mergeConfigs(dirs: string[]): RunConfig {
  if (dirs.length === 0) throw badInput('Nothing to merge', { field: 'folders', hint: 'Give the run folders of all the shards: mechedit merge --out DIR shard0 shard1 …' });
  const real = new Map<string, string>();
  for (const d of dirs) {
    let stat: fs.Stats | undefined;
    try {
      stat = fs.statSync(d);
    } catch {
      stat = undefined;
    }
    if (!stat?.isDirectory()) throw badInput('Not a run folder (no such folder)', { file: d, hint: 'Give the --out folders of the shard runs.' });
    const key = fs.realpathSync(d);
    if (real.has(key)) throw badInput(`The folder is given twice (${real.get(key)} and ${d})`, { file: d, hint: 'Give each shard folder once.' });
    real.set(key, d);
    if (!fs.existsSync(path.join(d, 'run.json'))) throw badInput('Not a run folder (no run.json)', { file: d, hint: 'Give the --out folders of the shard runs.' });
  }
  const configs = dirs.map((d) => readRunConfig(d));
  configs.forEach((c, i) => {
    if (!c.shard) throw badInput('This run was not sharded (no --shard): there is nothing to merge it with', { file: dirs[i], field: 'shard', hint: 'merge joins the folders of one run made with --shard 0/n … n-1/n.' });
    const diff = sameRun(configs[0], c);
    if (diff) throw badInput(`These runs cannot be merged (${diff})`, { file: dirs[i], hint: `${dirs[0]} and ${dirs[i]} are shards of different runs; merge only the shards of one run.` });
  });
  const count = configs[0].shard!.count;
  const byIndex = new Map<number, string>();
  configs.forEach((c, i) => {
    if (c.shard!.count !== count) throw badInput(`These runs cannot be merged: shard ${shardText(c.shard)} is from a run cut into ${c.shard!.count}, ${dirs[0]} (${shardText(configs[0].shard)}) from one cut into ${count}`, { file: dirs[i], field: 'shard' });
    const other = byIndex.get(c.shard!.index);
    if (other !== undefined) throw badInput(`Shard ${shardText(c.shard)} is given twice: ${other} and ${dirs[i]}`, { file: dirs[i], field: 'shard', hint: 'Give each shard once.' });
    byIndex.set(c.shard!.index, dirs[i]);
  });
  const missing = Array.from({ length: count }, (_, i) => i).filter((i) => !byIndex.has(i));
  if (missing.length) {
    const list = missing.slice(0, 20).map((i) => `${i}/${count}`).join(', ') + (missing.length > 20 ? `, … (${missing.length} in all)` : '');
    throw badInput(`Shard${missing.length > 1 ? 's' : ''} ${list} ${missing.length > 1 ? 'are' : 'is'} missing`, { field: 'folders', hint: `Run ${missing.length > 1 ? 'them' : 'it'} with --shard ${missing[0]}/${count}${missing.length > 1 ? ' …' : ''} and give all ${count} folders.` });
  }
  dirs.forEach((d, i) => {
    if (!fs.existsSync(path.join(d, 'summary.json'))) throw badInput(`Shard ${shardText(configs[i].shard)} did not finish (no summary.json)`, { file: d, hint: 'Finish it with the same command and --resume, then merge.' });
  });
  return { ...configs[0], shard: undefined };
}
