// 'unlearn/run' (gradient unlearning as a LoRA edit: GA, GradDiff, NPO, RT, DPO, RMU) and
// 'unlearn/material' (what a forget source holds, per form, asked before a run).
//
// A run is core's runUnlearnJob — the job `mechedit unlearn` runs, with the same settings, bounds
// and errors (the request's fields are the objectives' settings by name). It trains on a copy of
// the user's stack taken when the request starts (its edits are the starting point θ₀), so the
// user's stack is not held: other requests are served between steps. The finished edit gets its
// health, is written to outDir and applied to that same stack (editHandlers.ts applyToStartStack). Progress: one
// 'engine/progress' per step carrying the step's `point` (loss, metrics) for live charts; a
// cancel stops between steps, and nothing is written or applied.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { EditStack } from '../core/edits/stack';
import { badInput, cancelled } from '../core/errors';
import { pick } from '../core/methods/settings';
import { trainingSettings } from '../core/methods/objectives';
import { runUnlearnJob } from '../core/jobs/unlearnJob';
import { defaultRetain, readUnlearnMaterial, type UnlearnMaterial } from '../core/train/unlearnData';
import type { UnlearnMaterialInfo, UnlearnOutcome } from '../protocol/engine';
import type { EngineServer } from './server';
import { applyToStartStack } from './editHandlers';
import { decideApply } from '../protocol/applyPolicy';
import { oneOf, optionalText, outputFolder, text } from './params';

/** An existing file or folder given by its absolute path, or a bad-input error naming the field. */
function source(value: unknown, field: string): string {
  const p = text(value, field);
  if (!path.isAbsolute(p)) throw badInput(`"${field}" must be an absolute path, got ${JSON.stringify(p.slice(0, 200))}`, { field, hint: 'Give the full path of the JSONL file or ORT target folder.' });
  if (!fs.existsSync(p)) throw badInput(`The ${field} material is not there`, { file: p, field, hint: field === 'forget' ? 'Give a JSONL file of {prompt, answer} records or an ORT target folder (Target/<n>_<Name>/).' : 'Give a JSONL file of {prompt, answer} records.' });
  return p;
}

/** A path setting given over the wire: absent, or absolute (its presence and shape are the job's checks). */
function absolute(value: unknown, field: string): void {
  if (typeof value === 'string' && value.length > 0 && !path.isAbsolute(value)) {
    throw badInput(`"${field}" must be an absolute path, got ${JSON.stringify(value.slice(0, 200))}`, { field, hint: 'Give the full path of the file or folder.' });
  }
}

/** The retain source of 'unlearn/material': the given file, else the model's default (when it has one). */
function retainSource(given: string | undefined, modelDir: string): string | undefined {
  return given ?? defaultRetain(modelDir);
}

/** Forget items per form, in the order met. */
function formCounts(material: UnlearnMaterial): { form: string; items: number }[] {
  const counts = new Map<string, number>();
  for (const item of material.forget) counts.set(item.form, (counts.get(item.form) ?? 0) + 1);
  return [...counts].map(([form, items]) => ({ form, items }));
}

/** `snapshot`: a request's own copy of the user's stack; `user`: the user's stack. */
export function registerUnlearnHandlers(server: EngineServer, snapshot: () => EditStack, user: () => EditStack): void {
  server.handle('unlearn/material', async (p) => {
    const m = snapshot().model;
    const forget = source(p.forget, 'forget');
    const retain = retainSource(p.retain === undefined || p.retain === null ? undefined : source(p.retain, 'retain'), m.checkpoint.dir);
    const material = readUnlearnMaterial({ forget, retain });
    return { name: material.name, forms: formCounts(material), retain: material.retain.length, retainSource: retain, refusals: material.refusals.length } satisfies UnlearnMaterialInfo;
  });

  server.handle('unlearn/run', async (p, ctx) => {
    const target = user(); // captured now: the stack this run trains on and applies to
    // The request's fields are the objectives' settings by name; paths must be absolute (the
    // engine's working folder is nobody's choice). Everything else is checked by the job.
    const settings = pick(trainingSettings(), p as unknown as Record<string, unknown>);
    for (const s of trainingSettings()) if (s.type === 'file') absolute(settings[s.name], s.name);
    const concept = optionalText(p.concept, 'concept');
    const outDir = outputFolder(p.outDir, 'outDir');
    const applyMode = oneOf(p.apply, 'apply', ['if-healthy', 'always', 'never'] as const, 'always'); // checked before training
    const progress = ctx.progress(p.progressToken);
    const token = p.progressToken;
    const r = await runUnlearnJob(target.fork(), { method: p.method, settings, preset: optionalText(p.preset, 'preset'), outDir, request: concept ? { concept } : undefined }, {
      // Every step, unthrottled: the chart draws each one.
      onStep: (x) => {
        if (!token) return;
        const top1 = x.metrics.forgetTop1;
        server.notify('engine/progress', {
          token,
          done: x.step + 1,
          total: x.steps,
          message: `step ${x.step + 1}/${x.steps}: loss ${x.loss.toFixed(4)}${top1 === undefined ? '' : `, forget top-1 ${(100 * top1).toFixed(0)} %`}`,
          point: { step: x.step, loss: x.loss, metrics: x.metrics },
        });
      },
      isCancelled: () => progress.cancelled,
      log: (message) => server.notify('engine/log', { level: 'info', message }),
      onPhase: (m) => progress.report(0, 1, m, true),
    });
    if (progress.cancelled) throw cancelled(); // stopped by the user: nothing is applied
    const file = r.file!;
    const edit = r.trained.edit;
    const decision = decideApply(applyMode, undefined, r.health.warnings);
    const applied = decision.apply && applyToStartStack(target, user, edit, file, r.health.warnings);
    progress.report(1, 1, undefined, true);
    return {
      file, id: edit.json.id, label: edit.json.label, health: r.health, state: { items: target.list() }, computeMs: r.trained.ms, applied, ...(decision.reason ? { notApplied: decision.reason } : {}),
      curve: r.trained.curve.map((c) => ({ step: c.step, loss: c.loss, metrics: c.metrics, lr: c.lr, gradNorm: c.gradNorm, ms: c.ms })),
      stoppedBy: r.trained.stoppedBy,
      figures: r.figures,
      ...(r.neighbours ? { neighbours: r.neighbours } : {}),
      material: { name: r.material.name, forget: r.material.forget.length, retain: r.material.retain.length, forms: r.material.forms, retainSource: r.retainSource },
      method: r.method, preset: r.preset,
    } satisfies UnlearnOutcome;
  });
}
