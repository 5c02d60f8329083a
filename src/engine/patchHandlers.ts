// model/patch and model/attention: activation and attribution patching on a prompt pair, and a
// layer's attention patterns (src/core/analysis/patching.ts, attribution.ts, heads.ts), on a view
// of the model with the user's edits as they were when the request started.

import type { LoadedModel } from '../core/runtime/model';
import { badInput } from '../core/errors';
import { patchExact } from '../core/analysis/patching';
import { attributionPatch } from '../core/analysis/attribution';
import { attentionPatterns } from '../core/analysis/heads';
import { PATCH_METRICS, PATCH_NODE_KINDS, encodeAttention, encodePatching, type PatchNodeKind } from '../protocol/patching';
import type { EngineServer } from './server';
import { int, layer, oneOf, optionalInt, optionalText, text } from './params';

function nodeKinds(value: unknown): PatchNodeKind[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw badInput('nodes must be a list of node kinds', { field: 'nodes' });
  return value.map((v, i) => oneOf(v, `nodes[${i}]`, PATCH_NODE_KINDS));
}

export function registerPatching(server: EngineServer, model: () => LoadedModel): void {
  server.handle('model/patch', async (p, ctx) => {
    const progress = ctx.progress(p.progressToken);
    const method = oneOf(p.method, 'method', ['exact', 'atp', 'atp-ig'] as const);
    const req = {
      clean: text(p.clean, 'clean'),
      corrupt: text(p.corrupt, 'corrupt'),
      answer: text(p.answer, 'answer'),
      wrong: optionalText(p.wrong, 'wrong'),
      metric: oneOf(p.metric, 'metric', PATCH_METRICS, 'logit-diff'),
      nodes: nodeKinds(p.nodes),
      onProgress: (done: number, total: number) => progress.report(done, total, `${done} / ${total}`),
      isCancelled: () => progress.cancelled,
    };
    // The grids cross as tensors (src/protocol/patching.ts); the CLI prints them as numbers.
    if (method === 'exact') return encodePatching(await patchExact(model(), req));
    return encodePatching(await attributionPatch(model(), { ...req, igSteps: method === 'atp-ig' ? int(p.igSteps, 'igSteps', 1, 1000, 16) : 0 }));
  });
  server.handle('model/attention', async (p) => {
    const m = model();
    return encodeAttention(await attentionPatterns(m, { prompt: text(p.prompt, 'prompt'), layer: layer(p.layer, m.dims.layers), head: optionalInt(p.head, 'head', 0, m.dims.heads - 1) }));
  });
}
