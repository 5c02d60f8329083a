// Plausible magnitudes of the numbers MechEdit reads from files: edit vectors (U, V, K of a
// sidecar) and model weights. Contract: every value is finite and |x| ≤ the bound (default 1e6,
// MECHEDIT_MAX_VALUE overrides it); values above the warning band (bound / 100) are accepted
// with a warning the caller shows. A refusal names the file, the tensor and the first bad index.

import { badInput } from './errors';

export const VALUE_BOUND_DEFAULT = 1e6;
export const VALUE_BOUND_ENV = 'MECHEDIT_MAX_VALUE';
/** Values above bound × WARN_FRACTION (1e4 by default) are accepted with a warning. */
export const WARN_FRACTION = 0.01;

/** The magnitude bound for edit vectors and weights (MECHEDIT_MAX_VALUE when set to a positive number). */
export function valueBound(): number {
  const raw = process.env[VALUE_BOUND_ENV];
  if (raw === undefined || raw.trim() === '') return VALUE_BOUND_DEFAULT;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw badInput(`${VALUE_BOUND_ENV}=${raw} is not a positive number`, { field: VALUE_BOUND_ENV, hint: `Unset it (default ${VALUE_BOUND_DEFAULT}) or give a bound such as 1e7.` });
  return n;
}

/** The first value that is NaN, ±∞ or beyond ±bound, as [index, value]; undefined when all are fine. Also the largest |x|. */
export function scanValues(values: ArrayLike<number>, bound: number): { bad?: [number, number]; maxAbs: number } {
  if (values instanceof Float32Array) return scanF32(values, bound);
  let maxAbs = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    const a = Math.abs(v);
    if (!(a <= bound)) return { bad: [i, v], maxAbs: Number.isNaN(a) ? NaN : a };
    if (a > maxAbs) maxAbs = a;
  }
  return { maxAbs };
}

/**
 * Checks `values` (a tensor named `what` in `file`, at `field`): refuses a non-finite value or one
 * beyond the bound; returns a warning when the largest |x| is in the warning band, else undefined.
 */
export function checkMagnitudes(values: ArrayLike<number>, what: string, where: { file: string; field: string }, hint: string): string | undefined {
  const bound = valueBound();
  const { bad, maxAbs } = scanValues(values, bound);
  if (bad) {
    const [i, v] = bad;
    const why = Number.isFinite(v) ? `${v.toExponential(3)}, beyond the bound ±${bound.toExponential(0)}` : `${v}`;
    throw badInput(`${what} holds ${why} at index ${i}`, { ...where, hint: `${hint} (${VALUE_BOUND_ENV} sets the bound.)` });
  }
  if (maxAbs > bound * WARN_FRACTION) return `${what} in ${where.file}: largest |x| ${maxAbs.toExponential(3)} is within a factor 100 of the bound ${bound.toExponential(0)}`;
  return undefined;
}

/** scanValues for float32 (monomorphic: the weights' common case, about 3× faster). */
function scanF32(values: Float32Array, bound: number): { bad?: [number, number]; maxAbs: number } {
  let maxAbs = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    const a = v < 0 ? -v : v;
    if (!(a <= bound)) return { bad: [i, v], maxAbs: Number.isNaN(a) ? NaN : a };
    if (a > maxAbs) maxAbs = a;
  }
  return { maxAbs };
}
