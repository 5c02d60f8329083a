// The `mechedit` command: the same core as the engine, with no VS Code at all.
// Exit codes: 0 ok, 2 bad input (the message names the file, field or argument), 1 internal error,
// 75 stopped by SIGTERM at a case boundary (resume with --resume; cli/preempt.ts).
// With --json, the result is one JSON document on stdout; messages go to stderr.

import { parseArgs } from 'node:util';
import { badInput, toErrorData } from '../core/errors';
import { formatError } from '../protocol/errors';
import { commands, type Command } from './commands/index';
import { expandMultiple } from './args';
import { cliField } from './registryFlags';
import { exitAfterTermination } from './preempt';

export const CLI_VERSION = '0.1.0';

function usage(): string {
  const lines = Object.entries(commands).map(([name, c]) => `  mechedit ${name.padEnd(8)} ${c.summary}`);
  return ['Usage: mechedit <command> [options] [--json]', '', 'Commands:', ...lines, '', 'mechedit <command> --help shows its options.'].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${usage()}\n`);
    return name ? 0 : 2;
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(`${CLI_VERSION}\n`);
    return 0;
  }
  const command: Command | undefined = commands[name];
  const json = rest.includes('--json');
  let values: Record<string, unknown> | undefined;
  try {
    if (!command) throw badInput(`Unknown command "${name}"`, { field: 'command', hint: `Run mechedit --help; commands: ${Object.keys(commands).join(', ')}` });
    if (rest.includes('--help')) {
      process.stdout.write(`${command.help}\n`);
      return 0;
    }
    let positionals: string[];
    try {
      const multiple = new Set(Object.entries(command.options).filter(([, o]) => o.multiple).map(([k]) => k));
      ({ values, positionals } = parseArgs({ args: expandMultiple(rest, multiple), options: { ...command.options, json: { type: 'boolean' } }, strict: true, allowPositionals: !!command.allowPositionals }));
    } catch (e) {
      throw badInput((e as Error).message, { field: 'arguments', hint: `Run mechedit ${name} --help` });
    }
    const result = await command.run(values, { json, positionals });
    process.stdout.write(json ? `${JSON.stringify(result, null, 2)}\n` : `${command.format(result)}\n`);
    return 0;
  } catch (err) {
    // Core names settings neutrally ("limit", "subjSpec"); here they are the command's flags.
    const data = command ? cliField(toErrorData(err), command, values) : toErrorData(err);
    if (json) process.stdout.write(`${JSON.stringify({ error: data }, null, 2)}\n`);
    process.stderr.write(`mechedit ${name}: ${formatError(data)}\n`);
    if (data.code === 'internal' && data.detail) process.stderr.write(`${data.detail}\n`);
    // A run stopped by SIGTERM (preempted) exits 75 so that its batch script requeues it (preempt.ts).
    return exitAfterTermination(data.code !== 'internal' ? 2 : 1);
  }
}

/**
 * Resolves once everything written to `stream` so far has been handed to the OS. Writes to a pipe
 * are asynchronous in Node: exiting earlier cuts the output at what the pipe held (64 KiB).
 */
function flushed(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => stream.write('', () => resolve()));
}

// A reader that stops early (`| head`) closes the pipe: end quietly, as other tools do.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}

// Exit only after stdout and stderr have drained (not at once: that truncates piped output), and
// then explicitly, so that no handle left open (onnxruntime, a provider probe) keeps the process.
main(process.argv.slice(2)).then(async (code) => {
  process.exitCode = code;
  await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
  process.exit(code);
});
