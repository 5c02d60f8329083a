import type { ErrorCode, ErrorData } from '../protocol/errors';

/** An error meant for the user: carries ErrorData that crosses process boundaries unchanged. */
export class MechEditError extends Error {
  readonly data: ErrorData;
  constructor(data: ErrorData) {
    super(data.message);
    this.name = 'MechEditError';
    this.data = data;
  }
}

type Where = { file?: string; field?: string; hint?: string };

export function badInput(message: string, where: Where = {}): MechEditError {
  return new MechEditError({ code: 'bad-input', message, ...where });
}

/** A file or folder that cannot be read or written (no space, read-only, no permission): names the path. */
export function ioError(message: string, where: Where = {}): MechEditError {
  return new MechEditError({ code: 'io', message, ...where });
}

export function unavailable(message: string, hint?: string): MechEditError {
  return new MechEditError({ code: 'unavailable', message, hint });
}

export function cancelled(message = 'Cancelled.'): MechEditError {
  return new MechEditError({ code: 'cancelled', message });
}

/**
 * The errno codes of a failed read or write that are about the place (the disk, its permissions,
 * the path), not about MechEdit: each in words. A Node fs error with one of them becomes an `io`
 * error naming the path (fsError), wherever it was thrown, never `internal`.
 */
export const IO_ERRNO: Readonly<Record<string, string>> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'the disk quota is used up',
  EFBIG: 'the file is too large for the file system',
  EROFS: 'the file system is read-only',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ELOOP: 'too many levels of symbolic links (a symlink loop)',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EISDIR: 'it is a folder, not a file',
  EEXIST: 'something already exists there',
  ENOTEMPTY: 'the folder is not empty',
  ENAMETOOLONG: 'the name is too long',
  EIO: 'an I/O error of the device',
  EBUSY: 'the file or device is busy',
  ETXTBSY: 'the file is busy',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files in the system',
  ENXIO: 'no such device (a FIFO without a reader, or a device that is gone)',
  ENODEV: 'no such device',
  EXDEV: 'the rename crosses file systems',
  ENOENT: 'no such file or folder',
};

const VERBS: Record<string, string> = { open: 'open', read: 'read', write: 'write', mkdir: 'create the folder', rename: 'move into place', unlink: 'remove', rmdir: 'remove', scandir: 'list', stat: 'reach', lstat: 'reach', copyfile: 'copy to', link: 'link', ftruncate: 'truncate', truncate: 'truncate', realpath: 'reach' };

/**
 * A Node fs error (code in IO_ERRNO) as a one-line `io` error: "Cannot write PATH: no space left on
 * the device (ENOSPC)"; `file` is the path the caller meant when the error names none. Anything
 * else: undefined.
 */
export function fsError(err: unknown, file?: string): MechEditError | undefined {
  if (err instanceof MechEditError || !(err instanceof Error)) return undefined;
  const e = err as NodeJS.ErrnoException;
  const reason = typeof e.code === 'string' ? IO_ERRNO[e.code] : undefined;
  if (!reason) return undefined;
  const at = file ?? e.path ?? (e as { dest?: string }).dest;
  const verb = VERBS[e.syscall ?? ''] ?? 'use';
  const hint = e.code === 'ENOSPC' || e.code === 'EDQUOT' ? 'Free some space, or choose a folder on another disk.'
    : e.code === 'EROFS' || e.code === 'EACCES' || e.code === 'EPERM' ? 'Choose a folder you can write to.'
    : 'Check the path.';
  return ioError(`Cannot ${verb} ${at ?? 'the file'}: ${reason} (${e.code})`, { ...(at ? { file: at } : {}), hint });
}

/** Turns anything thrown into ErrorData; fs errors of the place become 'io' (fsError); other unknown errors 'internal' with their stack. */
export function toErrorData(err: unknown, fallback: ErrorCode = 'internal'): ErrorData {
  if (err instanceof MechEditError) return err.data;
  const io = fsError(err);
  if (io) return io.data;
  const sys = err as NodeJS.ErrnoException | null;
  if (err instanceof Error && typeof sys?.code === 'string' && /^E[A-Z]+$/.test(sys.code) && typeof sys.syscall === 'string') {
    const file = sys.path ?? (sys as { dest?: string }).dest;
    return { code: 'io', message: `${sys.syscall} failed: ${sys.code}${file ? '' : ` ${err.message}`}`, ...(file ? { file } : {}), detail: err.stack };
  }
  // A path with a NUL byte (Node refuses it before any system call): the user's input, by definition.
  if (err instanceof Error && (sys as { code?: string }).code === 'ERR_INVALID_ARG_VALUE' && /null bytes/.test(err.message)) {
    return { code: 'bad-input', message: 'A path holds a NUL character', field: 'path', detail: err.stack };
  }
  if (err instanceof Error) return { code: fallback, message: err.message, detail: err.stack };
  return { code: fallback, message: String(err) };
}
