// Strict record validation: a bad record is reported by file, record index and field, and the
// rest of the file is still read.

import { MechEditError } from './errors';

export interface RecordIssue {
  file: string;
  index: number;
  field: string;
  message: string;
}

/** Thrown inside a record reader; collected per record by readRecords(). */
export class RecordError extends Error {
  constructor(readonly field: string, message: string) {
    super(message);
  }
}

export function str(obj: unknown, field: string, path = field): string {
  const v = (obj as Record<string, unknown> | null)?.[field];
  if (typeof v !== 'string' || v.length === 0) throw new RecordError(path, `expected a non-empty string, got ${describe(v)}`);
  return v;
}

export function strList(obj: unknown, field: string, path = field, optional = false): string[] {
  const v = (obj as Record<string, unknown> | null)?.[field];
  if (v === undefined && optional) return [];
  if (!Array.isArray(v)) throw new RecordError(path, `expected a list of strings, got ${describe(v)}`);
  v.forEach((x, i) => {
    if (typeof x !== 'string' || x.length === 0) throw new RecordError(`${path}[${i}]`, `expected a non-empty string, got ${describe(x)}`);
  });
  return v as string[];
}

export function obj(parent: unknown, field: string, path = field): Record<string, unknown> {
  const v = (parent as Record<string, unknown> | null)?.[field];
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new RecordError(path, `expected an object, got ${describe(v)}`);
  return v as Record<string, unknown>;
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing (the field is missing)';
  const text = JSON.stringify(v);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/**
 * Applies `read` to every element of a JSON array; bad records (null, not an object, or a bad
 * field) become issues. `read` may throw a MechEditError to refuse the whole file.
 */
export function readRecords<T>(file: string, data: unknown, read: (record: unknown, index: number) => T): { records: T[]; issues: RecordIssue[] } {
  if (!Array.isArray(data)) return { records: [], issues: [{ file, index: -1, field: '', message: 'expected a JSON array of records' }] };
  const records: T[] = [];
  const issues: RecordIssue[] = [];
  data.forEach((record, index) => {
    try {
      if (typeof record !== 'object' || record === null || Array.isArray(record)) throw new RecordError('', `expected a record (a JSON object), got ${describe(record)}`);
      records.push(read(record, index));
    } catch (e) {
      if (!(e instanceof RecordError)) throw e;
      issues.push({ file, index, field: e.field, message: e.message });
    }
  });
  return { records, issues };
}

export function formatIssue(i: RecordIssue): string {
  return `${i.file}: record ${i.index}${i.field ? `, field "${i.field}"` : ''}: ${i.message}`;
}

/**
 * "Empty is an error": a diagnostic with no usable case refuses to run (it would print metrics
 * for nothing), saying how many records were skipped and why the first was. `what` names the
 * data ("cases", "probe cases"); `shard`: this run is one shard of `records` usable records (an
 * empty shard of data that has cases is not an error).
 */
export function refuseEmpty(usable: number, issues: RecordIssue[], file: string, what = 'cases', shard?: { index: number; count: number; records: number }): void {
  // A shard of a run whose data has cases may be empty (more shards than cases): its part is nothing.
  if (usable > 0 || (shard && shard.records > 0)) return;
  const first = issues[0];
  const firstText = first && `${first.file === file ? '' : `${first.file}: `}record ${first.index}${first.field ? `, field "${first.field}"` : ''}: ${first.message}`;
  const skipped = issues.length ? `${issues.length} record(s) skipped; the first: ${firstText}` : 'the file holds no records';
  throw new MechEditError({
    code: 'bad-input',
    message: `No usable ${what}: ${skipped}`,
    file,
    hint: issues.length ? 'Fix the records (issues.json lists them all when a run writes one), or give another data file.' : 'Give a data file with cases.',
  });
}
