// What the engine answers. State lives in one EngineState object, owned by main.ts.

import type { EngineConfig, EngineInfo, ExecutionProvider, ProviderProbe } from '../protocol/engine';
import { badInput } from '../core/errors';
import { ortBackends, ortVersion } from '../core/runtime/ort';
import { resolveProvider } from '../core/runtime/providers';
import { selfTest } from '../core/runtime/selftest';
import type { EngineServer } from './server';

export const ENGINE_VERSION = '0.1.0';

export interface EngineState {
  config: EngineConfig;
  resolved?: { provider: ExecutionProvider; probes: ProviderProbe[] };
  startedAt: number;
}

const PROVIDER_SETTINGS = ['auto', 'cpu', 'cuda', 'webgpu'];

export function registerHandlers(server: EngineServer, state: EngineState): void {
  const info = (): EngineInfo => ({
    engineVersion: ENGINE_VERSION,
    pid: process.pid,
    nodeVersion: process.version,
    platform: `${process.platform}-${process.arch}`,
    ortVersion: ortVersion(),
    ortBackends: ortBackends(),
    config: state.config,
    resolvedProvider: state.resolved?.provider,
    probes: state.resolved?.probes,
    telemetryDisabled: process.env.ORT_DISABLE_TELEMETRY === '1',
    uptimeMs: Date.now() - state.startedAt,
  });

  const provider = async () => {
    state.resolved ??= await resolveProvider(state.config.executionProvider, state.config);
    return state.resolved;
  };

  server.handle('engine/info', async () => info());

  server.handle('engine/configure', async (params) => {
    if (!PROVIDER_SETTINGS.includes(params.executionProvider)) {
      throw badInput(`Unknown execution provider "${params.executionProvider}"`, {
        field: 'mechedit.executionProvider',
        hint: `Use one of: ${PROVIDER_SETTINGS.join(', ')}.`,
      });
    }
    if (!Number.isInteger(params.threads) || params.threads < 0) {
      throw badInput(`Threads must be a whole number ≥ 0, got ${params.threads}`, { field: 'mechedit.threads', hint: 'Use 0 to let onnxruntime choose.' });
    }
    const changed = params.executionProvider !== state.config.executionProvider || params.threads !== state.config.threads;
    state.config = { executionProvider: params.executionProvider, threads: params.threads };
    if (changed) state.resolved = undefined;
    return info();
  });

  server.handle('engine/selfTest', async (params, ctx) => {
    const size = params.size ?? 256;
    const iterations = params.iterations ?? 20;
    if (!Number.isInteger(size) || size < 1 || size > 8192) throw badInput(`Self-test size must be 1…8192, got ${size}`, { field: 'size' });
    if (!Number.isInteger(iterations) || iterations < 1 || iterations > 100_000) throw badInput(`Self-test iterations must be 1…100000, got ${iterations}`, { field: 'iterations' });
    const { provider: ep, probes } = await provider();
    return selfTest(ep, probes, { size, iterations, threads: state.config.threads }, ctx.progress(params.progressToken));
  });
}
