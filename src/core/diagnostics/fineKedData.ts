// Reader for FINE-KED data files (DiKE's fine-grained locality benchmark, in MechEdit's JSON form):
// a JSON array of CounterFact-style records with the same subject's other facts graded by level.
//
//   { "case_id": 0,                                   optional integer (default: the record's index)
//     "requested_rewrite": { "prompt": "{} was born in", "subject": "Ada", "relation_id"?: "birthplace",
//                            "target_new": { "str": "Paris" }, "target_true": { "str": "London" } },
//     "paraphrase_prompts"?: ["Ada is originally from", …],     filled prompts; answer target_new
//     "neighborhood_prompts"?: ["Bob was born in", …],          other subjects whose answer is target_true
//     "fine_grained": [ { "relation"?: "citizenship", "level": "easy" | "middle" | "hard",
//                         "prompt": "Ada is a citizen of", "answer": "England" }, … ] }   at least one
//
// The bundled model's file is written by tools/world/fine_ked.py. A bad record is reported by file,
// record and field (core/records.ts) and the others are read.

import { readRecords, RecordError, str, type RecordIssue } from '../records';
import { caseIds, readJson, rewriteCase, type RewriteCase } from './evokeData';
import type { FineLevel } from '../../protocol/diagnostics';

export const FINE_LEVELS: readonly FineLevel[] = ['easy', 'middle', 'hard'];
export type { FineLevel };

/** A fact of the edit's subject with another relation: it should be answered as before the edit. */
export interface FineFact {
  relation?: string;
  level: FineLevel;
  /** The filled prompt (the subject in it). */
  prompt: string;
  answer: string;
}

export interface FineKedCase extends RewriteCase {
  fineGrained: FineFact[];
}

function fineFacts(record: unknown, targetNew: string): FineFact[] {
  const list = (record as Record<string, unknown>).fine_grained;
  if (!Array.isArray(list) || list.length === 0) throw new RecordError('fine_grained', `expected a non-empty list of {level, prompt, answer}, got ${list === undefined ? 'nothing (the field is missing)' : JSON.stringify(list).slice(0, 60)}`);
  return list.map((f, i) => {
    const at = `fine_grained[${i}]`;
    if (typeof f !== 'object' || f === null || Array.isArray(f)) throw new RecordError(at, `expected an object {level, prompt, answer}, got ${JSON.stringify(f)}`);
    const level = (f as Record<string, unknown>).level;
    if (!(FINE_LEVELS as readonly unknown[]).includes(level)) throw new RecordError(`${at}.level`, `expected one of ${FINE_LEVELS.join(', ')}, got ${JSON.stringify(level) ?? 'nothing (the field is missing)'}`);
    const prompt = str(f, 'prompt', `${at}.prompt`);
    if (prompt.includes('{}')) throw new RecordError(`${at}.prompt`, `the prompt is filled in (the subject written out), not a template with "{}": ${JSON.stringify(prompt)}`);
    const answer = str(f, 'answer', `${at}.answer`);
    if (answer === targetNew) throw new RecordError(`${at}.answer`, `the answer is the edit's target_new (${JSON.stringify(answer)}): the fact could not tell a kept answer from the edit's`);
    const relation = (f as Record<string, unknown>).relation;
    if (relation !== undefined && (typeof relation !== 'string' || !relation)) throw new RecordError(`${at}.relation`, `expected a non-empty string, got ${JSON.stringify(relation)}`);
    return { ...(relation ? { relation: relation as string } : {}), level: level as FineLevel, prompt, answer };
  });
}

export function readFineKed(file: string): { records: FineKedCase[]; issues: RecordIssue[] } {
  const idOf = caseIds(file);
  return readRecords(file, readJson(file), (record, index) => {
    const { rc } = rewriteCase(record, idOf(record, index), true);
    if (rc.targetNew === rc.targetTrue) throw new RecordError('requested_rewrite.target_new.str', `target_new equals target_true (${JSON.stringify(rc.targetNew)}): nothing would change`);
    return { ...rc, fineGrained: fineFacts(record, rc.targetNew) };
  });
}
