// Atomic writes for files that other processes read or write at the same time: the shared
// MechEdit cache (graphs, key statistics, hashes; the nodes of a cluster share it) and run
// folders. The data goes to a temp name beside the target that no other writer uses (host name,
// process id and random bytes: process ids repeat across hosts), then is renamed over the target,
// so a reader sees the old file or the whole new one, never a part.

import * as fs from 'node:fs';
import * as os from 'node:os';
import { randomBytes } from 'node:crypto';

/** A name beside `target` that no other process, on this host or another, writes to. */
export function tempBeside(target: string): string {
  const host = os.hostname().replace(/[^A-Za-z0-9.-]/g, '_') || 'host';
  return `${target}.${host}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
}

/** Calls `write(tmp)` to make the file at a temp name, then renames it over `target`; the temp is removed on failure. */
export function replaceAtomic(target: string, write: (tmp: string) => void): void {
  const tmp = tempBeside(target);
  try {
    write(tmp);
    fs.renameSync(tmp, target);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

export function writeFileAtomic(target: string, data: string | NodeJS.ArrayBufferView): void {
  replaceAtomic(target, (tmp) => fs.writeFileSync(tmp, data));
}

export function copyFileAtomic(source: string, target: string): void {
  replaceAtomic(target, (tmp) => fs.copyFileSync(source, tmp));
}
