// The data of a sequential-editing run (sequential.ts): the requests, applied one after another,
// and the fixed probes the model is measured with as they pile up.
//   counterfactuals.json  (eval/ beside the bundled model; tools/world/counterfactuals.py): one
//                         counterfactual per fact of the world, with paraphrases, plus the unrelated
//                         facts (specificity) and the skill probes (multiple choice, true/false, two-hop)
//                         of reserved people no run of N ≤ 1,734 edits touches;
//   a request file        (`mechedit edit`'s format, edits/requests.ts), with optional paraphrases per
//                         record ("paraphrases" or CounterFact's "paraphrase_prompts": filled prompts).
// Every problem is reported with the file, the record (or line) and the field.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { LoadedModel } from '../runtime/model';
import type { FactRequest } from '../edits/rome';
import { factRequests, readRequests } from '../edits/requests';
import { badInput } from '../errors';
import { obj, readRecords, str, strList, formatIssue, RecordError } from '../records';
import { readInputText } from '../inputs';

export interface SequentialRequest extends FactRequest {
  /** Filled prompts that should now also lead to `target` (held-out templates, questions). */
  paraphrases?: string[];
  relation?: string;
  /** The object before the edit, when known. */
  targetTrue?: string;
}

/** A probe: a filled prompt and the answer whose first token should be top-1. */
export interface Probe {
  subject: string;
  relation: string;
  prompt: string;
  answer: string;
}

export interface SequentialProbes {
  /** Unrelated facts (their subjects are never edited by the run): kept or not. */
  specificity: Probe[];
  skills: { choice: Probe[]; trueFalse: Probe[]; twoHop: Probe[] };
}

export interface Counterfactuals extends SequentialProbes {
  file: string;
  requests: SequentialRequest[];
}

/** eval/counterfactuals.json of a checkpoint folder. */
export function counterfactualsFile(model: LoadedModel): string {
  return path.join(model.checkpoint.dir, 'eval', 'counterfactuals.json');
}

function parseJson(file: string): unknown {
  const text = readInputText(file, 'data');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw badInput(`Cannot read the counterfactuals: ${(e as Error).message}`, { file, hint: 'Regenerate it with /usr/bin/python3 tools/world/counterfactuals.py.' });
  }
}

/** Reads and checks counterfactuals.json strictly: any bad record refuses the file, by record and field. */
export function readCounterfactuals(file: string): Counterfactuals {
  if (!fs.existsSync(file)) throw badInput('The counterfactuals file does not exist', { file, hint: 'Only the bundled model has one (models/default/eval/counterfactuals.json); give --requests FILE for another model.' });
  const data = parseJson(file) as Record<string, unknown> | null;
  const strict = <T>(list: unknown, where: string, read: (r: unknown) => T): T[] => {
    const { records, issues } = readRecords(`${file} (${where})`, list, read);
    if (issues.length) throw badInput(formatIssue(issues[0]), { file, field: `${where}[${issues[0].index}]${issues[0].field ? `.${issues[0].field}` : ''}`, hint: 'Regenerate it with /usr/bin/python3 tools/world/counterfactuals.py.' });
    return records;
  };
  const probe = (r: unknown): Probe => ({ subject: str(r, 'subject'), relation: str(r, 'relation'), prompt: str(r, 'prompt'), answer: str(r, 'answer') });
  const requests = strict(data?.requests, 'requests', (r) => {
    const prompt = str(r, 'prompt');
    if (!prompt.includes('{}')) throw new RecordError('prompt', 'has no "{}" for the subject');
    return { subject: str(r, 'subject'), prompt, target: str(r, 'target'), targetTrue: str(r, 'target_true'), relation: str(r, 'relation'), paraphrases: strList(r, 'paraphrases') };
  });
  let skills: Record<string, unknown>;
  try {
    skills = obj(data, 'skills');
  } catch (e) {
    if (!(e instanceof RecordError)) throw e;
    throw badInput(`"skills" ${e.message}`, { file, field: 'skills', hint: 'Regenerate it with /usr/bin/python3 tools/world/counterfactuals.py.' });
  }
  return {
    file,
    requests,
    specificity: strict(data?.specificity, 'specificity', probe),
    skills: { choice: strict(skills.choice, 'skills.choice', probe), trueFalse: strict(skills.trueFalse, 'skills.trueFalse', probe), twoHop: strict(skills.twoHop, 'skills.twoHop', probe) },
  };
}

/**
 * The fact requests of a request file (requests.ts: its reader and its errors), each with the
 * paraphrases its record carries ("paraphrases" or "paraphrase_prompts", a list of filled prompts).
 */
export function readSequentialRequests(file: string): SequentialRequest[] {
  const facts = factRequests(file);
  const located = readRequests(file);
  const text = readInputText(file, 'data', 'requests');
  const array = text.trimStart().startsWith('[');
  const raws: unknown[] = array ? (JSON.parse(text) as unknown[]) : [];
  const lines = array ? [] : text.split('\n');
  return facts.map((f, i) => {
    const line = located[i].line;
    const raw = (array ? raws[line] : JSON.parse(lines[line - 1])) as Record<string, unknown>;
    const field = raw.paraphrases !== undefined ? 'paraphrases' : raw.paraphrase_prompts !== undefined ? 'paraphrase_prompts' : undefined;
    if (!field) return f;
    const list = raw[field];
    if (!Array.isArray(list) || !list.every((p) => typeof p === 'string' && p.trim())) {
      throw badInput(`${array ? `record ${line}` : `line ${line}`}: "${field}" must be a list of non-empty strings (filled prompts)`, { file, field });
    }
    return { ...f, paraphrases: list as string[] };
  });
}
