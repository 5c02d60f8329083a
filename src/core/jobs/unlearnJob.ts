// One unlearning job for every front end: check the settings against the objective's descriptor
// (objectives.ts) → read the forget / retain / unrelated material → train (train/unlearn.ts) →
// figures → health → write <id>.json + <id>.safetensors (when outDir is given) → the result. The
// CLI (`mechedit unlearn`, `sweep-uipe`) and the engine ('unlearn/run') are adapters over
// runUnlearnJob: they turn flags or request fields into raw settings (by neutral name) and print
// or apply the result. Errors name the neutral fields ('retainWeight'); each adapter shows them as
// its own names (the CLI: --retain-weight).
//
// The stack passed in is the job's own copy (EditStack.fork()): training reads its edits as θ₀,
// the edit is measured on copies of it, and the job never applies anything.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { MethodDescriptor } from '../../protocol/registry';
import { badInput, cancelled } from '../errors';
import type { EditStack } from '../edits/stack';
import { checkEditOut, type Edit } from '../edits/editFile';
import { editHealth, type EditHealth } from '../edits/health';
import { resolveSettings, type SettingContext, type Settings } from '../methods/settings';
import { OBJECTIVE_DESCRIPTORS } from '../methods/objectives';
import { computeUnlearn, UNLEARN_METHODS, type UnlearnMethod, type UnlearnProgress, type UnlearnResult, type UnlearnSettings } from '../train/unlearn';
import { defaultRetain, parseForms, readUnlearnMaterial, type TrainItem, type UnlearnMaterial } from '../train/unlearnData';
import { evaluateUnlearn } from '../train/unlearnEval';
import { measureNeighbours, neighbourItems, type NeighbourFigures } from '../train/unlearnNeighbours';
import { measureAndWrite, presetValues } from './editJob';

export interface UnlearnJobInput {
  /** The objective's id (ga, graddiff, npo, rt, dpo, rmu). */
  method: unknown;
  /** Raw settings by neutral name: CLI strings or JSON values (checked here against the descriptor). */
  settings: Record<string, unknown>;
  /** A preset of the objective (default: its defaultPreset, `tuned`: per-objective lr and retainWeight). */
  preset?: string;
  /** Where <id>.json and <id>.safetensors go; absent: trained and measured, not written. */
  outDir?: string;
  /** The output gate's force: replace an edit file MechEdit did not write (outputs.ts FORCE_SETTING). */
  force?: boolean;
  /** Merged into the edit file's `request` (the engine's concept, for Diagnose This Edit). */
  request?: Record<string, unknown>;
}

export interface UnlearnJobHooks {
  onStep?: (p: UnlearnProgress) => void;
  isCancelled?: () => boolean;
  log?: (message: string) => void;
  /** A phase of the job ("edit health"), for progress messages. */
  onPhase?: (message: string) => void;
}

/** What a job's inputs come to once checked, before any model is needed (checkUnlearnInput). */
export interface CheckedUnlearnInput {
  descriptor: MethodDescriptor;
  method: UnlearnMethod;
  preset: string;
  /** Every setting resolved: given, else the preset's, else the default; undefined for checkpoint rules. */
  settings: Settings;
  /** Canonical form names (aliases resolved), when `forms` is given. */
  forms?: string[];
}

export interface UnlearnJobResult extends CheckedUnlearnInput {
  material: UnlearnMaterial;
  /** The retain file trained / measured on: the given one, else the model's own default. */
  retainSource?: string;
  /** The unrelated facts measured (the given file, else the model's own default), when there are some. */
  unrelated?: TrainItem[];
  unrelatedSource?: string;
  /** The edit (written when outDir was given: its `file`), the loss curve, how training stopped. */
  trained: UnlearnResult;
  /** Teacher-forced top-1, [before, after]: forget and retain items, and unrelated facts when there are some. */
  figures: UnlearnResult['figures'] & { unrelatedTop1?: [number, number] };
  /** The forget target's ORT neighbour sets before and after (train/unlearnNeighbours.ts), when the forget material is an ORT target folder that has them. */
  neighbours?: NeighbourFigures;
  health: EditHealth;
  /** The written <id>.json (absolute), when outDir was given. */
  file?: string;
}

/** An objective's descriptor by id, or a bad-input error (field 'method') listing them. */
export function objectiveDescriptor(method: unknown): MethodDescriptor {
  if (method === undefined || method === null) throw badInput('method is required', { field: 'method', hint: `One of ${UNLEARN_METHODS.join(', ')}.` });
  const d = OBJECTIVE_DESCRIPTORS.find((x) => x.id === method);
  if (!d) throw badInput(`method must be one of ${UNLEARN_METHODS.join(', ')}, got ${JSON.stringify(method)}`, { field: 'method' });
  return d;
}

/** A material file that must be there (forget may be a folder; retain and unrelated are JSONL files). */
function mustExist(file: string | undefined, field: string, what: string, hint: string): void {
  if (file !== undefined && !fs.existsSync(file)) throw badInput(`The ${what} is not there`, { file: path.resolve(file), field, hint });
}

/**
 * The checks that need no model: the objective, every setting against its spec, the preset,
 * the forms' names and the material files' presence. The CLI runs it before opening the model;
 * the job runs it again with the model's sizes (layers) in `c`.
 */
export function checkUnlearnInput(input: Pick<UnlearnJobInput, 'method' | 'settings' | 'preset'>, c: SettingContext = {}): CheckedUnlearnInput {
  const d = objectiveDescriptor(input.method);
  const preset = presetValues(d, input.preset);
  const s = resolveSettings(d.settings, input.settings, c, preset.values);
  mustExist(s.forget as string, 'forget', 'forget material', 'Give a JSONL file of {prompt, answer} or an ORT target folder (Target/<n>_<Name>/).');
  mustExist(s.retain as string | undefined, 'retain', 'retain material', 'Give a JSONL file of {prompt, answer}.');
  mustExist(s.unrelated as string | undefined, 'unrelated', 'unrelated facts file', 'Give a JSONL file of {prompt, answer}.');
  return { descriptor: d, method: d.id as UnlearnMethod, preset: preset.id, settings: s, forms: parseForms(s.forms as string[] | undefined) };
}

/**
 * The retain file: the given one, else the model's eval/unlearn/retain.jsonl when it has one.
 * One rule for every front end: an objective with a retain weight above 0 and neither is refused
 * (field 'retain'); without a retain term the default still gives the "retain top-1" figures.
 */
export function retainFile(given: string | undefined, modelDir: string, method: string, retainWeight: number): string | undefined {
  const file = given ?? defaultRetain(modelDir);
  if (file === undefined && retainWeight > 0) {
    throw badInput(`retain is required for ${method} with a retain weight above 0: this model has no retain set of its own (eval/unlearn/retain.jsonl)`, { field: 'retain', hint: 'Give a JSONL file of facts to keep, {prompt, answer} per line, or a retain weight of 0.' });
  }
  return file;
}

/** The unrelated facts file: the given one, else the model's eval/unlearn/unrelated.jsonl when it has one. */
function unrelatedFile(given: string | undefined, modelDir: string): string | undefined {
  const f = path.join(modelDir, 'eval', 'unlearn', 'unrelated.jsonl');
  return given ?? (fs.existsSync(f) ? f : undefined);
}

/** The trainer's settings from the checked ones (training settings by their own names). */
function trainerSettings(c: CheckedUnlearnInput): UnlearnSettings {
  const s = c.settings;
  const out: UnlearnSettings = {
    method: c.method, layers: s.layers as number[] | undefined, rank: s.rank as number, steps: s.steps as number, lr: s.lr as number,
    retainWeight: s.retainWeight as number, beta: s.beta as number, stopBelow: s.stopBelow as number, uipe: s.uipe as number,
    seed: s.seed as number, label: s.label as string | undefined, preset: c.preset,
    epochs: s.epochs as number, batchSize: s.batchSize as number, warmupEpochs: s.warmupEpochs as number, weightDecay: s.weightDecay as number,
    schedule: s.schedule as UnlearnSettings['schedule'], lossMean: s.lossMean as UnlearnSettings['lossMean'], dpoScale: s.dpoScale as UnlearnSettings['dpoScale'],
    idkAnswers: s.idkAnswers as boolean, rmuLayer: s.rmuLayer as number, rmuCoef: s.rmuCoef as number, rmuTokens: s.rmuTokens as UnlearnSettings['rmuTokens'],
  };
  for (const k of Object.keys(out) as (keyof UnlearnSettings)[]) if (out[k] === undefined) delete out[k];
  return out;
}

const top1 = async (stack: EditStack, items: TrainItem[]) => (await evaluateUnlearn(stack.model, { unrelated: items })).unrelated?.top1 ?? NaN;

/** Checks, reads, trains, measures and (with outDir) writes one unlearning edit on `stack` (the job's own copy, never changed). */
export async function runUnlearnJob(stack: EditStack, input: UnlearnJobInput, hooks: UnlearnJobHooks = {}): Promise<UnlearnJobResult> {
  const model = stack.model;
  if (input.outDir !== undefined) checkEditOut(input.outDir, model.checkpoint, undefined, input.force === true); // first: a folder in the checkpoint fails before anything else
  const checked = checkUnlearnInput(input, { layers: model.dims.layers });
  const s = checked.settings;
  if ((s.rank as number) > model.dims.dModel) throw badInput(`rank ${s.rank} is above d_model (${model.dims.dModel})`, { field: 'rank' });
  const retainSource = retainFile(s.retain as string | undefined, model.checkpoint.dir, checked.method, s.retainWeight as number);
  const material = readUnlearnMaterial({ forget: s.forget as string, retain: retainSource, forms: checked.forms });
  const unrelatedSource = unrelatedFile(s.unrelated as string | undefined, model.checkpoint.dir);
  const unrelated = unrelatedSource === undefined ? undefined : readUnlearnMaterial({ forget: unrelatedSource }).forget;
  const unrelatedBefore = unrelated && (await top1(stack, unrelated));

  const trained = await computeUnlearn(stack, material, trainerSettings(checked), { onStep: hooks.onStep, isCancelled: hooks.isCancelled, log: hooks.log });
  if (hooks.isCancelled?.()) throw cancelled(); // stopped between steps: nothing is measured or written
  const edit: Edit = trained.edit;
  if (input.request) edit.json.request = { ...edit.json.request, ...input.request };
  edit.json.hparams = { ...edit.json.hparams, preset: checked.preset, computeMs: Math.round(trained.ms) };
  stack.check(edit); // shapes against the model, before anything is measured or written
  const figures: UnlearnJobResult['figures'] = { ...trained.figures };
  const withIt = stack.fork();
  withIt.apply(edit);
  if (unrelated) {
    hooks.onPhase?.('unrelated facts');
    figures.unrelatedTop1 = [unrelatedBefore as number, await top1(withIt, unrelated)];
    edit.json.training = { ...edit.json.training, figures };
  }
  const neighbourSet = neighbourItems(model, s.forget as string);
  let neighbours: NeighbourFigures | undefined;
  if (neighbourSet) {
    hooks.onPhase?.('neighbour sets');
    neighbours = await measureNeighbours(stack.model, withIt.model, neighbourSet, hooks.isCancelled);
    edit.json.training = { ...edit.json.training, neighbours };
  }
  let file: string | undefined;
  let health: EditHealth;
  if (input.outDir !== undefined) ({ file, health } = await measureAndWrite(stack, edit, input.outDir, { isCancelled: hooks.isCancelled, onPhase: hooks.onPhase, force: input.force === true }));
  else {
    hooks.onPhase?.('edit health');
    health = await editHealth(model, stack, edit);
    edit.json.health = { ...(edit.json.health ?? {}), ...health };
  }
  return { ...checked, material, retainSource, unrelated, unrelatedSource, neighbours, trained: { ...trained, edit: file ? { ...edit, file } : edit }, figures, health, file };
}
