// The webview end of the panel protocol (src/protocol/webview.ts). The only module that calls
// acquireVsCodeApi(). Requests time out and reject with the host's ErrorData.

import { DEFAULT_REQUEST_TIMEOUT_MS, isEnvelope, type Envelope, type PanelProtocol, type RestoreParams } from '../../src/protocol/webview';
import { formatError, type ErrorData } from '../../src/protocol/errors';
import { COLOUR_PROBE, COLOUR_REPORT } from '../../src/protocol/colours';
import { colourReport } from './colorReport';

const vscode = acquireVsCodeApi();

export class HostError extends Error {
  constructor(readonly data: ErrorData) {
    super(formatError(data));
  }
}

export class Host<P extends PanelProtocol, S = unknown> {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void; timer: number }>();
  private readonly listeners = new Map<string, (params: unknown) => void>();
  private readonly restorers = new Map<string, (params: unknown, result: unknown) => void>();

  constructor() {
    window.addEventListener('message', (event: MessageEvent) => this.receive(event.data));
  }

  /** Call once every listener is attached: the host sends its snapshot after this. */
  ready(): void {
    this.post({ kind: 'ready' });
  }

  request<M extends keyof P['requests'] & string>(
    method: M,
    params: P['requests'][M]['params'],
    timeoutMs = DEFAULT_REQUEST_TIMEOUT_MS,
  ): Promise<P['requests'][M]['result']> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = window.setTimeout(() => {
        this.pending.delete(id);
        reject(new HostError({ code: 'timeout', message: `${method}: no answer from VS Code within ${Math.round(timeoutMs / 1000)} s` }));
      }, timeoutMs);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      this.post({ kind: 'request', id, method, params });
    });
  }

  on<M extends keyof P['notifications'] & string>(method: M, listener: (params: P['notifications'][M]) => void): void {
    this.listeners.set(method, listener as (params: unknown) => void);
  }

  /**
   * The last answer of a request the host keeps (PanelHost.kept), sent again after this page was
   * dropped and loaded again (a tab switch, a reload), or when it arrives after the page that asked
   * is gone: draw it as if the request had just been answered.
   */
  onRestore<M extends keyof P['requests'] & string>(method: M, listener: (params: P['requests'][M]['params'], result: P['requests'][M]['result']) => void): void {
    this.restorers.set(method, listener as (params: unknown, result: unknown) => void);
  }

  /** Tells the host what was drawn (a small summary; tests and screenshots rely on it). */
  rendered(summary: unknown): void {
    this.post({ kind: 'notify', method: 'rendered', params: summary });
  }

  getState(): S | undefined {
    return vscode.getState() as S | undefined;
  }

  setState(state: S): void {
    vscode.setState(state);
  }

  private post(message: Envelope): void {
    vscode.postMessage(message);
  }

  private receive(message: unknown): void {
    if (!isEnvelope(message)) return;
    if (message.kind === 'notify' && message.method === 'restore') {
      const r = message.params as RestoreParams;
      this.restorers.get(r.method)?.(r.params, r.result);
    } else if (message.kind === 'notify' && message.method === COLOUR_PROBE) {
      // The themes test's hook (colors.ts): which colours the drawn marks use.
      this.post({ kind: 'notify', method: COLOUR_REPORT, params: colourReport() });
    } else if (message.kind === 'notify') {
      this.listeners.get(message.method)?.(message.params);
    } else if (message.kind === 'response') {
      const p = this.pending.get(message.inReplyTo);
      if (!p) return;
      this.pending.delete(message.inReplyTo);
      window.clearTimeout(p.timer);
      if (message.error) p.reject(new HostError(message.error));
      else p.resolve(message.result);
    }
  }
}

/** Small DOM helper: an element with attributes and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  el.append(...children);
  return el;
}
