// 'edits/compare' (the Edit Result view): one edit, before and after, on its own request.
// Before = the unedited model; after = the unedited model with only this edit (a private stack:
// the user's stack is neither read nor changed, as in "Diagnose This Edit"). Compared prompts:
// the edit's prompt, a paraphrase and a neighbour — from the edit's request when it records
// "paraphrase" / "neighbourhood" prompts, else from the data beside the model (editProbes.ts:
// eval/evoke.json, facts.jsonl), else none and the reason. The fast layer probe runs a few steps
// of ROME's v* optimisation at each layer (below).

import type { LoadedModel } from '../runtime/model';
import { generate, predict } from '../runtime/run';
import { scoreAnswers } from '../runtime/answers';
import { EditStack } from '../edits/stack';
import type { Edit } from '../edits/editFile';
import { factOutcome } from '../edits/outcome';
import { factProblem, ROME_HPARAMS, type FactRequest } from '../edits/rome';
import { optimiseDelta } from '../edits/vstar';
import { factProbes } from './editProbes';
import { editFactRequests } from './diagnoseEdit';
import type { ComparedKind, ComparedPrompt, EditCompareResult, EditHealthRecord, LayerProbe, NextToken } from '../../protocol/editResult';
import * as path from 'node:path';

export interface CompareOptions {
  top?: number;
  maxTokens?: number;
  probe?: boolean;
  isCancelled?: () => boolean;
  onProgress?: (done: number, total: number, message: string) => void;
}

/** v* steps of the layer probe (each a forward and a backward pass of a one-prompt batch). */
export const PROBE_STEPS = 10;

const OWN = "the edit's request";

/** A request's own "paraphrase" / "neighbourhood" prompts (a string or a list of strings), if it records any. */
function ownPrompts(edit: Edit, key: string): string[] {
  const v = (edit.json.request as Record<string, unknown> | undefined)?.[key];
  const list = typeof v === 'string' ? [v] : Array.isArray(v) ? v : [];
  return list.filter((x): x is string => typeof x === 'string' && x.trim() !== '');
}

async function topK(model: LoadedModel, prompt: string, k: number): Promise<NextToken[]> {
  return (await predict(model, prompt, k)).next.map((t) => ({ text: t.text, prob: Math.exp(t.logprob) }));
}

async function greedy(model: LoadedModel, prompt: string, maxTokens: number): Promise<string> {
  return (await generate(model, prompt, { maxTokens, temperature: 0 })).text;
}

/** The prompts to compare (the edit's own, one paraphrase, one neighbour) and the kinds without one. */
function promptsOf(model: LoadedModel, edit: Edit, req: FactRequest) {
  const probes = factProbes(model.checkpoint.dir, req, 1);
  const list: { kind: ComparedKind; prompt: string; source: string; expect?: string }[] = [{ kind: 'prompt', prompt: req.prompt.replace('{}', req.subject), source: OWN }];
  const missing: { kind: ComparedKind; why: string }[] = [];
  const pick = (kind: ComparedKind, key: string, task: 'paraphrase' | 'neighbours') => {
    const own = ownPrompts(edit, key);
    if (own.length) return void list.push({ kind, prompt: own[0], source: OWN });
    const set = probes.sets.find((s) => s.task === task);
    const p = set?.probes[0];
    if (p && set?.source) return void list.push({ kind, prompt: p.prompt, source: path.basename(set.source), expect: kind === 'neighbour' ? p.expect : undefined });
    missing.push({ kind, why: `the edit's request gives no "${key}" prompt, and ${set?.missing ?? 'the model has no data for this subject'}` });
  };
  pick('paraphrase', 'paraphrase', 'paraphrase');
  pick('neighbour', 'neighbourhood', 'neighbours');
  return { list, missing, trueAnswer: probes.trueAnswer, trueSource: probes.sets[0].source };
}

/**
 * The fast layer probe: at each layer, ROME's v* problem on the edit's prompt alone (no context
 * templates), PROBE_STEPS Adam steps of the free vector δ added to that layer's MLP output at the
 * subject's last token (clamped as ROME clamps it), and P(target) at the last step (exp of its
 * NLL term, measured before that step's update). It says how
 * easily each layer's MLP output can carry the new target — not whether the rank-one edit ROME
 * then fits will take, nor how it generalises.
 */
export async function layerProbe(model: LoadedModel, req: FactRequest, o: CompareOptions = {}): Promise<LayerProbe> {
  const t0 = performance.now();
  const layers: LayerProbe['layers'] = [];
  const hp = { ...ROME_HPARAMS, steps: PROBE_STEPS, stopLoss: 0 };
  for (let l = 0; l < model.dims.layers; l++) {
    o.onProgress?.(l, model.dims.layers, `layer probe: layer ${l}`);
    const problem = await factProblem(model, req, l, ['{}'], 'mlp_out', hp.klFactor);
    const r = await optimiseDelta(model, problem, hp, { isCancelled: o.isCancelled });
    // exp(−NLL): the geometric mean of P over the target's tokens (the scoring convention).
    layers.push({ layer: l, targetProb: Math.exp(-r.steps[r.steps.length - 1].nll) });
  }
  return { steps: PROBE_STEPS, layers, ms: performance.now() - t0 };
}

/** Compares `edit` before and after on the bare `model` (any view of it: its own edits are not used). */
export async function compareEdit(model: LoadedModel, edit: Edit, o: CompareOptions = {}): Promise<EditCompareResult> {
  const t0 = performance.now();
  const bare = model.bare();
  const stack = new EditStack(model.bare());
  stack.apply(edit);
  const after = stack.model;
  const top = o.top ?? 5;
  const maxTokens = o.maxTokens ?? 12;
  const facts = editFactRequests(edit);
  const out: EditCompareResult = {
    edit: { id: edit.json.id, label: edit.json.label, method: edit.json.method, file: edit.file ?? '', layers: [...new Set(edit.json.targets.map((t) => t.layer))], preset: typeof edit.json.hparams?.preset === 'string' ? edit.json.hparams.preset : undefined, lti: !!edit.json.hparams?.lti },
    prompts: [],
    missing: [],
    health: edit.json.health as EditHealthRecord | undefined,
    ms: 0,
  };
  const req = facts[0];
  if (!req) {
    out.missing.push({ kind: 'prompt', why: 'the edit records no fact request (subject, prompt, target): there is no prompt of its own to compare' });
    out.ms = performance.now() - t0;
    return out;
  }
  out.request = { ...req, count: facts.length };
  const found = promptsOf(model, edit, req);
  out.missing = found.missing;
  for (const [i, p] of found.list.entries()) {
    o.onProgress?.(i, found.list.length, `comparing "${p.prompt}"`);
    const compared: ComparedPrompt = {
      ...p,
      before: await topK(bare, p.prompt, top),
      after: await topK(after, p.prompt, top),
      generation: { before: await greedy(bare, p.prompt, maxTokens), after: await greedy(after, p.prompt, maxTokens) },
    };
    out.prompts.push(compared);
  }
  const own = found.list[0].prompt;
  const answers = [{ prompt: own, answer: req.target }, ...(found.trueAnswer ? [{ prompt: own, answer: found.trueAnswer }] : [])];
  const [b, a] = [await scoreAnswers(bare, answers), await scoreAnswers(after, answers)];
  out.target = { text: req.target, before: Math.exp(b[0].meanLogprob), after: Math.exp(a[0].meanLogprob), top1After: a[0].tokenTop.every(Boolean) };
  if (found.trueAnswer) out.original = { text: found.trueAnswer, source: path.basename(found.trueSource ?? ''), before: Math.exp(b[1].meanLogprob), after: Math.exp(a[1].meanLogprob) };
  const outcome = await factOutcome(new EditStack(model.bare()), edit, facts);
  out.outcome = { succeeded: outcome.succeeded, reason: outcome.reason };
  if (o.probe) out.probe = await layerProbe(bare, req, o);
  out.ms = performance.now() - t0;
  return out;
}
