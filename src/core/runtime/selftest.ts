// The engine self-test: opens the probe graph on the resolved provider, runs it `iterations`
// times, checks the result against the JS reference and reports per-run latency.

import type { ExecutionProvider, SelfTestResult, ProviderProbe } from '../../protocol/engine';
import { encodeTensor } from '../../protocol/tensor';
import { cancelled } from '../errors';
import { loadOrt, sessionOptions } from './ort';
import { probeGraph, checkProbeOutput } from './probe';

export interface Progress {
  /** Throttled to ~20 a second unless `always` (streamed items such as generated tokens). */
  report(done: number, total: number, message?: string, always?: boolean): void;
  /** True once the caller has cancelled; long loops check it between steps. */
  readonly cancelled: boolean;
}

export async function selfTest(
  provider: ExecutionProvider,
  probes: ProviderProbe[],
  opts: { size: number; iterations: number; threads: number },
  progress: Progress,
): Promise<SelfTestResult> {
  const ort = loadOrt();
  const probe = probeGraph(opts.size);
  const t0 = performance.now();
  const session = await ort.InferenceSession.create(probe.model, sessionOptions(provider, opts));
  const openMs = performance.now() - t0;
  try {
    const feeds = { x: new ort.Tensor('float32', probe.x, [opts.size, opts.size]) };
    let y = (await session.run(feeds)).y.data as Float32Array; // warm-up
    const runMs: number[] = [];
    for (let i = 0; i < opts.iterations; i++) {
      if (progress.cancelled) throw cancelled('Self-test cancelled.');
      const start = performance.now();
      y = (await session.run(feeds)).y.data as Float32Array;
      runMs.push(performance.now() - start);
      progress.report(i + 1, opts.iterations, `run ${i + 1} of ${opts.iterations}`);
      // Yield so that a $/cancelRequest between runs is read before the next run.
      await new Promise((r) => setImmediate(r));
    }
    return {
      provider,
      probes,
      size: opts.size,
      iterations: opts.iterations,
      openMs,
      runMs,
      output: encodeTensor('float32', [opts.size, opts.size], y),
      maxAbsError: checkProbeOutput(probe, y),
    };
  } finally {
    await session.release();
  }
}
