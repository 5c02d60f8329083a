// `mechedit doctor`: onnxruntime and the execution providers on this machine.

import type { SelfTestResult } from '../../protocol/engine';
import { ortBackends, ortBinaryDir, ortVersion } from '../../core/runtime/ort';
import { gpuChecks, type GpuCheck } from '../../core/runtime/gpuLibs';
import { resolveProvider } from '../../core/runtime/providers';
import { selfTest } from '../../core/runtime/selftest';
import { intOption, providerOption, type Command } from '../common';

export const doctor: Command = {
  summary: 'check onnxruntime and the execution providers on this machine',
  help: [
    'mechedit doctor [--provider auto|cuda|webgpu|cpu] [--threads N] [--size N] [--iterations N] [--json]',
    '',
    'Resolves the execution provider (auto tries CUDA, then WebGPU, then the CPU, and says why each',
    'one that failed is unusable), then runs a probe graph and checks its result. It also checks each',
    'piece the GPU providers need (the CUDA provider libraries and their ORT version, CUDA / cuDNN',
    'libraries, the NVIDIA driver, the Vulkan loader and drivers) and names the missing ones.',
    'Exit code 0 when the provider asked for (auto: any, the CPU included) runs the probe; 2 when it',
    'is not usable, with the reason and the missing pieces.',
  ].join('\n'),
  options: { provider: { type: 'string' }, threads: { type: 'string' }, size: { type: 'string' }, iterations: { type: 'string' } },
  async run(values) {
    const threads = intOption(values, 'threads', 0, 0, 1024);
    const size = intOption(values, 'size', 256, 1, 8192);
    const iterations = intOption(values, 'iterations', 20, 1, 100_000);
    // Always probes afresh (and refreshes the cached outcomes the other commands use).
    const { provider, probes, probeMs } = await resolveProvider(providerOption(values), { threads }, { fresh: true });
    const result = await selfTest(provider, probes, { size, iterations, threads }, { report: () => undefined, cancelled: false });
    const { output: _output, ...rest } = result;
    const gpu = gpuChecks({ binDir: ortBinaryDir(), ortVersion: ortVersion() });
    return { ortVersion: ortVersion(), ortBackends: ortBackends(), probeMs, ...rest, gpu };
  },
  format(r) {
    const res = r as Omit<SelfTestResult, 'output'> & { ortVersion: string; ortBackends: string[]; probeMs: number; gpu: GpuCheck[] };
    const sorted = [...res.runMs].sort((a, b) => a - b);
    return [
      `onnxruntime-node ${res.ortVersion} (backends: ${res.ortBackends.join(', ')})`,
      ...res.probes.map((p) => `  ${p.ok ? '✓' : p.skipped ? '–' : '✗'} ${p.provider}${p.reason ? `: ${p.reason}` : ''}`),
      `providers probed in ${res.probeMs.toFixed(0)} ms (CUDA and WebGPU in a child process, whose native log is quoted above)`,
      `provider: ${res.provider}; probe ${res.size}×${res.size}: open ${res.openMs.toFixed(1)} ms, ` +
        `median run ${sorted[Math.floor(sorted.length / 2)].toFixed(3)} ms over ${res.iterations}, max error ${res.maxAbsError.toExponential(2)}`,
      'GPU pieces (docs/gpu.md says how to get each):',
      ...res.gpu.map((c) => `  ${c.ok ? '✓' : c.optional ? '–' : '✗'} ${c.for} ${c.name}: ${c.detail}`),
    ].join('\n');
  },
};
