// Bake: a new checkpoint folder with W + Σ α Uᵀ V written into the edited weights (in their
// stored orientation and dtype); every other tensor is copied byte for byte, in chunks. The
// source checkpoint is only read. The baked folder opens like any checkpoint.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { LoadedModel } from '../runtime/model';
import type { TensorEntry } from '../checkpoint/safetensors';
import { readTensorF32 } from '../checkpoint/safetensors';
import { writeSafetensors, type TensorToWrite } from '../checkpoint/writeSafetensors';
import { badInput } from '../errors';
import type { StackItem } from './stack';

const COPY_FILES = ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json', 'special_tokens_map.json'];
const CHUNK = 64 * 1024 * 1024;

export function bake(model: LoadedModel, out: string, applied: StackItem[]): { out: string; modified: string[] } {
  const src = model.checkpoint;
  const outDir = path.resolve(out);
  if (outDir === path.resolve(src.dir) || (src.hfCacheRoot && outDir.startsWith(path.resolve(src.hfCacheRoot)))) {
    throw badInput('The baked checkpoint cannot be written into the source checkpoint', { file: outDir, hint: 'Choose a new folder for --out.' });
  }
  if (fs.existsSync(outDir) && fs.readdirSync(outDir).length > 0) throw badInput('The output folder is not empty', { file: outDir, hint: 'Choose a new or empty folder.' });
  fs.mkdirSync(outDir, { recursive: true });

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
        write(new Uint8Array(W.buffer, W.byteOffset, W.byteLength));
      },
    };
  });
  // The metadata names the source and the edits: it is part of the header, so the baked model's
  // fingerprint differs from the source's even where every shape and dtype is the same (and an
  // edit made for the source is refused on the baked model, which already holds it).
  writeSafetensors(path.join(outDir, 'model.safetensors'), tensors, {
    format: 'pt',
    mechedit_baked_from: src.fingerprint,
    mechedit_edits: applied.filter((e) => e.enabled).map((e) => `${e.id}×${e.strength}`).join(','),
  });
  for (const f of COPY_FILES) {
    const from = path.join(src.dir, f);
    if (fs.existsSync(from)) fs.copyFileSync(from, path.join(outDir, f));
  }
  fs.writeFileSync(path.join(outDir, 'mechedit-bake.json'), `${JSON.stringify({ source: src.dir, sourceFingerprint: src.fingerprint, edits: applied, created: new Date().toISOString() }, null, 2)}\n`);
  return { out: outDir, modified: [...updates.keys()] };
}

function copyBytes(t: TensorEntry, write: (chunk: Uint8Array) => void): void {
  const fd = fs.openSync(t.file, 'r');
  try {
    const buf = Buffer.alloc(Math.min(CHUNK, Math.max(t.length, 1)));
    for (let done = 0; done < t.length;) {
      const n = fs.readSync(fd, buf, 0, Math.min(buf.length, t.length - done), t.offset + done);
      write(buf.subarray(0, n));
      done += n;
    }
  } finally {
    fs.closeSync(fd);
  }
}
