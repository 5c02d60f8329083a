// Where a model's .onnx files live. onnxruntime resolves external data relative to the .onnx
// file and refuses absolute, `..` and symlinked locations, so the graphs must sit in a folder
// that holds the weight files themselves. The checkpoint is never written to; in order:
//   1. hardlink: <cache>/graphs/<fingerprint>/ with hard links to the weight files (no copy);
//   2. HF cache root: when the checkpoint is in models--org--name/ and that folder is writable,
//      the graphs go to models--org--name/.mechedit/ … no: ORT needs the weights *below* the
//      .onnx, so they go to models--org--name/ itself as mechedit-*.onnx, with location blobs/<sha>;
//   3. copy: the weight files copied into the cache folder (costs disk, not memory; logged).

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Checkpoint } from '../checkpoint/checkpoint';
import type { TensorEntry } from '../checkpoint/safetensors';
import type { WeightLocator } from '../graph/forward';

export interface GraphDir {
  dir: string;
  /** File name prefix for graphs in `dir`. */
  prefix: string;
  mode: 'hardlink' | 'hf-root' | 'copy';
  locate: WeightLocator;
}

export function cacheRoot(): string {
  return process.env.MECHEDIT_CACHE || path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'mechedit');
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
  if (ckpt.hfCacheRoot && writable(ckpt.hfCacheRoot)) {
    for (const file of ckpt.weightFiles) names.set(file, path.relative(ckpt.hfCacheRoot, fs.realpathSync(file)));
    if ([...names.values()].every((n) => !n.startsWith('..') && !path.isAbsolute(n))) {
      return { dir: ckpt.hfCacheRoot, prefix: `mechedit-${ckpt.fingerprint}-`, mode: 'hf-root', locate };
    }
  }
  log(`copying the weight files into ${dir} (no hard link possible across file systems)`);
  for (const file of ckpt.weightFiles) names.set(file, copyIfStale(file, path.join(dir, path.basename(file))));
  return { dir, prefix: '', mode: 'copy', locate };
}

/** Hard-links `real` at `target` (replacing a stale link); returns the name inside the folder. */
function link(real: string, target: string): string {
  if (fs.existsSync(target)) {
    const a = fs.statSync(target);
    const b = fs.statSync(real);
    if (a.ino === b.ino && a.dev === b.dev) return path.basename(target);
    fs.unlinkSync(target);
  }
  fs.linkSync(real, target);
  return path.basename(target);
}

/**
 * Copies `source` to `target` unless the copy is current: same size and the source's mtime, which
 * the copy is given. A weight file replaced by another of the same size and shapes (a fine-tuned
 * checkpoint: same fingerprint) is copied again. Returns the name inside the folder.
 */
export function copyIfStale(source: string, target: string): string {
  const src = fs.statSync(source);
  const dst = fs.existsSync(target) ? fs.statSync(target) : undefined;
  // utimes takes the time in (floating-point) seconds: the copy's mtime comes back within 1 ms.
  if (!dst || dst.size !== src.size || Math.abs(dst.mtimeMs - src.mtimeMs) >= 1) {
    fs.copyFileSync(source, target);
    fs.utimesSync(target, src.atime, src.mtime);
  }
  return path.basename(target);
}

function writable(dir: string): boolean {
  try {
    fs.accessSync(dir, fs.constants.W_OK);
    return true;
  } catch {
    return false;
  }
}
