// The activations an SAE trains and is evaluated on: the model's own corpus (or text files),
// one document per row as the bundled model was trained (no packing, no BOS), split into a
// training part and a held-out part by document index (every 10th document is held out), and
// run through the model with the hook's tap as an output.

import type { LoadedModel } from '../runtime/model';
import { cancelled } from '../errors';
import { corpusDocuments } from '../edits/stats';
import { tapName, type BlockTap } from '../graph/taps';
import { hookWidth } from './sae';

/** Every HELD_OUT_EVERY-th document (index % 10 === 9) is held out: never trained on. */
export const HELD_OUT_EVERY = 10;

export interface TokenRows {
  /** Token ids per document, cut to the model's context. */
  rows: number[][];
  tokens: number;
}

/** The documents of `files` tokenised, the training or the held-out part, up to `maxTokens` tokens. */
export function corpusRows(model: LoadedModel, files: string[], part: 'train' | 'heldout' | 'all', maxTokens = Infinity): TokenRows {
  const docs = corpusDocuments(files).filter((_, i) => part === 'all' || (i % HELD_OUT_EVERY === HELD_OUT_EVERY - 1) === (part === 'heldout'));
  const rows: number[][] = [];
  let tokens = 0;
  for (const d of docs) {
    if (tokens >= maxTokens) break;
    const ids = model.tokenizer.encodeDocument(d).slice(0, model.dims.maxPositions);
    if (ids.length === 0) continue;
    rows.push(ids);
    tokens += ids.length;
  }
  return { rows, tokens };
}

/** Row indices grouped into batches of similar length (less padding), in a fixed order. */
export function lengthBatches(rows: number[][], batch: number): number[][] {
  const order = rows.map((_, i) => i).sort((a, b) => rows[a].length - rows[b].length || a - b);
  const out: number[][] = [];
  for (let i = 0; i < order.length; i += batch) out.push(order.slice(i, i + batch));
  return out;
}

export interface HookRun {
  layer: number;
  tap: BlockTap;
}

/**
 * The hook's activations at every real position of every row, row after row in the rows' order:
 * x [Σ lengths, width]; offsets[r] is the first position of row r.
 */
export async function hookActivations(model: LoadedModel, hook: HookRun, rows: number[][], o: { batch?: number; onProgress?: (done: number, total: number) => void; isCancelled?: () => boolean } = {}): Promise<{ x: Float32Array; offsets: number[]; width: number }> {
  const width = hookWidth(hook.tap, model.dims);
  const offsets: number[] = [];
  let total = 0;
  for (const r of rows) {
    offsets.push(total);
    total += r.length;
  }
  const x = new Float32Array(total * width);
  const name = tapName(hook.layer, hook.tap);
  const batches = lengthBatches(rows, o.batch ?? 32);
  let done = 0;
  for (const group of batches) {
    if (o.isCancelled?.()) throw cancelled('Cancelled while reading activations.');
    const b = model.makeBatch(group.map((i) => rows[i]));
    const out = await model.run({ taps: [name], logits: 'none', layers: hook.layer + 1 }, b);
    const data = out[name].data as Float32Array;
    group.forEach((r, gi) => {
      const len = rows[r].length;
      x.set(data.subarray(gi * b.seq * width, (gi * b.seq + len) * width), offsets[r] * width);
    });
    done += group.length;
    o.onProgress?.(done, rows.length);
  }
  return { x, offsets, width };
}
