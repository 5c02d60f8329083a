// 'diagnostics/edit' ("Diagnose This Edit": one edit file alone on the unedited model, on its own
// request), 'edits/compare' (the Edit Result view's before / after) and 'edits/checkFact' (how
// the tokenizer splits each target, asked before computing a fact edit, and with `subjects`
// whether the model knows each subject). All read the model of the request's snapshot and never
// touch the user's stack.

import { readEdit } from '../core/edits/editFile';
import type { EditStack } from '../core/edits/stack';
import { checkRequest } from '../core/edits/rome';
import { targetCheck } from '../core/edits/outcome';
import { subjectCheck } from '../core/edits/subjectCheck';
import { diagnoseEdit } from '../core/diagnostics/diagnoseEdit';
import { compareEdit } from '../core/diagnostics/compareEdit';
import type { EngineServer } from './server';
import { factRequests, flag, int, text } from './params';

export function registerDiagnoseEdit(server: EngineServer, snapshot: () => EditStack): void {
  server.handle('diagnostics/edit', async (p, ctx) => {
    const m = snapshot().model;
    const edit = readEdit(text(p.file, 'file'));
    const progress = ctx.progress(p.progressToken);
    return diagnoseEdit(m, edit, { isCancelled: () => progress.cancelled, onProgress: (done, total, message) => progress.report(done, total, message, true) });
  });

  // The Edit Result view: the edit alone on the unedited model, before and after (the user's stack is not used).
  server.handle('edits/compare', async (p, ctx) => {
    const m = snapshot().model;
    const edit = readEdit(text(p.file, 'file'));
    const progress = ctx.progress(p.progressToken);
    return compareEdit(m, edit, {
      top: int(p.top, 'top', 1, 50, 5),
      maxTokens: int(p.maxTokens, 'maxTokens', 1, 200, 12),
      probe: flag(p.probe, 'probe') ?? false,
      isCancelled: () => progress.cancelled,
      onProgress: (done, total, message) => progress.report(done, total, message, true),
    });
  });

  server.handle('edits/checkFact', async (p) => {
    const m = snapshot().model;
    const requests = factRequests(p.requests);
    requests.forEach((r, i) => checkRequest(r, `request ${i + 1}`));
    const targets = requests.map((r) => targetCheck(m, r.target));
    if (p.subjects !== true) return { targets };
    // One check per distinct (prompt, subject), in the requests' order.
    const seen = new Map<string, Awaited<ReturnType<typeof subjectCheck>>>();
    for (const r of requests) {
      const key = `${r.prompt}\u0000${r.subject}`;
      if (!seen.has(key)) seen.set(key, await subjectCheck(m, r.prompt, r.subject));
    }
    return { targets, subjects: [...seen.values()] };
  });
}
