// 'unlearn/run' (gradient unlearning as a LoRA edit: GA, GradDiff, NPO, RT, DPO, RMU) and
// 'unlearn/material' (what a forget source holds, per form, asked before a run).
//
// A run trains on the request's own copy of the stack (snapshot(): its edits are the starting
// point θ₀), so the user's stack is not held: other requests are served between steps and may
// change it meanwhile. The finished edit gets its health, is written to outDir and applied on
// top of the user's stack as it is by then (editHandlers.ts finish). Progress: one
// 'engine/progress' per step carrying the step's `point` (loss, metrics) for live charts; a
// cancel stops between steps, and nothing is written or applied.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { EditStack } from '../core/edits/stack';
import { checkEditOut } from '../core/edits/editFile';
import { badInput, cancelled, MechEditError } from '../core/errors';
import { computeUnlearn, UNLEARN_METHODS, type UnlearnSettings } from '../core/train/unlearn';
import { defaultRetain, readUnlearnMaterial, type UnlearnMaterial } from '../core/train/unlearnData';
import type { UnlearnMaterialInfo, UnlearnOutcome } from '../protocol/engine';
import type { EngineServer } from './server';
import { applyToStartStack } from './editHandlers';
import { measureAndWrite } from '../core/jobs/editJob';
import { layerList, num, oneOf, optionalInt, optionalText, outputFolder, text, texts, LIMITS } from './params';

/** An existing file or folder given by its absolute path, or a bad-input error naming the field. */
function source(value: unknown, field: string): string {
  const p = text(value, field);
  if (!path.isAbsolute(p)) throw badInput(`"${field}" must be an absolute path, got ${JSON.stringify(p.slice(0, 200))}`, { field, hint: 'Give the full path of the JSONL file or ORT target folder.' });
  if (!fs.existsSync(p)) throw badInput(`The ${field} material was not found`, { file: p, field, hint: field === 'forget' ? 'Give a JSONL file of {prompt, answer} records or an ORT target folder (Target/<n>_<Name>/).' : 'Give a JSONL file of {prompt, answer} records.' });
  return p;
}

/** An optional finite number in the bounds, undefined when absent. */
function optionalNum(value: unknown, field: string, o: { min: number; max: number; above?: boolean }): number | undefined {
  return value === undefined || value === null ? undefined : num(value, field, o);
}

/**
 * The retain source: the given file, else the model's default retain material (when it has some).
 * Methods without a retain term (GA, RT, DPO, or a retain weight of 0) do not train on it, but
 * it gives every run its "retain top-1 before → after" figures.
 */
function retainSource(given: string | undefined, modelDir: string): string | undefined {
  return given ?? defaultRetain(modelDir);
}

/** The material; core's errors name the CLI's option ("--forms"), the engine's request names the field ("forms"). */
function readMaterial(o: { forget: string; retain?: string; forms?: string[] }): UnlearnMaterial {
  try {
    return readUnlearnMaterial(o);
  } catch (e) {
    if (e instanceof MechEditError && e.data.field === '--forms') throw new MechEditError({ ...e.data, field: 'forms', message: e.data.message.replace(/^--forms: /, '') });
    throw e;
  }
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
    const material = readMaterial({ forget, retain });
    return { name: material.name, forms: formCounts(material), retain: material.retain.length, retainSource: retain, refusals: material.refusals.length } satisfies UnlearnMaterialInfo;
  });

  server.handle('unlearn/run', async (p, ctx) => {
    const target = user(); // captured now: the stack this run trains on and applies to
    const s = target.fork();
    const m = s.model;
    // Every parameter is checked before anything is read or trained.
    const method = oneOf(p.method, 'method', UNLEARN_METHODS);
    const forget = source(p.forget, 'forget');
    const given = p.retain === undefined || p.retain === null ? undefined : source(p.retain, 'retain');
    const forms = p.forms === undefined || p.forms === null ? undefined : texts(p.forms, 'forms');
    const settings: UnlearnSettings = {
      method,
      layers: layerList(p.layers, m.dims.layers),
      rank: optionalInt(p.rank, 'rank', 1, m.dims.dModel),
      steps: optionalInt(p.steps, 'steps', 1, 1_000_000),
      lr: optionalNum(p.lr, 'lr', { min: 0, max: 10, above: true }),
      retainWeight: optionalNum(p.retainWeight, 'retainWeight', { min: 0, max: 1e6 }),
      beta: optionalNum(p.beta, 'beta', { min: 0, max: 1e3, above: true }),
      // The edit is written at strength 1 + α, which must stay a strength the stack takes.
      uipe: optionalNum(p.uipe, 'uipe', { min: 0, max: LIMITS.strength - 1 }),
      stopBelow: optionalNum(p.stopBelow, 'stopBelow', { min: 0, max: 1 }),
      label: optionalText(p.label, 'label'),
    };
    const concept = optionalText(p.concept, 'concept');
    const outDir = outputFolder(p.outDir, 'outDir');
    checkEditOut(outDir, m.checkpoint); // before training: a bad outDir fails at once
    const retain = retainSource(given, m.checkpoint.dir);
    const material = readMaterial({ forget, retain, forms });

    const progress = ctx.progress(p.progressToken);
    const token = p.progressToken;
    const r = await computeUnlearn(s, material, settings, {
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
    });
    if (progress.cancelled) throw cancelled(); // stopped by the user: nothing is written or applied
    if (concept) r.edit.json.request = { ...r.edit.json.request, concept };
    r.edit.json.hparams = { ...r.edit.json.hparams, computeMs: Math.round(r.ms) };
    const { file, health } = await measureAndWrite(s, r.edit, outDir, { isCancelled: () => progress.cancelled, onPhase: (m) => progress.report(0, 1, m, true) });
    const applied = applyToStartStack(target, user, r.edit, file, health.warnings);
    progress.report(1, 1, undefined, true);
    return {
      file, id: r.edit.json.id, label: r.edit.json.label, health, state: { items: target.list() }, computeMs: r.ms, applied,
      curve: r.curve.map((c) => ({ step: c.step, loss: c.loss, metrics: c.metrics, lr: c.lr, gradNorm: c.gradNorm, ms: c.ms })),
      stoppedBy: r.stoppedBy,
      figures: r.figures,
      material: { name: material.name, forget: material.forget.length, retain: material.retain.length, forms: material.forms, retainSource: retain },
    } satisfies UnlearnOutcome;
  });
}
