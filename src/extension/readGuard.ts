// The extension host's own reads of files a user can point it at (a lifelong run folder, an
// edit file's JSON, a report, last.json): the same rules as core's input gate
// (src/core/inputs.ts, which this layer may not import): a regular file only, checked from its
// stat before it is opened (a FIFO would freeze the extension host), under a size bound, UTF-8
// with a BOM accepted. Errors are one line naming the file.

import * as fs from 'node:fs';

const MiB = 1024 * 1024;

/** Bounds in MiB per kind of file the extension host reads (core's INPUT_KINDS has the same values). */
export const EXTENSION_READ_BOUNDS = { config: 16, run: 512, edit: 64, report: 64 } as const;

function found(s: fs.Stats): string {
  if (s.isDirectory()) return 'a folder';
  if (s.isFIFO()) return 'a FIFO (named pipe)';
  if (s.isCharacterDevice() || s.isBlockDevice()) return 'a device';
  if (s.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** The file's text, or an Error naming it: not a regular file, over `bound`, unreadable, or not UTF-8. */
export function readUserText(file: string, bound: keyof typeof EXTENSION_READ_BOUNDS): string {
  const s = fs.statSync(file);
  if (!s.isFile()) throw new Error(`${file}: expected a regular file, found ${found(s)}.`);
  const max = EXTENSION_READ_BOUNDS[bound] * MiB;
  if (s.size > max) throw new Error(`${file} is ${(s.size / MiB).toFixed(1)} MiB, over the ${EXTENSION_READ_BOUNDS[bound]} MiB bound for this file.`);
  const fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
  try {
    if (!fs.fstatSync(fd).isFile()) throw new Error(`${file}: expected a regular file.`);
    return new TextDecoder('utf-8', { fatal: true }).decode(fs.readFileSync(fd));
  } catch (e) {
    if (e instanceof TypeError) throw new Error(`${file} is not UTF-8 text.`);
    throw e;
  } finally {
    fs.closeSync(fd);
  }
}
