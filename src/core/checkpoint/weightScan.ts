// The weights' values checked on a checkpoint's first open: every floating-point
// tensor must hold finite values within the magnitude bound (numbers.ts, default |x| ≤ 1e6).
// Files whose float tensors total at most the full-scan size (MECHEDIT_WEIGHT_SCAN_FULL_MIB,
// default 256) are read whole; larger ones are sampled: SAMPLE_WINDOWS windows of WINDOW bytes,
// spread over the tensors in proportion to their size, each tensor at least once (first and last
// bytes included). bench/weight-scan.mjs measures the cost. A refusal names the file and tensor.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { cacheRoot } from '../cacheRoot';
import { badInput } from '../errors';
import { openInput } from '../inputs';
import { scanValues, valueBound, VALUE_BOUND_ENV } from '../numbers';
import { halfToFloat, type TensorEntry } from './safetensors';

export const FULL_SCAN_ENV = 'MECHEDIT_WEIGHT_SCAN_FULL_MIB';
const FULL_SCAN_MIB = 256;
const WINDOW = 64 * 1024;
const SAMPLE_WINDOWS = 512;
const FLOAT_BYTES: Partial<Record<TensorEntry['dtype'], number>> = { F32: 4, F16: 2, BF16: 2, F64: 8 };

export interface WeightScan {
  /** Bytes of float tensors read, of all float tensor bytes. */
  scannedBytes: number;
  totalBytes: number;
  sampled: boolean;
}

function fullScanBytes(): number {
  const raw = process.env[FULL_SCAN_ENV];
  const mib = raw === undefined || raw.trim() === '' ? FULL_SCAN_MIB : Number(raw);
  if (!Number.isFinite(mib) || mib < 0) throw badInput(`${FULL_SCAN_ENV}=${raw} is not a size in MiB`, { field: FULL_SCAN_ENV });
  return mib * 1024 * 1024;
}

/** Decodes little-endian float bytes of `dtype` into numbers. */
function decode(bytes: Buffer, dtype: TensorEntry['dtype']): ArrayLike<number> {
  if (dtype === 'F32' && bytes.byteOffset % 4 === 0) return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  const copy = new Uint8Array(bytes).buffer; // aligned
  if (dtype === 'F32') return new Float32Array(copy);
  if (dtype === 'F64') return new Float64Array(copy);
  const u16 = new Uint16Array(copy);
  const out = new Float32Array(u16.length);
  if (dtype === 'BF16') {
    const u32 = new Uint32Array(out.buffer);
    for (let i = 0; i < u16.length; i++) u32[i] = u16[i] << 16;
  } else {
    for (let i = 0; i < u16.length; i++) out[i] = halfToFloat(u16[i]);
  }
  return out;
}

/** The byte ranges [start, length) of `t` to read: all of it, or `n` windows spread evenly (first and last included). */
function ranges(t: TensorEntry, n: number | undefined, size: number): [number, number][] {
  if (n === undefined || t.length <= n * WINDOW) return [[t.offset, t.length]];
  const span = Math.floor(WINDOW / size) * size;
  const out: [number, number][] = [];
  const last = t.length - span;
  for (let k = 0; k < n; k++) {
    const at = n === 1 ? 0 : Math.floor((last * k) / (n - 1) / size) * size;
    out.push([t.offset + at, span]);
  }
  return out;
}

/**
 * Checks the float tensors of one weight file (all entries of `tensors` lie in `file`).
 * Throws a bad-input error naming the tensor, the element index and the value.
 */
export function scanWeightFile(file: string, tensors: TensorEntry[]): WeightScan {
  const floats = tensors.filter((t) => FLOAT_BYTES[t.dtype] !== undefined && t.length > 0);
  const totalBytes = floats.reduce((a, t) => a + t.length, 0);
  const sampled = totalBytes > fullScanBytes();
  const bound = valueBound();
  let scannedBytes = 0;
  const fd = openInput(file, 'weights');
  try {
    for (const t of floats) {
      const size = FLOAT_BYTES[t.dtype]!;
      const n = sampled ? Math.max(1, Math.round((SAMPLE_WINDOWS * t.length) / totalBytes)) : undefined;
      for (const [start, length] of ranges(t, n, size)) {
        for (let at = start; at < start + length; at += 16 * 1024 * 1024) {
          const len = Math.min(16 * 1024 * 1024, start + length - at);
          const buf = Buffer.allocUnsafe(len);
          if (fs.readSync(fd, buf, 0, len, at) !== len) throw badInput(`The weight file ended inside tensor "${t.name}"`, { file, field: t.name, hint: 'The file is truncated; download it again.' });
          const { bad } = scanValues(decode(buf, t.dtype), bound);
          if (bad) {
            const [i, v] = bad;
            const what = Number.isFinite(v) ? `${v.toExponential(3)}, beyond ±${bound.toExponential(0)}` : String(v);
            throw badInput(`Weight "${t.name}" holds ${what} at element ${(at - t.offset) / size + i}`, { file, field: t.name, hint: `The checkpoint is damaged; download it again (${VALUE_BOUND_ENV} sets the bound).` });
          }
          scannedBytes += len;
        }
      }
    }
  } finally {
    fs.closeSync(fd);
  }
  return { scannedBytes, totalBytes, sampled };
}

/** Checked fingerprints of this process: each checkpoint is scanned on its first open only. */
const scanned = new Set<string>();

/** The cache's record that a checkpoint (by fingerprint, which covers its weight bytes) passed the scan under a bound. */
const passedMarker = (fingerprint: string) => path.join(cacheRoot(), 'weight-scans', `${fingerprint}-${valueBound()}`);

/**
 * scanWeightFile for every weight file of a checkpoint, on its first open: once per process, and
 * not again in later processes once the cache records that it passed (the fingerprint changes
 * with any weight byte). Returns undefined when it was not scanned now.
 */
export function scanCheckpointWeights(fingerprint: string, tensors: Iterable<TensorEntry>): WeightScan | undefined {
  const key = `${fingerprint}-${valueBound()}`;
  if (scanned.has(key) || fs.existsSync(passedMarker(fingerprint))) return undefined;
  const byFile = new Map<string, TensorEntry[]>();
  for (const t of tensors) {
    const list = byFile.get(t.file);
    if (list) list.push(t);
    else byFile.set(t.file, [t]);
  }
  const total: WeightScan = { scannedBytes: 0, totalBytes: 0, sampled: false };
  for (const [file, list] of byFile) {
    const s = scanWeightFile(file, list);
    total.scannedBytes += s.scannedBytes;
    total.totalBytes += s.totalBytes;
    total.sampled ||= s.sampled;
  }
  scanned.add(key);
  try {
    fs.mkdirSync(path.dirname(passedMarker(fingerprint)), { recursive: true });
    fs.writeFileSync(passedMarker(fingerprint), '');
  } catch {
    // A read-only cache only costs a scan per process.
  }
  return total;
}
