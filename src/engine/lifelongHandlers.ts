// 'lifelong/run': a sequential-editing run (core/diagnostics/sequential.ts) for the Lifelong
// editing panel. It edits a stack of its own over the unedited model (runSequential makes it on
// model.bare()): the user's stack is neither read nor changed, and other requests are served
// between its edits. Every measured point goes out at once as an 'engine/progress' carrying
// `curve` (unthrottled: the chart draws each); the edit / measure phases as throttled progress. A
// cancel stops between edits (or inside a v* optimisation) and the result says `cancelled`; the
// run folder keeps what was done, and `resume` continues it.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { badInput } from '../core/errors';
import { FACT_METHODS } from '../core/methods/factEditors';
import type { EditStack } from '../core/edits/stack';
import { runSequential } from '../core/diagnostics/sequential';
import { readSequentialRequests } from '../core/diagnostics/sequentialData';
import type { LifelongEditSettings, LifelongRunResult } from '../protocol/lifelong';
import type { EngineServer } from './server';
import { flag, int, lambda, layer, layerList, object, oneOf, optionalInt, optionalText, outputFolder } from './params';

/** The settings passed through to every edit, each checked against the model. */
function editSettings(value: unknown, layers: number): LifelongEditSettings | undefined {
  if (value === undefined || value === null) return undefined;
  const o = object(value, 'settings');
  return {
    layer: o.layer === undefined || o.layer === null ? undefined : layer(o.layer, layers, 'settings.layer'),
    layers: layerList(o.layers, layers, 'settings.layers'),
    lambda: lambda(o.lambda, 'settings.lambda'),
    steps: optionalInt(o.steps, 'settings.steps', 1, 100_000),
  };
}

export function registerLifelongHandlers(server: EngineServer, snapshot: () => EditStack): void {
  server.handle('lifelong/run', async (p, ctx) => {
    // The unedited model: the run's stack starts from it, whatever the user's stack holds.
    const base = snapshot().model.bare();
    const method = oneOf(p.method, 'method', FACT_METHODS);
    const n = optionalInt(p.worldCounterfactuals, 'worldCounterfactuals', 1, 10_000_000);
    const file = optionalText(p.requestsFile, 'requestsFile');
    if ((n === undefined) === (file === undefined)) throw badInput('Give either worldCounterfactuals or requestsFile', { field: 'worldCounterfactuals', hint: 'A number of the bundled world\'s counterfactuals, or a request file (JSONL).' });
    if (file !== undefined && !(path.isAbsolute(file) && fs.existsSync(file))) throw badInput('The requests file was not found (give its absolute path)', { file, field: 'requestsFile' });
    const batch = int(p.batch, 'batch', 1, 100_000, 1);
    const every = optionalInt(p.every, 'every', 1, 10_000_000);
    const settings = editSettings(p.settings, base.dims.layers);
    const out = outputFolder(p.out, 'out');
    const resume = flag(p.resume, 'resume') ?? false;
    const requests = file === undefined ? undefined : readSequentialRequests(file);

    const progress = ctx.progress(p.progressToken);
    const token = p.progressToken;
    let total: number | undefined;
    const r = await runSequential(base, { method, requests, worldCounterfactuals: n, batch, every, out, resume, settings: settings && { ...settings } }, {
      onPoint: (point) => {
        if (!token) return;
        const eff = Number.isFinite(point.efficacy) ? `, efficacy ${point.efficacy.toFixed(1)} %` : '';
        server.notify('engine/progress', { token, done: point.edits, total, message: `${point.edits} edits measured${eff}`, curve: point });
      },
      onProgress: (done, all, phase) => {
        total = all;
        progress.report(done, all, phase === 'measure' ? `measuring after ${done} / ${all} edits` : phase === 'done' ? `${all} edits done` : `editing ${done + 1} / ${all}`);
      },
      isCancelled: () => progress.cancelled,
    });
    return { method, folder: r.folder, points: r.points, cancelled: r.cancelled } satisfies LifelongRunResult;
  });
}
