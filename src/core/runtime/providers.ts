// Execution providers: the setting `auto|cuda|webgpu|cpu` resolved to the one that really runs.
// `auto` tries CUDA, then WebGPU, then the CPU, by opening and running a tiny probe graph on each;
// every failed try is kept with a reason that says what to do.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { EngineConfig, ExecutionProvider, ExecutionProviderSetting, ProviderProbe } from '../../protocol/engine';
import { unavailable } from '../errors';
import { loadOrt, ortBackends, type InferenceSession, type SessionOptions } from './ort';
import { probeGraph, checkProbeOutput } from './probe';

export const AUTO_ORDER: ExecutionProvider[] = ['cuda', 'webgpu', 'cpu'];

const HINTS: Record<ExecutionProvider, string> = {
  cuda:
    'The CUDA provider libraries (libonnxruntime_providers_cuda.so, _shared.so) are not next to onnxruntime-node. ' +
    'Get them with `ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node` on a machine with internet, or copy the same-version files ' +
    'from a pip onnxruntime-gpu 1.30.0 wheel (onnxruntime/capi/) into node_modules/onnxruntime-node/bin/napi-v6/linux/x64/; ' +
    'CUDA and cuDNN must be on LD_LIBRARY_PATH before VS Code starts (setting mechedit.engine.libraryPath).',
  webgpu:
    'WebGPU needs a Vulkan driver that Dawn accepts (Mesa lavapipe 22 is refused). On a headless Linux machine, ' +
    'Chromium\'s SwiftShader works: set VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json (setting mechedit.engine.env).',
  cpu: 'The CPU provider is always built in; if it fails, onnxruntime-node is not installed correctly (reinstall the extension).',
};

export function sessionOptions(provider: ExecutionProvider, config: Pick<EngineConfig, 'threads'>): SessionOptions {
  const options: SessionOptions = {
    executionProviders: [provider],
    graphOptimizationLevel: 'all',
    // Keeps memory-mapped weights as clean page cache instead of private prepacked copies.
    extra: { session: { disable_prepacking: '1' } },
  };
  if (config.threads > 0) options.intraOpNumThreads = config.threads;
  return options;
}

/** Opens and runs the probe graph on one provider; never throws. */
export async function probeProvider(provider: ExecutionProvider, config: Pick<EngineConfig, 'threads'>): Promise<ProviderProbe> {
  const backends = ortBackends();
  if (!backends.includes(provider)) {
    return { provider, ok: false, reason: `This onnxruntime-node build has no ${provider} backend. ${HINTS[provider]}` };
  }
  if (provider === 'webgpu' && !findVulkanLoader()) {
    return { provider, ok: false, reason: `libvulkan.so.1 (the Vulkan loader) is not installed: on Debian/Ubuntu, apt-get install libvulkan1. ${HINTS.webgpu}` };
  }
  let session: InferenceSession | undefined;
  try {
    const ort = loadOrt();
    const probe = probeGraph(16);
    // Fatal-only logging: a missing provider is an expected outcome here, reported in `reason`.
    session = await ort.InferenceSession.create(probe.model, { ...sessionOptions(provider, config), logSeverityLevel: 4 });
    const out = await session.run({ x: new ort.Tensor('float32', probe.x, [16, 16]) });
    const err = checkProbeOutput(probe, out.y.data as Float32Array);
    if (err > 1e-3) return { provider, ok: false, reason: `${provider} ran the probe graph with a wrong result (max error ${err.toExponential(2)}).` };
    return { provider, ok: true };
  } catch (e) {
    const text = e instanceof Error ? e.message : String(e);
    return { provider, ok: false, reason: `${firstLine(text)} — ${HINTS[provider]}` };
  } finally {
    await session?.release().catch(() => undefined);
  }
}

/** Resolves the setting to a provider that works, with the probes that led there. */
export async function resolveProvider(
  setting: ExecutionProviderSetting,
  config: Pick<EngineConfig, 'threads'>,
): Promise<{ provider: ExecutionProvider; probes: ProviderProbe[] }> {
  const order = setting === 'auto' ? AUTO_ORDER : [setting];
  const probes: ProviderProbe[] = [];
  for (const provider of order) {
    const probe = await probeProvider(provider, config);
    probes.push(probe);
    if (probe.ok) return { provider, probes };
  }
  const failed = probes[probes.length - 1];
  throw unavailable(`Execution provider "${setting}" is not usable: ${failed.reason}`,
    setting === 'auto' ? undefined : 'Set mechedit.executionProvider to "auto" to fall back to the CPU.');
}

/** Dawn (ORT's WebGPU) loads libvulkan.so.1; without it, it only prints a warning and fails. */
function findVulkanLoader(): boolean {
  if (process.platform !== 'linux') return true;
  const dirs = [...(process.env.LD_LIBRARY_PATH ?? '').split(':'), '/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/usr/local/lib', '/lib/x86_64-linux-gnu'];
  return dirs.some((d) => d && fs.existsSync(path.join(d, 'libvulkan.so.1')));
}

function firstLine(text: string): string {
  const line = text.split('\n').find((l) => l.trim()) ?? text;
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}
