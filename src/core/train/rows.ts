// Training rows: a prompt and a continuation as token ids, with the positions whose next token is
// trained. Convention as in scoring (runtime/answers.ts): the prompt's ids, then the separately
// tokenised " " + answer without special tokens. An empty prompt (a passage) trains every token
// after the first.

import type { LoadedModel, Batch } from '../runtime/model';
import { loadOrt, type OrtTensor } from '../runtime/ort';
import { badInput } from '../errors';

export interface Row {
  ids: number[];
  /** Positions t whose target is ids[t + 1] (the continuation's tokens). */
  trained: number[];
}

export function makeRow(model: LoadedModel, prompt: string, answer: string, where: { file: string; index: number }): Row {
  const tok = model.tokenizer;
  let ids: number[];
  let first: number;
  if (prompt === '') {
    ids = tok.encode(answer);
    first = 0;
  } else {
    const p = tok.encode(prompt);
    const a = tok.encode(` ${answer}`, false);
    if (a.length === 0) throw badInput('The answer is empty after tokenisation', { file: where.file, field: `records[${where.index}].answer` });
    ids = [...p, ...a];
    first = p.length - 1;
  }
  if (ids.length < 2) throw badInput('The text is too short to train on (fewer than 2 tokens)', { file: where.file, field: `records[${where.index}]` });
  if (ids.length > model.dims.maxPositions) {
    throw badInput(`The record is ${ids.length} tokens long, beyond the model's context (${model.dims.maxPositions})`, { file: where.file, field: `records[${where.index}]`, hint: 'Shorten it or leave it out.' });
  }
  return { ids, trained: Array.from({ length: ids.length - 1 - first }, (_, k) => first + k) };
}

/** A batch of rows plus per-position tensors for the training graph's token head. */
export interface TokenFeeds {
  batch: Batch;
  /** [B·S] target ids (0 where nothing is trained). */
  targets: BigInt64Array;
  weights: Float32Array;
  seqMask: Float32Array;
}

export function tokenFeeds(model: LoadedModel, rows: Row[]): TokenFeeds {
  const batch = model.makeBatch(rows.map((r) => r.ids));
  const n = batch.batch * batch.seq;
  const targets = new BigInt64Array(n);
  rows.forEach((r, b) => {
    for (const t of r.trained) targets[b * batch.seq + t] = BigInt(r.ids[t + 1]);
  });
  return { batch, targets, weights: new Float32Array(n), seqMask: new Float32Array(n) };
}

/** Sets `value` at the row's trained positions of a [B·S] array. */
export function fillTrained(a: Float32Array, seq: number, b: number, row: Row, value: number): void {
  for (const t of row.trained) a[b * seq + t] = value;
}

export const f32 = (v: Float32Array | number[], dims: number[]): OrtTensor => new (loadOrt().Tensor)('float32', v instanceof Float32Array ? v : Float32Array.from(v), dims);
