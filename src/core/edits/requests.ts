// Request files: the facts (and concepts) an edit is computed from, one JSON object per line
// (.jsonl, the .mechedit/requests format) or a JSON array.
//   fact:     {"subject": "Ada Lovelace", "prompt": "{} was born in", "target": "Paris"}
//             (also CounterFact / EVOKE records: {"requested_rewrite": {"subject", "prompt", "target_new": {"str"}}})
//   concept:  {"kind": "concept", "concept": "Veltrazine", "to": "Brindlecake"}
//   unlearn:  {"kind": "unlearn", "concept"?, "forget"?, "method"?, "forms"?, …} (VS Code's *Unlearn…*;
//             on the command line, `mechedit unlearn` takes the same settings as options)
// Every problem is reported with the file, the line (or array index) and the field.

import { badInput } from '../errors';
import type { FactRequest } from './rome';
import { readInputText } from '../inputs';

export interface ConceptRequest {
  concept: string;
  to: string;
}

export type EditRequest = ({ kind: 'fact' } & FactRequest) | ({ kind: 'concept' } & ConceptRequest) | { kind: 'unlearn'; settings: Record<string, unknown> };

export interface LocatedRequest {
  request: EditRequest;
  /** 1-based line of a .jsonl file, or 0-based index of a JSON array. */
  line: number;
}

function str(v: unknown, file: string, where: string, field: string): string {
  if (typeof v !== 'string' || !v.trim()) throw badInput(`${where}: "${field}" must be a non-empty string`, { file, field, hint: 'Each fact needs subject, prompt (with "{}" for the subject) and target.' });
  return v;
}

export function parseRequest(raw: unknown, file: string, where: string): EditRequest {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw badInput(`${where}: expected a JSON object`, { file });
  const r = raw as Record<string, unknown>;
  if (r.kind === 'concept') return { kind: 'concept', concept: str(r.concept, file, where, 'concept'), to: str(r.to, file, where, 'to') };
  if (r.kind === 'unlearn') {
    if (typeof r.concept !== 'string' && typeof r.forget !== 'string') throw badInput(`${where}: an unlearn request needs "concept" or "forget"`, { file, field: 'forget', hint: 'Name the concept (its eval/ort target is used) or give the forget material\'s path.' });
    return { kind: 'unlearn', settings: r };
  }
  if (r.kind !== undefined && r.kind !== 'fact') throw badInput(`${where}: "kind" must be "fact", "concept" or "unlearn", got ${JSON.stringify(r.kind)}`, { file, field: 'kind' });
  const cf = r.requested_rewrite as Record<string, unknown> | undefined;
  if (cf && typeof cf === 'object') {
    const target = (cf.target_new as Record<string, unknown> | undefined)?.str;
    return { kind: 'fact', subject: str(cf.subject, file, where, 'requested_rewrite.subject'), prompt: promptWithSlot(str(cf.prompt, file, where, 'requested_rewrite.prompt'), file, where), target: str(target, file, where, 'requested_rewrite.target_new.str') };
  }
  return { kind: 'fact', subject: str(r.subject, file, where, 'subject'), prompt: promptWithSlot(str(r.prompt, file, where, 'prompt'), file, where), target: str(r.target, file, where, 'target') };
}

function promptWithSlot(prompt: string, file: string, where: string): string {
  if (!prompt.includes('{}')) throw badInput(`${where}: the prompt ${JSON.stringify(prompt)} has no "{}" for the subject`, { file, field: 'prompt', hint: 'Write it as, for example, "{} was born in".' });
  return prompt;
}

/** All requests of a file; a JSON array or JSON Lines (blank lines and // comments skipped). */
export function readRequests(file: string): LocatedRequest[] {
  const text = readInputText(file, 'data', 'requests');
  if (text.trimStart().startsWith('[')) {
    let arr: unknown;
    try {
      arr = JSON.parse(text);
    } catch (e) {
      throw badInput(`Not valid JSON: ${(e as Error).message}`, { file });
    }
    return (arr as unknown[]).map((r, i) => ({ request: parseRequest(r, file, `record ${i}`), line: i }));
  }
  const out: LocatedRequest[] = [];
  text.split('\n').forEach((line, i) => {
    const t = line.trim();
    if (!t || t.startsWith('//')) return;
    let raw: unknown;
    try {
      raw = JSON.parse(t);
    } catch (e) {
      throw badInput(`Line ${i + 1} is not valid JSON: ${(e as Error).message}`, { file, field: `line ${i + 1}` });
    }
    out.push({ request: parseRequest(raw, file, `line ${i + 1}`), line: i + 1 });
  });
  if (out.length === 0) throw badInput('The request file has no requests', { file });
  return out;
}

export function factRequests(file: string): FactRequest[] {
  return readRequests(file).map(({ request, line }) => {
    if (request.kind !== 'fact') {
      throw badInput(`Line ${line} is ${request.kind === 'concept' ? 'a concept' : 'an unlearn'} request; MEMIT edits facts`, { file, field: 'kind', hint: request.kind === 'concept' ? 'Use "mechedit edit rocr" for concepts.' : 'Use "mechedit unlearn" for unlearning.' });
    }
    return { subject: request.subject, prompt: request.prompt, target: request.target };
  });
}
