// Import of user-made vectors as a manual edit: u (d_out) and v (d_in), or U [r, d_out] and
// V [r, d_in], from .npy (float32/float64, C order) or .safetensors (tensors named u/v or U/V).

import * as fs from 'node:fs';
import { badInput } from '../errors';
import { readSafetensorsHeader, readTensorF32 } from '../checkpoint/safetensors';

export interface Matrix {
  rows: number;
  cols: number;
  data: Float32Array;
}

export function readNpy(file: string): Matrix {
  const buf = fs.readFileSync(file);
  if (buf.length < 10 || buf.readUInt32BE(0) !== 0x934e554d || buf.toString('latin1', 4, 6) !== 'PY') {
    throw badInput('Not a .npy file (bad magic)', { file, hint: 'Save with numpy.save(path, array).' });
  }
  const major = buf[6];
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', start, start + headerLen);
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeText === undefined) throw badInput(`Cannot parse the .npy header: ${header.trim()}`, { file });
  if (fortran === 'True') throw badInput('Fortran-ordered arrays are not supported', { file, field: 'fortran_order', hint: 'Save numpy.ascontiguousarray(a).' });
  const shape = shapeText.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  if (shape.length < 1 || shape.length > 2) throw badInput(`Expected a vector or a matrix, got shape (${shape})`, { file, field: 'shape' });
  const count = shape.reduce((a, b) => a * b, 1);
  const body = buf.subarray(start + headerLen);
  const data = new Float32Array(count);
  if (descr === '<f4') for (let i = 0; i < count; i++) data[i] = body.readFloatLE(4 * i);
  else if (descr === '<f8') for (let i = 0; i < count; i++) data[i] = body.readDoubleLE(8 * i);
  else throw badInput(`Unsupported dtype ${descr}`, { file, field: 'descr', hint: 'Use float32 or float64 (little-endian).' });
  return shape.length === 1 ? { rows: 1, cols: shape[0], data } : { rows: shape[0], cols: shape[1], data };
}

/** One named tensor (first of `names` present) from a .safetensors file. */
export function readSafetensorsMatrix(file: string, names: string[]): Matrix {
  const header = readSafetensorsHeader(file);
  const name = names.find((n) => header.tensors.has(n));
  if (!name) throw badInput(`No tensor named ${names.join(' or ')}`, { file, hint: `The file holds: ${[...header.tensors.keys()].join(', ')}.` });
  const t = header.tensors.get(name)!;
  if (t.shape.length < 1 || t.shape.length > 2) throw badInput(`Tensor ${name} has shape [${t.shape}]; expected a vector or a matrix`, { file, field: name });
  const data = readTensorF32(t);
  return t.shape.length === 1 ? { rows: 1, cols: t.shape[0], data } : { rows: t.shape[0], cols: t.shape[1], data };
}

export function readVectors(file: string, which: 'u' | 'v'): Matrix {
  const m = file.endsWith('.npy') ? readNpy(file) : file.endsWith('.safetensors') ? readSafetensorsMatrix(file, [which, which.toUpperCase()]) : undefined;
  if (!m) throw badInput('Vectors must be a .npy or .safetensors file', { file });
  if (!m.data.every(Number.isFinite)) throw badInput('The vectors hold NaN or infinite values', { file });
  return m;
}
