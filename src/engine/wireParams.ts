// Checks on tensor parameters (src/protocol/tensor.ts WireTensor) that arrive over the wire:
// the shape, dtype and bytes are checked before any value is used, and every value must be finite
// and bounded (LIMITS.vectorEntry), as for plain numbers in params.ts.

import { badInput } from '../core/errors';
import { decodeTensor, type WireTensor } from '../protocol/tensor';
import { LIMITS } from './params';

/** A float vector [length] sent as a WireTensor (encodeVector), as a Float32Array. */
export function wireVector(value: unknown, length: number, field: string): Float32Array {
  const want = `a float32 tensor [${length}] (encodeVector in src/protocol/tensor.ts) of finite numbers of magnitude ≤ ${LIMITS.vectorEntry}`;
  const t = value as Partial<WireTensor> | null;
  const shaped = typeof t === 'object' && t !== null && !Array.isArray(t) && (t.dtype === 'float32' || t.dtype === 'float64') &&
    Array.isArray(t.dims) && t.dims.length === 1 && t.dims[0] === length && typeof t.data === 'string';
  if (!shaped) {
    const got = Array.isArray(value) ? `a JSON array of ${value.length} values` : typeof t === 'object' && t !== null ? `dtype ${JSON.stringify(t.dtype)}, dims ${JSON.stringify(t.dims)}` : typeof value;
    throw badInput(`"${field}" must be ${want}, got ${got}`, { field });
  }
  let values: Float32Array;
  try {
    values = Float32Array.from(decodeTensor(t as WireTensor).values as Float32Array | Float64Array);
  } catch (e) {
    throw badInput(`"${field}" must be ${want}: ${(e as Error).message}`, { field });
  }
  const bad = values.findIndex((v) => !Number.isFinite(v) || Math.abs(v) > LIMITS.vectorEntry);
  if (bad >= 0) throw badInput(`"${field}" must be ${want}, got ${values[bad]} at index ${bad}`, { field });
  return values;
}
