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

/** Turns anything thrown into ErrorData; unknown errors become 'internal' with their stack. */
export function toErrorData(err: unknown, fallback: ErrorCode = 'internal'): ErrorData {
  if (err instanceof MechEditError) return err.data;
  if (err instanceof Error) return { code: fallback, message: err.message, detail: err.stack };
  return { code: fallback, message: String(err) };
}
