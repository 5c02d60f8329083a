// Where a model's .onnx files live. onnxruntime resolves external data relative to the .onnx
// file and refuses absolute, `..` and symlinked locations, so the graphs must sit in a folder
// that holds the weight files themselves: <cache>/graphs/<fingerprint>/, with
//   1. hardlink: hard links to the weight files (no copy), else
//   2. copy: the weight files copied in (across file systems; costs disk, not memory; logged).
// The checkpoint (and its Hugging Face cache folder) is never written to.
//
// One folder never serves one checkpoint's weights to another: the fingerprint covers the bytes
// of every weight file (checkpoint.ts), so every checkpoint that maps to graphs/<fp>/ holds the
// same bytes under the same names, and whichever of them last linked or copied its files there
// leaves the folder correct for all of them.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Checkpoint } from '../checkpoint/checkpoint';
import type { TensorEntry, WeightLocator } from '../checkpoint/safetensors';
import { cacheRoot } from '../cacheRoot';
import { replaceAtomic } from '../atomicWrite';

export interface GraphDir {
  dir: string;
  /** File name prefix for graphs in `dir`. */
  prefix: string;
  mode: 'hardlink' | 'copy';
  locate: WeightLocator;
}

export function prepareGraphDir(ckpt: Checkpoint, log: (m: string) => void = () => undefined): GraphDir {
  const dir = path.join(cacheRoot(), 'graphs', ckpt.fingerprint);
  fs.mkdirSync(dir, { recursive: true });
  const names = new Map<string, string>(); // weight file (as given) → name inside dir
  const locate: WeightLocator = (t: TensorEntry) => ({ location: names.get(t.file)!, offset: t.offset });
  try {
    for (const file of ckpt.weightFiles) names.set(file, link(fs.realpathSync(file), path.join(dir, path.basename(file))));
    return { dir, prefix: '', mode: 'hardlink', locate };
  } catch (e) {
    log(`cannot hardlink the weights into ${dir} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  log(`copying the weight files into ${dir} (no hard link possible across file systems; set MECHEDIT_CACHE to a folder on the checkpoint's file system to avoid the copy)`);
  for (const file of ckpt.weightFiles) names.set(file, copyIfStale(file, path.join(dir, path.basename(file))));
  return { dir, prefix: '', mode: 'copy', locate };
}

/**
 * Hard-links `real` at `target` unless `target` already is that file; returns the name inside the
 * folder. A link to another inode is replaced atomically (link to a temp name, then rename): it
 * can only be another copy of the same bytes (the folder is named by content), so a session that
 * has it open keeps computing the same values.
 */
function link(real: string, target: string): string {
  if (fs.existsSync(target)) {
    const a = fs.statSync(target);
    const b = fs.statSync(real);
    if (a.ino === b.ino && a.dev === b.dev) return path.basename(target);
  }
  replaceAtomic(target, (tmp) => fs.linkSync(real, tmp));
  return path.basename(target);
}

/**
 * Copies `source` to `target` unless the copy is current: same size and the source's mtime, which
 * the copy is given. This is sound because the folder is named by the fingerprint, which covers
 * the weight bytes: any source that maps here holds the same bytes, so a copy of the right size
 * and mtime made from one of them is right for all; size + mtime only guard against a copy cut
 * short. The copy is written to a temp name and renamed, so a reader never maps a partial copy.
 * Returns the name inside the folder.
 */
export function copyIfStale(source: string, target: string): string {
  const src = fs.statSync(source);
  const dst = fs.existsSync(target) ? fs.statSync(target) : undefined;
  // utimes takes the time in (floating-point) seconds: the copy's mtime comes back within 1 ms.
  if (!dst || dst.size !== src.size || Math.abs(dst.mtimeMs - src.mtimeMs) >= 1) {
    replaceAtomic(target, (tmp) => {
      fs.copyFileSync(source, tmp);
      fs.utimesSync(tmp, src.atime, src.mtime);
    });
  }
  return path.basename(target);
}
