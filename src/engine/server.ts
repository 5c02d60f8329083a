// JSON-RPC plumbing of the engine: typed handler registration, cancellation, progress, and the
// conversion of every thrown error into plain ErrorData (so the engine never dies of bad input).

import { ResponseError, type CancellationToken, type MessageConnection } from 'vscode-jsonrpc/node';
import type { EngineMethod, EngineNotifications, ParamsOf, ResultOf } from '../protocol/engine';
import type { ErrorCode } from '../protocol/errors';
import type { Progress } from '../core/runtime/selftest';
import { toErrorData } from '../core/errors';

/** JSON-RPC 2.0's "Method not found". */
export const METHOD_NOT_FOUND = -32601;

/** JSON-RPC error codes per ErrorCode (LSP's reserved range for request failures). */
const RPC_CODES: Record<ErrorCode, number> = {
  'bad-input': -32602,
  'not-found': -32602,
  cancelled: -32800,
  crashed: -32603,
  timeout: -32603,
  unavailable: -32803,
  io: -32804,
  internal: -32603,
};

export interface RequestContext {
  token: CancellationToken;
  /** Progress reporting bound to the request's progressToken (a no-op without one). */
  progress(progressToken: string | undefined): Progress;
}

export type Handler<M extends EngineMethod> = (params: ParamsOf<M>, ctx: RequestContext) => Promise<ResultOf<M>>;

export class EngineServer {
  /** Requests being served (settled when their answer is ready). */
  private readonly running = new Set<Promise<unknown>>();

  constructor(private readonly connection: MessageConnection) {
    // A method no handler serves: JSON-RPC's "method not found", with ErrorData naming it.
    connection.onRequest((method: string) => {
      const message = `Unknown method "${method}"`;
      return new ResponseError(METHOD_NOT_FOUND, message, { code: 'not-found', message, field: 'method', hint: 'engine/info answers with the engine version; the methods are those of src/protocol/engine.ts.' });
    });
  }

  /**
   * Resolves once every request being served now has been answered (the caller's own included,
   * so never await it inside a handler): what they hold, such as a replaced model's sessions,
   * can then be released.
   */
  whenServed(): Promise<void> {
    return Promise.allSettled([...this.running]).then(() => undefined);
  }

  handle<M extends EngineMethod>(method: M, handler: Handler<M>): void {
    this.connection.onRequest(method, (params: ParamsOf<M>, token: CancellationToken) => {
      const answer = this.answer(method, handler, params, token);
      this.running.add(answer);
      void answer.finally(() => this.running.delete(answer));
      return answer;
    });
  }

  private async answer<M extends EngineMethod>(method: M, handler: Handler<M>, params: ParamsOf<M>, token: CancellationToken): Promise<ResultOf<M> | ResponseError<unknown>> {
    try {
      return await handler(params ?? ({} as ParamsOf<M>), { token, progress: (t) => this.progress(t, token) });
    } catch (err) {
      const data = token.isCancellationRequested ? { code: 'cancelled' as const, message: 'Cancelled.' } : toErrorData(err);
      if (data.code === 'internal') this.notify('engine/log', { level: 'error', message: `${method} failed: ${data.detail ?? data.message}` });
      return new ResponseError(RPC_CODES[data.code], data.message, data);
    }
  }

  notify<N extends keyof EngineNotifications>(method: N, params: EngineNotifications[N]): void {
    void this.connection.sendNotification(method, params);
  }

  private progress(progressToken: string | undefined, token: CancellationToken): Progress {
    let last = 0;
    return {
      report: (done, total, message, always) => {
        if (!progressToken) return;
        const now = Date.now();
        // At most ~20 notifications a second, and always the last one.
        if (!always && done < total && now - last < 50) return;
        last = now;
        this.notify('engine/progress', { token: progressToken, done, total, message });
      },
      get cancelled() {
        return token.isCancellationRequested;
      },
    };
  }
}
