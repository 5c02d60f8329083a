// The one module that loads onnxruntime-node (lint enforces it). It is loaded lazily, after
// telemetry is switched off: ORT 1.30 on Linux otherwise records usage under ~/.cache and
// uploads it. Everything else in core imports types from here and calls loadOrt().

import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as Ort from 'onnxruntime-node';
import { privateRuntimeDir } from './runtimeDir';
import type { ExecutionProvider } from '../../protocol/engine';

export type OrtModule = typeof Ort;
export type InferenceSession = Ort.InferenceSession;
export type OrtTensor = Ort.Tensor;
export type SessionOptions = Ort.InferenceSession.SessionOptions;

let loaded: OrtModule | undefined;

export function loadOrt(): OrtModule {
  if (!loaded) {
    process.env.ORT_DISABLE_TELEMETRY = '1';
    // Dawn (the WebGPU provider) complains on stderr without a runtime dir; give it a private one (one per user, runtimeDir.ts).
    if (process.platform === 'linux' && !process.env.XDG_RUNTIME_DIR) {
      process.env.XDG_RUNTIME_DIR = privateRuntimeDir();
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    loaded = require('onnxruntime-node') as OrtModule;
    // Failures reach us as exceptions with their message; ORT's own log would only repeat them on stderr.
    loaded.env.logLevel = 'fatal';
  }
  return loaded;
}

export function ortVersion(): string {
  return loadOrt().env.versions.node ?? 'unknown';
}

export function ortBackends(): string[] {
  const ort = loadOrt() as OrtModule & { listSupportedBackends?: () => { name: string }[] };
  return ort.listSupportedBackends ? ort.listSupportedBackends().map((b) => b.name) : ['cpu'];
}

/** Options for every session MechEdit opens on `provider` (threads: 0 lets ORT choose). */
export function sessionOptions(provider: ExecutionProvider, config: { threads: number }): SessionOptions {
  const options: SessionOptions = {
    executionProviders: [provider],
    graphOptimizationLevel: 'all',
    // Keeps memory-mapped weights as clean page cache instead of private prepacked copies; intra-op
    // threads sleep instead of spinning between ops (spinning doubled the training step time on a
    // busy 2-core machine: bench/train-speed.mjs, and burns CPU the editor needs).
    extra: { session: { disable_prepacking: '1', 'intra_op.allow_spinning': '0' } },
  };
  if (config.threads > 0) options.intraOpNumThreads = config.threads;
  return options;
}

/** The folder holding onnxruntime-node's native binding (and any provider libraries copied next to it). */
export function ortBinaryDir(): string | undefined {
  try {
    const pkg = path.dirname(require.resolve('onnxruntime-node/package.json'));
    const dir = path.join(pkg, 'bin', 'napi-v6', process.platform, process.arch);
    return fs.existsSync(dir) ? dir : undefined;
  } catch {
    return undefined;
  }
}
