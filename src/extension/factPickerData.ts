// What the "Edit a Fact…" subject picker offers (factPicker.ts), without vscode so it is unit
// tested: a model's entities and prompt templates from its world.json (the bundled model's fact
// world, models/default/world.json: { entities: { kind: [name…] }, relations: { id: { templates,
// subject_type } } }), the subjects and prompts of request lines (.mechedit/requests/*.jsonl), and
// the recent ones kept in workspaceState (RECENT_KEY).

import * as fs from 'node:fs';
import * as path from 'node:path';

/** workspaceState key of { subjects, prompts } used last (newest first). */
export const RECENT_KEY = 'mechedit.factPicker.recent';
/** How many recent subjects and prompts are kept. */
export const RECENT_LIMIT = 20;

export interface Recent {
  subjects: string[];
  prompts: string[];
}

export interface SubjectItem {
  name: string;
  /** Where it comes from: an entity kind of world.json ("people", "cities", …), "request file" or "recent". */
  source: string;
}

export interface PickerOffer {
  subjects: SubjectItem[];
  /** Prompt templates with {} where the subject goes. */
  prompts: string[];
}

/** Subject kinds of world.json's relations ("person" → "people", "city" → "cities", …). */
const KIND_OF_TYPE: Record<string, string> = { person: 'people', city: 'cities', country: 'countries', organisation: 'organisations', language: 'languages', occupation: 'occupations' };

/**
 * The entities and templates of a parsed world.json, subjects first of the kinds that some relation
 * has as its subject (people first), then the others; undefined when it is not one.
 */
export function offerFromWorld(world: unknown): PickerOffer | undefined {
  const w = world as { entities?: Record<string, unknown>; relations?: Record<string, { templates?: unknown; subject_type?: unknown }> };
  if (!w || typeof w !== 'object' || !w.entities || typeof w.entities !== 'object') return undefined;
  const relations = Object.values(w.relations ?? {});
  const subjectKinds = new Set(relations.map((r) => KIND_OF_TYPE[String(r.subject_type)] ?? String(r.subject_type)));
  const kinds = Object.keys(w.entities).sort((a, b) => Number(subjectKinds.has(b)) - Number(subjectKinds.has(a)));
  const subjects = kinds.flatMap((kind) => {
    const names = w.entities![kind];
    return Array.isArray(names) ? names.filter((n): n is string => typeof n === 'string').map((name) => ({ name, source: kind })) : [];
  });
  const prompts = [...new Set(relations.flatMap((r) => (Array.isArray(r.templates) ? r.templates.filter((t): t is string => typeof t === 'string' && t.includes('{}')) : [])))];
  return { subjects, prompts };
}

/** The offer of the model folder's world.json, when it has one that parses. */
export function offerFromModelFolder(modelPath: string | undefined): PickerOffer | undefined {
  if (!modelPath) return undefined;
  const file = path.join(modelPath, 'world.json');
  try {
    return offerFromWorld(JSON.parse(fs.readFileSync(file, 'utf8')));
  } catch {
    return undefined; // no world.json (any model but the bundled one), or not JSON: nothing to offer
  }
}

/** Subjects and prompts of a request file's fact lines ({"subject", "prompt", …} per line); other lines are skipped. */
export function offerFromRequestLines(text: string): PickerOffer {
  const subjects: SubjectItem[] = [];
  const prompts: string[] = [];
  for (const line of text.split('\n')) {
    let r: unknown;
    try {
      r = JSON.parse(line);
    } catch {
      continue; // requestProblems.ts reports bad lines; the picker offers the good ones
    }
    const x = r as { subject?: unknown; prompt?: unknown };
    if (!x || typeof x !== 'object') continue;
    if (typeof x.subject === 'string' && x.subject.trim()) subjects.push({ name: x.subject, source: 'request file' });
    if (typeof x.prompt === 'string' && x.prompt.includes('{}')) prompts.push(x.prompt);
  }
  return { subjects, prompts };
}

/** Offers merged in order, each subject and prompt once (the first source named). */
export function mergeOffers(offers: PickerOffer[]): PickerOffer {
  const seen = new Set<string>();
  const subjects = offers.flatMap((o) => o.subjects).filter((s) => !seen.has(s.name) && !!seen.add(s.name));
  return { subjects, prompts: [...new Set(offers.flatMap((o) => o.prompts))] };
}

/** The recent offer, newest first. */
export function offerFromRecent(recent: Recent | undefined): PickerOffer {
  return { subjects: (recent?.subjects ?? []).map((name) => ({ name, source: 'recent' })), prompts: recent?.prompts ?? [] };
}

/** Recent lists with `subject` and `prompt` moved to the front, at most RECENT_LIMIT each. */
export function withRecent(recent: Recent | undefined, subject: string, prompt: string): Recent {
  const front = (xs: string[] | undefined, x: string) => [x, ...(xs ?? []).filter((y) => y !== x)].slice(0, RECENT_LIMIT);
  return { subjects: front(recent?.subjects, subject), prompts: front(recent?.prompts, prompt) };
}

/** The subject input's placeholder: an entity of this model's world, else a neutral hint. */
export function subjectPlaceholder(offer: PickerOffer): string {
  const first = offer.subjects[0];
  return first ? `e.g. ${first.name}` : 'an entity the model knows';
}
