// The extension host's handle on the engine process. No vscode import: unit tests drive it in
// plain Node. Contract:
//  - start() forks the engine (ELECTRON_RUN_AS_NODE so that desktop VS Code's Electron binary
//    runs it as Node) with the environment it needs *before* it starts (LD_LIBRARY_PATH for CUDA);
//  - request() starts the engine when it is not running (so the next request after a crash
//    restarts it) and rejects with EngineError carrying plain ErrorData;
//  - if the process dies, every pending request rejects with code 'crashed' and a message
//    naming the exit code or signal and the last lines of stderr; onStateChange reports it.

import { fork, type ChildProcess } from 'node:child_process';
import {
  CancellationTokenSource, createMessageConnection, IPCMessageReader, IPCMessageWriter, ResponseError,
  type CancellationToken, type MessageConnection,
} from 'vscode-jsonrpc/node';
import type { EngineConfig, EngineMethod, EngineNotifications, ParamsOf, ProgressParams, ResultOf } from '../../protocol/engine';
import { isErrorData, type ErrorData } from '../../protocol/errors';
import type { EngineStatus } from '../../protocol/panels';

export class EngineError extends Error {
  constructor(readonly data: ErrorData) {
    super(data.message);
    this.name = 'EngineError';
  }
}

export interface EngineClientOptions {
  /** Path of the engine entry script (dist/engine.js). */
  enginePath: string;
  config: EngineConfig;
  /** Extra environment for the engine process (merged over process.env). */
  env?: Record<string, string>;
  /** Folders prepended to LD_LIBRARY_PATH (CUDA, cuDNN). */
  libraryPath?: string[];
  /** Called with every log line (engine stderr/stdout and 'engine/log'). */
  log?: (line: string) => void;
  /** Default timeout per request in ms (0 = none). */
  timeoutMs?: number;
}

export interface RequestOptions {
  token?: CancellationToken;
  onProgress?: (p: ProgressParams) => void;
  timeoutMs?: number;
}

interface Running {
  child: ChildProcess;
  connection: MessageConnection;
  /** Rejects when the process exits; every pending request races it. */
  exited: Promise<never>;
  stderrTail: string[];
}

export class EngineClient {
  private running: Running | undefined;
  private starting: Promise<Running> | undefined;
  private status: EngineStatus = 'stopped';
  private readonly listeners = new Set<(status: EngineStatus, reason?: string) => void>();
  private readonly progress = new Map<string, (p: ProgressParams) => void>();
  private nextProgress = 0;
  private stopping = false;
  lastCrash: string | undefined;
  restarts = 0;

  constructor(private options: EngineClientOptions) {}

  get state(): EngineStatus {
    return this.status;
  }

  get pid(): number | undefined {
    return this.running?.child.pid;
  }

  onStateChange(listener: (status: EngineStatus, reason?: string) => void): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  /** New settings apply now if the engine runs, and at every later start. */
  async configure(config: EngineConfig): Promise<void> {
    this.options = { ...this.options, config };
    if (this.running) await this.request('engine/configure', config);
  }

  /** Environment for the next start; restart() applies it to a running engine. */
  setEnvironment(env: Record<string, string>, libraryPath: string[]): void {
    this.options = { ...this.options, env, libraryPath };
  }

  async request<M extends EngineMethod>(method: M, params: ParamsOf<M>, opts: RequestOptions = {}): Promise<ResultOf<M>> {
    const engine = await this.ensureStarted();
    let progressToken: string | undefined;
    if (opts.onProgress) {
      progressToken = `p${this.nextProgress++}`;
      this.progress.set(progressToken, opts.onProgress);
      params = { ...params, progressToken };
    }
    const timeoutMs = opts.timeoutMs ?? this.options.timeoutMs ?? 0;
    let timer: NodeJS.Timeout | undefined;
    const cts = new CancellationTokenSource();
    const sub = opts.token?.onCancellationRequested(() => cts.cancel());
    if (opts.token?.isCancellationRequested) cts.cancel();
    try {
      const pending: Promise<unknown>[] = [engine.connection.sendRequest(method, params, cts.token), engine.exited];
      if (timeoutMs > 0) {
        pending.push(new Promise((_, reject) => {
          timer = setTimeout(() => {
            cts.cancel();
            reject(new EngineError({ code: 'timeout', message: `The engine did not answer ${method} within ${Math.round(timeoutMs / 1000)} s.`, hint: 'Run "MechEdit: Restart Engine" if it stays busy.' }));
          }, timeoutMs);
        }));
      }
      return (await Promise.race(pending)) as ResultOf<M>;
    } catch (err) {
      throw toEngineError(err, method);
    } finally {
      if (timer) clearTimeout(timer);
      sub?.dispose();
      cts.dispose();
      if (progressToken) this.progress.delete(progressToken);
    }
  }

  /** Stops the engine on purpose (no crash is reported). */
  async stop(): Promise<void> {
    const engine = this.running ?? (await this.starting?.catch(() => undefined));
    if (!engine) return;
    this.stopping = true;
    engine.connection.dispose();
    engine.child.kill();
    await engine.exited.catch(() => undefined);
    this.stopping = false;
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.ensureStarted();
  }

  dispose(): void {
    void this.stop();
    this.listeners.clear();
  }

  private ensureStarted(): Promise<Running> {
    if (this.running) return Promise.resolve(this.running);
    if (!this.starting) {
      if (this.status === 'crashed') this.restarts++;
      this.starting = this.spawn().finally(() => (this.starting = undefined));
    }
    return this.starting;
  }

  private async spawn(): Promise<Running> {
    this.setStatus('starting');
    const env: Record<string, string | undefined> = {
      ...process.env,
      ...this.options.env,
      ELECTRON_RUN_AS_NODE: '1',
      ORT_DISABLE_TELEMETRY: '1',
    };
    if (this.options.libraryPath?.length) {
      env.LD_LIBRARY_PATH = [...this.options.libraryPath, env.LD_LIBRARY_PATH].filter(Boolean).join(':');
    }
    const child = fork(this.options.enginePath, [], { env, execArgv: [], stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    const stderrTail: string[] = [];
    const log = this.options.log ?? (() => undefined);
    child.stdout?.setEncoding('utf8').on('data', (d: string) => d.split('\n').filter(Boolean).forEach((l) => log(`[engine] ${l}`)));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      for (const line of d.split('\n').filter(Boolean)) {
        log(`[engine:stderr] ${line}`);
        stderrTail.push(line);
        if (stderrTail.length > 50) stderrTail.shift();
      }
    });
    const exited = new Promise<never>((_, reject) => {
      const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
        const reason = this.stopping
          ? 'The engine was stopped.'
          : `The engine process crashed (${signal ? `killed by signal ${signal}` : `exit code ${code}`})${crashDetail(stderrTail)}.`;
        if (this.running?.child === child) this.running = undefined;
        if (!this.stopping) this.lastCrash = reason;
        this.setStatus(this.stopping ? 'stopped' : 'crashed', reason);
        reject(new EngineError({ code: this.stopping ? 'cancelled' : 'crashed', message: reason, hint: this.stopping ? undefined : 'The next request restarts it; see the MechEdit output channel for its log.' }));
      };
      child.once('exit', onExit);
      child.once('error', (err) => {
        stderrTail.push(err.message);
        onExit(null, null);
      });
    });
    exited.catch(() => undefined); // observed by requests; avoid an unhandled rejection

    const connection = createMessageConnection(new IPCMessageReader(child), new IPCMessageWriter(child));
    connection.onNotification('engine/progress', (p: EngineNotifications['engine/progress']) => this.progress.get(p.token)?.(p));
    connection.onNotification('engine/log', (p: EngineNotifications['engine/log']) => log(`[engine:${p.level}] ${p.message}`));
    connection.onError(([err]) => log(`[engine:rpc] ${err.message}`));
    connection.listen();

    const engine: Running = { child, connection, exited, stderrTail };
    try {
      await Promise.race([connection.sendRequest('engine/configure', this.options.config), exited]);
    } catch (err) {
      connection.dispose();
      child.kill();
      throw toEngineError(err, 'engine/configure');
    }
    this.running = engine;
    this.setStatus('running');
    log(`[client] engine started (pid ${child.pid})`);
    return engine;
  }

  private setStatus(status: EngineStatus, reason?: string): void {
    this.status = status;
    for (const l of this.listeners) l(status, reason);
  }
}

/** The most telling stderr line: the last one that names an error, else the last line. */
function crashDetail(stderr: string[]): string {
  const line = [...stderr].reverse().find((l) => /error|abort|fatal|out of memory/i.test(l)) ?? stderr.at(-1);
  return line ? `: ${line.trim()}` : '';
}

function toEngineError(err: unknown, method: string): EngineError {
  if (err instanceof EngineError) return err;
  if (err instanceof ResponseError && isErrorData(err.data)) return new EngineError(err.data);
  if (err instanceof ResponseError && err.code === -32800) return new EngineError({ code: 'cancelled', message: 'Cancelled.' });
  const message = err instanceof Error ? err.message : String(err);
  return new EngineError({ code: 'internal', message: `${method}: ${message}` });
}
