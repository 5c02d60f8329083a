// A tiny graph used to check that a provider really runs, and by the engine self-test:
//   x [n, n] → y = Relu(Gemm(x, W, b, transB=1))   (W stored [out, in], as checkpoints store it)
// with W and b deterministic, and a JS reference to compare against.

import { GraphBuilder } from '../onnx/proto';

export interface ProbeGraph {
  size: number;
  model: Uint8Array;
  x: Float32Array;
  w: Float32Array;
  b: Float32Array;
}

/** Deterministic values in [-1, 1) (a plain LCG: the numbers only need to be reproducible). */
function fill(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

export function probeGraph(size: number): ProbeGraph {
  const w = fill(size * size, 1);
  const b = fill(size, 2);
  const x = fill(size * size, 3);
  const g = new GraphBuilder('probe');
  g.input('x', 'float32', [size, size]);
  g.constant('W', w, [size, size]);
  g.constant('b', b, [size]);
  const h = g.op('Gemm', ['x', 'W', 'b'], { transB: 1 });
  g.op('Relu', [h], {}, 'y');
  g.output('y', 'float32', [size, size]);
  return { size, model: g.toBytes(), x, w, b };
}

/** Max absolute difference between the provider's output and a float64 JS reference. */
export function checkProbeOutput(p: ProbeGraph, y: Float32Array): number {
  const n = p.size;
  let maxErr = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let acc = p.b[j];
      for (let k = 0; k < n; k++) acc += p.x[i * n + k] * p.w[j * n + k];
      maxErr = Math.max(maxErr, Math.abs(Math.max(acc, 0) - y[i * n + j]));
    }
  }
  return maxErr;
}
