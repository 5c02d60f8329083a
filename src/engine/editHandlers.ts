// Requests that compute an edit in the engine: 'edits/run' (any edit method of the registry, by
// id, with its settings), and the older 'edits/fact', 'edits/rocr' and 'edits/ablate', which map
// their fields onto the same settings. Each runs core's runEditJob — the job the CLI runs — on a
// copy of the user's stack taken when the request starts, then applies the edit to that same
// stack. Progress goes to the request's progressToken; cancel stops between v* steps (or ROCR
// layers).

import type { EditStack } from '../core/edits/stack';
import type { Edit } from '../core/edits/editFile';
import { cancelled } from '../core/errors';
import { runEditJob, type EditJobInput, type EditJobResult } from '../core/jobs/editJob';
import type { ComputedEdit, ComputedFactEditInfo } from '../protocol/engine';
import type { Progress } from '../core/runtime/selftest';
import type { EngineServer } from './server';
import { factRequests, flag, object, oneOf, optionalText, outputFolder } from './params';
import { checkEditOut } from '../core/edits/editFile';
import { wireVector } from './wireParams';
import { APPLY_MODES, decideApply, type ApplyMode } from '../protocol/applyPolicy';

export type { ApplyMode } from '../protocol/applyPolicy';

/**
 * Puts `edit` on `target` — the user's stack as it was when the request started — unless the
 * user's stack is another one by now (the model was reopened or closed meanwhile): then nothing is
 * applied, and the warning says so. An edit is never applied to a stack it was not computed on.
 */
export function applyToStartStack(target: EditStack, user: () => EditStack, edit: Edit, file: string, warnings: string[]): boolean {
  let current: EditStack | undefined;
  try {
    current = user();
  } catch {
    current = undefined; // no model open any more
  }
  if (current !== target) {
    warnings.unshift(`not applied: the model was reopened or closed while the edit was computed; the file ${file} is written, apply it on the model it belongs to`);
    return false;
  }
  target.apply({ ...edit, file });
  return true;
}

/** The ComputedEdit answer of a job: the file, health and the stack it was applied to. */
function answer(r: EditJobResult, target: EditStack, applied: boolean, notApplied?: string): ComputedEdit & { applied: boolean } {
  return { file: r.file, id: r.edit.json.id, label: r.edit.json.label, preset: r.preset, health: r.health, state: { items: target.list() }, computeMs: r.computeMs, applied, ...(notApplied ? { notApplied } : {}) };
}

function vstarInfo(v: { steps: { loss: number; nll: number; targetProb: number }[] }): ComputedFactEditInfo {
  const last = v.steps[v.steps.length - 1];
  return { steps: v.steps.length, loss: last.loss, targetProb: last.targetProb, curve: v.steps.map((x) => ({ loss: x.loss, nll: x.nll, targetProb: x.targetProb })) };
}

/** Runs one edit job on a copy of the user's stack as it is now, and applies the edit to that stack. */
async function runAndApply(user: () => EditStack, input: EditJobInput, apply: ApplyMode, progress: Progress) {
  const target = user(); // captured now: the stack this request computes on and applies to
  progress.report(0, 1, 'computing the edit', true);
  const r = await runEditJob(target.fork(), input, {
    isCancelled: () => progress.cancelled,
    onStep: (st) => progress.report(st.step + 1, 0, `v* step ${st.step + 1}: loss ${st.loss.toFixed(3)}, P(target) ${(100 * st.targetProb).toFixed(1)} %`, true),
    onPhase: (message) => progress.report(0, 1, message, true),
  });
  if (progress.cancelled) throw cancelled();
  const decision = decideApply(apply, r.outcome, r.health.warnings);
  const applied = decision.apply && applyToStartStack(target, user, r.edit, r.file, r.health.warnings);
  progress.report(1, 1, undefined, true);
  return { ...answer(r, target, applied, decision.reason), ...(r.outcome ?? {}), ...(r.vstar ? { vstar: r.vstar.map(vstarInfo) } : {}) };
}

/** The request's outDir, checked first (absolute, not in the checkpoint, no foreign files): a bad one fails before anything else. */
function outDirOf(value: unknown, user: () => EditStack): string {
  const dir = outputFolder(value, 'outDir');
  checkEditOut(dir, user().model.checkpoint);
  return dir;
}

const defined = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== null));

/** `user`: the user's stack (each request takes its own copy when it starts). */
export function registerEditHandlers(server: EngineServer, user: () => EditStack): void {
  server.handle('edits/run', async (p, ctx) => {
    const outDir = outDirOf(p.outDir, user);
    const settings = p.settings === undefined || p.settings === null ? {} : object(p.settings, 'settings');
    const input: EditJobInput = {
      method: p.method, settings, preset: optionalText(p.preset, 'preset'), outDir, force: flag(p.force, 'force'), forceHint: 'set force',
      requests: p.requests === undefined || p.requests === null ? undefined : factRequests(p.requests),
    };
    return runAndApply(user, input, oneOf(p.apply, 'apply', APPLY_MODES, 'if-succeeded'), ctx.progress(p.progressToken));
  });

  server.handle('edits/fact', async (p, ctx) => {
    const outDir = outDirOf(p.outDir, user);
    const settings = defined({ layer: p.layer, layers: p.layers, lti: p.lti, lambda: p.lambda, threshold: p.threshold, steps: p.steps, graph: p.graph, subgraphSize: p.subgraphSize });
    const input: EditJobInput = { method: p.method, settings, preset: optionalText(p.preset, 'preset'), requests: factRequests(p.requests), outDir, force: flag(p.force, 'force'), forceHint: 'pass force: true' };
    const r = await runAndApply(user, input, oneOf(p.apply, 'apply', ['if-succeeded', 'if-healthy', 'always'] as const, 'if-succeeded'), ctx.progress(p.progressToken));
    return { ...r, succeeded: r.succeeded ?? true, efficacy: r.efficacy ?? [], vstar: r.vstar ?? [] };
  });

  server.handle('edits/rocr', async (p, ctx) => {
    const outDir = outDirOf(p.outDir, user);
    const settings = defined({ concept: p.concept, harmless: p.harmless, layers: p.layers, lambda: p.lambda, positions: p.positions, regularizer: p.regularizer });
    return runAndApply(user, { method: 'rocr', settings, preset: optionalText(p.preset, 'preset'), outDir }, 'always', ctx.progress(p.progressToken));
  });

  server.handle('edits/ablate', async (p, ctx) => {
    const outDir = outDirOf(p.outDir, user);
    const direction = wireVector(p.direction, user().model.dims.dModel, 'direction');
    const request = p.request === undefined || p.request === null ? {} : object(p.request, 'request');
    const settings = defined({ layers: p.layers, modules: p.modules, label: p.label });
    const input: EditJobInput = { method: 'ablate', settings, data: { direction }, request: { direction: 'concept direction (Concepts panel)', ...request }, outDir };
    return runAndApply(user, input, 'always', ctx.progress(p.progressToken));
  });
}
