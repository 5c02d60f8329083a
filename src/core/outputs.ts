// Where MechEdit may write. Two rules, checked by every writer before any long computation:
//   1. Nothing lands on or inside a checkpoint MechEdit reads: its folder, its Hugging Face cache
//      folder models--org--name/ (snapshots, blobs, refs), and the real folders of symlinked
//      weight files. Paths are compared as real paths, so a symlink or `..` cannot get around it.
//   2. Nothing replaces a file MechEdit did not create: an output file that exists must be one of
//      MechEdit's (the writer says how to recognise its own), and an output folder must be new,
//      empty, or one MechEdit made (it holds the writer's marker file).
// A refusal is a bad-input error naming the path (and the checkpoint) with what to do instead.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { badInput } from './errors';

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
 * Refuses to replace `file` when it exists and `isOurs(file)` says MechEdit did not write it.
 * `kind` names what MechEdit would have written there ("a MechEdit edit file").
 */
export function refuseForeignFile(file: string, isOurs: (file: string) => boolean, kind: string): void {
  if (!fs.existsSync(file)) return;
  if (!ourFile(file, isOurs)) {
    throw badInput(`${file} already exists and is not ${kind}; MechEdit replaces only files it wrote`, {
      file: path.resolve(file),
      hint: 'Choose another output name or folder, or move the file away first.',
    });
  }
}

/**
 * Refuses an output folder that exists, is not empty and has no `marker` file (the file MechEdit
 * writes into every folder of this kind: run.json for run folders, mechedit-bake.json for baked
 * checkpoints), or whose marker `isOurs` rejects. A new or empty folder is fine.
 */
export function refuseForeignFolder(dir: string, marker: string, isOurs: (markerFile: string) => boolean, kind: string): void {
  if (!fs.existsSync(dir)) return;
  if (!fs.statSync(dir).isDirectory()) {
    throw badInput(`${dir} is a file, not a folder`, { file: path.resolve(dir), hint: 'Give a new or empty folder.' });
  }
  if (fs.readdirSync(dir).length === 0) return;
  if (!ourFile(path.join(dir, marker), isOurs)) {
    throw badInput(`The folder ${dir} is not empty and is not ${kind} (no MechEdit ${marker} in it); MechEdit replaces only files it wrote`, {
      file: path.resolve(dir),
      hint: 'Choose a new or empty folder.',
    });
  }
}

/** A JSON object file whose `key` is a string (one of `values` when given). */
export function jsonHas(file: string, key: string, values?: string[]): boolean {
  try {
    const v = JSON.parse(fs.readFileSync(file, 'utf8'))?.[key];
    return typeof v === 'string' && (!values || values.includes(v));
  } catch {
    return false;
  }
}

/** A MechEdit run folder (evoke, ort, merge): new, empty, or one holding MechEdit's run.json. */
export function checkRunFolder(dir: string, ckpt?: CheckpointPlace, what = '--out'): void {
  if (ckpt) refuseInsideCheckpoint(dir, ckpt, what);
  refuseForeignFolder(dir, 'run.json', (f) => jsonHas(f, 'tool') && jsonHas(f, 'modelFingerprint'), 'a MechEdit run folder');
}
