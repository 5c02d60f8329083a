// 'lifelong/run': a sequential-editing run for the Lifelong editing panel, through core's
// runSequentialJob — the job `mechedit sequential` runs, with the same settings, bounds and errors
// (the request's fields are the run's settings by name, `settings` the edits'). It edits a stack
// of its own over the unedited model (runSequential makes it on model.bare()): the user's stack is neither read nor changed, and other requests are served
// between its edits. Every measured point goes out at once as an 'engine/progress' carrying
// `curve` (unthrottled: the chart draws each); the edit / measure phases as throttled progress. A
// cancel stops between edits (or inside a v* optimisation) and the result says `cancelled`; the
// run folder keeps what was done, and `resume` continues it.

import * as path from 'node:path';
import { badInput } from '../core/errors';
import type { EditStack } from '../core/edits/stack';
import { pick } from '../core/methods/settings';
import { runSequentialJob, SEQUENTIAL_SETTINGS } from '../core/jobs/sequentialJob';
import type { LifelongRunResult } from '../protocol/lifelong';
import type { EngineServer } from './server';
import { flag, object, outputFolder } from './params';

export function registerLifelongHandlers(server: EngineServer, snapshot: () => EditStack): void {
  server.handle('lifelong/run', async (p, ctx) => {
    // The unedited model: the run's stack starts from it, whatever the user's stack holds.
    const base = snapshot().model.bare();
    // The request's fields are the run's settings by name, `settings` the edits' (core checks both).
    const settings = pick(SEQUENTIAL_SETTINGS, p as unknown as Record<string, unknown>);
    const file = settings.requestsFile;
    if (typeof file === 'string' && file.length > 0 && !path.isAbsolute(file)) throw badInput('The requests file must be given by its absolute path', { file, field: 'requestsFile' });
    const edit = p.settings === undefined || p.settings === null ? undefined : object(p.settings, 'settings');
    const out = outputFolder(p.out, 'out');
    const resume = flag(p.resume, 'resume') ?? false;
    const force = flag(p.force, 'force') ?? false;

    const progress = ctx.progress(p.progressToken);
    const token = p.progressToken;
    let total: number | undefined;
    const r = await runSequentialJob(base, { settings, edit, editPrefix: 'settings.', out, resume, force }, {
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
      measureWhenStopped: true,
    });
    return { method: r.method, folder: r.folder, points: r.points, cancelled: r.cancelled, edits: r.edits, consolidate: r.consolidation ?? { mode: 'exact' } } satisfies LifelongRunResult;
  });
}
