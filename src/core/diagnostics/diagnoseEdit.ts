// "Diagnose This Edit": one edit, alone, on its own request. Before = the unedited model; after =
// the unedited model with only this edit (a private stack: the user's stack is neither read nor
// changed). Fact edits (ROME, MEMIT: one block per request) get the probes of editProbes.ts;
// concept edits (ROCR, and other edits that record a concept) get ORT's forms on the model's
// eval/ort target of that concept. What the model has no data for is said, not scored as 0.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { LoadedModel } from '../runtime/model';
import { pairLength, scoreAnswers, type AnswerScore } from '../runtime/answers';
import { EditStack } from '../edits/stack';
import type { Edit } from '../edits/editFile';
import type { FactRequest } from '../edits/rome';
import { badInput } from '../errors';
import { factProbes, type Probe } from './editProbes';
import { runOrt } from './ort';
import { ortTargets } from '../train/ortData';
import type { EditDiagnostics, EditProbeScore, EditFactDiagnosis, EditConceptDiagnosis } from '../../protocol/diagnostics';

export interface DiagnoseOptions {
  isCancelled?: () => boolean;
  onProgress?: (done: number, total: number, message: string) => void;
}

/** The fact requests an edit file recorded: ROME's {subject, prompt, target}, MEMIT's {requests: […]}. */
export function editFactRequests(edit: Edit): FactRequest[] {
  const r = edit.json.request ?? {};
  const isFact = (x: unknown): x is FactRequest => !!x && typeof x === 'object' && ['subject', 'prompt', 'target'].every((k) => typeof (x as Record<string, unknown>)[k] === 'string');
  if (isFact(r)) return [{ subject: r.subject, prompt: r.prompt, target: r.target }];
  const list = (r as { requests?: unknown }).requests;
  return Array.isArray(list) ? list.filter(isFact).map((x) => ({ subject: x.subject, prompt: x.prompt, target: x.target })) : [];
}

/** The concept an edit recorded (ROCR's request.concept), if any. */
export function editConcept(edit: Edit): string | undefined {
  const c = (edit.json.request as { concept?: unknown } | undefined)?.concept;
  return typeof c === 'string' && c.trim() ? c : undefined;
}

/** Per-probe scores of `expect` (and `versus`) on a model: P, top-1, wins. */
async function score(model: LoadedModel, probes: Probe[], isCancelled?: () => boolean): Promise<EditProbeScore[]> {
  const pairs = probes.flatMap((p) => [{ prompt: p.prompt, answer: p.expect }, ...(p.versus ? [{ prompt: p.prompt, answer: p.versus }] : [])]);
  const s = await scoreAnswers(model, pairs, { isCancelled });
  let i = 0;
  return probes.map((p) => {
    const e: AnswerScore = s[i++];
    const v = p.versus ? s[i++] : undefined;
    return { p: Math.exp(e.meanLogprob), top1: e.tokenTop.every(Boolean) ? 1 : 0, wins: v ? (e.meanLogprob > v.meanLogprob ? 1 : 0) : undefined };
  });
}

const mean = (xs: EditProbeScore[]): EditProbeScore => {
  const withWins = xs.filter((x) => x.wins !== undefined);
  return {
    p: xs.reduce((a, x) => a + x.p, 0) / xs.length,
    top1: xs.reduce((a, x) => a + x.top1, 0) / xs.length,
    wins: withWins.length ? withWins.reduce((a, x) => a + x.wins!, 0) / withWins.length : undefined,
  };
};

async function diagnoseFact(bare: LoadedModel, edited: LoadedModel, req: FactRequest, o: DiagnoseOptions): Promise<EditFactDiagnosis> {
  const probes = factProbes(bare.checkpoint.dir, req);
  const tasks: EditFactDiagnosis['tasks'] = [];
  for (const set of probes.sets) {
    // Prompts that do not fit the model's context are left out (said in the count).
    const fits = set.probes.filter((p) => Math.max(...[p.expect, p.versus].filter((a): a is string => !!a).map((a) => pairLength(bare, p.prompt, a))) <= bare.dims.maxPositions);
    if (fits.length === 0) {
      tasks.push({ task: set.task, source: set.source, missing: set.missing ?? `its ${set.probes.length} prompts are longer than the model's context`, rows: [] });
      continue;
    }
    const before = await score(bare, fits, o.isCancelled);
    const after = await score(edited, fits, o.isCancelled);
    tasks.push({
      task: set.task, source: set.source, before: mean(before), after: mean(after),
      rows: fits.map((p, i) => ({ ...p, before: before[i], after: after[i] })),
    });
  }
  return { request: req, trueAnswer: probes.trueAnswer, relation: probes.relation, tasks };
}

async function diagnoseConcept(stack: EditStack, concept: string, o: DiagnoseOptions): Promise<EditConceptDiagnosis> {
  const dir = path.join(stack.model.checkpoint.dir, 'eval', 'ort');
  if (!fs.existsSync(dir)) return { concept, missing: `the model has no eval/ort folder of ORT targets` };
  const key = concept.toLowerCase();
  // The target folder <n>_<Name> whose name is the concept.
  const target = ortTargets(dir).find((d) => path.basename(d).replace(/^\d+_/, '').toLowerCase() === key);
  if (!target) return { concept, missing: `no ORT target for "${concept}" in ${dir} (folders: ${ortTargets(dir).map((d) => path.basename(d)).join(', ')})` };
  const r = await runOrt(stack.model, stack, target, { isCancelled: o.isCancelled });
  return { concept, target: r.target, rows: r.rows, skipped: r.skipped };
}

/**
 * Diagnoses `edit` alone on `model` (any view of it: its own edits are not used). The edit must
 * have been made for this model (fingerprint and shapes are checked).
 */
export async function diagnoseEdit(model: LoadedModel, edit: Edit, o: DiagnoseOptions = {}): Promise<EditDiagnostics> {
  const t0 = performance.now();
  const stack = new EditStack(model.bare());
  stack.apply(edit);
  const bare = model.bare();
  const facts = editFactRequests(edit);
  const concept = editConcept(edit);
  if (facts.length === 0 && !concept) {
    throw badInput(`The edit "${edit.json.label}" records no fact request and no concept: there is nothing of its own to diagnose it on`, { file: edit.file, field: 'request', hint: 'Diagnose ROME / MEMIT edits (request.subject, prompt, target) or ROCR edits (request.concept); run EVOKE or ORT on the stack for the others.' });
  }
  const out: EditDiagnostics = {
    kind: 'edit',
    edit: { id: edit.json.id, label: edit.json.label, method: edit.json.method, file: edit.file },
    facts: [],
    seconds: 0,
  };
  for (const [i, req] of facts.entries()) {
    o.onProgress?.(i, facts.length + (concept ? 1 : 0), `probing ${req.prompt.replace('{}', req.subject)} → ${req.target}`);
    out.facts.push(await diagnoseFact(bare, stack.model, req, o));
  }
  if (concept) {
    o.onProgress?.(facts.length, facts.length + 1, `ORT forms of ${concept}`);
    out.concept = await diagnoseConcept(stack, concept, o);
  }
  out.seconds = (performance.now() - t0) / 1000;
  return out;
}
