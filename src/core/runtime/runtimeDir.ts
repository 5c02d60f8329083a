// A runtime folder for Dawn (the WebGPU provider), which complains on stderr when
// XDG_RUNTIME_DIR is unset. One folder per user, reused by every MechEdit process:
// <tmp>/mechedit-run-<uid>, mode 0700. A fresh folder per process leaked one per run, since an
// engine stopped with SIGTERM never runs exit handlers. A folder of that name that is not a
// private folder of this user (another user made it, a symlink, open permissions) is not used:
// a private temporary folder is made instead and removed when the process exits.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export function privateRuntimeDir(): string {
  const uid = process.getuid?.() ?? 0;
  const dir = path.join(os.tmpdir(), `mechedit-run-${uid}`);
  try {
    fs.mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') return temporary();
  }
  const st = fs.lstatSync(dir);
  if (st.isDirectory() && st.uid === uid && (st.mode & 0o077) === 0) return dir;
  return temporary();
}

function temporary(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-run-'));
  process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}
