// The rows of the Edits view, without VS Code (unit-tested): every applied edit, in stack order,
// wherever its file lives (the workspace's .mechedit/edits/, the extension's storage folder when
// the workspace is the model's own folder, any folder an edit was applied from) or with no file;
// then the workspace's edit files that are not applied, by path.

import * as path from 'node:path';
import type { StackItem } from '../../protocol/edits';
import { editFileProblem } from '../../protocol/editSchema';

/** One row: an applied edit (item, and its file when it has one) or an edit file not applied. */
export interface EditRow {
  file?: string;
  item?: StackItem;
}

export function editRows(items: readonly StackItem[], files: readonly string[]): EditRow[] {
  const applied = new Set(items.filter((i) => i.file).map((i) => path.resolve(i.file!)));
  const rest = files.filter((f) => !applied.has(path.resolve(f))).sort((a, b) => a.localeCompare(b));
  return [...items.map((item) => ({ file: item.file, item })), ...rest.map((file) => ({ file }))];
}

/**
 * Why an edit file is not fit to apply as it is: it is broken (not JSON, or against
 * schemas/edit.schema.json: MechEdit cannot apply it), it did not take, or its health warns (its
 * file's health, src/core/jobs/editJob.ts measureAndWrite).
 */
export interface HeldBack {
  kind: 'broken' | 'failed' | 'unhealthy';
  /** The first thing the row's tooltip says. */
  reason: string;
}

/**
 * From an edit file's JSON: 'failed' when its health.efficacy says it did not take (the outcome
 * reason), 'unhealthy' when health.warnings has any (all of them, joined); undefined otherwise or
 * for a file with no health record.
 */
export function heldBack(json: unknown): HeldBack | undefined {
  const health = (json as { health?: { efficacy?: { succeeded?: unknown; reason?: unknown }; warnings?: unknown } } | null)?.health;
  if (!health || typeof health !== 'object') return undefined;
  if (health.efficacy?.succeeded === false) return { kind: 'failed', reason: `did not take: ${typeof health.efficacy.reason === 'string' ? health.efficacy.reason : 'no reason recorded'}` };
  const warnings = Array.isArray(health.warnings) ? health.warnings.filter((w): w is string => typeof w === 'string') : [];
  return warnings.length ? { kind: 'unhealthy', reason: `unhealthy: ${warnings.join('; ')}` } : undefined;
}

/** An edit file's label and id (absent when it has none or cannot be read) and its mark, from its text. */
export interface FileInfo {
  label?: string;
  id?: string;
  held?: HeldBack;
}

/** Reads an edit file's text: a broken one (editFileProblem: the field and what is wrong) is marked 'broken', else as heldBack says. */
export function fileInfoOf(text: string): FileInfo {
  const problem = editFileProblem(text);
  let json: { label?: unknown; id?: unknown } | undefined;
  try {
    json = JSON.parse(text) as typeof json;
  } catch {
    json = undefined;
  }
  const label = typeof json?.label === 'string' && json.label ? json.label : undefined;
  const id = typeof json?.id === 'string' && json.id ? json.id : undefined;
  const held: HeldBack | undefined = problem ? { kind: 'broken', reason: `broken: ${problem.message}` } : heldBack(json);
  return { ...(label ? { label } : {}), ...(id ? { id } : {}), ...(held ? { held } : {}) };
}

/**
 * The rows left when failed edits are hidden (the view's filter): every applied edit stays (it is
 * on the stack, whatever its file says), and so do broken and unhealthy files; unapplied files
 * marked 'failed' go. `mark` answers a file's mark.
 */
export function withoutFailed(rows: readonly EditRow[], mark: (file: string) => HeldBack | undefined): { rows: EditRow[]; hidden: number } {
  const kept = rows.filter((r) => r.item || !r.file || mark(r.file)?.kind !== 'failed');
  return { rows: kept, hidden: rows.length - kept.length };
}
