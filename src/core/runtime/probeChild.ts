// Entry point of the short-lived process in which providers.ts probes the CUDA and WebGPU
// providers. Native libraries (the Vulkan loader and Dawn inside ORT's WebGPU provider, the CUDA
// libraries) write warnings straight to fd 2, which no JS code in the same process can redirect;
// here they land in a pipe the parent reads, and the parent quotes them in the probe's reason.
// Bundled as dist/probeChild.js, next to dist/cli.js and dist/engine.js; never imported.
//
//   argv[2]  JSON { providers: ExecutionProvider[], threads: number }
//   stdout   one JSON ProbeOutcome per line, in order, ending after the first provider that works

import type { ExecutionProvider } from '../../protocol/engine';
import { LOG_MARK, runProbe } from './probe';

async function main(): Promise<void> {
  const request = JSON.parse(process.argv[2] ?? '{}') as { providers?: ExecutionProvider[]; threads?: number };
  for (const provider of request.providers ?? []) {
    await new Promise<void>((resolve) => process.stderr.write(`\n${LOG_MARK}${provider}\n`, () => resolve()));
    const outcome = await runProbe(provider, request.threads ?? 0);
    await new Promise<void>((resolve) => process.stdout.write(`${JSON.stringify(outcome)}\n`, () => resolve()));
    if (outcome.ok) break;
  }
}

// Exit explicitly: a provider's threads may otherwise keep the process alive.
main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  },
);
