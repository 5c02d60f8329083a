// The Diagnostics panel's last results, kept so that a window reload (or the panel closed and
// opened again) shows them again. What a run leaves on disk differs by kind: EVOKE its run folders
// (cases.jsonl, summary.json per before / after), ORT and "Diagnose This Edit" nothing. So the host
// writes every result whole, as the panel received it, to <diagnostics folder>/last.json
// (.mechedit/diagnostics/ of the workspace, see outputFolders.ts), and the workspace remembers
// where (workspaceState[LAST_DIAGNOSTICS_KEY] = LastPointer). No VS Code here (unit-tested).
//
// last.json: {"format":"mechedit-diagnostics/1","savedAt":ISO 8601,"model"?:path,"result":…},
// format first, so that a file MechEdit did not write is recognised from its first bytes and
// never replaced.
//
// Every run is also kept in <diagnostics folder>/history/<savedAt>-<kind>.json (the same format,
// with "brief": what was run, DiagnosticsBrief), never overwritten: the panel lists them and
// compares two side by side.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { EditDiagnostics, EvokeDiagnostics, FineKedDiagnostics, OrtDiagnostics, ProbesDiagnostics } from '../../protocol/diagnostics';
import type { DiagnosticsBrief, DiagnosticsHistory, DiagnosticsRunEntry } from '../../protocol/panels';
import { readUserText } from '../readGuard';

export const LAST_DIAGNOSTICS_KEY = 'mechedit.lastDiagnostics';
export const LAST_FILE = 'last.json';
export const LAST_FORMAT = 'mechedit-diagnostics/1';

export type AnyDiagnostics = EvokeDiagnostics | OrtDiagnostics | FineKedDiagnostics | ProbesDiagnostics | EditDiagnostics;

export interface SavedDiagnostics {
  format: typeof LAST_FORMAT;
  /** When the results were computed (ISO 8601). */
  savedAt: string;
  /** The model folder they were computed on. */
  model?: string;
  /** History files only: what was run. */
  brief?: DiagnosticsBrief;
  result: AnyDiagnostics;
}

/** What the workspace remembers: where the last results are, and when they were computed. */
export interface LastPointer {
  file: string;
  savedAt: string;
}

/**
 * Writes `saved` to `<dir>/last.json` (a temp file renamed over it, so a reader never sees half a
 * file) and returns its path. Refuses to replace a last.json that MechEdit did not write.
 */
export function writeLast(dir: string, saved: Omit<SavedDiagnostics, 'format'>): string {
  const file = path.join(dir, LAST_FILE);
  if (fs.existsSync(file) && !isOurs(file)) throw new Error(`${file} exists and was not written by MechEdit: move it away to keep the last diagnostics results.`);
  writeAtomic(file, saved);
  return file;
}

function writeAtomic(file: string, saved: Omit<SavedDiagnostics, 'format'>): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  try {
    fs.writeFileSync(tmp, JSON.stringify({ format: LAST_FORMAT, savedAt: saved.savedAt, model: saved.model, ...(saved.brief ? { brief: saved.brief } : {}), result: saved.result }));
    fs.renameSync(tmp, file);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

export const HISTORY_FOLDER = 'history';
/** The most runs the panel lists (the newest); older ones stay on disk. */
export const HISTORY_LISTED = 30;

/**
 * Keeps a run in `<dir>/history/` under a new name (`<savedAt>-<kind>.json`, `-2`, `-3`… if taken):
 * no run is ever overwritten. Returns the file.
 */
export function writeHistory(dir: string, saved: Omit<SavedDiagnostics, 'format'> & { brief: DiagnosticsBrief }): string {
  const folder = path.join(dir, HISTORY_FOLDER);
  const stem = `${saved.savedAt.replace(/[:.]/g, '-')}-${saved.brief.kind}`;
  let file = path.join(folder, `${stem}.json`);
  for (let i = 2; fs.existsSync(file); i++) file = path.join(folder, `${stem}-${i}.json`);
  writeAtomic(file, saved);
  return file;
}

/** The kept runs of `<dir>/history/`, newest first (HISTORY_LISTED at most); files that are not kept runs are named in `unreadable`. */
export async function listHistory(dir: string): Promise<DiagnosticsHistory> {
  const folder = path.join(dir, HISTORY_FOLDER);
  const names = fs.existsSync(folder) ? fs.readdirSync(folder).filter((n) => n.endsWith('.json')).sort().reverse().slice(0, HISTORY_LISTED) : [];
  const runs: DiagnosticsRunEntry[] = [];
  const unreadable: string[] = [];
  for (const name of names) {
    const file = path.join(folder, name);
    const read = await readLast(file);
    if ('saved' in read && isBrief(read.saved.brief)) runs.push({ file, savedAt: read.saved.savedAt, brief: read.saved.brief, ...(read.saved.model ? { model: read.saved.model } : {}) });
    else unreadable.push('error' in read ? read.error : `${file}: "brief" is missing or not a run's brief.`);
  }
  runs.sort((a, b) => Date.parse(b.savedAt) - Date.parse(a.savedAt));
  return { runs, folder, ...(unreadable.length ? { unreadable } : {}) };
}

function isBrief(v: unknown): v is DiagnosticsBrief {
  return isObject(v) && ['evoke', 'ort', 'fine-ked', 'probes', 'edit'].includes(v.kind as string) && Array.isArray(v.edits) && v.edits.every((e) => typeof e === 'string');
}

function isOurs(file: string): boolean {
  const fd = fs.openSync(file, 'r');
  try {
    const head = Buffer.alloc(64);
    const n = fs.readSync(fd, head, 0, head.length, 0);
    return head.subarray(0, n).toString('utf8').startsWith(`{"format":"${LAST_FORMAT}"`);
  } finally {
    fs.closeSync(fd);
  }
}

/** The pointer as workspaceState holds it; anything malformed reads as none. */
export function pointerOf(value: unknown): LastPointer | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const v = value as Partial<LastPointer>;
  return typeof v.file === 'string' && v.file && typeof v.savedAt === 'string' ? { file: v.file, savedAt: v.savedAt } : undefined;
}

/** Reads last.json back: the saved results, or an error naming the file and the field at fault. */
export async function readLast(file: string): Promise<{ saved: SavedDiagnostics } | { error: string }> {
  let text: string;
  try {
    text = readUserText(file, 'run');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { error: code === 'ENOENT' ? `${file} no longer exists.` : `${file} could not be read (${(err as Error).message}).` };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { error: `${file} is not valid JSON (${(err as Error).message}).` };
  }
  const wrong = checkSaved(value);
  return wrong ? { error: `${file}: ${wrong}` } : { saved: value as SavedDiagnostics };
}

/** Why `value` is not saved results the panel can draw (the first field at fault), or undefined. */
export function checkSaved(value: unknown): string | undefined {
  if (!isObject(value)) return 'not a JSON object.';
  if (value.format !== LAST_FORMAT) return `"format" is ${JSON.stringify(value.format)}, not "${LAST_FORMAT}".`;
  if (typeof value.savedAt !== 'string' || Number.isNaN(Date.parse(value.savedAt))) return '"savedAt" is not a date.';
  if (value.model !== undefined && typeof value.model !== 'string') return '"model" is not a path.';
  const r = value.result;
  if (!isObject(r)) return '"result" is not an object.';
  const need = (fields: [string, 'object' | 'array' | 'number' | 'string'][]): string | undefined => {
    for (const [field, type] of fields) {
      const v = r[field];
      const ok = type === 'array' ? Array.isArray(v) : type === 'object' ? isObject(v) : typeof v === type && (type !== 'number' || Number.isFinite(v));
      if (!ok) return `"result.${field}" is not ${type === 'array' ? 'a list' : `a${type === 'object' ? 'n' : ''} ${type}`}.`;
    }
    return undefined;
  };
  if (r.kind === 'edit') return need([['edit', 'object'], ['facts', 'array'], ['seconds', 'number']]);
  if (r.kind === 'probes') {
    const wrong = need([['method', 'string'], ['groups', 'array'], ['summary', 'object'], ['seconds', 'number']]);
    if (wrong) return wrong;
    return (r.groups as unknown[]).every((g) => isObject(g) && Array.isArray(g.results)) ? undefined : '"result.groups" are not groups of probe results.';
  }
  if (r.kind === 'fine-ked') {
    const wrong = need([['method', 'string'], ['before', 'object'], ['after', 'object'], ['out', 'object'], ['seconds', 'number']]);
    if (wrong) return wrong;
    return ['before', 'after'].every((k) => isObject((r[k] as Record<string, unknown>).levels) && Array.isArray((r[k] as Record<string, unknown>).worst)) ? undefined : '"result.before" / "result.after" are not FINE-KED summaries.';
  }
  if ('targets' in r) {
    const wrong = need([['targets', 'array'], ['enabledEdits', 'number'], ['seconds', 'number']]);
    if (wrong) return wrong;
    const bad = (r.targets as unknown[]).findIndex((t) => !isObject(t) || !Array.isArray(t.rows));
    return bad >= 0 ? `"result.targets[${bad}].rows" is not a list.` : undefined;
  }
  const wrong = need([['method', 'string'], ['before', 'object'], ['after', 'object'], ['beforeCases', 'array'], ['afterCases', 'array'], ['out', 'object'], ['seconds', 'number']]);
  if (wrong) return wrong;
  return typeof (r.out as Record<string, unknown>).after === 'string' ? undefined : '"result.out.after" is not a folder.';
}

function isObject(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}
