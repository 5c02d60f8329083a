// Readers for EVOKE's evoke_main.json (CounterFact schema + portability + prefix_distraction),
// evoke_subj_spec.json, and plain CounterFact files (the same reader: EVOKE's extra fields are
// optional there).

import { badInput } from '../errors';
import { obj, readRecords, RecordError, str, strList, type RecordIssue } from '../records';
import { readInputText } from '../inputs';

/** A CounterFact-style edit request with its paraphrases and neighbours (EVOKE, FINE-KED). */
export interface RewriteCase {
  caseId: number;
  subject: string;
  /** Template with "{}" for the subject. */
  prompt: string;
  relationId?: string;
  targetNew: string;
  targetTrue: string;
  paraphrasePrompts: string[];
  neighborhoodPrompts: string[];
}

/** What names a case in a result line: id, subject, relation (when known) and the two targets. */
export function caseIdentity(c: Pick<RewriteCase, 'caseId' | 'subject' | 'relationId' | 'targetNew' | 'targetTrue'>): { caseId: number; subject: string; relation?: string; targetNew: string; targetTrue: string } {
  return { caseId: c.caseId, subject: c.subject, ...(c.relationId ? { relation: c.relationId } : {}), targetNew: c.targetNew, targetTrue: c.targetTrue };
}

/** One edit request and the prompts that measure it. */
export interface EvokeCase extends RewriteCase {
  prefixDistraction: string[];
  portability?: { question: string; newAnswer: string; originalAnswer: string; recalledRelation?: string };
  augmentPara: string[];
  augmentRel: string[];
  /** CounterFact's generation_prompts (generation entropy), when the record has them. */
  generationPrompts?: string[];
}

export interface SubjectSpecCase {
  caseId: number;
  subject: string;
  prompt: string;
  targetNew: string;
  targetTrue: string;
  /** A different relation of the same subject, and its answer. */
  specPrompt: string;
  specAnswer: string;
}

/** The file's JSON array of records; anything else refuses the whole file. */
export function readJson(file: string): unknown[] {
  const text = readInputText(file, 'data');
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw badInput(`The data file is not valid JSON: ${(e as Error).message}`, { file, hint: 'Check that it is a JSON array of records (EVOKE / CounterFact format).' });
  }
  if (!Array.isArray(data)) {
    throw badInput(`The data file is not a list of records (its JSON is ${data === null ? 'null' : typeof data})`, { file, hint: 'EVOKE and CounterFact data files are a JSON array of records: [{"case_id": 0, "requested_rewrite": {…}, …}, …].' });
  }
  return data;
}

/**
 * Reads the case id of each record (case_id, or the record's index when absent) and refuses the
 * file when two records share one: results, resume and merge are keyed by it.
 */
export function caseIds(file: string) {
  const seen = new Map<number, number>();
  return (record: unknown, index: number): number => {
    const id = caseId(record, index);
    const first = seen.get(id);
    if (first !== undefined) {
      throw badInput(`Case id ${id} appears twice: records ${first} and ${index}`, { file, field: `[${index}].case_id`, hint: 'Give every record its own case_id: results, --resume and merge are keyed by it.' });
    }
    seen.set(id, index);
    return id;
  };
}

/** requested_rewrite's subject, prompt (with "{}") and targets (CounterFact's fields). */
export function rewrite(record: unknown) {
  const rr = obj(record, 'requested_rewrite');
  const prompt = str(rr, 'prompt', 'requested_rewrite.prompt');
  if (!prompt.includes('{}')) throw new RecordError('requested_rewrite.prompt', `the prompt must contain "{}" for the subject, got ${JSON.stringify(prompt)}`);
  return {
    rr,
    subject: str(rr, 'subject', 'requested_rewrite.subject'),
    prompt,
    targetNew: str(obj(rr, 'target_new', 'requested_rewrite.target_new'), 'str', 'requested_rewrite.target_new.str'),
    targetTrue: str(obj(rr, 'target_true', 'requested_rewrite.target_true'), 'str', 'requested_rewrite.target_true.str'),
  };
}

/**
 * A CounterFact-style record's request, paraphrases and neighbours (required by EVOKE's files,
 * optional in FINE-KED's), with `requested_rewrite` itself for the format's other fields.
 */
export function rewriteCase(record: unknown, caseId: number, promptsOptional: boolean): { rc: RewriteCase; rr: Record<string, unknown> } {
  const { rr, subject, prompt, targetNew, targetTrue } = rewrite(record);
  return {
    rr,
    rc: {
      caseId,
      subject,
      prompt,
      relationId: typeof rr.relation_id === 'string' ? rr.relation_id : undefined,
      targetNew,
      targetTrue,
      paraphrasePrompts: strList(record, 'paraphrase_prompts', 'paraphrase_prompts', promptsOptional),
      neighborhoodPrompts: strList(record, 'neighborhood_prompts', 'neighborhood_prompts', promptsOptional),
    },
  };
}

function caseId(record: unknown, index: number): number {
  const id = (record as Record<string, unknown>).case_id;
  if (id === undefined) return index;
  if (typeof id !== 'number' || !Number.isInteger(id)) throw new RecordError('case_id', `expected an integer, got ${JSON.stringify(id)}`);
  return id;
}

export function readEvokeMain(file: string): { records: EvokeCase[]; issues: RecordIssue[] } {
  const idOf = caseIds(file);
  return readRecords(file, readJson(file), (record, index) => {
    const { rc, rr } = rewriteCase(record, idOf(record, index), false);
    const p = (record as Record<string, unknown>).portability;
    let portability: EvokeCase['portability'];
    if (p !== undefined && p !== null && Object.keys(p as object).length > 0) {
      portability = {
        question: str(p, 'New Question', 'portability.New Question'),
        newAnswer: str(p, 'New Answer', 'portability.New Answer'),
        originalAnswer: str(p, 'Original Answer', 'portability.Original Answer'),
        recalledRelation: typeof (p as Record<string, unknown>)['Recalled Relation'] === 'string' ? ((p as Record<string, unknown>)['Recalled Relation'] as string) : undefined,
      };
    }
    return {
      ...rc,
      prefixDistraction: strList(record, 'prefix_distraction', 'prefix_distraction', true),
      portability,
      augmentPara: strList(rr, 'data_augmentation_prompt_para', 'requested_rewrite.data_augmentation_prompt_para', true),
      augmentRel: strList(rr, 'data_augmentation_prompt_rel', 'requested_rewrite.data_augmentation_prompt_rel', true),
      generationPrompts: strList(record, 'generation_prompts', 'generation_prompts', true),
    };
  });
}

export function readSubjectSpec(file: string): { records: SubjectSpecCase[]; issues: RecordIssue[] } {
  const idOf = caseIds(file);
  return readRecords(file, readJson(file), (record, index) => {
    const id = idOf(record, index);
    const { subject, prompt, targetNew, targetTrue } = rewrite(record);
    const spec = obj(record, 'relation_specificity');
    return {
      caseId: id,
      subject,
      prompt,
      targetNew,
      targetTrue,
      specPrompt: str(spec, 'prompt', 'relation_specificity.prompt'),
      specAnswer: str(obj(spec, 'answer', 'relation_specificity.answer'), 'value', 'relation_specificity.answer.value'),
    };
  });
}
