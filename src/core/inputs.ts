// The input gate: every file MechEdit reads goes through here. Contract:
//   - the path must name a regular file (symlinks are followed): a FIFO, device, socket or folder
//     is refused from its stat, before anything is opened, so a FIFO never blocks and /dev/zero
//     never fills memory;
//   - the file must be under its kind's size bound (INPUT_KINDS), named in the error with the
//     environment variable that raises it; safetensors are bounded by their header instead;
//   - text is UTF-8, with a byte-order mark accepted (and dropped);
//   - errors are one line naming the file, the kind expected and what was found.
// Readers that need a file descriptor (safetensors) call checkInput() then openInput().

import * as fs from 'node:fs';
import { badInput, MechEditError } from './errors';

export type InputKind = 'data' | 'config' | 'tokenizer' | 'edit' | 'vectors' | 'weights' | 'text' | 'run' | 'cache';

export interface InputKindSpec {
  /** What the file should be, for errors ("a data file (JSON or JSONL)"). */
  what: string;
  /** Default bound in MiB on the whole file (weights: on the safetensors header). */
  maxMiB: number;
  /** The environment variable that overrides the bound (MiB). */
  env: string;
}

/** Every kind of file MechEdit reads, with its size bound. The fuzz test takes its kinds from here. */
export const INPUT_KINDS: Record<InputKind, InputKindSpec> = {
  data: { what: 'a data file (JSON or JSONL: requests, facts, graph, cases, forget/retain sets)', maxMiB: 512, env: 'MECHEDIT_MAX_DATA_MIB' },
  config: { what: 'a JSON configuration file (config.json, run.json, settings)', maxMiB: 16, env: 'MECHEDIT_MAX_CONFIG_MIB' },
  tokenizer: { what: 'a tokenizer file (tokenizer.json)', maxMiB: 256, env: 'MECHEDIT_MAX_TOKENIZER_MIB' },
  edit: { what: 'an edit file (.json)', maxMiB: 64, env: 'MECHEDIT_MAX_EDIT_MIB' },
  vectors: { what: 'a vector file (.npy or an edit\'s .safetensors sidecar)', maxMiB: 2048, env: 'MECHEDIT_MAX_VECTORS_MIB' },
  weights: { what: 'a safetensors weight file (bound: its header)', maxMiB: 100, env: 'MECHEDIT_MAX_HEADER_MIB' },
  text: { what: 'a text corpus', maxMiB: 1024, env: 'MECHEDIT_MAX_TEXT_MIB' },
  run: { what: 'a run record (curve.jsonl, cases.jsonl, clock.json)', maxMiB: 512, env: 'MECHEDIT_MAX_RUN_MIB' },
  cache: { what: 'a MechEdit cache file', maxMiB: 64, env: 'MECHEDIT_MAX_CACHE_MIB' },
};

/** The bound in bytes for a kind: its environment variable (MiB) when set to a positive number, else the default. */
export function inputBound(kind: InputKind): number {
  const spec = INPUT_KINDS[kind];
  const raw = process.env[spec.env];
  const mib = raw !== undefined && raw.trim() !== '' ? Number(raw) : spec.maxMiB;
  if (!Number.isFinite(mib) || mib <= 0) {
    throw badInput(`${spec.env}=${raw} is not a positive number of MiB`, { field: spec.env, hint: `Unset it (default ${spec.maxMiB}) or give a size in MiB.` });
  }
  return Math.floor(mib * 1024 * 1024);
}

function describeStat(s: fs.Stats): string {
  if (s.isDirectory()) return 'a folder';
  if (s.isFIFO()) return 'a FIFO (named pipe)';
  if (s.isCharacterDevice()) return 'a character device';
  if (s.isBlockDevice()) return 'a block device';
  if (s.isSocket()) return 'a socket';
  return 'not a regular file';
}

const mib = (n: number) => `${(n / 1024 / 1024).toFixed(n < 1024 * 1024 ? 3 : 1)} MiB`;

/** A system error (ENOENT, ELOOP, EACCES, EIO…) on `file` as a one-line MechEditError. */
export function inputError(file: string, kind: InputKind, e: unknown, field?: string): MechEditError {
  if (e instanceof MechEditError) return e;
  const code = (e as NodeJS.ErrnoException)?.code;
  const what = INPUT_KINDS[kind].what;
  const where = { file, ...(field ? { field } : {}) };
  switch (code) {
    case 'ENOENT':
      return new MechEditError({ code: 'bad-input', message: `No such file (expected ${what})`, ...where, hint: 'Check the path.' });
    case 'ENOTDIR':
      return new MechEditError({ code: 'bad-input', message: `A part of this path is a file, not a folder (expected ${what})`, ...where, hint: 'Check the path.' });
    case 'ELOOP':
      return badInput(`The path is a symlink loop (expected ${what})`, { ...where, hint: 'Point the link at a real file.' });
    case 'EACCES':
    case 'EPERM':
      return new MechEditError({ code: 'io', message: `Permission denied reading ${what}`, ...where, hint: 'Make the file readable.' });
    case 'ENAMETOOLONG':
      return badInput(`The path is too long (expected ${what})`, where);
    case 'EISDIR':
      return badInput(`Expected ${what}, found a folder`, { ...where, hint: 'Give the file itself.' });
    default:
      return new MechEditError({ code: 'io', message: `Cannot read ${what}: ${code ?? ''} ${(e as Error)?.message ?? String(e)}`.replace(/\s+/g, ' ').trim(), ...where });
  }
}

/**
 * Checks that `file` is a regular file of an acceptable size for `kind`, without opening it.
 * Returns its stat. `field` names the setting or request field the path came from.
 */
export function checkInput(file: string, kind: InputKind, field?: string): fs.Stats {
  const where = { file, ...(field ? { field } : {}) };
  if (typeof file !== 'string' || file.length === 0) throw badInput(`Expected a path to ${INPUT_KINDS[kind].what}, got ${JSON.stringify(file)}`, where);
  if (file.includes('\0')) throw badInput('The path holds a NUL character', where);
  let s: fs.Stats;
  try {
    s = fs.statSync(file);
  } catch (e) {
    throw inputError(file, kind, e, field);
  }
  if (!s.isFile()) {
    throw badInput(`Expected ${INPUT_KINDS[kind].what}, found ${describeStat(s)}`, { ...where, hint: s.isDirectory() ? 'Give a file inside it.' : 'Give a regular file.' });
  }
  if (kind !== 'weights') {
    const bound = inputBound(kind);
    if (s.size > bound) {
      const spec = INPUT_KINDS[kind];
      throw badInput(`The file is ${mib(s.size)}, over the ${mib(bound)} bound for ${spec.what}`, { ...where, hint: `Set ${spec.env} (MiB) to allow more.` });
    }
  }
  return s;
}

/**
 * Opens a checked regular file read-only and non-blocking (should it have been swapped for a FIFO
 * since the stat, opening does not wait for a writer), and checks it again through the descriptor.
 */
export function openInput(file: string, kind: InputKind, field?: string): number {
  checkInput(file, kind, field);
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
  } catch (e) {
    throw inputError(file, kind, e, field);
  }
  try {
    const s = fs.fstatSync(fd);
    if (!s.isFile()) throw badInput(`Expected ${INPUT_KINDS[kind].what}, found ${describeStat(s)}`, { file, ...(field ? { field } : {}) });
    return fd;
  } catch (e) {
    fs.closeSync(fd);
    throw inputError(file, kind, e, field);
  }
}

/** The whole file's bytes, through the gate. */
export function readInputBytes(file: string, kind: InputKind, field?: string): Buffer {
  const fd = openInput(file, kind, field);
  try {
    return fs.readFileSync(fd);
  } catch (e) {
    throw inputError(file, kind, e, field);
  } finally {
    fs.closeSync(fd);
  }
}

/** UTF-8 text of bytes read from `file`; a leading byte-order mark is dropped, invalid UTF-8 refused. */
export function decodeText(bytes: Uint8Array, file: string, kind: InputKind, field?: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    // The first bad byte, for the error: a prefix decodes (in streaming mode) iff it ends before it.
    let [lo, hi] = [0, bytes.length];
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      try {
        new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, mid), { stream: true });
        lo = mid;
      } catch {
        hi = mid - 1;
      }
    }
    // The streaming prefix may end inside the bad sequence's first bytes: back up to where it starts.
    let at = lo;
    for (let k = lo; k >= Math.max(0, lo - 3); k--) {
      try {
        new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, k));
        at = k;
        break;
      } catch {
        // inside a sequence
      }
    }
    throw badInput(`Expected ${INPUT_KINDS[kind].what} in UTF-8, found bytes that are not UTF-8 near byte ${at}`, { file, ...(field ? { field } : {}), hint: 'Save the file as UTF-8.' });
  }
}

/** The whole file as UTF-8 text (BOM accepted), through the gate. */
export function readInputText(file: string, kind: InputKind, field?: string): string {
  return decodeText(readInputBytes(file, kind, field), file, kind, field);
}

/** The file parsed as JSON, through the gate; a parse error names the file. */
export function readInputJson(file: string, kind: InputKind, field?: string): unknown {
  const text = readInputText(file, kind, field);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw badInput(`Expected ${INPUT_KINDS[kind].what}, found text that is not JSON: ${(e as Error).message}`, { file, ...(field ? { field } : {}) });
  }
}

/**
 * Whether something is at `file` (lstat: a dangling link or a link loop counts), so that a reader
 * that treats an absent file as empty hands anything present to the gate, which names what it is.
 */
export function inputPresent(file: string): boolean {
  try {
    fs.lstatSync(file);
    return true;
  } catch {
    return false;
  }
}
