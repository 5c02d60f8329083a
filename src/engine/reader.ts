// The engine's message reader: vscode-jsonrpc's IPC reader with a guard in front. JSON-RPC's
// own notifications are handled inside vscode-jsonrpc as they arrive, where a malformed one
// throws out of the 'message' listener and ends the process (`{"method":"$/cancelRequest",
// "params":null}` did). The guard drops messages that are not JSON-RPC objects and cancellations
// without an id, reports them through `log`, and keeps any other throw from a message's
// handling away from the process.

import { IPCMessageReader, type DataCallback, type Disposable, type Message } from 'vscode-jsonrpc/node';

/** JSON-RPC 2.0's "Invalid Request". */
export const INVALID_REQUEST = -32600;

/**
 * The error reply owed to a malformed message that carries an id (a request the caller waits
 * on: `{"id": 1, "method": 5}`), or undefined when none is owed (responses, notifications,
 * well-formed requests). An id that is not a string or number is answered with id null, as
 * JSON-RPC says.
 */
export function invalidRequestReply(message: unknown): object | undefined {
  if (typeof message !== 'object' || message === null || Array.isArray(message)) return undefined;
  const m = message as { id?: unknown; method?: unknown; result?: unknown; error?: unknown; params?: unknown };
  if (!('id' in m) || m.id === undefined || 'result' in m || 'error' in m) return undefined;
  const why = typeof m.method !== 'string' ? `"method" must be a string, got ${JSON.stringify(m.method) ?? 'nothing'}`
    : typeof m.id !== 'number' && typeof m.id !== 'string' && m.id !== null ? `"id" must be a number or a string, got ${JSON.stringify(m.id)?.slice(0, 60)}`
      : m.params !== undefined && m.params !== null && typeof m.params !== 'object' ? `"params" must be an object or an array, got ${JSON.stringify(m.params)?.slice(0, 60)}`
        : undefined;
  if (!why) return undefined;
  const id = typeof m.id === 'number' || typeof m.id === 'string' ? m.id : null;
  return { jsonrpc: '2.0', id, error: { code: INVALID_REQUEST, message: `Invalid request: ${why}`, data: { code: 'bad-input', message: `Invalid request: ${why}`, field: typeof m.method !== 'string' ? 'method' : typeof m.id !== 'number' && typeof m.id !== 'string' ? 'id' : 'params' } } };
}

/** Why a message from the extension cannot be handled, or undefined when it can. */
export function malformed(message: unknown): string | undefined {
  if (typeof message !== 'object' || message === null || Array.isArray(message)) return 'not a JSON-RPC object';
  const m = message as { method?: unknown; params?: unknown; id?: unknown };
  if (m.method === '$/cancelRequest') {
    const id = (m.params as { id?: unknown } | null | undefined)?.id;
    if (typeof m.params !== 'object' || m.params === null || (typeof id !== 'number' && typeof id !== 'string')) return '$/cancelRequest without params.id';
  }
  return undefined;
}

export class GuardedIPCReader extends IPCMessageReader {
  constructor(process: NodeJS.Process, private readonly log: (message: string) => void, private readonly reply: (message: object) => void = (m) => process.send?.(m)) {
    super(process);
  }

  override listen(callback: DataCallback): Disposable {
    return super.listen((message: Message) => {
      const owed = invalidRequestReply(message);
      if (owed) {
        this.log(`answered a malformed request: ${JSON.stringify(message)?.slice(0, 200)}`);
        this.reply(owed);
        return;
      }
      const why = malformed(message);
      if (why) {
        this.log(`ignored a malformed message (${why}): ${JSON.stringify(message)?.slice(0, 200)}`);
        return;
      }
      try {
        callback(message);
      } catch (e) {
        this.log(`a message could not be handled: ${(e as Error)?.message ?? e}`);
      }
    });
  }
}
