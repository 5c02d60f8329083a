// CLI commands: each a parseArgs option table, a runner returning plain data (printed as JSON
// with --json) and a formatter for people.

import type { ParseArgsConfig } from 'node:util';
import type { ExecutionProviderSetting, SelfTestResult } from '../protocol/engine';
import { badInput } from '../core/errors';
import { ortBackends, ortVersion } from '../core/runtime/ort';
import { resolveProvider } from '../core/runtime/providers';
import { selfTest } from '../core/runtime/selftest';

export interface Command {
  summary: string;
  help: string;
  options: NonNullable<ParseArgsConfig['options']>;
  run(values: Record<string, unknown>, ctx: { json: boolean }): Promise<unknown>;
  format(result: unknown): string;
}

const PROVIDERS = ['auto', 'cpu', 'cuda', 'webgpu'];

function intOption(values: Record<string, unknown>, name: string, fallback: number, min: number, max: number): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw badInput(`--${name} must be a whole number from ${min} to ${max}, got "${raw}"`, { field: `--${name}` });
  return n;
}

function providerOption(values: Record<string, unknown>): ExecutionProviderSetting {
  const p = (values.provider as string | undefined) ?? 'auto';
  if (!PROVIDERS.includes(p)) throw badInput(`--provider must be one of ${PROVIDERS.join(', ')}, got "${p}"`, { field: '--provider' });
  return p as ExecutionProviderSetting;
}

const doctor: Command = {
  summary: 'check onnxruntime and the execution providers on this machine',
  help: [
    'mechedit doctor [--provider auto|cuda|webgpu|cpu] [--threads N] [--size N] [--iterations N] [--json]',
    '',
    'Resolves the execution provider (auto tries CUDA, then WebGPU, then the CPU, and says why each',
    'one that failed is unusable), then runs a probe graph and checks its result.',
  ].join('\n'),
  options: { provider: { type: 'string' }, threads: { type: 'string' }, size: { type: 'string' }, iterations: { type: 'string' } },
  async run(values) {
    const threads = intOption(values, 'threads', 0, 0, 1024);
    const size = intOption(values, 'size', 256, 1, 8192);
    const iterations = intOption(values, 'iterations', 20, 1, 100_000);
    const { provider, probes } = await resolveProvider(providerOption(values), { threads });
    const result = await selfTest(provider, probes, { size, iterations, threads }, { report: () => undefined, cancelled: false });
    const { output: _output, ...rest } = result;
    return { ortVersion: ortVersion(), ortBackends: ortBackends(), ...rest };
  },
  format(r) {
    const res = r as Omit<SelfTestResult, 'output'> & { ortVersion: string; ortBackends: string[] };
    const sorted = [...res.runMs].sort((a, b) => a - b);
    return [
      `onnxruntime-node ${res.ortVersion} (backends: ${res.ortBackends.join(', ')})`,
      ...res.probes.map((p) => `  ${p.ok ? '✓' : '✗'} ${p.provider}${p.reason ? `: ${p.reason}` : ''}`),
      `provider: ${res.provider}; probe ${res.size}×${res.size}: open ${res.openMs.toFixed(1)} ms, ` +
        `median run ${sorted[Math.floor(sorted.length / 2)].toFixed(3)} ms over ${res.iterations}, max error ${res.maxAbsError.toExponential(2)}`,
    ].join('\n');
  },
};

export const commands: Record<string, Command> = { doctor };
