// One computation per cache entry across processes and hosts (the array tasks of a sweep share
// the cache): whoever creates <entry>.lock (O_CREAT|O_EXCL, which NFSv3+ and local file systems
// make atomic) computes the entry and writes it atomically (atomicWrite.ts); the others wait for
// the lock to go, then read the entry. The holder touches the lock every HEARTBEAT_MS; a lock not
// touched for STALE_MS (its holder was killed: SIGKILL, a node lost), or held by a process of this
// host that no longer exists, is taken over.
//
// Lock file: JSON {host, pid, started}.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';

export const HEARTBEAT_MS = 5_000;
export const STALE_MS = 60_000;
const POLL_MS = 100;

interface LockRecord {
  host: string;
  pid: number;
  started: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function tryCreate(lock: string): boolean {
  try {
    const fd = fs.openSync(lock, 'wx');
    fs.writeSync(fd, JSON.stringify({ host: os.hostname(), pid: process.pid, started: new Date().toISOString() } satisfies LockRecord));
    fs.closeSync(fd);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The lock's holder is gone: not touched for STALE_MS, or a process of this host that has exited. */
function stale(lock: string): boolean {
  let stat: fs.Stats;
  let rec: Partial<LockRecord> = {};
  try {
    stat = fs.statSync(lock);
    rec = JSON.parse(fs.readFileSync(lock, 'utf8')) as LockRecord;
  } catch {
    return false; // gone (or being written): try again
  }
  if (Date.now() - stat.mtimeMs > STALE_MS) return true;
  return rec.host === os.hostname() && typeof rec.pid === 'number' && rec.pid !== process.pid && !alive(rec.pid);
}

/** The lock is this process's (not one that took it over as stale). */
function ours(lock: string): boolean {
  try {
    const rec = JSON.parse(fs.readFileSync(lock, 'utf8')) as LockRecord;
    return rec.host === os.hostname() && rec.pid === process.pid;
  } catch {
    return false;
  }
}

/** Removes a stale lock by renaming it away first, so that two waiters never both remove (one of them a fresh lock). */
function breakLock(lock: string): void {
  const away = `${lock}.stale-${randomBytes(6).toString('hex')}`;
  try {
    fs.renameSync(lock, away);
    fs.rmSync(away, { force: true });
  } catch {
    // another waiter broke it first
  }
}

/**
 * Runs `make` while holding <target>.lock, unless `ready()` says the entry is there (before the lock
 * or once it is held: a waiter finds the entry another process made). `wanted` is asked while
 * waiting: false gives up (it throws what `onGiveUp` returns).
 */
export async function withCacheLock<T>(target: string, ready: () => T | undefined, make: () => Promise<T>, o: { wanted?: () => boolean; onGiveUp?: () => Error } = {}): Promise<T> {
  const lock = `${target}.lock`;
  fs.mkdirSync(path.dirname(target), { recursive: true });
  for (;;) {
    const done = ready();
    if (done !== undefined) return done;
    if (tryCreate(lock)) break;
    if (stale(lock)) {
      breakLock(lock);
      continue;
    }
    if (o.wanted && !o.wanted()) throw o.onGiveUp?.() ?? new Error('Gave up waiting for the cache lock');
    await sleep(POLL_MS);
  }
  const beat = setInterval(() => {
    const now = new Date();
    try {
      fs.utimesSync(lock, now, now);
    } catch {
      // taken over as stale: the entry is still written atomically
    }
  }, HEARTBEAT_MS);
  beat.unref();
  try {
    return ready() ?? (await make());
  } finally {
    clearInterval(beat);
    if (ours(lock)) fs.rmSync(lock, { force: true });
  }
}
