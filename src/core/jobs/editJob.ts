// One edit job for every front end: check the inputs → compute → did it take (fact edits) →
// health → write <id>.json + <id>.safetensors → the result. The CLI (`mechedit edit <method>`)
// and the engine ('edits/fact', 'edits/rocr', 'edits/run') are adapters over runEditJob: they
// turn flags or request fields into raw settings and print or apply the result. Errors name the
// settings' neutral fields ('subgraphSize'); each adapter shows them as its own names.
//
// The stack passed in is the job's own copy (EditStack.fork()): the edit is computed on it and
// measured on copies of it; the job never applies anything (applying is the adapter's call).

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { MethodDescriptor } from '../../protocol/registry';
import { badInput } from '../errors';
import { checkMagnitudes } from '../numbers';
import type { EditStack } from '../edits/stack';
import { checkEditOut, writeEdit, type Edit } from '../edits/editFile';
import { editHealth, type EditHealth } from '../edits/health';
import { defaultCorpus, keyStats, type KeyStats } from '../edits/stats';
import { checkRequest, type FactRequest } from '../edits/rome';
import { factRequests } from '../edits/requests';
import { factOutcome, refuseRiskyTargets, type FactOutcome } from '../edits/outcome';
import type { VStarResult, VStarStep } from '../edits/vstar';
import { resolveSettings, type Settings } from '../methods/settings';
import { checkRequestCount, FACT_EDITORS, presetOf, REQUEST_FIELDS, type FactEditor } from '../methods/factEditors';
import { OTHER_EDITORS, type OtherEditor } from '../methods/otherEditors';
import type { LoadedModel } from '../runtime/model';

type Entry = { fact: FactEditor } | { other: OtherEditor };

/** Every edit method of the registry, in the order users see them. */
export const EDIT_METHOD_DESCRIPTORS: readonly MethodDescriptor[] = [...FACT_EDITORS, ...OTHER_EDITORS].map((e) => e.descriptor);

function entry(method: unknown): Entry {
  const fact = FACT_EDITORS.find((f) => f.descriptor.id === method);
  if (fact) return { fact };
  const other = OTHER_EDITORS.find((f) => f.descriptor.id === method);
  if (other) return { other };
  throw badInput(`Unknown edit method ${JSON.stringify(method)}`, { field: 'method', hint: `Use one of: ${EDIT_METHOD_DESCRIPTORS.map((d) => d.id).join(', ')}.` });
}

/** The descriptor of an edit method by id, or a bad-input error listing them. */
export function editMethodDescriptor(method: unknown): MethodDescriptor {
  const e = entry(method);
  return 'fact' in e ? e.fact.descriptor : e.other.descriptor;
}

/** Whether the method computes on the CPU without a provider (no forward passes). */
export function editMethodIsCpuOnly(method: string): boolean {
  const e = entry(method);
  return 'other' in e && e.other.cpuOnly === true;
}

export interface EditJobInput {
  method: string;
  /** Raw settings by neutral name: CLI strings or JSON values (checked here against the descriptor). */
  settings: Record<string, unknown>;
  /** Fact requests given as data (the engine); else the settings' requests file or subject / prompt / target. */
  requests?: FactRequest[];
  /** A preset of the method (default: its defaultPreset). */
  preset?: string;
  /** Where <id>.json and <id>.safetensors go. */
  outDir: string;
  /** Compute an edit of a target the tokenizer splits badly anyway; and (the output gate's force) replace an edit file MechEdit did not write. */
  force?: boolean;
  /** How the adapter names `force` in the hint of that refusal ("pass --force"). */
  forceHint?: string;
  /** Inputs given as data rather than files (EditRun.data). */
  data?: Readonly<Record<string, Float32Array>>;
  /** Merged into the edit file's `request` (where the input came from, for the reader of the file). */
  request?: Record<string, unknown>;
}

export interface EditJobHooks {
  onStep?: (s: VStarStep) => void;
  isCancelled?: () => boolean;
  /** A phase of the job ("checking that the edit took"), for progress messages. */
  onPhase?: (message: string) => void;
}

export interface EditJobResult {
  method: string;
  preset: string;
  edit: Edit;
  /** The written <id>.json. */
  file: string;
  /** Fact edits: whether it took, per request. */
  outcome?: FactOutcome;
  health: EditHealth;
  /** Fact edits: the v* (or δ) optimisation of each request. */
  vstar?: VStarResult[];
  timing?: Record<string, number>;
  computeMs: number;
}

/** The preset's id and values: `preset`, else the descriptor's default preset; an unknown one is refused (field 'preset'). */
export function presetValues(d: MethodDescriptor, preset: string | undefined): { id: string; values: Readonly<Record<string, unknown>> } {
  const p = presetOf(d, preset);
  return { id: p.id, values: p.values };
}

/** The fact requests of a fact edit: given as data, from the requests file, or one from subject / prompt / target. */
function requestsOf(s: Settings, given: FactRequest[] | undefined): FactRequest[] {
  if (given) {
    if (given.length === 0) throw badInput('No fact requests given', { field: 'requests' });
    return given;
  }
  if (s.requests !== undefined) return factRequests(s.requests as string);
  for (const f of ['subject', 'prompt', 'target']) if (s[f] === undefined) throw badInput(`${f} is required (or a requests file)`, { field: f });
  return [{ subject: s.subject as string, prompt: s.prompt as string, target: s.target as string }];
}

/** Key statistics for the health's kᵀC⁻¹k: when the edit recorded keys and a corpus is given or ships with the model. */
async function healthStats(model: LoadedModel, edit: Edit, s: Settings, isCancelled?: () => boolean): Promise<Map<number, KeyStats>> {
  const stats = new Map<number, KeyStats>();
  const corpus = (s.corpus as string[] | undefined) ?? (fs.existsSync(path.join(model.checkpoint.dir, 'corpus.txt')) ? defaultCorpus(model) : undefined);
  if (!corpus || !edit.tensors.some((t) => t.K)) return stats;
  for (const t of edit.json.targets) {
    if (t.K && !stats.has(t.layer)) stats.set(t.layer, await keyStats(model, { layer: t.layer, corpus, samples: s.samples as number | undefined, isCancelled }));
  }
  return stats;
}

export function weightDims(model: LoadedModel) {
  return (t: { layer: number; module: string }) => {
    const w = t.module === 'mlp.out' ? model.plan.blocks[t.layer].down : model.plan.blocks[t.layer].o;
    return { out: w.out, in: w.in };
  };
}

/** A computed edit whose factors hold NaN, ±∞ or values beyond the magnitude bound (numbers.ts) is refused: never written, measured or applied. */
function refuseBlownUp(edit: Edit, outDir: string): void {
  edit.tensors.forEach((t, i) => {
    for (const [name, values] of [['U', t.U], ['V', t.V]] as const) {
      checkMagnitudes(values, `The computed edit's ${name} (target ${edit.json.targets[i].module} of layer ${edit.json.targets[i].layer})`, { file: outDir, field: `targets[${i}].${name}` }, 'The settings made the edit blow up (a λ, learning rate or strength far outside its usual range?); compute it again with settings in their usual range');
    }
  });
}

/**
 * The end of every job that makes an edit (edit, unlearning): its health on `stack` (kᵀC⁻¹k from
 * the corpus given or shipped with the model, ‖ΔW‖/‖W‖, KL on neutral prompts), a fact edit's
 * outcome among its warnings, then the file. Returns the written <id>.json (absolute).
 */
export async function measureAndWrite(stack: EditStack, edit: Edit, outDir: string, o: { outcome?: FactOutcome; corpus?: string[]; samples?: number; isCancelled?: () => boolean; onPhase?: (m: string) => void; force?: boolean } = {}): Promise<{ file: string; health: EditHealth }> {
  const model = stack.model;
  refuseBlownUp(edit, outDir);
  o.onPhase?.('edit health');
  const health = await editHealth(model, stack, edit, await healthStats(model, edit, { corpus: o.corpus, samples: o.samples }, o.isCancelled));
  if (o.outcome && !o.outcome.succeeded) health.warnings.unshift(`the edit did not take: ${o.outcome.reason}`);
  edit.json.health = { ...(edit.json.health ?? {}), ...health, ...(o.outcome ? { efficacy: o.outcome } : {}) };
  const file = path.resolve(writeEdit(outDir, edit, weightDims(model), model.checkpoint, o.force === true));
  return { file, health };
}

/** Computes, checks, measures and writes one edit on `stack` (the job's own copy, never changed). */
export async function runEditJob(stack: EditStack, input: EditJobInput, hooks: EditJobHooks = {}): Promise<EditJobResult> {
  const model = stack.model;
  const e = entry(input.method);
  const d = 'fact' in e ? e.fact.descriptor : e.other.descriptor;
  checkEditOut(input.outDir, model.checkpoint, undefined, input.force === true); // first: a bad folder fails before anything else is read
  const preset = presetValues(d, input.preset);
  const s = resolveSettings(d.settings, input.settings, { layers: model.dims.layers }, preset.values);
  const t0 = performance.now();
  let computed: { edit: Edit; vstar?: VStarResult[]; timing?: Record<string, number> };
  let requests: FactRequest[] | undefined;
  if ('fact' in e) {
    requests = requestsOf(s, input.requests);
    requests.forEach((r, i) => checkRequest(r, requests!.length > 1 ? `requests[${i}]` : 'request'));
    checkRequestCount(d, requests);
    refuseRiskyTargets(model, requests, input.force === true, input.forceHint ?? 'set force');
    const how = Object.fromEntries(Object.entries(s).filter(([k]) => !REQUEST_FIELDS.includes(k)));
    computed = await e.fact.compute(model, stack, requests, how, { ...hooks, data: input.data, preset: preset.id });
  } else {
    computed = { edit: await e.other.compute(model, stack, s, { ...hooks, data: input.data, preset: preset.id }) };
  }
  const edit = computed.edit;
  if (input.request) edit.json.request = { ...edit.json.request, ...input.request };
  const computeMs = performance.now() - t0;
  edit.json.hparams = { ...edit.json.hparams, preset: preset.id, computeMs: Math.round(computeMs) };
  stack.check(edit); // shapes against the model, before anything is written
  let outcome: FactOutcome | undefined;
  if (requests) {
    hooks.onPhase?.('checking that the edit took');
    outcome = await factOutcome(stack, edit, requests);
  }
  const { file, health } = await measureAndWrite(stack, edit, input.outDir, { outcome, corpus: s.corpus as string[] | undefined, samples: s.samples as number | undefined, isCancelled: hooks.isCancelled, onPhase: hooks.onPhase, force: input.force === true });
  return { method: d.id, preset: preset.id, edit: { ...edit, file }, file, outcome, health, vstar: computed.vstar, timing: computed.timing, computeMs };
}
