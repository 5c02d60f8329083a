// Attention patterns of one layer for a prompt: the softmax of each query head, query × key
// (the tap blocks.{l}.attn.pattern [1, H, S, S]), one head or all, and their mean.

import type { LoadedModel } from '../runtime/model';
import { badInput } from '../errors';
import { patternTapName } from '../graph/patchGraph';
import type { AttentionResult } from '../../protocol/patching';

export interface AttentionRequest {
  prompt: string;
  layer: number;
  head?: number;
}

export async function attentionPatterns(model: LoadedModel, req: AttentionRequest): Promise<AttentionResult> {
  const { layers, heads } = model.dims;
  if (!Number.isInteger(req.layer) || req.layer < 0 || req.layer >= layers) throw badInput(`The layer must be from 0 to ${layers - 1}, got ${req.layer}`, { field: 'layer' });
  if (req.head !== undefined && (!Number.isInteger(req.head) || req.head < 0 || req.head >= heads)) throw badInput(`The head must be from 0 to ${heads - 1}, got ${req.head}`, { field: 'head' });
  const ids = model.tokenizer.encode(req.prompt);
  const S = ids.length;
  const name = patternTapName(req.layer);
  const out = await model.run({ taps: [name], logits: 'last' }, model.makeBatch([ids]));
  const p = out[name].data as Float32Array; // [1, H, S, S]
  const at = (h: number) => Array.from({ length: S }, (_, q) => Array.from(p.subarray((h * S + q) * S, (h * S + q + 1) * S)));
  const all = Array.from({ length: heads }, (_, h) => at(h));
  const mean = Array.from({ length: S }, (_, q) => Array.from({ length: S }, (_, k) => all.reduce((s, m) => s + m[q][k], 0) / heads));
  const shown = req.head !== undefined ? [req.head] : all.map((_, h) => h);
  return {
    layer: req.layer,
    heads: shown,
    tokens: ids.map((id) => ({ id, text: model.tokenizer.tokenText(id) })),
    patterns: shown.map((h) => all[h]),
    mean,
  };
}
