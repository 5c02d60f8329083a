// Knowledge graphs for GLAME (METHODS.md "GLAME"): where the triples come from, and the subgraph an
// edit is given. Three inputs, every problem reported by file, line (or record) and field:
//   world    a model's world.json (tools/world): its "facts" {subject, relation, object}, each
//            relation named by relations[relation].label (else the relation's key); the default
//            graph, read beside the checkpoint.
//   triples  JSON Lines, one triple a line: {"subject": S, "relation": R, "object": O} (optional
//            "literal": true marks an object that is a value, not an entity: it never becomes a
//            node). Blank lines and // comments are skipped.
//   cases    GLAME's released per-case subgraphs (github.com/Acruxos/GLAME, data/*_graph.json: a JSON
//            array of {"case_id", "triples": [{"subject", "relation", "target"}, …]}, the edit triple
//            first, then the new object's neighbours). The case of an edit is the one whose triples
//            hold (subject, new target) — or the `caseId` asked for — and its triples are used as
//            they are ("object" is accepted for "target").
//
// The subgraph of an edit (s, r, o*) is the reference's: the edit triple, then the outgoing triples
// of o* whose object is an entity, in the graph's order, without repeats, the first n in all. The
// GNN reads its edges reversed (object → subject), so that two layers carry neighbour → o* → s.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { badInput } from '../errors';
import { readInputText } from '../inputs';

export interface Triple {
  subject: string;
  relation: string;
  object: string;
}

export interface GraphCase {
  caseId: string;
  triples: Triple[];
}

export interface KnowledgeGraph {
  /** The file it was read from. */
  file: string;
  kind: 'world' | 'triples' | 'cases';
  /** world / triples: every triple with an entity object. */
  triples: Triple[];
  /** cases: GLAME's per-case subgraphs. */
  cases?: GraphCase[];
  /** world: each relation's label → its prompt templates (to name the relation of an edit's prompt). */
  templates?: Map<string, string[]>;
}

export interface Subgraph {
  /** The edit triple first, then o*'s neighbours; at most n. */
  triples: Triple[];
  /** The size cap and how many triples it left out. */
  n: number;
  leftOut: number;
  /** The graph file (and case) it came from. */
  source: string;
  caseId?: string;
}

const HINT = 'Each line is {"subject": …, "relation": …, "object": …} (optional "literal": true for a value that is not an entity).';
const CASES_HINT = 'GLAME\'s per-case format: a JSON array of {"case_id": …, "triples": [{"subject", "relation", "target"}, …]}.';

function field(v: unknown, file: string, where: string, name: string, hint: string): string {
  if (typeof v !== 'string' || !v.trim()) throw badInput(`${where}: "${name}" must be a non-empty string`, { file, field: `${where}: ${name}`, hint });
  return v.trim();
}

/** Triples JSON Lines; literal objects are dropped (they are not nodes). */
export function parseTriplesJsonl(file: string, text: string): Triple[] {
  const out: Triple[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const t = line.trim();
    if (!t || t.startsWith('//')) return;
    const where = `line ${i + 1}`;
    let r: unknown;
    try {
      r = JSON.parse(t);
    } catch (e) {
      throw badInput(`Line ${i + 1} is not valid JSON: ${(e as Error).message}`, { file, field: where, hint: HINT });
    }
    if (!r || typeof r !== 'object' || Array.isArray(r)) throw badInput(`Line ${i + 1} is not a JSON object`, { file, field: where, hint: HINT });
    const o = r as Record<string, unknown>;
    const triple = { subject: field(o.subject, file, where, 'subject', HINT), relation: field(o.relation, file, where, 'relation', HINT), object: field(o.object, file, where, 'object', HINT) };
    if (o.literal !== undefined && typeof o.literal !== 'boolean') throw badInput(`${where}: "literal" must be true or false`, { file, field: `${where}: literal`, hint: HINT });
    if (o.literal !== true) out.push(triple);
  });
  if (out.length === 0) throw badInput('The triples file has no triples', { file, hint: HINT });
  return out;
}

/** GLAME's per-case subgraphs. */
export function parseGraphCases(file: string, arr: unknown[]): GraphCase[] {
  return arr.map((c, i) => {
    const where = `record ${i}`;
    if (!c || typeof c !== 'object' || Array.isArray(c)) throw badInput(`${where} is not a JSON object`, { file, field: where, hint: CASES_HINT });
    const o = c as Record<string, unknown>;
    if (typeof o.case_id !== 'string' && typeof o.case_id !== 'number') throw badInput(`${where}: "case_id" must be a number or a string`, { file, field: `${where}: case_id`, hint: CASES_HINT });
    if (!Array.isArray(o.triples) || o.triples.length === 0) throw badInput(`${where}: "triples" must be a non-empty array`, { file, field: `${where}: triples`, hint: CASES_HINT });
    const triples = o.triples.map((t, j) => {
      const w = `${where} triples[${j}]`;
      if (!t || typeof t !== 'object' || Array.isArray(t)) throw badInput(`${w} is not a JSON object`, { file, field: w, hint: CASES_HINT });
      const x = t as Record<string, unknown>;
      return { subject: field(x.subject, file, w, 'subject', CASES_HINT), relation: field(x.relation, file, w, 'relation', CASES_HINT), object: field(x.target ?? x.object, file, w, 'target', CASES_HINT) };
    });
    return { caseId: String(o.case_id), triples };
  });
}

interface World {
  relations?: Record<string, { label?: string; templates?: string[] }>;
  facts?: unknown[];
}

/** A world.json's facts, relations named by their labels. */
export function worldTriples(file: string, w: World): KnowledgeGraph {
  if (!w || typeof w.relations !== 'object' || !Array.isArray(w.facts)) throw badInput('A world file needs "relations" and "facts"', { file, field: 'facts' });
  const rels = w.relations!;
  const label = (r: string) => (typeof rels[r]?.label === 'string' && rels[r].label!.trim() ? rels[r].label!.trim() : r);
  const triples = w.facts!.map((f, i) => {
    const where = `facts[${i}]`;
    const o = (f ?? {}) as Record<string, unknown>;
    const relation = field(o.relation, file, where, 'relation', 'A world fact is {subject, relation, object}.');
    if (!rels[relation]) throw badInput(`${where}: relation ${JSON.stringify(relation)} is not in "relations"`, { file, field: `${where}: relation` });
    return { subject: field(o.subject, file, where, 'subject', ''), relation: label(relation), object: field(o.object, file, where, 'object', '') };
  });
  const templates = new Map(Object.keys(rels).map((r) => [label(r), rels[r].templates ?? []]));
  return { file, kind: 'world', triples, templates };
}

/**
 * Reads a graph file: .jsonl → triples; .json → a world (an object with "facts") or GLAME's
 * per-case array.
 */
export function readKnowledgeGraph(file: string): KnowledgeGraph {
  const abs = path.resolve(file);
  if (!fs.existsSync(abs)) throw badInput('The knowledge graph file is not there', { file: abs, field: 'graph', hint: `${HINT} Or a world.json, or ${CASES_HINT}` });
  const text = readInputText(abs, 'data', 'graph');
  if (!abs.endsWith('.json')) return { file: abs, kind: 'triples', triples: parseTriplesJsonl(abs, text) };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw badInput(`The graph file is not valid JSON: ${(e as Error).message}`, { file: abs, hint: 'Triples files are JSON Lines (.jsonl).' });
  }
  if (Array.isArray(parsed)) return { file: abs, kind: 'cases', triples: [], cases: parseGraphCases(abs, parsed) };
  if (parsed && typeof parsed === 'object' && 'facts' in parsed) return worldTriples(abs, parsed as World);
  throw badInput('The graph file is neither a world (an object with "facts") nor GLAME\'s per-case array', { file: abs, hint: `${CASES_HINT} Triples go in a .jsonl file.` });
}

/** The default graph of a model: world.json beside the checkpoint. */
export function defaultGraphFile(checkpointDir: string): string {
  const f = path.join(checkpointDir, 'world.json');
  if (!fs.existsSync(f)) throw badInput('This model has no world.json beside its checkpoint to take a knowledge graph from', { field: 'graph', hint: `Give a graph file (--graph FILE): ${HINT}` });
  return f;
}

/**
 * The relation of an edit's prompt: the world relation one of whose templates is the prompt, else
 * the prompt's words without the subject ("{} was born in" → "was born in").
 */
export function relationOfPrompt(g: KnowledgeGraph, prompt: string): string {
  for (const [label, ts] of g.templates ?? []) if (ts.includes(prompt)) return label;
  return prompt.replace('{}', ' ').replace(/\s+/g, ' ').trim() || prompt;
}

const key = (t: Triple) => JSON.stringify([t.subject, t.relation, t.object]);

/** The first n of: the edit triple, then the outgoing triples of its object (no repeats). */
export function extractSubgraph(g: KnowledgeGraph, edit: Triple, n: number, caseId?: string): Subgraph {
  if (!Number.isInteger(n) || n < 1) throw badInput(`The subgraph size must be a positive whole number, got ${n}`, { field: 'subgraphSize' });
  if (g.kind === 'cases') {
    const cases = g.cases ?? [];
    const c = caseId !== undefined
      ? cases.find((x) => x.caseId === caseId)
      : cases.find((x) => x.triples.some((t) => t.subject === edit.subject && t.object === edit.object));
    if (!c) {
      throw badInput(caseId !== undefined ? `No case ${JSON.stringify(caseId)} in the graph file` : `No case in the graph file has the triple (${edit.subject}, …, ${edit.object})`, {
        file: g.file, field: 'case_id', hint: 'GLAME\'s per-case graphs hold one subgraph per edit: give the case of this edit, or a triples file (.jsonl) to extract from.',
      });
    }
    return { triples: c.triples.slice(0, n), n, leftOut: Math.max(0, c.triples.length - n), source: g.file, caseId: c.caseId };
  }
  const all: Triple[] = [edit];
  const seen = new Set([key(edit)]);
  for (const t of g.triples) {
    if (t.subject !== edit.object || seen.has(key(t))) continue;
    seen.add(key(t));
    all.push(t);
  }
  return { triples: all.slice(0, n), n, leftOut: all.length - Math.min(n, all.length), source: g.file };
}

/** The subgraph as the GNN reads it: nodes sorted by label (as the reference), edges object → subject. */
export interface GraphLayout {
  nodes: string[];
  relations: string[];
  edges: { src: number; dst: number; rel: number }[];
}

export function layoutSubgraph(triples: Triple[]): GraphLayout {
  const nodes = [...new Set(triples.flatMap((t) => [t.subject, t.object]))].sort();
  const relations = [...new Set(triples.map((t) => t.relation))];
  const at = new Map(nodes.map((x, i) => [x, i]));
  const rel = new Map(relations.map((x, i) => [x, i]));
  return { nodes, relations, edges: triples.map((t) => ({ src: at.get(t.object)!, dst: at.get(t.subject)!, rel: rel.get(t.relation)! })) };
}

/** The reference's subgraph sizes (GPT-J 35, GPT-2 and every other model 20). */
export function defaultSubgraphSize(modelType: string): number {
  return modelType === 'gptj' ? 35 : 20;
}
