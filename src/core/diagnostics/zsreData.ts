// Reader for zsRE request files (the form MEND / MEMIT / EasyEdit ship): a JSON array of
//
//   { "case_id"?: 0,                        optional integer (default: the record's index)
//     "subject"?: "Watts Humphrey",          needed for per-case edits (it must occur in src)
//     "src": "What university did Watts Humphrey attend?",      the edit question
//     "rephrase": "What university did Watts Humphrey take part in?",
//     "alt": "University of Michigan",       the new answer (EasyEdit's target_new)
//     "answers": ["Illinois Institute of Technology"],          the original answer(s) (a string is one)
//     "loc": "nq question: who played desmond doss father in hacksaw ridge",
//     "loc_ans": "Hugo Weaving" }            an unrelated question and its answer (locality)
//
// A bad record is reported by file, record and field (core/records.ts) and the others are read.

import { readRecords, RecordError, str, type RecordIssue } from '../records';
import { caseIds, readJson } from './evokeData';

export interface ZsreCase {
  caseId: number;
  subject?: string;
  src: string;
  rephrase: string;
  alt: string;
  answers: string[];
  loc: string;
  locAns: string;
}

function answersOf(record: unknown): string[] {
  const a = (record as Record<string, unknown>).answers;
  if (typeof a === 'string' && a) return [a];
  if (Array.isArray(a) && a.length > 0 && a.every((x) => typeof x === 'string' && x)) return a as string[];
  throw new RecordError('answers', `expected a non-empty string or list of strings (the original answers), got ${a === undefined ? 'nothing (the field is missing)' : JSON.stringify(a).slice(0, 60)}`);
}

/** Whether a parsed JSON record has zsRE's fields (src and alt) rather than CounterFact's. */
export const isZsreRecord = (r: unknown): boolean => typeof r === 'object' && r !== null && 'src' in r && 'alt' in r;

export function readZsre(file: string): { records: ZsreCase[]; issues: RecordIssue[] } {
  const idOf = caseIds(file);
  return readRecords(file, readJson(file), (record, index) => {
    const caseId = idOf(record, index);
    const src = str(record, 'src');
    const subjectRaw = (record as Record<string, unknown>).subject;
    if (subjectRaw !== undefined && (typeof subjectRaw !== 'string' || !subjectRaw)) throw new RecordError('subject', `expected a non-empty string, got ${JSON.stringify(subjectRaw)}`);
    const subject = subjectRaw as string | undefined;
    if (subject !== undefined && !src.includes(subject)) throw new RecordError('subject', `the subject ${JSON.stringify(subject)} does not occur in src ${JSON.stringify(src)}`);
    const alt = str(record, 'alt');
    return { caseId, ...(subject ? { subject } : {}), src, rephrase: str(record, 'rephrase'), alt, answers: answersOf(record), loc: str(record, 'loc'), locAns: str(record, 'loc_ans') };
  });
}
