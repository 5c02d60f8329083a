// Output places that fail: a small tmpfs (full or read-only) mounted for the length of a check.
// Mounting needs root: elsewhere the check is skipped, and the reason is printed (never a silent skip).

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';

interface Skippable {
  skip(message?: string): void;
  diagnostic(message: string): void;
}

/** Why a tmpfs cannot be mounted here (undefined: it can). */
export function tmpfsUnavailable(): string | undefined {
  if (process.platform !== 'linux') return `not Linux (${process.platform}): no tmpfs`;
  if (process.getuid?.() !== 0) return `not running as root (uid ${process.getuid?.()}): cannot mount a tmpfs`;
  return undefined;
}

/**
 * Mounts a tmpfs of `size` (e.g. "64k"), read-only when `readOnly`, calls `fn` with its folder, then
 * unmounts it. Skips the test (printing why) when no tmpfs can be mounted.
 */
export async function withTmpfs(t: Skippable, size: string, readOnly: boolean, fn: (dir: string) => void | Promise<void>): Promise<boolean> {
  const why = tmpfsUnavailable();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-tmpfs-'));
  const mounted = why === undefined ? spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}${readOnly ? ',ro' : ''}`, 'tmpfs', dir], { encoding: 'utf8' }) : undefined;
  if (why !== undefined || mounted?.status !== 0) {
    const reason = `skipped: ${why ?? `mount -t tmpfs failed: ${(mounted?.stderr ?? '').trim() || mounted?.error?.message}`}`;
    console.log(`# ${reason}`);
    t.diagnostic(reason);
    t.skip(reason);
    fs.rmSync(dir, { recursive: true, force: true });
    return false;
  }
  try {
    await fn(dir);
  } finally {
    spawnSync('umount', [dir]);
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return true;
}
