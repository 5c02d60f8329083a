// Names several protocol files share (engine settings and info, the fact editors). A leaf: it
// imports only ./tensor, so that every other protocol file can import it without a cycle;
// engine.ts re-exports these names for its importers.

import type { WireTensor } from './tensor';

export type ExecutionProvider = 'cpu' | 'cuda' | 'webgpu';
export type ExecutionProviderSetting = 'auto' | ExecutionProvider;

/** Settings the engine is started with; sent again when they change. */
export interface EngineConfig {
  executionProvider: ExecutionProviderSetting;
  /** Intra-op threads for ORT; 0 lets ORT choose. */
  threads: number;
}

export interface ProviderProbe {
  provider: ExecutionProvider;
  ok: boolean;
  /** True when it was not probed at all (an earlier one works, or the setting names another); reason says which. */
  skipped?: boolean;
  /** Why it is not usable or not tried, and what to do about it. */
  reason?: string;
}

export interface EngineInfo {
  engineVersion: string;
  pid: number;
  nodeVersion: string;
  platform: string;
  ortVersion: string;
  /** Backends compiled into this onnxruntime-node build ('cpu', 'webgpu', 'cuda', …). */
  ortBackends: string[];
  config: EngineConfig;
  /** The provider runs use, once resolved (after the first session or an explicit probe). */
  resolvedProvider?: ExecutionProvider;
  probes?: ProviderProbe[];
  telemetryDisabled: boolean;
  uptimeMs: number;
}

export interface SelfTestParams {
  /** Matrix size of the probe graph (y = relu(x·W + b)), default 256. */
  size?: number;
  /** Timed runs after one warm-up, default 20. */
  iterations?: number;
  progressToken?: string;
}

export interface SelfTestResult {
  provider: ExecutionProvider;
  probes: ProviderProbe[];
  size: number;
  iterations: number;
  /** Session creation time in ms. */
  openMs: number;
  /** Per-run latency in ms, one entry per timed run. */
  runMs: number[];
  /** The output of the last run, checked against a JS reference by the engine. */
  output: WireTensor;
  maxAbsError: number;
}

/** A fact editor's id: a registry method of kind 'fact' (one request per edit) or 'batch' (several). */
export type FactMethod = string;

