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

export function unavailable(message: string, hint?: string): MechEditError {
  return new MechEditError({ code: 'unavailable', message, hint });
}

export function cancelled(message = 'Cancelled.'): MechEditError {
  return new MechEditError({ code: 'cancelled', message });
}

/**
 * Turns anything thrown into ErrorData; a system error from the file system (it has an errno
 * code and a syscall) becomes 'io' naming its path; other unknown errors become 'internal' with
 * their stack.
 */
export function toErrorData(err: unknown, fallback: ErrorCode = 'internal'): ErrorData {
  if (err instanceof MechEditError) return err.data;
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
