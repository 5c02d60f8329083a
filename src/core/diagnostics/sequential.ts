// Sequential (lifelong) editing: N fact requests applied one after another, or in batches of B,
// each edit computed with computeFactEdit on the model *as edited so far* (a private EditStack on
// the unedited checkpoint, never the caller's stack), and the model measured every K requests
// (sequentialMeasure.ts: efficacy of all edits so far, paraphrases, unrelated facts, general
// skills, ‖ΔW‖/‖W‖ per module) — the curve of what survives as edits pile up.
//
// Run folder (crash-safe, resumable; every figure but `seconds` is a function of the edits):
//   run.json      what was run (model fingerprint, method, batch, every, the requests' sha256, settings)
//   edits/        seq-00001.json + .safetensors, … one per batch, in order: written to edits/.partial/
//                 and renamed in (vectors first, the .json last), so an edit is there whole or not at all
//   clock.json    the run's wall time at its last edit (a resumed run's `seconds` go on from it)
//   curve.jsonl   one CurvePoint per line, appended after its edits were saved; a line cut by a crash
//                 (no "\n") is dropped on resume, and a point missing after the last edit is measured again
// --resume reloads the edits in order onto a fresh stack (the same apply path as the run that made
// them), re-emits the saved points and continues: the same curve as an uninterrupted run.
//
// Consolidation: the stack folds a module's edits into one dense ΔW once their summed rank exceeds
// min(d_out, d_in) (policy 'exact', stack.ts) — 128 edits of rank 1 on the bundled model — so
// thousands of edits cost one d_out × d_in update per module, exact up to float32 rounding of the feed.
// Options.consolidation may ask for a truncated SVD within a tolerance instead (or no folding).

import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import type { LoadedModel } from '../runtime/model';
import type { LifelongPoint } from '../../protocol/lifelong';
import { badInput, MechEditError } from '../errors';
import { checkRunFolder, moveOut, writeOut } from '../outputs';
import { editId, openSequentialFolder, type SequentialFolder } from './sequentialFolder';
import { EditStack } from '../edits/stack';
import type { ConsolidationPolicy } from '../edits/consolidate';
import { readEdit, writeEdit, type Edit } from '../edits/editFile';
import { computeFactEdit, FACT_METHODS, SINGLE_FACT_METHODS, type FactEditSettings, type FactMethod } from '../methods/factEditors';
import { counterfactualsFile, readCounterfactuals, type Probe, type SequentialProbes, type SequentialRequest } from './sequentialData';
import { knownProbes, measurePoint } from './sequentialMeasure';
import { METRIC_VERSIONS, type RunProtocol } from './protocol';
import { readInputJson } from '../inputs';

export type { SequentialRequest } from './sequentialData';

export interface SequentialOptions {
  method: FactMethod;
  /** From a request file (sequentialData.readSequentialRequests), or */
  requests?: SequentialRequest[];
  /** the first N counterfactuals of eval/counterfactuals.json beside the model (the bundled world). */
  worldCounterfactuals?: number;
  /** Requests per edit (rome / dike: 1, the default for every method). */
  batch?: number;
  /** Measure every K requests (default 100), and at 0 and at the end. */
  every?: number;
  out: string;
  resume?: boolean;
  /** The output gate's force (outputs.ts FORCE_SETTING): `out` may be a folder that is not empty. */
  force?: boolean;
  /** Passed to computeFactEdit (onStep and isCancelled are the run's own). */
  settings?: FactEditSettings;
  /** At most this many unrelated facts and probes of each skill (default: all, 200 each on the bundled world). */
  probeLimit?: number;
  /**
   * How the run's stack folds a module's edits (default exact: dense once their summed rank passes
   * min(d_out, d_in)). 'svd' measures the model with the truncated fold, and later edits are computed
   * on it; recorded in run.json (only when not the default), so a resume must use the same.
   */
  consolidation?: ConsolidationPolicy;
}

/**
 * One point of the curve (the wire's LifelongPoint, protocol/lifelong.ts), every figure a
 * first-token top-1 rate in %: `edits` requests applied so far; `efficacy` over all of them (at 0:
 * over all the run's requests, before editing); `paraphrase` over their paraphrases (NaN, null in
 * JSON, when the requests carry none); `specificity`: of the unrelated facts the unedited model
 * answers, the share still answered; `skills` on fixed probes of subjects the run never edits (NaN
 * without eval/counterfactuals.json); `health`: ‖ΔW‖_F / ‖W‖_F per edited module ("L0 mlp.out"),
 * all edits summed; `seconds`: wall time since the run started (a resumed run goes on from its last saved edit).
 */
export type CurvePoint = LifelongPoint;

export interface SequentialHooks {
  onPoint?(p: CurvePoint): void;
  onProgress?(done: number, total: number, phase: string): void;
  isCancelled?(): boolean;
  /** On a cancel, measure the edits done once more (the engine: the panel's table and export show them); the CLI leaves it off (a preemption must stop at once). */
  measureWhenStopped?: boolean;
}

export interface SequentialResult {
  /** The curve; a cancelled run's last point is measured at the edits done when it stopped (not written to curve.jsonl, whose points stay at the run's own K-spacing for resume). */
  points: CurvePoint[];
  folder: string;
  cancelled: boolean;
  /** Requests applied and saved in edits/ (a cancelled run: those done before it stopped; a resume continues from them). */
  edits: number;
}

const VERSION = 1;
/** How a sequential run measures (run.json "protocol"; not compared on resume: runs before it had none). */
export const SEQUENTIAL_PROTOCOL: RunProtocol = {
  scoring: ['teacher-forced'],
  measured: 'after all edits',
  templates: ['requests: prompt, paraphrases', 'counterfactuals.json: specificity, skills'],
  metrics: [METRIC_VERSIONS.sequential, METRIC_VERSIONS.counterfact],
};
const NO_PROBES: SequentialProbes = { specificity: [], skills: { choice: [], trueFalse: [], twoHop: [] } };

interface Plan {
  requests: SequentialRequest[];
  probes: SequentialProbes;
  batch: number;
  every: number;
  config: Record<string, unknown>;
}

/** Subjects edited by the run are left out of the probes (specificity and skills are about other subjects). */
function withoutSubjects(p: SequentialProbes, subjects: Set<string>): SequentialProbes {
  const keep = (list: Probe[]) => list.filter((x) => !subjects.has(x.subject));
  return { specificity: keep(p.specificity), skills: { choice: keep(p.skills.choice), trueFalse: keep(p.skills.trueFalse), twoHop: keep(p.skills.twoHop) } };
}

function plan(model: LoadedModel, o: SequentialOptions): Plan {
  if (!(FACT_METHODS as readonly string[]).includes(o.method)) throw badInput(`method must be one of ${FACT_METHODS.join(', ')}, got ${JSON.stringify(o.method)}`, { field: 'method', hint: `Use one of: ${FACT_METHODS.join(', ')}.` });
  if ((o.requests === undefined) === (o.worldCounterfactuals === undefined)) throw badInput('Give the requests or a number of world counterfactuals (one of the two)', { field: 'requestsFile', hint: 'A file of fact requests, or N of the bundled world\'s counterfactuals.' });
  const batch = o.batch ?? 1;
  const every = o.every ?? 100;
  if (!(Number.isInteger(batch) && batch >= 1)) throw badInput(`batch must be a whole number ≥ 1, got ${batch}`, { field: 'batch' });
  if (SINGLE_FACT_METHODS.includes(o.method) && batch !== 1) throw badInput(`batch must be 1 for ${o.method} (it edits one fact at a time), got ${batch}`, { field: 'batch', hint: 'Use a batch editor (MEMIT, AlphaEdit) for batches.' });
  if (!(Number.isInteger(every) && every >= 1)) throw badInput(`every must be a whole number ≥ 1, got ${every}`, { field: 'every' });
  const file = counterfactualsFile(model);
  const world = o.worldCounterfactuals !== undefined || fs.existsSync(file) ? readCounterfactuals(file) : undefined;
  let requests: SequentialRequest[];
  if (o.worldCounterfactuals !== undefined) {
    const n = o.worldCounterfactuals;
    if (!(Number.isInteger(n) && n >= 1 && n <= world!.requests.length)) throw badInput(`worldCounterfactuals must be a whole number from 1 to ${world!.requests.length}, got ${n}`, { field: 'worldCounterfactuals', file });
    requests = world!.requests.slice(0, n);
  } else {
    requests = o.requests!;
    if (!requests.length) throw badInput('There are no requests', { field: 'requestsFile' });
  }
  const kept = world ? withoutSubjects(world, new Set(requests.map((r) => r.subject))) : NO_PROBES;
  const cut = (list: Probe[]) => list.slice(0, o.probeLimit ?? list.length);
  const probes = { specificity: cut(kept.specificity), skills: { choice: cut(kept.skills.choice), trueFalse: cut(kept.skills.trueFalse), twoHop: cut(kept.skills.twoHop) } };
  const { onStep: _s, isCancelled: _c, label: _l, ...settings } = o.settings ?? {};
  const config = {
    tool: 'sequential',
    version: VERSION,
    modelFingerprint: model.checkpoint.fingerprint,
    method: o.method,
    batch,
    every,
    requests: requests.length,
    requestsSha256: createHash('sha256').update(JSON.stringify(requests)).digest('hex'),
    probesSha256: probesHash(probes),
    settings,
    ...(o.consolidation && o.consolidation.mode !== 'exact' ? { consolidation: o.consolidation } : {}),
  };
  return { requests, probes, batch, every, config };
}

/** sha256 of what the probes measure: the prompt and answer of each, per kind, in order. */
function probesHash(p: SequentialProbes): string {
  const pairs = (list: Probe[]) => list.map((x) => [x.prompt, x.answer]);
  return createHash('sha256').update(JSON.stringify([pairs(p.specificity), pairs(p.skills.choice), pairs(p.skills.trueFalse), pairs(p.skills.twoHop)])).digest('hex');
}

/** The run's wall time at its last saved edit (clock.json; 0 when absent or unreadable: only `seconds` depends on it). */
function savedClock(dir: string): number {
  try {
    const s = (readInputJson(path.join(dir, 'clock.json'), 'run') as { seconds?: unknown }).seconds;
    return typeof s === 'number' && Number.isFinite(s) ? s : 0;
  } catch {
    return 0;
  }
}

/**
 * Writes the edit into edits/ whole or not at all: into edits/.partial, its hash recorded in
 * run.json, then renamed in (vectors first, the .json last).
 */
function saveEdit(model: LoadedModel, folder: SequentialFolder, n: number, edit: Omit<Edit, 'file'>): string {
  const partial = path.join(folder.dir, 'edits', '.partial');
  const dims = (t: { layer: number; module: string }) => {
    const w = t.module === 'mlp.out' ? model.plan.blocks[t.layer].down : model.plan.blocks[t.layer].o;
    return { out: w.out, in: w.in };
  };
  const json = writeEdit(partial, edit, dims, model.checkpoint);
  folder.recordEdit(n, json);
  const stem = path.basename(json, '.json');
  const target = path.join(folder.dir, 'edits', `${stem}.json`);
  moveOut(path.join(partial, `${stem}.safetensors`), path.join(folder.dir, 'edits', `${stem}.safetensors`));
  moveOut(json, target);
  return target;
}

/**
 * A cancel: the edits done so far are kept (edits/) and, with measureWhenStopped, measured once, so
 * the result and its export say what the run did (that measurement ignores the cancel; it is not
 * written to curve.jsonl, whose points stay at the run's K-spacing for resume).
 */
async function stoppedResult(r: {
  model: LoadedModel; requests: SequentialRequest[]; known: Awaited<ReturnType<typeof knownProbes>>; probes: SequentialProbes;
  applied: Edit[]; done: number; points: CurvePoint[]; dir: string; clock: () => number; hooks: SequentialHooks;
}): Promise<SequentialResult> {
  const { done, points, hooks } = r;
  if (hooks.measureWhenStopped && done > 0 && points[points.length - 1]?.edits !== done) {
    hooks.onProgress?.(done, r.requests.length, 'measure');
    const figures = await measurePoint(r.model, r.requests.slice(0, done), r.requests, r.known, r.probes, r.applied, () => false);
    const p = { edits: done, ...figures, seconds: r.clock() };
    points.push(p);
    hooks.onPoint?.(p);
  }
  return { points, folder: r.dir, cancelled: true, edits: done };
}

const isCancel = (e: unknown) => e instanceof MechEditError && e.data.code === 'cancelled';

export async function runSequential(model: LoadedModel, opts: SequentialOptions, hooks: SequentialHooks = {}): Promise<SequentialResult> {
  const t0 = performance.now();
  const { requests, probes, batch, every, config } = plan(model, opts);
  const dir = opts.out;
  checkRunFolder(dir, model.checkpoint, 'The run folder', opts.force === true); // the CLI and the engine alike
  const N = requests.length;
  const due = (n: number) => n === 0 || n === N || Math.floor(n / every) > Math.floor((n - batch) / every);
  const folder = openSequentialFolder(dir, config, { ...config, modelPath: model.checkpoint.dir, protocol: SEQUENTIAL_PROTOCOL }, !!opts.resume, { due, batch, requests: N });
  const bare = model.bare();
  const stack = new EditStack(bare.withEdits(bare.edits));
  stack.setConsolidation(opts.consolidation ?? { mode: 'exact' });
  const applied: Edit[] = [];
  const saved = new Map(folder.points.map((p) => [p.edits, p]));
  const lastSaved = folder.points.length ? folder.points[folder.points.length - 1].edits : -1;
  const offset = Math.max(folder.points.length ? folder.points[folder.points.length - 1].seconds || 0 : 0, savedClock(dir));
  const clock = () => offset + (performance.now() - t0) / 1000;
  const points: CurvePoint[] = [];
  const isCancelled = () => !!hooks.isCancelled?.();
  const known = await knownProbes(bare, probes.specificity);
  let done = 0;
  const measure = async (): Promise<CurvePoint> => {
    hooks.onProgress?.(done, N, 'measure');
    const figures = await measurePoint(stack.model, requests.slice(0, done), requests, known, probes, applied, isCancelled);
    return { edits: done, ...figures, seconds: clock() };
  };
  // The point at `done` edits: the saved one, or measured now. A hole before the last saved point is
  // measured from the edits as they were then (its time is unknown: seconds null); curve.jsonl is rewritten in order.
  const settle = async () => {
    if (!due(done)) return;
    const have = saved.get(done);
    let p = have;
    if (!p) {
      p = await measure();
      if (done < lastSaved) {
        p = { ...p, seconds: NaN };
        saved.set(done, p);
        folder.rewriteCurve([...saved.values()]);
      } else {
        folder.appendPoint(p);
      }
    }
    points.push(p);
    hooks.onPoint?.(p);
  };
  const stopped = () => stoppedResult({ model: stack.model, requests, known, probes, applied, done, points, dir, clock, hooks });
  try {
    await settle();
    for (const f of folder.editFiles) {
      if (isCancelled()) return await stopped();
      const e = readEdit(f);
      stack.apply(e);
      applied.push(e);
      done = Math.min(applied.length * batch, N);
      await settle();
    }
    while (done < N) {
      if (isCancelled()) return await stopped();
      const chunk = requests.slice(done, done + batch);
      hooks.onProgress?.(done, N, 'edit');
      const n = applied.length + 1;
      const { edit } = await computeFactEdit(opts.method, stack.model, stack, chunk, { ...opts.settings, label: undefined, onStep: undefined, isCancelled });
      const label = chunk.length === 1 ? `${chunk[0].prompt.replace('{}', chunk[0].subject)} → ${chunk[0].target}` : `${chunk.length} facts (${done + 1}–${done + chunk.length})`;
      const file = saveEdit(model, folder, n, { json: { ...edit.json, id: editId(n), label: `${opts.method} #${n}: ${label}` }, tensors: edit.tensors });
      const e = readEdit(file);
      stack.apply(e);
      applied.push(e);
      done += chunk.length;
      writeOut(path.join(dir, 'clock.json'), `${JSON.stringify({ edits: done, seconds: clock() })}\n`);
      await settle();
    }
  } catch (e) {
    if (isCancel(e)) return await stopped();
    throw e;
  }
  hooks.onProgress?.(N, N, 'done');
  return { points, folder: dir, cancelled: false, edits: N };
}
