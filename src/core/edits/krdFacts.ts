// Training facts for DiKE's KRD module: same-subject facts of several relations.
//
// A facts file is JSON Lines, one fact per line:
//   {"subject": "Ada Lovelace", "relation": "birthplace", "prompt": "{} was born in", "object": "London"}
// `prompt` holds "{}" where the subject goes, or the subject itself ("Ada Lovelace was born in");
// `answer` is accepted for `object` (the bundled facts.jsonl's spelling). A subject needs facts of at
// least two relations to train on (the other relations are what z_u must keep). A model's world.json
// (tools/world) is read too: every fact × every template of its relation.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { badInput } from '../errors';
import { readInputText } from '../inputs';

export interface KrdFact {
  subject: string;
  relation: string;
  /** With "{}" where the subject goes. */
  prompt: string;
  object: string;
}

export interface KrdFacts {
  file: string;
  facts: KrdFact[];
  /** Subjects with facts of at least two relations. */
  subjects: number;
}

const HINT = 'Each line is {"subject", "relation", "prompt", "object"}; the prompt holds "{}" (or the subject) where the subject goes.';

function fromJsonl(file: string, text: string): KrdFact[] {
  const facts: KrdFact[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (!line.trim()) return;
    const where = (field: string) => ({ file, field: `line ${i + 1}${field ? `: ${field}` : ''}`, hint: HINT });
    let r: Record<string, unknown>;
    try {
      r = JSON.parse(line);
    } catch (e) {
      throw badInput(`Line ${i + 1} is not JSON: ${(e as Error).message}`, where(''));
    }
    if (typeof r !== 'object' || r === null || Array.isArray(r)) throw badInput(`Line ${i + 1} is not a JSON object`, where(''));
    const object = r.object ?? r.answer;
    for (const [field, v] of [['subject', r.subject], ['relation', r.relation], ['prompt', r.prompt], ['object', object]] as const) {
      if (typeof v !== 'string' || !v.trim()) throw badInput(`Line ${i + 1}: "${field}" is missing or not a non-empty string`, where(field));
    }
    const subject = (r.subject as string).trim();
    let prompt = r.prompt as string;
    if (!prompt.includes('{}')) {
      if (!prompt.includes(subject)) throw badInput(`Line ${i + 1}: the prompt ${JSON.stringify(prompt)} has neither "{}" nor the subject ${JSON.stringify(subject)}`, where('prompt'));
      prompt = prompt.replace(subject, '{}');
    }
    facts.push({ subject, relation: (r.relation as string).trim(), prompt, object: (object as string).trim() });
  });
  return facts;
}

interface World {
  relations: Record<string, { templates?: string[] }>;
  facts: { subject: string; relation: string; object: string }[];
}

function fromWorld(file: string, w: World): KrdFact[] {
  if (!w || typeof w.relations !== 'object' || !Array.isArray(w.facts)) throw badInput('A world file needs "relations" and "facts"', { file, field: 'facts' });
  return w.facts.flatMap((f, i) => {
    const templates = w.relations[f.relation]?.templates;
    if (!templates?.length) throw badInput(`facts[${i}]: relation ${JSON.stringify(f.relation)} has no templates`, { file, field: `facts[${i}].relation` });
    return templates.map((prompt) => ({ subject: f.subject, relation: f.relation, prompt, object: f.object }));
  });
}

/** Reads a facts JSONL file or a world.json; every error names the file, line and field. */
export function readKrdFacts(file: string): KrdFacts {
  if (!fs.existsSync(file)) throw badInput('The facts file is not there', { file: path.resolve(file), field: 'facts', hint: HINT });
  const text = readInputText(file, 'data', 'facts');
  let facts: KrdFact[];
  if (file.endsWith('.json')) {
    let w: World;
    try {
      w = JSON.parse(text);
    } catch (e) {
      throw badInput(`The world file is not JSON: ${(e as Error).message}`, { file });
    }
    facts = fromWorld(file, w);
  } else {
    facts = fromJsonl(file, text);
  }
  const relations = new Map<string, Set<string>>();
  for (const f of facts) {
    if (!relations.has(f.subject)) relations.set(f.subject, new Set());
    relations.get(f.subject)!.add(f.relation);
  }
  const subjects = [...relations.values()].filter((r) => r.size >= 2).length;
  if (subjects === 0) throw badInput(`No subject in the facts file has facts of two relations (${facts.length} facts)`, { file, field: 'relation', hint: 'KRD learns to keep a subject\'s other relations: give each subject facts of several relations.' });
  return { file, facts, subjects };
}

/** The model's own facts: world.json, else facts.jsonl, beside the checkpoint. */
export function defaultKrdFactsFile(dir: string): string {
  for (const name of ['world.json', 'facts.jsonl']) {
    const f = path.join(dir, name);
    if (fs.existsSync(f)) return f;
  }
  throw badInput('This model has no facts of its own (world.json or facts.jsonl beside the checkpoint)', { field: 'facts', hint: 'Give --facts FILE: JSON Lines of {subject, relation, prompt, object}.' });
}
