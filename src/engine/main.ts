// The engine process: forked by the extension host (or a test) with an IPC channel. It alone
// loads onnxruntime-node (through core/runtime/ort.ts), so ORT's blocking calls never freeze
// VS Code, and a crash (out of memory, a CUDA fault) takes down only this process.
// stdout/stderr are free for logs; JSON-RPC runs over the IPC channel.

process.env.ORT_DISABLE_TELEMETRY = '1'; // before anything can load ORT

import { createMessageConnection, IPCMessageWriter } from 'vscode-jsonrpc/node';
import { EngineServer } from './server';
import { GuardedIPCReader } from './reader';
import { registerHandlers, type EngineState } from './handlers';

function main(): void {
  if (!process.send) {
    process.stderr.write('mechedit engine: start me with child_process.fork (an IPC channel is required).\n');
    process.exit(2);
  }
  // Malformed messages are dropped and logged (reader.ts), never the end of the process.
  const reader = new GuardedIPCReader(process, (message) => server.notify('engine/log', { level: 'warn', message }));
  const connection = createMessageConnection(reader, new IPCMessageWriter(process));
  const server = new EngineServer(connection);
  const state: EngineState = {
    config: { executionProvider: 'auto', threads: 0 },
    startedAt: Date.now(),
    log: (message) => server.notify('engine/log', { level: 'info', message }),
  };
  registerHandlers(server, state);

  // A stray rejection is a bug worth logging, not a reason to drop the user's session.
  process.on('unhandledRejection', (reason) => {
    server.notify('engine/log', { level: 'error', message: `unhandled rejection: ${reason instanceof Error ? reason.stack : String(reason)}` });
  });
  connection.onClose(() => process.exit(0)); // the extension went away
  process.on('disconnect', () => process.exit(0));
  connection.listen();
}

main();
