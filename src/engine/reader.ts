// The engine's message reader: vscode-jsonrpc's IPC reader with a guard in front. JSON-RPC's
// own notifications are handled inside vscode-jsonrpc as they arrive, where a malformed one
// throws out of the 'message' listener and ends the process (`{"method":"$/cancelRequest",
// "params":null}` did). The guard drops messages that are not JSON-RPC objects and cancellations
// without an id, reports them through `log`, and keeps any other throw from a message's
// handling away from the process.

import { IPCMessageReader, type DataCallback, type Disposable, type Message } from 'vscode-jsonrpc/node';

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
  constructor(process: NodeJS.Process, private readonly log: (message: string) => void) {
    super(process);
  }

  override listen(callback: DataCallback): Disposable {
    return super.listen((message: Message) => {
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
