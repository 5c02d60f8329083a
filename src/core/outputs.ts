// The output gate: where MechEdit may write, and the one way it writes there. Every command that
// writes (edit, unlearn, bake, evoke, ort, fine-ked, probes, zsre, sequential, merge, dike train,
// stats; the engine's jobs) checks its outputs here before any long computation, and writes them
// with writeOut / appendOut / makeOutFolder / moveOut / writeOutWith. The rules:
//   1. Nothing lands on or inside a checkpoint MechEdit reads: its folder, its Hugging Face cache
//      folder models--org--name/ (snapshots, blobs, refs), and the real folders of symlinked
//      weight files. Paths are compared as real paths, so a symlink or `..` cannot get around it.
//   2. Nothing replaces a file MechEdit did not create: an output file that exists must be one of
//      MechEdit's (the writer says how to recognise its own), and an output folder must be new,
//      empty, or one MechEdit made (it holds the writer's marker file) — unless the user passes
//      --force (the engine: `force: true`), which lifts this rule only.
//   3. An output file is a regular file or nothing yet (never a folder, /dev/null, a FIFO or a
//      device); an output folder is a folder or nothing yet.
//   4. Files are written atomically (a temp name beside the target, renamed over it): a reader, or
//      a crash, sees the old file or the whole new one. An append that fails is cut back to where
//      it started. A failure of the place (ENOSPC, EROFS, EACCES, ELOOP, ENOTDIR, EISDIR, …)
//      becomes one `io` error line naming the path (errors.ts fsError), and the temp is removed.
// A refusal is a bad-input error naming the path (and the checkpoint) with what to do instead.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { badInput, fsError } from './errors';
import { replaceAtomic } from './atomicWrite';
import type { SettingSpec } from '../protocol/registry';
import { readInputJson } from './inputs';

/**
 * The one `force` (the CLI's --force, the engine's `force: true`): lifts rule 2 only — replace files
 * MechEdit did not write, write into a folder that is not empty. Never a checkpoint, never a path
 * that is not a file (or folder), never a run folder's results (those need --resume or a new folder).
 */
export const FORCE_SETTING: SettingSpec = {
  name: 'force', type: 'boolean', default: false,
  doc: 'replace files MechEdit did not write and write into a folder that is not empty (without it they are refused; a checkpoint never)',
};

/** The parts of an opened checkpoint that say where it lives on disk. */
export interface CheckpointPlace {
  dir: string;
  hfCacheRoot?: string;
  weightFiles: string[];
}

/** The real path of `p`, also when it (or its last parts) does not exist yet. */
export function realOut(p: string): string {
  const abs = path.resolve(p);
  const rest: string[] = [];
  let at = abs;
  for (;;) {
    try {
      return path.join(fs.realpathSync(at), ...rest.reverse());
    } catch {
      const up = path.dirname(at);
      if (up === at) return abs;
      rest.push(path.basename(at));
      at = up;
    }
  }
}

/** The real folders a checkpoint occupies. */
export function checkpointFolders(ckpt: CheckpointPlace): string[] {
  const folders = new Set<string>([realOut(ckpt.dir)]);
  if (ckpt.hfCacheRoot) folders.add(realOut(ckpt.hfCacheRoot));
  for (const f of ckpt.weightFiles) folders.add(path.dirname(realOut(f)));
  return [...folders];
}

function within(p: string, folder: string): boolean {
  const rel = path.relative(folder, p);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * Refuses `out` (a file or folder about to be written) when it is, or lies inside, a folder of the
 * checkpoint. `what` names the output in the message ("The edit file", "--out").
 */
export function refuseInsideCheckpoint(out: string, ckpt: CheckpointPlace, what = 'The output', hint?: string): void {
  const real = realOut(out);
  for (const folder of checkpointFolders(ckpt)) {
    if (within(real, folder)) {
      throw badInput(`${what} ${real} would be written into the source checkpoint ${ckpt.dir} (folder ${folder}); MechEdit never writes into a model it reads`, {
        file: path.resolve(out),
        hint: hint ?? 'Choose a folder outside the model folder (and outside its Hugging Face cache folder), e.g. .mechedit/ in your workspace.',
      });
    }
  }
}

/** Whether `file` is a plain file that `isOurs` recognises (false when it cannot be read). */
function ourFile(file: string, isOurs: (file: string) => boolean): boolean {
  try {
    return fs.statSync(file).isFile() && isOurs(file);
  } catch {
    return false;
  }
}

/**
 * Refuses to replace `file` when it exists and `isOurs(file)` says MechEdit did not write it
 * (unless `force`). `kind` names what MechEdit would have written there ("a MechEdit edit file").
 * A path that is not a regular file (a folder, /dev/null, a FIFO) is refused, forced or not.
 */
export function refuseForeignFile(file: string, isOurs: (file: string) => boolean, kind: string, force = false): void {
  if (!statOut(file)) return;
  refuseNotAFile(file);
  if (!force && !ourFile(file, isOurs)) {
    throw badInput(`${file} already exists and is not ${kind}; MechEdit replaces only files it wrote`, {
      file: path.resolve(file),
      hint: 'Choose another output name or folder, move the file away first, or pass --force to replace it.',
    });
  }
}

/**
 * Refuses an output folder that exists, is not empty and has no `marker` file (the file MechEdit
 * writes into every folder of this kind: run.json for run folders, mechedit-bake.json for baked
 * checkpoints), or whose marker `isOurs` rejects. A new or empty folder is fine.
 */
export function refuseForeignFolder(dir: string, marker: string, isOurs: (markerFile: string) => boolean, kind: string, force = false): void {
  if (!statOut(dir)) return;
  refuseNotAFolder(dir);
  if (force || guarded(dir, () => fs.readdirSync(dir)).length === 0) return;
  if (!ourFile(path.join(dir, marker), isOurs)) {
    throw badInput(`The folder ${dir} is not empty and is not ${kind} (no MechEdit ${marker} in it); MechEdit replaces only files it wrote`, {
      file: path.resolve(dir),
      hint: 'Choose a new or empty folder, or pass --force to write into it anyway.',
    });
  }
}

/** A JSON object file whose `key` is a string (one of `values` when given). */
export function jsonHas(file: string, key: string, values?: string[]): boolean {
  try {
    const v = (readInputJson(file, 'config') as Record<string, unknown> | null)?.[key];
    return typeof v === 'string' && (!values || values.includes(v));
  } catch {
    return false;
  }
}

/** A MechEdit run folder (evoke, ort, merge): new, empty, or one holding MechEdit's run.json (any folder with `force`). */
export function checkRunFolder(dir: string, ckpt?: CheckpointPlace, what = '--out', force = false): void {
  if (ckpt) refuseInsideCheckpoint(dir, ckpt, what);
  refuseForeignFolder(dir, 'run.json', (f) => jsonHas(f, 'tool') && jsonHas(f, 'modelFingerprint'), 'a MechEdit run folder', force);
}

/** Runs an fs call on `file`, turning a failure of the place into an io error naming it (fsError). */
export function guarded<T>(file: string, act: () => T): T {
  try {
    return act();
  } catch (e) {
    throw fsError(e, path.resolve(file)) ?? e;
  }
}

/** What is at `p` (lstat follows no link; a link is then stat'ed, so a loop is an ELOOP io error); undefined when nothing is. */
function statOut(p: string): fs.Stats | undefined {
  try {
    const l = fs.lstatSync(p);
    return l.isSymbolicLink() ? fs.statSync(p) : l;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      // A dangling link: writing through it would create its target somewhere else.
      if (fs.lstatSync(p, { throwIfNoEntry: false })?.isSymbolicLink()) throw badInput(`${path.resolve(p)} is a symbolic link to nothing`, { file: path.resolve(p), hint: 'Remove the link, or give another path.' });
      return undefined;
    }
    throw fsError(e, path.resolve(p)) ?? e;
  }
}

/** What a non-regular file is, in words. */
function kindOf(s: fs.Stats): string {
  if (s.isDirectory()) return 'a folder';
  if (s.isCharacterDevice() || s.isBlockDevice()) return 'a device';
  if (s.isFIFO()) return 'a FIFO (named pipe)';
  if (s.isSocket()) return 'a socket';
  return 'a file';
}

/** Refuses an output file path that holds something other than a regular file (a folder, /dev/null, a FIFO, a device). */
export function refuseNotAFile(file: string, what = 'The output'): void {
  const s = statOut(file);
  if (s && !s.isFile()) throw badInput(`${what} ${path.resolve(file)} is ${kindOf(s)}, not a file MechEdit can write`, { file: path.resolve(file), hint: 'Give the path of a new file (or of a file MechEdit wrote).' });
}

/** Refuses an output folder path that holds something other than a folder (a file, /dev/null, a FIFO). */
export function refuseNotAFolder(dir: string, what = 'The output folder'): void {
  const s = statOut(dir);
  if (s && !s.isDirectory()) throw badInput(`${what} ${path.resolve(dir)} is ${kindOf(s)}, not a folder`, { file: path.resolve(dir), hint: 'Give a new or empty folder.' });
}

/**
 * Creates the output folder `dir` (and its parents), one level at a time from the nearest that
 * exists (a recursive mkdir reports a read-only file system as ENOENT); refuses a path that is not a folder.
 */
export function makeOutFolder(dir: string): void {
  refuseNotAFolder(dir);
  const missing: string[] = [];
  for (let at = path.resolve(dir); !statOut(at); at = path.dirname(at)) {
    missing.unshift(at);
    if (path.dirname(at) === at) break;
  }
  for (const d of missing) {
    guarded(d, () => {
      try {
        fs.mkdirSync(d);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || !fs.statSync(d).isDirectory()) throw e;
      }
    });
  }
}

/** Writes `file` whole or not at all (temp beside it, renamed over it; the temp removed on failure). */
export function writeOut(file: string, data: string | NodeJS.ArrayBufferView): void {
  writeOutWith(file, (tmp) => fs.writeFileSync(tmp, data));
}

/** Calls `write(tmp)` to make the file at a temp name beside `file`, then renames it over `file` (the gate's checks and errors as writeOut). */
export function writeOutWith(file: string, write: (tmp: string) => void): void {
  refuseNotAFile(file);
  guarded(file, () => replaceAtomic(file, write));
}

/** Appends `data` to `file` (a JSONL log); on failure the file is cut back to its size before, so no partial line stays. */
export function appendOut(file: string, data: string): void {
  refuseNotAFile(file);
  const before = statOut(file)?.size ?? 0;
  try {
    fs.appendFileSync(file, data);
  } catch (e) {
    try {
      fs.truncateSync(file, before);
    } catch {
      // the append's own error is the one to report
    }
    throw fsError(e, path.resolve(file)) ?? e;
  }
}

/** Renames `from` (a temp or partial output of ours) to `to`. */
export function moveOut(from: string, to: string): void {
  refuseNotAFile(to);
  guarded(to, () => fs.renameSync(from, to));
}
