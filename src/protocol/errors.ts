// Errors cross process boundaries as plain data, never as class instances (nnsight's rule).
// Every error a user can see carries a message that says what happened and, where known,
// a hint saying what to do, plus the file / field it is about.

export type ErrorCode =
  | 'bad-input' // the user's input (file, field, argument) is wrong; the hint says how to fix it
  | 'not-found' // a file, model or method does not exist
  | 'cancelled' // the caller cancelled the request
  | 'crashed' // the engine process died while the request was pending
  | 'timeout' // no reply within the allowed time
  | 'unavailable' // a capability (e.g. an execution provider) is not present on this machine
  | 'io' // the system refused a read or write (permission, disk full, read-only, I/O error); names the path
  | 'internal'; // a bug: the message and stack help us fix it

export interface ErrorData {
  code: ErrorCode;
  message: string;
  hint?: string;
  file?: string;
  field?: string;
  /** Stack or diagnostic text, for the log only. */
  detail?: string;
}

export function isErrorData(value: unknown): value is ErrorData {
  return typeof value === 'object' && value !== null &&
    typeof (value as ErrorData).code === 'string' && typeof (value as ErrorData).message === 'string';
}

/** One line for a notification: "message (file › field). hint" */
export function formatError(e: ErrorData): string {
  const where = [e.file, e.field].filter(Boolean).join(' › ');
  return `${e.message}${where ? ` (${where})` : ''}${e.hint ? `. ${e.hint}` : ''}`;
}
