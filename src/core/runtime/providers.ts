// Execution providers: the setting `auto|cuda|webgpu|cpu` resolved to the one that really runs.
// `auto` tries CUDA, then WebGPU, then the CPU, by opening and running a tiny probe graph on each.
// Every provider gets an entry in `probes`: it works, it failed (with a reason that says what to
// do, quoting what the native libraries logged), or it was not tried (and why).
//
// CUDA and WebGPU are probed in a short-lived child process (probeChild.ts): Dawn and the Vulkan
// loader print warnings straight to fd 2 when no adapter is found, which would otherwise reach
// every command's stderr. Its findings are cached for PROBE_CACHE_MS in <cache>/providers.json,
// keyed by what decides them (host, Node binary, onnxruntime's binaries, VK_*/CUDA_* variables),
// so that a run of CLI commands pays for the child once. The CPU is probed in process.

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { EngineConfig, ExecutionProvider, ExecutionProviderSetting, ProviderProbe } from '../../protocol/engine';
import { unavailable } from '../errors';
import { ortBackends, ortBinaryDir, ortVersion } from './ort';
import { gpuChecks, missingPieces } from './gpuLibs';
import { LOG_MARK, runProbe, type ProbeOutcome } from './probe';
import { cacheRoot } from '../cacheRoot';
import { writeFileAtomic } from '../atomicWrite';
import { readInputJson } from '../inputs';

export const AUTO_ORDER: ExecutionProvider[] = ['cuda', 'webgpu', 'cpu'];

/** How long a cached probe outcome is trusted (doctor always probes afresh). */
export const PROBE_CACHE_MS = 10 * 60 * 1000;
/** A probe process still running after this long is killed and its provider counted unusable. */
const PROBE_TIMEOUT_MS = 60_000;

const HINTS: Record<ExecutionProvider, string> = {
  cuda:
    'CUDA needs libonnxruntime_providers_cuda.so and _shared.so of ORT 1.30.0 next to onnxruntime-node (from NuGet Microsoft.ML.OnnxRuntime.Gpu.Linux 1.30.0), ' +
    'CUDA 12 and cuDNN 9 on LD_LIBRARY_PATH before VS Code starts (setting mechedit.engine.libraryPath) and the NVIDIA driver: docs/gpu.md; `mechedit doctor` checks each piece.',
  webgpu:
    'WebGPU needs a Vulkan driver that Dawn accepts (Mesa lavapipe 22 is refused). On a headless Linux machine, ' +
    'Chromium\'s SwiftShader works: set VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json (setting mechedit.engine.env).',
  cpu: 'The CPU provider is always built in; if it fails, onnxruntime-node is not installed correctly (reinstall the extension).',
};

export interface Resolution {
  provider: ExecutionProvider;
  /** One entry per provider of AUTO_ORDER, in that order. */
  probes: ProviderProbe[];
  /** Wall time spent probing (ms); near 0 when the outcomes came from the cache. */
  probeMs: number;
  /** True when the CUDA/WebGPU outcomes came from <cache>/providers.json. */
  cached: boolean;
}

/**
 * Resolves the setting to a provider that works, with the probes that led there. Throws
 * `unavailable` when none does. `fresh` ignores cached outcomes (they are still refreshed).
 */
export async function resolveProvider(
  setting: ExecutionProviderSetting,
  config: Pick<EngineConfig, 'threads'>,
  opts: { fresh?: boolean } = {},
): Promise<Resolution> {
  const t0 = performance.now();
  const order = setting === 'auto' ? AUTO_ORDER : [setting];
  const precheck = new Map<ExecutionProvider, string>();
  for (const p of order) {
    const reason = unusableBeforeProbing(p);
    if (reason) precheck.set(p, reason);
  }
  const outOfProcess = order.filter((p) => p !== 'cpu' && !precheck.has(p));
  const { outcomes, cached } = outOfProcess.length ? await probeOutOfProcess(outOfProcess, config.threads, opts.fresh ?? false) : { outcomes: [], cached: false };

  const probes: ProviderProbe[] = [];
  let chosen: ExecutionProvider | undefined;
  for (const p of order) {
    if (chosen) break;
    const early = precheck.get(p);
    const outcome = early ? undefined : p === 'cpu' ? await runProbe('cpu', config.threads) : outcomes.find((o) => o.provider === p);
    if (early) probes.push({ provider: p, ok: false, reason: early });
    else if (!outcome) probes.push({ provider: p, ok: false, reason: 'The probe process ended before reaching this provider.' });
    else probes.push(describe(outcome));
    if (probes[probes.length - 1].ok) chosen = p;
  }
  const failed = probes[probes.length - 1];
  for (const p of AUTO_ORDER) {
    if (probes.some((x) => x.provider === p)) continue;
    const why = setting === 'auto' ? `${chosen} comes first in the auto order and works` : `the setting asks for ${setting}`;
    probes.push({ provider: p, ok: false, skipped: true, reason: `Not tried: ${why}.` });
  }
  probes.sort((a, b) => AUTO_ORDER.indexOf(a.provider) - AUTO_ORDER.indexOf(b.provider));
  if (!chosen) {
    throw unavailable(`Execution provider "${setting}" is not usable: ${failed.reason}`,
      setting === 'auto' ? undefined : 'Set mechedit.executionProvider to "auto" to fall back to the CPU.');
  }
  return { provider: chosen, probes, probeMs: performance.now() - t0, cached };
}

/** A reason when a provider cannot work whatever the probe would say (cheap checks, no native code). */
function unusableBeforeProbing(provider: ExecutionProvider): string | undefined {
  if (!ortBackends().includes(provider)) return `This onnxruntime-node build has no ${provider} backend. ${HINTS[provider]}`;
  if (provider === 'webgpu' && !findVulkanLoader()) {
    return `libvulkan.so.1 (the Vulkan loader) is not installed: on Debian/Ubuntu, apt-get install libvulkan1. ${HINTS.webgpu}`;
  }
  return undefined;
}

/** An outcome as the user reads it: ok, or why not and what to do. */
function describe(o: ProbeOutcome & { log?: string }): ProviderProbe {
  if (o.ok) return { provider: o.provider, ok: true };
  const native = o.log ? ` (native log: ${o.log})` : '';
  if (o.error === undefined) {
    return { provider: o.provider, ok: false, reason: `${o.provider} ran the probe graph with a wrong result (max error ${(o.maxError ?? NaN).toExponential(2)}).${native}` };
  }
  return { provider: o.provider, ok: false, reason: `${ortMessage(o.error)}${native} — ${missingNote(o.provider)}${HINTS[o.provider]}` };
}

/** "Missing: a, b. " for a GPU provider's absent pieces (gpuLibs.ts; without the version scan), or ''. */
function missingNote(provider: ExecutionProvider): string {
  if (provider === 'cpu') return '';
  const missing = missingPieces(gpuChecks({ binDir: ortBinaryDir(), ortVersion: ortVersion(), quick: true }), provider);
  return missing.length ? `Missing: ${missing.join(', ')}. ` : '';
}

/**
 * Probes `providers` in order in child processes, stopping after the first that works; a child
 * that dies or hangs on one provider costs that provider only (the rest get a new child).
 */
async function probeOutOfProcess(providers: ExecutionProvider[], threads: number, fresh: boolean): Promise<{ outcomes: (ProbeOutcome & { log?: string })[]; cached: boolean }> {
  const key = cacheKey(providers);
  if (!fresh) {
    const hit = readCache(key);
    if (hit) return { outcomes: hit, cached: true };
  }
  const outcomes: (ProbeOutcome & { log?: string })[] = [];
  let clean = true;
  let rest = providers;
  while (rest.length) {
    const run = await runChild(rest, threads);
    outcomes.push(...run.outcomes);
    clean &&= !run.failure;
    if (run.outcomes.some((o) => o.ok)) break;
    const next = rest[run.outcomes.length];
    if (!next) break;
    // The child ended without an outcome for `next`: count it unusable and go on with the others.
    outcomes.push({ provider: next, ok: false, error: run.failure ?? 'The probe process ended without an answer.', log: run.logs.get(next), ms: run.ms });
    rest = rest.slice(run.outcomes.length + 1);
  }
  // A crash or a timeout may be passing: only a clean run's outcomes are kept.
  if (clean) writeCache(key, outcomes);
  return { outcomes, cached: false };
}

interface ChildRun {
  outcomes: (ProbeOutcome & { log?: string })[];
  /** Each provider's native stderr lines, summarised. */
  logs: Map<ExecutionProvider, string>;
  /** Why the child ended early (signal, exit code, timeout), if it did. */
  failure?: string;
  ms: number;
}

function runChild(providers: ExecutionProvider[], threads: number): Promise<ChildRun> {
  const script = path.join(__dirname, 'probeChild.js');
  const t0 = performance.now();
  if (!fs.existsSync(script)) {
    return Promise.resolve({ outcomes: [], logs: new Map(), failure: `The provider probe helper ${script} is missing: reinstall MechEdit.`, ms: 0 });
  }
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script, JSON.stringify({ providers, threads })], { stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
    let out = '';
    let err = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, PROBE_TIMEOUT_MS);
    const finish = (failure: string | undefined) => {
      clearTimeout(timer);
      const logs = splitLogs(err);
      const outcomes = out.split('\n').filter((l) => l.trim()).map((l) => {
        const o = JSON.parse(l) as ProbeOutcome;
        return { ...o, log: logs.get(o.provider) };
      });
      resolve({ outcomes, logs, failure, ms: performance.now() - t0 });
    };
    child.on('error', (e) => finish(`The probe process could not start: ${e.message}`));
    child.on('close', (code, signal) => {
      if (timedOut) finish(`The probe did not finish in ${PROBE_TIMEOUT_MS / 1000} s.`);
      else if (signal) finish(`The probe process was killed by ${signal}.`);
      else finish(code === 0 ? undefined : `The probe process exited with code ${code}.`);
    });
  });
}

/** stderr of the child, cut at each provider's mark, as one short line per provider. */
function splitLogs(stderr: string): Map<ExecutionProvider, string> {
  const logs = new Map<ExecutionProvider, string>();
  for (const part of stderr.split(LOG_MARK).slice(1)) {
    const [provider, ...lines] = part.split('\n');
    const text = lines
      .map((l) => l.trim().replace(/^Warning:\s*/, ''))
      // Dawn appends a source-location frame ("at CheckVkSuccessImpl (…/VulkanError.cpp:106)").
      .filter((l) => l && !/^at \S+ \(.*:\d+\)$/.test(l))
      .slice(0, 4)
      .join('; ');
    if (text) logs.set(provider as ExecutionProvider, clip(text));
  }
  return logs;
}

/** ORT's exception text without the C++ source location and condition it starts with. */
function ortMessage(text: string): string {
  const line = text.split('\n').find((l) => l.trim()) ?? text;
  const afterCheck = / was false\. (.+)$/.exec(line);
  return clip((afterCheck ? afterCheck[1] : line.replace(/^\/\S+:\d+ \S+ /, '')).trim());
}

function clip(text: string): string {
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

// --- the cache of probe outcomes -------------------------------------------------------------

interface CacheFile {
  [key: string]: { at: number; outcomes: (ProbeOutcome & { log?: string })[] };
}

const cacheFile = () => path.join(cacheRoot(), 'providers.json');

/** What decides whether CUDA/WebGPU work here: change any of it and the cache is not used. */
function cacheKey(providers: ExecutionProvider[]): string {
  const bin = ortBinaryDir();
  const files = bin ? fs.readdirSync(bin).sort().map((f) => {
    const s = fs.statSync(path.join(bin, f));
    return `${f}:${s.size}:${s.mtimeMs}`;
  }) : [];
  const env = Object.keys(process.env).filter((k) => /^(VK_|CUDA_|NVIDIA_|LD_LIBRARY_PATH$)/.test(k)).sort().map((k) => `${k}=${process.env[k]}`);
  const parts = { providers, host: os.hostname(), node: process.execPath, version: process.version, bin, files, env };
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 24);
}

function readCache(key: string): (ProbeOutcome & { log?: string })[] | undefined {
  try {
    const entry = (readInputJson(cacheFile(), 'cache') as CacheFile)[key];
    const age = Date.now() - entry.at;
    return age >= 0 && age < PROBE_CACHE_MS && Array.isArray(entry.outcomes) ? entry.outcomes : undefined;
  } catch {
    return undefined; // absent, unreadable or not ours: probe again
  }
}

/** Best effort (a read-only cache only costs a probe per command); atomic, as nodes may share the cache. */
function writeCache(key: string, outcomes: (ProbeOutcome & { log?: string })[]): void {
  try {
    let all: CacheFile = {};
    try {
      all = readInputJson(cacheFile(), 'cache') as CacheFile;
    } catch {
      // none yet, or unreadable: start afresh
    }
    const now = Date.now();
    for (const k of Object.keys(all)) if (!(now - all[k]?.at < PROBE_CACHE_MS)) delete all[k];
    all[key] = { at: now, outcomes };
    fs.mkdirSync(cacheRoot(), { recursive: true });
    writeFileAtomic(cacheFile(), JSON.stringify(all));
  } catch {
    // see above
  }
}

/** Dawn (ORT's WebGPU) loads libvulkan.so.1; without it, it only prints a warning and fails. */
function findVulkanLoader(): boolean {
  if (process.platform !== 'linux') return true;
  const dirs = [...(process.env.LD_LIBRARY_PATH ?? '').split(':'), '/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/usr/local/lib', '/lib/x86_64-linux-gnu'];
  return dirs.some((d) => d && fs.existsSync(path.join(d, 'libvulkan.so.1')));
}
