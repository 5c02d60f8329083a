// Checks on request parameters that arrive over the wire (the types say nothing at run time).

import { badInput } from '../core/errors';

/** A non-empty string parameter, or a bad-input error naming the field. */
export function text(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0) throw badInput(`"${field}" must be a non-empty string`, { field });
  return value;
}
