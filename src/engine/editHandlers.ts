// Requests that compute an edit in the engine (ROCR, ROME, MEMIT): compute on the open model's
// stack, add the health report, write <id>.json + .safetensors to outDir, apply, and answer
// with the new stack state. Progress goes to the request's progressToken; cancel stops between
// v* steps (or ROCR layers).

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { EditStack } from '../core/edits/stack';
import type { Edit } from '../core/edits/editFile';
import { writeEdit } from '../core/edits/editFile';
import { editHealth } from '../core/edits/health';
import { defaultCorpus, keyStats, type KeyStats } from '../core/edits/stats';
import { computeRocr } from '../core/edits/rocr';
import { computeRome, checkRequest } from '../core/edits/rome';
import { computeMemit } from '../core/edits/memit';
import { badInput } from '../core/errors';
import type { ComputedEdit, ComputedFactEditInfo } from '../protocol/engine';
import type { Progress } from '../core/runtime/selftest';
import type { EngineServer } from './server';
import { text } from './params';

/**
 * Health (kᵀC⁻¹k from the model's corpus when it ships one) on the request's copy of the stack
 * `s`, the file, then the edit applied on top of the user's stack as it is by then.
 */
export async function finish(s: EditStack, user: () => EditStack, edit: Edit, outDir: string, computeMs: number, progress: Progress): Promise<ComputedEdit> {
  const m = s.model;
  edit.json.hparams = { ...edit.json.hparams, computeMs: Math.round(computeMs) };
  const stats = new Map<number, KeyStats>();
  if (fs.existsSync(path.join(m.checkpoint.dir, 'corpus.txt'))) {
    for (const t of edit.json.targets) if (!stats.has(t.layer)) stats.set(t.layer, await keyStats(m, { layer: t.layer, corpus: defaultCorpus(m), isCancelled: () => progress.cancelled }));
  }
  progress.report(0, 1, 'edit health', true);
  const health = await editHealth(m, s, edit, stats);
  edit.json.health = { ...health };
  const file = writeEdit(text(outDir, 'outDir'), edit, (t) => {
    const w = t.module === 'mlp.out' ? m.plan.blocks[t.layer].down : m.plan.blocks[t.layer].o;
    return { out: w.out, in: w.in };
  });
  const target = user();
  target.apply({ ...edit, file });
  progress.report(1, 1, undefined, true);
  return { file, id: edit.json.id, label: edit.json.label, health, state: { items: target.list() }, computeMs };
}

/** `snapshot`: a request's own copy of the user's stack; `user`: the user's stack. */
export function registerEditHandlers(server: EngineServer, snapshot: () => EditStack, user: () => EditStack): void {
  server.handle('edits/rocr', async (p, ctx) => {
    const s = snapshot();
    const m = s.model;
    const progress = ctx.progress(p.progressToken);
    const t0 = performance.now();
    progress.report(0, 1, 'computing the redirection', true);
    const edit = await computeRocr(m, s, { concept: text(p.concept, 'concept'), harmless: text(p.harmless, 'harmless'), layers: p.layers, lambda: p.lambda, positions: p.positions, regularizer: p.regularizer, isCancelled: () => progress.cancelled });
    return finish(s, user, edit, p.outDir, performance.now() - t0, progress);
  });

  server.handle('edits/fact', async (p, ctx) => {
    const s = snapshot();
    const m = s.model;
    const progress = ctx.progress(p.progressToken);
    if (!Array.isArray(p.requests) || p.requests.length === 0) throw badInput('No fact requests given', { field: 'requests' });
    p.requests.forEach((r, i) => checkRequest(r, `request ${i + 1}`));
    if (p.lambda !== undefined && !(typeof p.lambda === 'number' && p.lambda > 0)) throw badInput(`MEMIT's λ must be a positive number, got ${JSON.stringify(p.lambda)}`, { field: 'lambda', hint: 'Set mechedit.memit.lambda to 0 for the default, or to a positive number.' });
    if (p.method === 'rome' && p.requests.length !== 1) throw badInput(`ROME edits one fact at a time; got ${p.requests.length}`, { field: 'requests', hint: 'Use MEMIT for several facts.' });
    const t0 = performance.now();
    const vstar: ComputedFactEditInfo[] = [];
    const common = {
      lti: p.lti,
      isCancelled: () => progress.cancelled,
      onStep: (st: { step: number; loss: number; targetProb: number }) => progress.report(st.step + 1, 0, `v* step ${st.step + 1}: loss ${st.loss.toFixed(3)}, P(target) ${(100 * st.targetProb).toFixed(1)} %`, true),
    };
    let edit: Edit;
    if (p.method === 'rome') {
      const r = await computeRome(m, s, p.requests[0], { ...common, layer: p.layer });
      edit = r.edit;
      vstar.push(info(r.report.vstar));
    } else if (p.method === 'memit') {
      const r = await computeMemit(m, s, p.requests, { ...common, layers: p.layers, hparams: p.lambda ? { lambda: p.lambda } : undefined });
      edit = r.edit;
      vstar.push(...r.report.vstar.map(info));
    } else {
      throw badInput(`Unknown fact edit method ${JSON.stringify(p.method)}`, { field: 'method', hint: 'Use rome or memit.' });
    }
    return { ...(await finish(s, user, edit, p.outDir, performance.now() - t0, progress)), vstar };
  });
}

function info(v: { steps: { loss: number; targetProb: number }[] }): ComputedFactEditInfo {
  const last = v.steps[v.steps.length - 1];
  return { steps: v.steps.length, loss: last.loss, targetProb: last.targetProb };
}
