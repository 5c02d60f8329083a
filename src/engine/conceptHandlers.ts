// 'concepts/direction' (the Concepts panel's analysis) and 'edits/ablate' (its "Ablate" action:
// W ← (I − d dᵀ) W at the chosen layers, as rank-one edits saved to outDir and applied).

import type { EditStack } from '../core/edits/stack';
import { conceptDirections } from '../core/analysis/concepts';
import { computeAblation } from '../core/edits/ablate';
import { badInput } from '../core/errors';
import type { EngineServer } from './server';
import { finish } from './editHandlers';

/** `snapshot`: a request's own copy of the user's stack; `user`: the user's stack. */
export function registerConcepts(server: EngineServer, snapshot: () => EditStack, user: () => EditStack): void {
  server.handle('concepts/direction', async (p) => {
    const s = snapshot();
    return conceptDirections(s.model, s, { positive: p.positive ?? [], negative: p.negative ?? [], probe: p.probe, top: p.top });
  });

  server.handle('edits/ablate', async (p, ctx) => {
    const s = snapshot();
    const m = s.model;
    if (!Array.isArray(p.direction) || p.direction.length !== m.dims.dModel || p.direction.some((v) => !Number.isFinite(v))) {
      throw badInput(`The direction must be ${m.dims.dModel} finite numbers (d_model), got ${Array.isArray(p.direction) ? p.direction.length : typeof p.direction}`, { field: 'direction' });
    }
    const t0 = performance.now();
    const edit = computeAblation(m, Float32Array.from(p.direction), p.layers, p.modules ?? ['mlp.out', 'attn.out'], p.label);
    edit.json.request = { direction: 'concept direction (Concepts panel)', ...(p.request ?? {}) };
    return finish(s, user, edit, p.outDir, performance.now() - t0, ctx.progress(p.progressToken));
  });
}
