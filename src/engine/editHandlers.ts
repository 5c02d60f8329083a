// Requests that compute an edit in the engine (ROCR; the fact editors ROME, MEMIT, AlphaEdit, DiKE, GLAME): compute on the open model's
// stack, add the health report, write <id>.json + .safetensors to outDir, apply, and answer
// with the new stack state. Progress goes to the request's progressToken; cancel stops between
// v* steps (or ROCR layers).

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { EditStack } from '../core/edits/stack';
import type { Edit } from '../core/edits/editFile';
import { checkEditOut, writeEdit } from '../core/edits/editFile';
import { editHealth } from '../core/edits/health';
import { defaultCorpus, keyStats, type KeyStats } from '../core/edits/stats';
import { computeRocr } from '../core/edits/rocr';
import { checkRequest } from '../core/edits/rome';
import { computeFactEdit, FACT_METHODS } from '../core/methods/factEditors';
import { factOutcome, refuseRiskyTargets, type FactOutcome } from '../core/edits/outcome';
import type { ComputedEdit, ComputedFactEditInfo } from '../protocol/engine';
import type { Progress } from '../core/runtime/selftest';
import type { EngineServer } from './server';
import { factRequests, flag, lambda, layerList, oneOf, optionalInt, outputFolder, text } from './params';

/**
 * Health (kᵀC⁻¹k from the model's corpus when it ships one) on the request's copy of the stack
 * `s`, the file, then the edit applied on top of the user's stack as it is by then — unless
 * `o.apply` is false (a fact edit that did not take: its outcome goes into health.efficacy and
 * its reason into the warnings, so the file says so too).
 */
export async function finish(s: EditStack, user: () => EditStack, edit: Edit, outDir: string, computeMs: number, progress: Progress, o: { apply?: boolean; outcome?: FactOutcome } = {}): Promise<ComputedEdit> {
  const m = s.model;
  edit.json.hparams = { ...edit.json.hparams, computeMs: Math.round(computeMs) };
  const stats = new Map<number, KeyStats>();
  if (fs.existsSync(path.join(m.checkpoint.dir, 'corpus.txt'))) {
    for (const t of edit.json.targets) if (!stats.has(t.layer)) stats.set(t.layer, await keyStats(m, { layer: t.layer, corpus: defaultCorpus(m), isCancelled: () => progress.cancelled }));
  }
  progress.report(0, 1, 'edit health', true);
  const health = await editHealth(m, s, edit, stats);
  if (o.outcome && !o.outcome.succeeded) health.warnings.unshift(`the edit did not take: ${o.outcome.reason}`);
  edit.json.health = { ...health, ...(o.outcome ? { efficacy: o.outcome } : {}) };
  const file = writeEdit(outputFolder(outDir, 'outDir'), edit, (t) => {
    const w = t.module === 'mlp.out' ? m.plan.blocks[t.layer].down : m.plan.blocks[t.layer].o;
    return { out: w.out, in: w.in };
  }, m.checkpoint);
  const target = user();
  if (o.apply !== false) target.apply({ ...edit, file });
  progress.report(1, 1, undefined, true);
  return { file, id: edit.json.id, label: edit.json.label, health, state: { items: target.list() }, computeMs };
}

/** `snapshot`: a request's own copy of the user's stack; `user`: the user's stack. */
export function registerEditHandlers(server: EngineServer, snapshot: () => EditStack, user: () => EditStack): void {
  server.handle('edits/rocr', async (p, ctx) => {
    const s = snapshot();
    const m = s.model;
    checkEditOut(outputFolder(p.outDir, 'outDir'), m.checkpoint); // before computing: a bad outDir fails at once
    const progress = ctx.progress(p.progressToken);
    const t0 = performance.now();
    progress.report(0, 1, 'computing the redirection', true);
    const settings = {
      layers: layerList(p.layers, m.dims.layers),
      lambda: lambda(p.lambda),
      positions: p.positions === undefined ? undefined : oneOf(p.positions, 'positions', ['last', 'all'] as const),
      regularizer: p.regularizer === undefined ? undefined : oneOf(p.regularizer, 'regularizer', ['identity', 'covariance'] as const),
    };
    const edit = await computeRocr(m, s, { concept: text(p.concept, 'concept'), harmless: text(p.harmless, 'harmless'), ...settings, isCancelled: () => progress.cancelled });
    return finish(s, user, edit, p.outDir, performance.now() - t0, progress);
  });

  server.handle('edits/fact', async (p, ctx) => {
    const s = snapshot();
    const m = s.model;
    checkEditOut(outputFolder(p.outDir, 'outDir'), m.checkpoint); // before computing: a bad outDir fails at once
    const progress = ctx.progress(p.progressToken);
    const requests = factRequests(p.requests);
    requests.forEach((r, i) => checkRequest(r, `request ${i + 1}`));
    const method = oneOf(p.method, 'method', FACT_METHODS);
    const applyMode = oneOf(p.apply, 'apply', ['if-succeeded', 'always'] as const, 'if-succeeded');
    const editLayer = optionalInt(p.layer, 'layer', 0, m.dims.layers - 1);
    const editLayers = layerList(p.layers, m.dims.layers);
    const lti = flag(p.lti, 'lti');
    refuseRiskyTargets(m, requests, flag(p.force, 'force') === true, 'pass force: true');
    const t0 = performance.now();
    const vstar: ComputedFactEditInfo[] = [];
    const r = await computeFactEdit(method, m, s, requests, {
      lti,
      layer: editLayer,
      layers: editLayers,
      lambda: lambda(p.lambda),
      threshold: lambda(p.threshold, 'threshold'),
      steps: optionalInt(p.steps, 'steps', 1, 10000),
      graph: p.graph === undefined ? undefined : text(p.graph, 'graph'),
      subgraphSize: optionalInt(p.subgraphSize, 'subgraphSize', 1, 1000),
      isCancelled: () => progress.cancelled,
      onStep: (st) => progress.report(st.step + 1, 0, `v* step ${st.step + 1}: loss ${st.loss.toFixed(3)}, P(target) ${(100 * st.targetProb).toFixed(1)} %`, true),
    });
    const edit = r.edit;
    vstar.push(...r.vstar.map(info));
    // Did it take? On the request's copy of the stack with the edit on top (outcome.ts).
    progress.report(0, 1, 'checking that the edit took', true);
    const outcome = await factOutcome(s, edit, requests);
    const apply = outcome.succeeded || applyMode === 'always';
    const done = await finish(s, user, edit, p.outDir, performance.now() - t0, progress, { apply, outcome });
    return { ...done, ...outcome, applied: apply, vstar };
  });
}

function info(v: { steps: { loss: number; nll: number; targetProb: number }[] }): ComputedFactEditInfo {
  const last = v.steps[v.steps.length - 1];
  return { steps: v.steps.length, loss: last.loss, targetProb: last.targetProb, curve: v.steps.map((x) => ({ loss: x.loss, nll: x.nll, targetProb: x.targetProb })) };
}
