// Reader for knowledge-probe cases (`mechedit probes --cases FILE`; the bundled model's file is
// written by tools/world/probes.py): a JSON array of records
//
//   { "case_id"?: 0,                                        integer (default: the record's index)
//     "requested_rewrite": { "prompt": "{} was born in", "subject": "Ada", "relation_id"?: "birthplace",
//                            "target_new": { "str": "Paris" }, "target_true": { "str": "London" } },
//     "forms": ["Ada was born in", "Question: Where was Ada born?\nAnswer:", …],   filled; at least one
//     "candidates": ["Paris", "London", …],        the answers a form's top-1 is taken over (o* and o in it)
//     "reversal"?: { "relation"?: "…", "prompts": ["Paris is a city in", …], "answer": "Ada",
//                    "answer_before": "…" } | { "absent": "why not" },
//     "ripple"?: [ { "relation"?: "birth_country", "prompt": "…", "new": "…", "old": "…" }, … ],
//     "same_subject"?: [ { "relation"?: "citizenship", "prompt": "Ada is a citizen of", "answer": "England" }, … ] }
//
// A bad record is reported by file, record and field (core/records.ts) and the others are read.

import { readRecords, RecordError, str, strList, type RecordIssue } from '../records';
import { caseIds, readJson, rewrite, type RewriteCase } from './evokeData';

/** CounterFact's request (caseId, subject, prompt with "{}", relationId?, targetNew, targetTrue) and the probes' prompts. */
export interface ProbeCase extends Omit<RewriteCase, 'paraphrasePrompts' | 'neighborhoodPrompts'> {
  forms: string[];
  candidates: string[];
  reversal?: { relation?: string; prompts: string[]; answer: string; answerBefore: string };
  reversalAbsent?: string;
  ripple: { relation?: string; prompt: string; new: string; old: string }[];
  sameSubject: { relation?: string; prompt: string; answer: string }[];
}

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

function optionalRelation(x: Record<string, unknown>, at: string): { relation?: string } {
  const r = x.relation;
  if (r === undefined) return {};
  if (typeof r !== 'string' || !r) throw new RecordError(`${at}.relation`, `expected a non-empty string, got ${JSON.stringify(r)}`);
  return { relation: r };
}

function filled(p: string, at: string): string {
  if (p.includes('{}')) throw new RecordError(at, `the prompt is filled in (the subject written out), not a template with "{}": ${JSON.stringify(p)}`);
  return p;
}

/** A list of objects (optional: absent = empty), each read by `one`. */
function list<T>(record: Record<string, unknown>, field: string, one: (x: Record<string, unknown>, at: string) => T): T[] {
  const v = record[field];
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new RecordError(field, `expected a list of objects, got ${JSON.stringify(v).slice(0, 60)}`);
  return v.map((x, i) => {
    const at = `${field}[${i}]`;
    if (!isObj(x)) throw new RecordError(at, `expected an object, got ${JSON.stringify(x)}`);
    return one(x, at);
  });
}

function reversalOf(record: Record<string, unknown>): Pick<ProbeCase, 'reversal' | 'reversalAbsent'> {
  const r = record.reversal;
  if (r === undefined) return { reversalAbsent: 'the record has no reversal field' };
  if (!isObj(r)) throw new RecordError('reversal', `expected {prompts, answer, answer_before} or {absent}, got ${JSON.stringify(r)}`);
  if (r.absent !== undefined) return { reversalAbsent: str(r, 'absent', 'reversal.absent') };
  const prompts = strList(r, 'prompts', 'reversal.prompts');
  if (!prompts.length) throw new RecordError('reversal.prompts', 'expected at least one prompt (or give {"absent": "why"})');
  prompts.forEach((p, i) => filled(p, `reversal.prompts[${i}]`));
  const answer = str(r, 'answer', 'reversal.answer');
  const answerBefore = str(r, 'answer_before', 'reversal.answer_before');
  if (answer === answerBefore) throw new RecordError('reversal.answer_before', `equals reversal.answer (${JSON.stringify(answer)}): the probe could not tell them apart`);
  return { reversal: { ...optionalRelation(r, 'reversal'), prompts, answer, answerBefore } };
}

export function readProbeCases(file: string): { records: ProbeCase[]; issues: RecordIssue[] } {
  const idOf = caseIds(file);
  return readRecords(file, readJson(file), (record, index) => {
    const rec = record as Record<string, unknown>;
    const { rr: request, ...rr } = rewrite(record);
    const relationId = typeof request.relation_id === 'string' && request.relation_id ? { relationId: request.relation_id } : {};
    if (rr.targetNew === rr.targetTrue) throw new RecordError('requested_rewrite.target_new.str', `target_new equals target_true (${JSON.stringify(rr.targetNew)}): nothing would change`);
    const forms = strList(rec, 'forms');
    if (!forms.length) throw new RecordError('forms', 'expected at least one filled prompt of the fact');
    forms.forEach((p, i) => filled(p, `forms[${i}]`));
    const candidates = strList(rec, 'candidates');
    for (const [want, name] of [[rr.targetNew, 'target_new'], [rr.targetTrue, 'target_true']]) {
      if (!candidates.includes(want)) throw new RecordError('candidates', `must include the ${name} ${JSON.stringify(want)}`);
    }
    if (new Set(candidates).size !== candidates.length) throw new RecordError('candidates', 'has an answer twice');
    const ripple = list(rec, 'ripple', (x, at) => {
      const q = { ...optionalRelation(x, at), prompt: filled(str(x, 'prompt', `${at}.prompt`), `${at}.prompt`), new: str(x, 'new', `${at}.new`), old: str(x, 'old', `${at}.old`) };
      if (q.new === q.old) throw new RecordError(`${at}.new`, `equals ${at}.old (${JSON.stringify(q.new)}): the edit does not change this answer`);
      return q;
    });
    const sameSubject = list(rec, 'same_subject', (x, at) => {
      const f = { ...optionalRelation(x, at), prompt: filled(str(x, 'prompt', `${at}.prompt`), `${at}.prompt`), answer: str(x, 'answer', `${at}.answer`) };
      if (f.answer === rr.targetNew) throw new RecordError(`${at}.answer`, `the answer is the edit's target_new (${JSON.stringify(f.answer)}): a kept answer could not be told from the edit's`);
      return f;
    });
    return { caseId: idOf(record, index), ...rr, ...relationId, forms, candidates, ...reversalOf(rec), ripple, sameSubject };
  });
}
