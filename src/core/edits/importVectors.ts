// Import of user-made vectors as a manual edit: u (d_out) and v (d_in), or U [r, d_out] and
// V [r, d_in], from .npy (float32/float64, C order) or .safetensors (tensors named u/v or U/V).

import { badInput } from '../errors';
import { readSafetensorsHeader, readTensorF32 } from '../checkpoint/safetensors';
import { readInputBytes } from '../inputs';

export interface Matrix {
  rows: number;
  cols: number;
  data: Float32Array;
}

/** Most values a vector file may hold (2^28 floats, 1 GiB as float32). */
const MAX_VALUES = 2 ** 28;

/**
 * A .npy file (format 1.0–3.0): magic, version, header length (2 bytes in 1.0, 4 later), a
 * Python-literal header {'descr', 'fortran_order', 'shape'}, then the data. Every part is checked
 * against the file's size before it is read; an error names the file and the header field.
 */
export function readNpy(file: string): Matrix {
  const buf = readInputBytes(file, 'vectors');
  const bad = (message: string, field?: string, hint = 'Save with numpy.save(path, array).') => badInput(message, { file, field, hint });
  if (buf.length < 10 || buf.readUInt32BE(0) !== 0x934e554d || buf.toString('latin1', 4, 6) !== 'PY') throw bad('Not a .npy file (bad magic)');
  const major = buf[6];
  if (major < 1 || major > 3) throw bad(`Unsupported .npy format version ${major}.${buf[7]}`, 'version');
  const start = major === 1 ? 10 : 12;
  if (buf.length < start) throw bad('The .npy file is cut inside its header', 'header');
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  if (start + headerLen > buf.length) throw bad(`The .npy header claims ${headerLen} bytes but the file has ${buf.length - start} after its preamble`, 'header', 'The file is truncated; save it again.');
  const header = buf.toString('latin1', start, start + headerLen);
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeText === undefined) throw bad(`Cannot parse the .npy header: ${header.trim().slice(0, 200)}`, 'header');
  if (fortran === 'True') throw bad('Fortran-ordered arrays are not supported', 'fortran_order', 'Save numpy.ascontiguousarray(a).');
  const dims = shapeText.split(',').map((x) => x.trim()).filter(Boolean);
  if (!dims.every((d) => /^\d+$/.test(d))) throw bad(`The shape (${shapeText}) is not a list of whole numbers`, 'shape');
  const shape = dims.map(Number);
  if (shape.length < 1 || shape.length > 2) throw bad(`Expected a vector or a matrix, got shape (${shape})`, 'shape');
  const count = shape.reduce((a, b) => a * b, 1);
  if (count === 0 || count > MAX_VALUES) throw bad(`The shape (${shape}) holds ${count} values; a vector file holds 1…${MAX_VALUES}`, 'shape');
  const size = descr === '<f4' ? 4 : descr === '<f8' ? 8 : 0;
  if (!size) throw bad(`Unsupported dtype ${descr}`, 'descr', 'Use float32 or float64 (little-endian).');
  const body = buf.subarray(start + headerLen);
  if (body.length !== count * size) throw bad(`The shape (${shape}) needs ${count * size} bytes of ${descr} data but the file holds ${body.length}`, 'shape', 'The file is truncated or its header is wrong; save it again.');
  const data = new Float32Array(count);
  if (size === 4) for (let i = 0; i < count; i++) data[i] = body.readFloatLE(4 * i);
  else for (let i = 0; i < count; i++) data[i] = body.readDoubleLE(8 * i);
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
