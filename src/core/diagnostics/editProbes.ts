// The probes that diagnose one fact edit ("Diagnose This Edit"), built from the data the model
// ships beside it, for the edit's own request {subject, prompt, target}:
//   efficacy       the edit's prompt: the target should win (over the true answer when known);
//   paraphrase     other wordings of the same relation of the subject: the target should win;
//   otherRelations the subject's other facts: their answers should stay (over the target);
//   neighbours     other subjects' facts of the same relation: their answers should stay;
//   prefix         a neighbour's prompt after the new fact as a sentence (EVOKE's prefix
//                  distraction): the neighbour's answer should stay.
// Sources, per task the first that has probes: eval/evoke.json + eval/evoke_subj_spec.json (EVOKE
// format: the case with the edit's subject and prompt) and facts.jsonl (records {subject, relation,
// form, prompt, answer}, the bundled model's world). A task no source covers is returned with the
// reason instead of probes; efficacy needs no data.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FactRequest } from '../edits/rome';
import { readEvokeMain, readSubjectSpec, type EvokeCase } from './evokeData';
import type { EditProbeTask } from '../../protocol/diagnostics';
import { readInputText } from '../inputs';

export type ProbeTask = EditProbeTask['task'];

/** One prompt: `expect` should be the answer; `versus`, when known, is what it is compared with. */
export interface Probe {
  prompt: string;
  expect: string;
  versus?: string;
}

export interface ProbeSet {
  task: ProbeTask;
  probes: Probe[];
  /** The file the probes come from (none for efficacy without data). */
  source?: string;
  /** Why there are no probes, when there are none. */
  missing?: string;
}

export interface FactProbes {
  request: FactRequest;
  /** The subject's answer before the edit, when the data knows it. */
  trueAnswer?: string;
  relation?: string;
  sets: ProbeSet[];
}

/** Probes per task at most (the bundled model scores them in well under a second). */
export const MAX_PROBES = 10;

interface FactRow {
  subject: string;
  relation: string;
  form: string;
  prompt: string;
  answer: string;
}

const factsCache = new Map<string, FactRow[]>();

/** facts.jsonl's usable records (others are skipped: it is auxiliary data), cached by file and mtime. */
function readFacts(file: string): FactRow[] {
  const key = `${file}:${fs.statSync(file).mtimeMs}`;
  const cached = factsCache.get(key);
  if (cached) return cached;
  const rows: FactRow[] = [];
  for (const line of readInputText(file, 'data', 'facts').split('\n')) {
    if (!line.trim()) continue;
    try {
      const r = JSON.parse(line) as Record<string, unknown>;
      if (r && ['subject', 'relation', 'form', 'prompt', 'answer'].every((k) => typeof r[k] === 'string')) rows.push(r as unknown as FactRow);
    } catch {
      // not a record: skipped
    }
  }
  factsCache.clear();
  factsCache.set(key, rows);
  return rows;
}

/** The prompts a source offers for each task (before the versus answers are known everywhere). */
type Found = { source: string; trueAnswer?: string; relation?: string; tasks: Partial<Record<Exclude<ProbeTask, 'efficacy'>, Probe[]>> };

function fromEvoke(dir: string, req: FactRequest): Found | undefined {
  const main = path.join(dir, 'eval', 'evoke.json');
  if (!fs.existsSync(main)) return undefined;
  let cases: EvokeCase[];
  try {
    cases = readEvokeMain(main).records;
  } catch {
    return undefined; // unreadable data: the other sources (or "no data") answer
  }
  const c = cases.find((x) => x.subject === req.subject && x.prompt === req.prompt) ?? cases.find((x) => x.subject === req.subject);
  if (!c) return undefined;
  const sameRelation = c.prompt === req.prompt;
  const tasks: Found['tasks'] = {};
  const t = req.target;
  if (sameRelation) {
    tasks.paraphrase = c.paraphrasePrompts.map((p) => ({ prompt: p, expect: t, versus: c.targetTrue }));
    tasks.neighbours = c.neighborhoodPrompts.map((p) => ({ prompt: p, expect: c.targetTrue, versus: t }));
    tasks.prefix = c.neighborhoodPrompts.map((p) => ({ prompt: `${req.prompt.replace('{}', req.subject)} ${t}. ${p}`, expect: c.targetTrue, versus: t }));
  }
  const spec = path.join(dir, 'eval', 'evoke_subj_spec.json');
  if (fs.existsSync(spec)) {
    try {
      const s = readSubjectSpec(spec).records.filter((x) => x.subject === req.subject);
      if (s.length) tasks.otherRelations = s.map((x) => ({ prompt: x.specPrompt, expect: x.specAnswer, versus: t }));
    } catch {
      // unreadable: another source may have the subject's other relations
    }
  }
  return { source: main, trueAnswer: sameRelation ? c.targetTrue : undefined, relation: sameRelation ? c.relationId : undefined, tasks };
}

/** The template of a record's prompt ("{}" where its subject is), or undefined. */
const templateOf = (r: FactRow) => (r.prompt.includes(r.subject) ? r.prompt.replace(r.subject, '{}') : undefined);

function fromFacts(dir: string, req: FactRequest): Found | undefined {
  const file = path.join(dir, 'facts.jsonl');
  if (!fs.existsSync(file)) return undefined;
  const rows = readFacts(file);
  const filled = req.prompt.replace('{}', req.subject);
  const own = rows.find((r) => r.subject === req.subject && r.prompt === filled);
  // The relation: the subject's own record, else any record written with the same template.
  const relation = own?.relation ?? rows.find((r) => templateOf(r) === req.prompt)?.relation;
  const mine = rows.filter((r) => r.subject === req.subject);
  if (!relation && mine.length === 0) return undefined;
  const t = req.target;
  const trueAnswer = own?.answer ?? mine.find((r) => r.relation === relation && r.form === 'declarative')?.answer;
  const worded = (r: FactRow) => r.form === 'declarative' || r.form === 'question';
  const tasks: Found['tasks'] = {};
  if (relation) {
    tasks.paraphrase = mine.filter((r) => r.relation === relation && worded(r) && r.prompt !== filled).map((r) => ({ prompt: r.prompt, expect: t, versus: trueAnswer }));
    // Neighbours: other subjects, same relation, the edit's own wording first, one record each.
    const seen = new Set<string>([req.subject]);
    const near = [...rows.filter((r) => templateOf(r) === req.prompt), ...rows.filter((r) => r.relation === relation && r.form === 'declarative')]
      .filter((r) => r.answer !== t && !seen.has(r.subject) && seen.add(r.subject));
    tasks.neighbours = near.map((r) => ({ prompt: r.prompt, expect: r.answer, versus: t }));
    tasks.prefix = near.map((r) => ({ prompt: `${filled} ${t}. ${r.prompt}`, expect: r.answer, versus: t }));
  }
  const others = new Set<string>();
  tasks.otherRelations = mine.filter((r) => r.relation !== relation && r.form === 'declarative' && r.answer !== t && !others.has(r.relation) && others.add(r.relation))
    .map((r) => ({ prompt: r.prompt, expect: r.answer, versus: t }));
  return { source: file, trueAnswer, relation, tasks };
}

const MISSING: Record<Exclude<ProbeTask, 'efficacy'>, string> = {
  paraphrase: 'no other wording of this fact',
  otherRelations: 'no other fact of this subject',
  neighbours: 'no other subject with this relation',
  prefix: 'no neighbour prompts to distract',
};

/** The probes of one fact request from the data beside the checkpoint folder `dir`. */
export function factProbes(dir: string, req: FactRequest, max = MAX_PROBES): FactProbes {
  const found = [fromEvoke(dir, req), fromFacts(dir, req)].filter((f): f is Found => !!f);
  const trueAnswer = found.find((f) => f.trueAnswer)?.trueAnswer;
  const relation = found.find((f) => f.relation)?.relation;
  const sets: ProbeSet[] = [{ task: 'efficacy', probes: [{ prompt: req.prompt.replace('{}', req.subject), expect: req.target, versus: trueAnswer }], source: found.find((f) => f.trueAnswer)?.source }];
  for (const task of ['paraphrase', 'otherRelations', 'neighbours', 'prefix'] as const) {
    const from = found.find((f) => f.tasks[task]?.length);
    if (!from) {
      const where = found.length ? found.map((f) => path.basename(f.source)).join(', ') : 'no eval/evoke.json or facts.jsonl beside the model that knows this subject';
      sets.push({ task, probes: [], missing: `${MISSING[task]} in the model's data (${where})` });
      continue;
    }
    // The true answer may come from another source than the prompts.
    const probes = from.tasks[task]!.slice(0, max).map((p) => ({ ...p, versus: p.versus ?? trueAnswer }));
    sets.push({ task, probes, source: from.source });
  }
  return { request: req, trueAnswer, relation, sets };
}
