// pre = x · W + b for many rows at once, through onnxruntime (its GEMM is many times faster than
// plain loops): the encoder of an SAE over a training batch or a corpus. One small graph,
// built in memory and opened once per thread count.

import { GraphBuilder } from '../onnx/proto';
import { loadOrt, sessionOptions, type InferenceSession } from '../runtime/ort';

const sessions = new Map<number, Promise<InferenceSession>>();

function affineSession(threads: number): Promise<InferenceSession> {
  let s = sessions.get(threads);
  if (!s) {
    const g = new GraphBuilder('mechedit-sae-affine');
    g.input('x', 'float32', ['n', 'd_in']);
    g.input('w', 'float32', ['d_in', 'd_out']);
    g.input('b', 'float32', ['d_out']);
    g.op('Add', [g.op('MatMul', ['x', 'w']), 'b'], {}, 'y');
    g.output('y', 'float32', ['n', 'd_out']);
    s = loadOrt().InferenceSession.create(g.toBytes(), sessionOptions('cpu', { threads }));
    sessions.set(threads, s);
  }
  return s;
}

/** y [n, d_out] = x [n, d_in] · w [d_in, d_out] + b [d_out]. */
export async function affine(x: Float32Array, w: Float32Array, b: Float32Array, dIn: number, threads = 0): Promise<Float32Array> {
  const ort = loadOrt();
  const n = x.length / dIn;
  const dOut = b.length;
  const session = await affineSession(threads);
  const out = await session.run({
    x: new ort.Tensor('float32', x, [n, dIn]),
    w: new ort.Tensor('float32', w, [dIn, dOut]),
    b: new ort.Tensor('float32', b, [dOut]),
  });
  return out.y.data as Float32Array;
}
