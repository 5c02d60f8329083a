// Shared by the run-folder tests (evoke, ort): a small edit written to disk, as `mechedit edit`
// would write it, with a chosen id and vectors drawn from a seed.

import * as path from 'node:path';
import type { LoadedModel } from '../../src/core/runtime/model';
import { writeEdit } from '../../src/core/edits/editFile';

function rand(n: number, seed: number, scale = 0.05): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32 - 0.5) * 2 * scale;
  });
}

/** Writes `<dir>/<id>.json` (+ .safetensors): a rank-1 edit of mlp.out at layer 0; returns the JSON path. */
export function makeEdit(model: LoadedModel, dir: string, id: string, seed: number): string {
  const w = model.plan.blocks[0].down;
  const json = {
    format: 'mechedit-edit/1' as const, id, label: id, method: 'manual' as const, modelFingerprint: model.checkpoint.fingerprint,
    targets: [{ layer: 0, module: 'mlp.out' as const, rank: 1, U: 'U', V: 'V' }], vectors: '', created: new Date(0).toISOString(),
  };
  return writeEdit(path.resolve(dir), { json, tensors: [{ U: rand(w.out, seed), V: rand(w.in, seed + 1) }] }, () => ({ out: w.out, in: w.in }), model.checkpoint);
}
