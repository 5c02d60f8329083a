// Writes a safetensors file: 8-byte little-endian header length, JSON header (padded with spaces
// to a multiple of 8), then the tensors' bytes in header order. Data is streamed from callbacks
// so that a baked multi-gigabyte checkpoint never sits in memory.

import * as fs from 'node:fs';
import { ST_BYTES, type StDtype } from './safetensors';
import { writeOutWith } from '../outputs';

export interface TensorToWrite {
  name: string;
  dtype: StDtype;
  shape: number[];
  /** Calls `write` with consecutive chunks of the tensor's bytes (in total numel × dtype size). */
  produce(write: (chunk: Uint8Array) => void): void;
}

export function writeSafetensors(file: string, tensors: TensorToWrite[], metadata: Record<string, string> = {}): void {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const t of tensors) {
    const length = t.shape.reduce((a, b) => a * b, 1) * ST_BYTES[t.dtype];
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + length] };
    offset += length;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  // A temp name beside the file, renamed over it when complete (removed if a tensor fails).
  writeOutWith(file, (tmp) => {
    const fd = fs.openSync(tmp, 'w');
    try {
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
      fs.writeSync(fd, len);
      fs.writeSync(fd, json);
      for (const t of tensors) {
        const expected = t.shape.reduce((a, b) => a * b, 1) * ST_BYTES[t.dtype];
        let written = 0;
        t.produce((chunk) => {
          fs.writeSync(fd, chunk);
          written += chunk.byteLength;
        });
        if (written !== expected) throw new Error(`tensor ${t.name}: wrote ${written} bytes, expected ${expected}`);
      }
    } finally {
      fs.closeSync(fd);
    }
  });
}

/** A tensor from a Float32Array (written as F32). */
export function f32Tensor(name: string, shape: number[], data: Float32Array): TensorToWrite {
  return { name, dtype: 'F32', shape, produce: (write) => write(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)) };
}
