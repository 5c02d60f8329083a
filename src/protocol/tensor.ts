// Tensors cross every boundary (engine ↔ extension ↔ webview) as raw little-endian bytes in
// base64, never as JSON arrays of numbers. Pure TypeScript: no Buffer, atob or DOM here.

export type WireDtype = 'float32' | 'float64' | 'int32' | 'int64' | 'uint8' | 'float16' | 'bool';

export interface WireTensor {
  dtype: WireDtype;
  /** Row-major shape; the product equals the element count. */
  dims: number[];
  /** base64 of the raw little-endian bytes. */
  data: string;
}

const BYTES: Record<WireDtype, number> = { float32: 4, float64: 8, int32: 4, int64: 8, uint8: 1, float16: 2, bool: 1 };

type Typed = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | Uint16Array;

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const LOOKUP = new Int16Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) LOOKUP[ALPHABET.charCodeAt(i)] = i;

export function bytesToBase64(bytes: Uint8Array): string {
  const parts: string[] = [];
  const chunk: string[] = [];
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    chunk.push(
      ALPHABET[(n >> 18) & 63] + ALPHABET[(n >> 12) & 63] +
      (i + 1 < bytes.length ? ALPHABET[(n >> 6) & 63] : '=') +
      (i + 2 < bytes.length ? ALPHABET[n & 63] : '='),
    );
    if (chunk.length === 4096) { parts.push(chunk.join('')); chunk.length = 0; }
  }
  parts.push(chunk.join(''));
  return parts.join('');
}

export function base64ToBytes(text: string): Uint8Array {
  const clean = text.replace(/=+$/, '');
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let bits = 0, value = 0, o = 0;
  for (let i = 0; i < clean.length; i++) {
    const c = clean.charCodeAt(i);
    const d = c < 128 ? LOOKUP[c] : -1;
    if (d < 0) throw new Error(`invalid base64 character at offset ${i}`);
    value = (value << 6) | d;
    bits += 6;
    if (bits >= 8) { bits -= 8; out[o++] = (value >> bits) & 0xff; }
  }
  return out;
}

export function encodeTensor(dtype: WireDtype, dims: number[], values: Typed): WireTensor {
  const count = dims.reduce((a, b) => a * b, 1);
  if (values.length !== count) throw new Error(`tensor has ${values.length} values but dims [${dims}] need ${count}`);
  return { dtype, dims: [...dims], data: bytesToBase64(new Uint8Array(values.buffer, values.byteOffset, values.byteLength)) };
}

/** Decodes into a fresh, aligned typed array of the tensor's dtype (float16 as raw Uint16Array). */
export function decodeTensor(t: WireTensor): { dims: number[]; values: Typed } {
  const bytes = base64ToBytes(t.data);
  const size = BYTES[t.dtype];
  if (size === undefined) throw new Error(`unknown tensor dtype "${t.dtype}"`);
  const count = t.dims.reduce((a, b) => a * b, 1);
  if (bytes.length !== count * size) {
    throw new Error(`tensor of dims [${t.dims}] and dtype ${t.dtype} needs ${count * size} bytes, got ${bytes.length}`);
  }
  const buffer = bytes.buffer;
  switch (t.dtype) {
    case 'float32': return { dims: t.dims, values: new Float32Array(buffer, 0, count) };
    case 'float64': return { dims: t.dims, values: new Float64Array(buffer, 0, count) };
    case 'int32': return { dims: t.dims, values: new Int32Array(buffer, 0, count) };
    case 'int64': return { dims: t.dims, values: new BigInt64Array(buffer, 0, count) };
    case 'float16': return { dims: t.dims, values: new Uint16Array(buffer, 0, count) };
    case 'uint8':
    case 'bool': return { dims: t.dims, values: bytes };
  }
}

/** A vector of numbers as a float32 tensor [n] (the values are rounded to float32). */
export function encodeVector(values: ArrayLike<number>): WireTensor {
  return encodeTensor('float32', [values.length], Float32Array.from(values));
}

/** Rows of equal length as a float32 tensor [rows, cols] (e.g. a [layer][token] grid). */
export function encodeRows(rows: ArrayLike<number>[]): WireTensor {
  const cols = rows.length ? rows[0].length : 0;
  const out = new Float32Array(rows.length * cols);
  rows.forEach((row, r) => {
    if (row.length !== cols) throw new Error(`row ${r} has ${row.length} values, row 0 has ${cols}`);
    out.set(Array.from(row), r * cols);
  });
  return encodeTensor('float32', [rows.length, cols], out);
}

/** A float tensor's values as plain numbers (any shape, row-major). */
function floats(t: WireTensor): Float32Array | Float64Array {
  if (t.dtype !== 'float32' && t.dtype !== 'float64') throw new Error(`expected a float32 or float64 tensor, got ${t.dtype}`);
  return decodeTensor(t).values as Float32Array | Float64Array;
}

/** The inverse of encodeVector: a 1-d float tensor as a number[]. */
export function decodeVector(t: WireTensor): number[] {
  if (t.dims.length !== 1) throw new Error(`expected a vector, got dims [${t.dims}]`);
  return Array.from(floats(t));
}

/** The inverse of encodeRows: a 2-d float tensor as number[][] (rows). */
export function decodeRows(t: WireTensor): number[][] {
  if (t.dims.length !== 2) throw new Error(`expected a matrix [rows, cols], got dims [${t.dims}]`);
  const values = floats(t);
  const [rows, cols] = t.dims;
  return Array.from({ length: rows }, (_, r) => Array.from(values.subarray(r * cols, (r + 1) * cols)));
}
