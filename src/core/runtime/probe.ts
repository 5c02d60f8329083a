// A tiny graph used to check that a provider really runs, and by the engine self-test:
//   x [n, n] → y = Relu(Gemm(x, W, b, transB=1))   (W stored [out, in], as checkpoints store it)
// with W and b deterministic, and a JS reference to compare against.

import type { ExecutionProvider } from '../../protocol/engine';
import { GraphBuilder } from '../onnx/proto';
import { loadOrt, sessionOptions, type InferenceSession } from './ort';

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

/** Written by probeChild.ts to stderr before each provider's probe, to tell whose native log is whose. */
export const LOG_MARK = '@@mechedit-probe ';

/** What one probe found, before the reasons and hints are added (providers.ts). */
export interface ProbeOutcome {
  provider: ExecutionProvider;
  ok: boolean;
  /** The exception's message when the provider failed to open or run the graph. */
  error?: string;
  /** Max error against the JS reference when it ran. */
  maxError?: number;
  ms: number;
}

/**
 * Opens and runs the 16×16 probe graph on `provider` in this process; never throws. Native
 * libraries (Dawn, the Vulkan loader, CUDA) may write to fd 2 while it runs: providers.ts
 * calls this in a child process (probeChild.ts) whose stderr it keeps.
 */
export async function runProbe(provider: ExecutionProvider, threads: number): Promise<ProbeOutcome> {
  const t0 = performance.now();
  let session: InferenceSession | undefined;
  try {
    const ort = loadOrt();
    const probe = probeGraph(16);
    // Fatal-only logging: a missing provider is an expected outcome, reported by the caller.
    session = await ort.InferenceSession.create(probe.model, { ...sessionOptions(provider, { threads }), logSeverityLevel: 4 });
    const out = await session.run({ x: new ort.Tensor('float32', probe.x, [16, 16]) });
    const maxError = checkProbeOutput(probe, out.y.data as Float32Array);
    return { provider, ok: maxError <= 1e-3, maxError, ms: performance.now() - t0 };
  } catch (e) {
    return { provider, ok: false, error: e instanceof Error ? e.message : String(e), ms: performance.now() - t0 };
  } finally {
    await session?.release().catch(() => undefined);
  }
}
