// What the engine answers. State lives in one EngineState object, owned by main.ts.

import type { EngineConfig, EngineInfo, ExecutionProvider, ProviderProbe } from '../protocol/engine';
import { badInput } from '../core/errors';
import { ortBackends, ortVersion } from '../core/runtime/ort';
import { resolveProvider } from '../core/runtime/providers';
import { selfTest } from '../core/runtime/selftest';
import { LoadedModel } from '../core/runtime/model';
import { modelInfo } from '../core/analysis/info';
import { MechEditError } from '../core/errors';
import { EditStack } from '../core/edits/stack';
import { readEdit } from '../core/edits/editFile';
import type { StackState } from '../protocol/edits';
import { defaultCorpus, keyStats } from '../core/edits/stats';
import type { EngineServer } from './server';
import { flag, layer, optionalInt, strength, text, texts, LIMITS } from './params';
import { registerEditHandlers } from './editHandlers';
import { registerAnalysis } from './modelHandlers';
import { registerPatching } from './patchHandlers';
import { describeRegistry } from '../core/registry/index';
import { registerDiagnostics } from './diagnosticsHandlers';
import { registerConcepts } from './conceptHandlers';
import { registerSae } from './saeHandlers';
import { registerDiagnoseEdit } from './diagnoseHandlers';
import { registerUnlearnHandlers } from './unlearnHandlers';
import { registerLifelongHandlers } from './lifelongHandlers';
import { registerSweepHandlers } from './sweepHandlers';

export const ENGINE_VERSION = '0.1.0';

export interface EngineState {
  config: EngineConfig;
  resolved?: { provider: ExecutionProvider; probes: ProviderProbe[] };
  model?: LoadedModel;
  stack?: EditStack;
  startedAt: number;
  log(message: string): void;
}

const PROVIDER_SETTINGS = ['auto', 'cpu', 'cuda', 'webgpu'];

/** The execution provider runs use, resolved once per configuration. */
async function providerOf(state: EngineState) {
  state.resolved ??= await resolveProvider(state.config.executionProvider, state.config);
  return state.resolved;
}

/** engine/info, engine/configure (a changed provider reopens the model on it), engine/selfTest. */
function registerEngine(server: EngineServer, state: EngineState, retire: (old: LoadedModel | undefined) => void): void {
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

  server.handle('engine/info', async () => info());

  server.handle('engine/configure', async (params) => {
    if (!PROVIDER_SETTINGS.includes(params.executionProvider)) {
      throw badInput(`Unknown execution provider "${params.executionProvider}"`, {
        field: 'mechedit.executionProvider',
        hint: `Use one of: ${PROVIDER_SETTINGS.join(', ')}.`,
      });
    }
    if (!Number.isInteger(params.threads) || params.threads < 0 || params.threads > 1024) {
      throw badInput(`Threads must be a whole number in 0…1024, got ${JSON.stringify(params.threads)}`, { field: 'mechedit.threads', hint: 'Use 0 to let onnxruntime choose.' });
    }
    const changed = params.executionProvider !== state.config.executionProvider || params.threads !== state.config.threads;
    state.config = { executionProvider: params.executionProvider, threads: params.threads };
    if (changed) {
      state.resolved = undefined;
      // Sessions belong to a provider: reopen the model on the new one.
      const open = state.model;
      if (open) {
        retire(open);
        state.model = LoadedModel.open(open.checkpoint.dir, { ...(await providerOf(state)), threads: state.config.threads, log: state.log });
        state.stack = state.stack?.moveTo(state.model) ?? new EditStack(state.model);
      }
    }
    return info();
  });

  server.handle('engine/selfTest', async (params, ctx) => {
    const size = params.size ?? 256;
    const iterations = params.iterations ?? 20;
    if (!Number.isInteger(size) || size < 1 || size > 8192) throw badInput(`Self-test size must be 1…8192, got ${size}`, { field: 'size' });
    if (!Number.isInteger(iterations) || iterations < 1 || iterations > 100_000) throw badInput(`Self-test iterations must be 1…100000, got ${iterations}`, { field: 'iterations' });
    const { provider: ep, probes } = await providerOf(state);
    return selfTest(ep, probes, { size, iterations, threads: state.config.threads }, ctx.progress(params.progressToken));
  });

}

/** The user's stack: edits/list, apply, revert, enable, scale, reorder, and key statistics. */
function registerStack(server: EngineServer, userStack: () => EditStack, model: () => LoadedModel): void {
  /** Runs a change on the stack and reports the new state with the time the change took. */
  const change = async (fn: (s: EditStack) => void): Promise<StackState> => {
    const s = userStack();
    const t0 = performance.now();
    fn(s);
    return { items: s.list(), lastChangeMs: performance.now() - t0 };
  };
  server.handle('edits/list', async () => ({ items: userStack().list() }));
  server.handle('edits/apply', async (p) => {
    const edit = readEdit(text(p.file, 'file'));
    const alpha = strength(p.strength, 1);
    return change((s) => s.apply(edit, alpha));
  });
  server.handle('edits/revert', async (p) => change((s) => s.revert(text(p.id, 'id'))));
  server.handle('edits/revertAll', async () => change((s) => s.revertAll()));
  server.handle('edits/setEnabled', async (p) => change((s) => s.setEnabled(text(p.id, 'id'), flag(p.enabled, 'enabled') ?? true)));
  server.handle('edits/scale', async (p) => change((s) => s.scale(text(p.id, 'id'), strength(p.strength))));
  server.handle('edits/reorder', async (p) => change((s) => s.reorder(texts(p.ids, 'ids', 0))));
  server.handle('edits/stats', async (p, ctx) => {
    const m = model();
    const progress = ctx.progress(p.progressToken);
    const t0 = performance.now();
    const statsLayer = layer(p.layer, m.dims.layers);
    const samples = optionalInt(p.samples, 'samples', 1, LIMITS.statsSamples);
    const s = await keyStats(m, {
      layer: statsLayer,
      corpus: p.corpus === undefined || p.corpus === null || (Array.isArray(p.corpus) && p.corpus.length === 0) ? defaultCorpus(m) : texts(p.corpus, 'corpus'),
      samples,
      onProgress: (done, total) => progress.report(done, total, `${done} / ${total} key vectors`),
      isCancelled: () => progress.cancelled,
    });
    return { layer: s.layer, dMlp: s.dim, count: s.count, file: s.file, cached: s.cached, seconds: (performance.now() - t0) / 1000 };
  });
}

export function registerHandlers(server: EngineServer, state: EngineState): void {
  /** A replaced model's sessions are released once the requests running on it have finished. */
  const retire = (old: LoadedModel | undefined) => {
    if (old) void server.whenServed().then(() => old.release());
  };
  registerEngine(server, state, retire);
  const opened = (): LoadedModel => {
    if (!state.model) throw new MechEditError({ code: 'not-found', message: 'No model is open', hint: 'Open a checkpoint folder first (MechEdit: Open Model Folder…).' });
    return state.model;
  };
  server.handle('model/open', async ({ path }) => {
    const { provider: ep } = await providerOf(state);
    const next = LoadedModel.open(text(path, 'path'), { provider: ep, threads: state.config.threads, log: state.log });
    await next.session({ logits: 'last' }); // fail here, not on the first request
    retire(state.model);
    state.model = next;
    state.stack = new EditStack(next);
    return modelInfo(next);
  });
  server.handle('model/info', async () => (state.model ? modelInfo(state.model) : null));
  server.handle('model/close', async () => {
    retire(state.model);
    state.model = undefined;
    state.stack = undefined;
    return null;
  });
  /** The user's edit stack: only the edits/* requests that the user makes change it. */
  const userStack = (): EditStack => {
    opened();
    return state.stack!;
  };
  /**
   * A request's own copy of the user's stack, taken when it starts (its model: a view with the
   * edits as they were then). Whatever the request does with it, and whatever other requests do
   * to the user's stack meanwhile, neither sees the other.
   */
  const snapshot = (): EditStack => userStack().fork();
  const model = (): LoadedModel => snapshot().model;
  registerStack(server, userStack, model);
  server.handle('registry/describe', async () => describeRegistry());
  registerEditHandlers(server, userStack);
  registerDiagnostics(server, snapshot);
  registerConcepts(server, snapshot);
  registerSae(server, snapshot);
  registerDiagnoseEdit(server, snapshot);
  registerUnlearnHandlers(server, snapshot, userStack);
  registerLifelongHandlers(server, snapshot);
  registerSweepHandlers(server);

  registerAnalysis(server, model, snapshot);
  registerPatching(server, model);
}
