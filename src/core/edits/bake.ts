// Bake: a new checkpoint folder with W + Σ α Uᵀ V written into the edited weights (in their
// stored orientation and dtype); every other tensor is copied byte for byte, in chunks. The
// source checkpoint is only read. The baked folder opens like any checkpoint.
//
// Where it may go (checkBakeOut, before any weight is read): not inside the source checkpoint's
// folders, and a folder that is new, empty, or a previous bake's output — marked by
// mechedit-bake.json, which bake writes first (with "complete": false) and rewrites last, so even
// a bake cut short leaves a folder the next bake may replace, and no other folder is ever replaced.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { LoadedModel } from '../runtime/model';
import type { TensorEntry } from '../checkpoint/safetensors';
import { readTensorF32 } from '../checkpoint/safetensors';
import { writeSafetensors, type TensorToWrite } from '../checkpoint/writeSafetensors';
import { jsonHas, makeOutFolder, refuseForeignFolder, refuseInsideCheckpoint, writeOut, type CheckpointPlace } from '../outputs';
import type { StackItem } from './stack';
import { openInput } from '../inputs';
import { badInput } from '../errors';
import { scanValues, valueBound, VALUE_BOUND_ENV } from '../numbers';

const COPY_FILES = ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json', 'special_tokens_map.json'];
const CHUNK = 64 * 1024 * 1024;

/** The file every baked folder holds: { format: "mechedit-bake/1", complete, source, sourceFingerprint, edits, created }. */
export const BAKE_MARKER = 'mechedit-bake.json';
const BAKE_FORMAT = 'mechedit-bake/1';

/** A bake's marker (older bakes wrote no "format" but always "sourceFingerprint"). */
const isBakeMarker = (f: string) => jsonHas(f, 'format', [BAKE_FORMAT]) || jsonHas(f, 'sourceFingerprint');

/**
 * Refuses an output folder bake must not write: inside the source checkpoint's folders (its HF
 * cache folder too), or existing, not empty and not a previous bake's output (no BAKE_MARKER with
 * format "mechedit-bake/1"). Call it before reading any weights.
 */
export function checkBakeOut(out: string, src: CheckpointPlace, force = false): string {
  const outDir = path.resolve(out);
  refuseInsideCheckpoint(outDir, src, 'The baked checkpoint');
  refuseForeignFolder(outDir, BAKE_MARKER, isBakeMarker, 'a checkpoint baked by MechEdit', force);
  return outDir;
}

export function bake(model: LoadedModel, out: string, applied: StackItem[], force = false): { out: string; modified: string[] } {
  const src = model.checkpoint;
  const outDir = checkBakeOut(out, src, force);
  makeOutFolder(outDir);
  const marker = (complete: boolean) => {
    const record = { format: BAKE_FORMAT, complete, source: src.dir, sourceFingerprint: src.fingerprint, edits: applied, created: new Date().toISOString() };
    writeOut(path.join(outDir, BAKE_MARKER), `${JSON.stringify(record, null, 2)}\n`);
  };
  marker(false);
  // The weight of each edited module, and its update.
  const updates = new Map<string, { entry: TensorEntry; U: Float32Array; V: Float32Array; rank: number; out: number; in: number }>();
  for (const [key, e] of model.edits) {
    const [layer, module] = key.split(':');
    const b = model.plan.blocks[Number(layer)];
    const w = module === 'mlp.out' ? b.down : b.o;
    updates.set(w.w.name, { entry: w.w, ...e, out: w.out, in: w.in });
  }
  const inOut = model.plan.spec.linear === 'in_out';
  const tensors: TensorToWrite[] = [...src.tensors.values()].map((t) => {
    const u = updates.get(t.name);
    if (!u) return { name: t.name, dtype: t.dtype, shape: t.shape, produce: (write) => copyBytes(t, write) };
    // Edited weights are stored in F32 whatever the checkpoint's dtype, so that the baked model
    // computes what the live edited run computes (rounding W + ΔW to F16/BF16 would not).
    return {
      name: t.name,
      dtype: 'F32' as const,
      shape: t.shape,
      produce: (write) => {
        const W = readTensorF32(t);
        for (let r = 0; r < u.rank; r++) {
          for (let o = 0; o < u.out; o++) {
            const uo = u.U[r * u.out + o];
            if (uo === 0) continue;
            for (let i = 0; i < u.in; i++) W[inOut ? i * u.out + o : o * u.in + i] += uo * u.V[r * u.in + i];
          }
        }
        // W + ΔW must stay finite and within the magnitude bound: a baked ∞ would poison every run.
        const { bad } = scanValues(W, valueBound());
        if (bad) throw badInput(`Baking the edits into "${t.name}" gives ${bad[1]} at element ${bad[0]}`, { file: t.file, field: t.name, hint: `An edit's vectors or strength are too large; the bound is ${valueBound().toExponential(0)} (${VALUE_BOUND_ENV}).` });
        write(new Uint8Array(W.buffer, W.byteOffset, W.byteLength));
      },
    };
  });
  // The metadata names the source and the edits: it is part of the header, so the baked model's
  // fingerprint differs from the source's even where every shape and dtype is the same (and an
  // edit made for the source is refused on the baked model, which already holds it).
  // writeSafetensors writes beside and renames over a previous bake's file: its inode (which a
  // graph folder may hard-link and a running session map) is never rewritten.
  writeSafetensors(path.join(outDir, 'model.safetensors'), tensors, {
    format: 'pt',
    mechedit_baked_from: src.fingerprint,
    mechedit_edits: applied.filter((e) => e.enabled).map((e) => `${e.id}×${e.strength}`).join(','),
  });
  for (const f of COPY_FILES) {
    const from = path.join(src.dir, f);
    if (fs.existsSync(from)) fs.copyFileSync(from, path.join(outDir, f));
    else fs.rmSync(path.join(outDir, f), { force: true }); // a previous bake's, from another source
  }
  marker(true);
  return { out: outDir, modified: [...updates.keys()] };
}

function copyBytes(t: TensorEntry, write: (chunk: Uint8Array) => void): void {
  const fd = openInput(t.file, 'weights');
  try {
    const buf = Buffer.alloc(Math.min(CHUNK, Math.max(t.length, 1)));
    for (let done = 0; done < t.length;) {
      const n = fs.readSync(fd, buf, 0, Math.min(buf.length, t.length - done), t.offset + done);
      if (n === 0) throw badInput(`The weight file ended inside tensor "${t.name}" (it changed since it was opened)`, { file: t.file, field: t.name });
      write(buf.subarray(0, n));
      done += n;
    }
  } finally {
    fs.closeSync(fd);
  }
}
