// Lazy safetensors reader. Only the header is read (8-byte little-endian length + JSON); tensor
// bytes stay on disk, where ONNX external data memory-maps them. Every header is validated
// against the file size, so a truncated file or an out-of-range offset is reported by file and
// tensor name before onnxruntime ever sees it. The header must be a JSON object of tensors
// ({dtype, shape, data_offsets}) plus an optional "__metadata__" object of strings, and no two
// tensors may share bytes (overlapping data_offsets would make one weight alias another).

import * as fs from 'node:fs';
import { badInput } from '../errors';
import { INPUT_KINDS, inputBound, openInput } from '../inputs';

export type StDtype = 'F32' | 'F16' | 'BF16' | 'F64' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

export const ST_BYTES: Record<StDtype, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

export interface TensorEntry {
  name: string;
  dtype: StDtype;
  shape: number[];
  /** The file that holds it (as given: may be a symlink in the Hugging Face cache). */
  file: string;
  /** Absolute byte offset of the data in the file, and its length. */
  offset: number;
  length: number;
}

/** Where a weight's bytes are, relative to the folder the .onnx file is written to. */
export type WeightLocator = (t: TensorEntry) => { location: string; offset: number };

export interface SafetensorsHeader {
  file: string;
  /** The raw header bytes (for fingerprints). */
  raw: Buffer;
  tensors: Map<string, TensorEntry>;
  metadata: Record<string, string>;
}

export function readSafetensorsHeader(file: string): SafetensorsHeader {
  const fd = openInput(file, 'weights');
  try {
    const size = fs.fstatSync(fd).size;
    if (size < 8) throw badInput(`Not a safetensors file: only ${size} bytes`, { file, hint: 'The file is truncated; download it again.' });
    const lenBuf = Buffer.alloc(8);
    fs.readSync(fd, lenBuf, 0, 8, 0);
    const headerLen = Number(lenBuf.readBigUInt64LE(0));
    const maxHeader = inputBound('weights');
    if (headerLen > maxHeader && 8 + headerLen <= size) {
      throw badInput(`The safetensors header is ${headerLen} bytes, over the ${maxHeader} byte bound`, { file, hint: `Set ${INPUT_KINDS.weights.env} (MiB) to allow more.` });
    }
    if (headerLen <= 0 || 8 + headerLen > size) {
      throw badInput(`Invalid safetensors header length ${headerLen} (file is ${size} bytes)`, { file, hint: 'The file is truncated or not a safetensors file; download it again.' });
    }
    const raw = Buffer.alloc(headerLen);
    fs.readSync(fd, raw, 0, headerLen, 8);
    let json: unknown;
    try {
      json = JSON.parse(raw.toString('utf8'));
    } catch (e) {
      throw badInput(`The safetensors header is not valid JSON: ${(e as Error).message}`, { file, hint: 'The file is corrupt; download it again.' });
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json)) {
      throw badInput(`The safetensors header is ${Array.isArray(json) ? 'a list' : JSON.stringify(json)}, not an object of tensors`, { file, hint: 'The file is corrupt or not a safetensors file; download it again.' });
    }
    const dataStart = 8 + headerLen;
    const tensors = new Map<string, TensorEntry>();
    let metadata: Record<string, string> = {};
    for (const [name, value] of Object.entries(json)) {
      if (name === '__metadata__') {
        if (typeof value !== 'object' || value === null || Array.isArray(value) || !Object.values(value).every((v) => typeof v === 'string')) {
          throw badInput(`"__metadata__" must be an object of strings, got ${JSON.stringify(value)?.slice(0, 80)}`, { file, field: '__metadata__', hint: 'The header is corrupt; download the file again.' });
        }
        metadata = value as Record<string, string>;
        continue;
      }
      tensors.set(name, entry(file, name, value, dataStart, size));
    }
    refuseOverlaps(file, [...tensors.values()]);
    refuseGaps(file, [...tensors.values()], dataStart, size);
    return { file, raw, tensors, metadata };
  } finally {
    fs.closeSync(fd);
  }
}

/** Two tensors whose bytes overlap (one weight would alias another): refused, naming both. */
function refuseOverlaps(file: string, tensors: TensorEntry[]): void {
  const sorted = tensors.filter((t) => t.length > 0).sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < sorted.length; i++) {
    const [a, b] = [sorted[i - 1], sorted[i]];
    if (b.offset < a.offset + a.length) {
      throw badInput(`Tensors "${a.name}" and "${b.name}" share bytes: their data_offsets overlap`, { file, field: b.name, hint: 'The header is corrupt; download the file again.' });
    }
  }
}

/**
 * The tensors' bytes must tile the data section exactly, from its first byte to the end of the
 * file: a gap, or bytes left over, means the header length or an offset is off (a header one
 * byte short shifts every tensor by one byte, which the sizes alone do not show).
 */
function refuseGaps(file: string, tensors: TensorEntry[], dataStart: number, size: number): void {
  const hint = 'The header does not match the data: the file is corrupt; download it again.';
  let at = dataStart;
  for (const t of tensors.filter((x) => x.length > 0).sort((a, b) => a.offset - b.offset)) {
    if (t.offset !== at) throw badInput(`Tensor "${t.name}" starts at data byte ${t.offset - dataStart}, but the tensors before it end at ${at - dataStart}: the data section has a gap`, { file, field: t.name, hint });
    at = t.offset + t.length;
  }
  if (at !== size) throw badInput(`The tensors cover ${at - dataStart} bytes of data, but the file holds ${size - dataStart} after the header`, { file, field: 'data_offsets', hint });
}

function entry(file: string, name: string, value: unknown, dataStart: number, fileSize: number): TensorEntry {
  const where = { file, field: name };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw badInput(`Tensor entry is ${JSON.stringify(value)}, not {dtype, shape, data_offsets}`, where);
  const v = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
  if (typeof v?.dtype !== 'string' || !(v.dtype in ST_BYTES)) {
    throw badInput(`Tensor has unsupported dtype ${JSON.stringify(v?.dtype)}`, { ...where, hint: `Supported: ${Object.keys(ST_BYTES).join(', ')}.` });
  }
  if (!Array.isArray(v.shape) || !v.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw badInput(`Tensor has an invalid shape ${JSON.stringify(v.shape)}`, where);
  }
  const offsets = v.data_offsets;
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) || offsets[1] < offsets[0]) {
    throw badInput(`Tensor has invalid data_offsets ${JSON.stringify(offsets)}`, where);
  }
  const dtype = v.dtype as StDtype;
  const shape = v.shape as number[];
  const length = offsets[1] - offsets[0];
  const expected = shape.reduce((a, b) => a * b, 1) * ST_BYTES[dtype];
  if (length !== expected) {
    throw badInput(`Tensor of shape [${shape}] and dtype ${dtype} needs ${expected} bytes but its data_offsets span ${length}`, { ...where, hint: 'The header is corrupt; download the file again.' });
  }
  const offset = dataStart + offsets[0];
  if (offset + length > fileSize) {
    throw badInput(`Tensor data [${offset}, ${offset + length}) lies beyond the end of the file (${fileSize} bytes)`, { ...where, hint: 'The file is truncated; download it again.' });
  }
  return { name, dtype, shape, file, offset, length };
}

/** Reads one tensor's bytes (for small tensors and edit computations; weights stay mapped). */
export function readTensorBytes(t: TensorEntry): Buffer {
  const fd = openInput(t.file, 'weights');
  try {
    const buf = Buffer.alloc(t.length);
    let done = 0;
    while (done < t.length) {
      const n = fs.readSync(fd, buf, done, t.length - done, t.offset + done);
      if (n === 0) throw badInput(`The file ended inside tensor "${t.name}" (it changed since it was opened)`, { file: t.file, field: t.name });
      done += n;
    }
    return buf;
  } finally {
    fs.closeSync(fd);
  }
}

/** A tensor as float32 (F32 copied, F16/BF16 widened). */
export function readTensorF32(t: TensorEntry): Float32Array {
  const bytes = readTensorBytes(t);
  const n = t.length / ST_BYTES[t.dtype];
  const out = new Float32Array(n);
  if (t.dtype === 'F32') {
    out.set(new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length)));
  } else if (t.dtype === 'BF16') {
    const u32 = new Uint32Array(out.buffer);
    for (let i = 0; i < n; i++) u32[i] = bytes.readUInt16LE(2 * i) << 16;
  } else if (t.dtype === 'F16') {
    for (let i = 0; i < n; i++) out[i] = halfToFloat(bytes.readUInt16LE(2 * i));
  } else {
    throw badInput(`Tensor ${t.name} has dtype ${t.dtype}; a floating-point tensor was expected`, { file: t.file, field: t.name });
  }
  return out;
}

export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}
