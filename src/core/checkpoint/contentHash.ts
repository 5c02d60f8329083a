// sha256 of a weight file's bytes, computed once and cached by the file's identity on disk:
// (real path, size, mtime in ns, inode, device). A file rewritten in place (a fine-tune saved
// over the same name) changes its mtime, so it is hashed again; a file renamed or hard-linked
// keeps its inode but the cache is keyed by the real path, so at worst it is hashed again.
//
// The cache is one small JSON file, <cache>/content-hashes.json:
//   { "version": 1, "files": { "<real path>": { size, mtimeNs, ino, dev, sha256 } } }
// (sizes, times and inode numbers as decimal strings: they can exceed 2^53). It is replaced
// atomically (atomicWrite.ts: a temp name with host, pid and random bytes, then rename), so
// processes on several hosts sharing the cache never read a half-written file; a lost update
// only costs a second hash.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { cacheRoot } from '../cacheRoot';
import { writeFileAtomic } from '../atomicWrite';
import { openInput, readInputJson } from '../inputs';

const VERSION = 1;
/** Read size: large reads keep the hash CPU-bound (sha256 runs at ~1 GB/s with SHA-NI). */
const CHUNK = 16 * 1024 * 1024;
/**
 * A file modified within this long before it was hashed is not cached: a second write in the same
 * mtime tick (coarse file-system clocks) would otherwise keep the stale entry (git's "racy" case).
 */
const RACY_MS = 2000;

interface Entry {
  size: string;
  mtimeNs: string;
  ino: string;
  dev: string;
  sha256: string;
}

interface CacheFile {
  version: number;
  files: Record<string, Entry>;
}

export function hashCacheFile(): string {
  return path.join(cacheRoot(), 'content-hashes.json');
}

function identity(file: string): Omit<Entry, 'sha256'> & { mtimeMs: number } {
  const s = fs.statSync(file, { bigint: true });
  return { size: String(s.size), mtimeNs: String(s.mtimeNs), ino: String(s.ino), dev: String(s.dev), mtimeMs: Number(s.mtimeMs) };
}

function readCache(): CacheFile {
  try {
    const c = readInputJson(hashCacheFile(), 'cache') as CacheFile;
    if (c && c.version === VERSION && typeof c.files === 'object' && c.files !== null) return c;
  } catch {
    // Missing or unreadable: start afresh (the cache only saves time).
  }
  return { version: VERSION, files: {} };
}

function writeCache(c: CacheFile): void {
  const file = hashCacheFile();
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    writeFileAtomic(file, JSON.stringify(c));
  } catch {
    // A read-only cache only costs time: the hash is recomputed next time.
  }
}

/** sha256 (hex) of the whole file, read in 16 MiB chunks. */
export function sha256OfFile(file: string): string {
  const hash = createHash('sha256');
  const fd = openInput(file, 'weights');
  try {
    const buf = Buffer.allocUnsafe(CHUNK);
    for (;;) {
      const n = fs.readSync(fd, buf, 0, CHUNK, null);
      if (n === 0) break;
      hash.update(buf.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
}

/**
 * sha256 of each file's bytes (in the order given), from the cache when the file's identity is
 * unchanged; new hashes are added to the cache in one atomic write.
 */
export function contentHashes(files: string[]): string[] {
  const cache = readCache();
  let changed = false;
  const hashes = files.map((f) => {
    const real = fs.realpathSync(f);
    const before = identity(real);
    const { mtimeMs, ...id } = before;
    const hit = cache.files[real];
    if (hit && hit.size === id.size && hit.mtimeNs === id.mtimeNs && hit.ino === id.ino && hit.dev === id.dev) return hit.sha256;
    const started = Date.now();
    const sha256 = sha256OfFile(real);
    const after = identity(real);
    // Cache only a hash of a file that did not change while it was read and is not "racy".
    if (after.mtimeNs === id.mtimeNs && after.size === id.size && started - mtimeMs >= RACY_MS) {
      cache.files[real] = { ...id, sha256 };
      changed = true;
    }
    return sha256;
  });
  if (changed) {
    for (const p of Object.keys(cache.files)) if (!fs.existsSync(p)) delete cache.files[p];
    writeCache(cache);
  }
  return hashes;
}
