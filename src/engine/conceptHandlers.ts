// 'concepts/direction' (the Concepts panel's analysis) and 'edits/ablate' (its "Ablate" action:
// W ← (I − d dᵀ) W at the chosen layers, as rank-one edits saved to outDir and applied).

import type { EditStack } from '../core/edits/stack';
import { conceptDirections } from '../core/analysis/concepts';
import { computeAblation } from '../core/edits/ablate';
import { badInput } from '../core/errors';
import type { EngineServer } from './server';
import { finish } from './editHandlers';
import { object, oneOf, optionalInt, optionalText, outputFolder, texts, layerList } from './params';
import { wireVector } from './wireParams';
import { encodeConcepts } from '../protocol/wire';

/** `snapshot`: a request's own copy of the user's stack; `user`: the user's stack. */
export function registerConcepts(server: EngineServer, snapshot: () => EditStack, user: () => EditStack): void {
  server.handle('concepts/direction', async (p) => {
    const s = snapshot();
    // Directions and projections cross as tensors (src/protocol/wire.ts), not JSON arrays.
    return encodeConcepts(await conceptDirections(s.model, s, { positive: texts(p.positive, 'positive'), negative: texts(p.negative, 'negative'), probe: optionalText(p.probe, 'probe'), top: optionalInt(p.top, 'top', 1, 1000) }));
  });

  server.handle('edits/ablate', async (p, ctx) => {
    const s = snapshot();
    const m = s.model;
    const direction = wireVector(p.direction, m.dims.dModel, 'direction');
    const layers = layerList(p.layers, m.dims.layers);
    if (!layers) throw badInput('No layers given', { field: 'layers' });
    const modules = p.modules === undefined || p.modules === null ? (['mlp.out', 'attn.out'] as const) : texts(p.modules, 'modules').map((x, i) => oneOf(x, `modules[${i}]`, ['mlp.out', 'attn.out'] as const));
    const request = p.request === undefined || p.request === null ? {} : object(p.request, 'request');
    const outDir = outputFolder(p.outDir, 'outDir');
    const t0 = performance.now();
    const edit = computeAblation(m, direction, layers, [...modules], optionalText(p.label, 'label'));
    edit.json.request = { direction: 'concept direction (Concepts panel)', ...request };
    return finish(s, user, edit, outDir, performance.now() - t0, ctx.progress(p.progressToken));
  });
}
