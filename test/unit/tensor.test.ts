import { test } from 'node:test';
import assert from 'node:assert/strict';
import { base64ToBytes, bytesToBase64, decodeTensor, encodeTensor } from '../../src/protocol/tensor';

test('base64 matches Node\'s encoder on every length and byte value', () => {
  for (let n = 0; n < 70; n++) {
    const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 37 + n * 11) & 255);
    const expected = Buffer.from(bytes).toString('base64');
    assert.equal(bytesToBase64(bytes), expected, `length ${n}`);
    assert.deepEqual(base64ToBytes(expected), bytes);
  }
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  assert.equal(bytesToBase64(all), Buffer.from(all).toString('base64'));
});

test('tensors round-trip as raw bytes, including a view at an offset', () => {
  const backing = new Float32Array([9, 1.5, -2.25, Math.PI, 1e-30, -0]);
  const view = backing.subarray(1, 5);
  const wire = encodeTensor('float32', [2, 2], view);
  assert.equal(typeof wire.data, 'string');
  assert.equal(wire.data, Buffer.from(view.buffer, view.byteOffset, view.byteLength).toString('base64'));
  const back = decodeTensor(wire);
  assert.deepEqual(back.dims, [2, 2]);
  assert.deepEqual(Array.from(back.values as Float32Array), Array.from(view));

  const ids = decodeTensor(encodeTensor('int64', [3], new BigInt64Array([1n, -2n, 50256n])));
  assert.deepEqual(Array.from(ids.values as BigInt64Array), [1n, -2n, 50256n]);
});

test('a tensor whose bytes do not match its dims is refused with both numbers', () => {
  assert.throws(() => encodeTensor('float32', [3], new Float32Array(2)), /2 values but dims \[3\] need 3/);
  const wire = encodeTensor('float32', [2], new Float32Array(2));
  assert.throws(() => decodeTensor({ ...wire, dims: [3] }), /needs 12 bytes, got 8/);
  assert.throws(() => base64ToBytes('ab$d'), /invalid base64 character at offset 2/);
});
