// A CLI command over a diagnostic plugin (core/diagnostics/plugins): its flags and help come from
// the plugin's settings; the run is runDiagnostic on the --model with the --edits stack; the
// command adds only its summary, its notes and how its result is printed.

import type { ParseArgsConfig } from 'node:util';
import { diagnosticPlugin, runDiagnostic } from '../core/diagnostics/plugins/index';
import { modelHelp, modelOptions, openModel, runProgress, stacks, type Command } from './common';
import { settingOptions, settingsFromFlags, settingsHelp } from './registryFlags';
import { flagOf } from '../core/methods/settings';
import { watchTermination } from './preempt';

export interface DiagnosticCommandSpec {
  /** The plugin's id (also the command's name). */
  id: string;
  summary: string;
  /** Lines after the settings' help: what the figures mean. */
  notes?: string[];
  format(result: unknown): string;
  /** Options the command takes beside the settings, and how they turn into settings (e.g. an older flag's name). */
  extra?: { options: NonNullable<ParseArgsConfig['options']>; help: string[]; settings(values: Record<string, unknown>): Record<string, unknown> };
}

export function diagnosticCommand(c: DiagnosticCommandSpec): Command {
  const plugin = diagnosticPlugin(c.id);
  const specs = plugin.descriptor.settings;
  const usage = `mechedit ${c.id} --model DIR|--default [--edits FILE …] ${specs.map((s) => `[${flagOf(s)}${s.type === 'boolean' ? '' : ' …'}]`).join(' ')} [--json]`;
  return {
    summary: c.summary,
    help: [usage, modelHelp, ...settingsHelp(specs), ...(c.extra?.help ?? []), ...(c.notes ?? [])].join('\n'),
    options: { ...modelOptions, ...settingOptions(specs), ...c.extra?.options },
    fields: specs,
    async run(values) {
      const raw = { ...c.extra?.settings(values), ...settingsFromFlags(specs, values) };
      const model = await openModel(values);
      const progress = runProgress(c.id);
      const stopped = watchTermination();
      return runDiagnostic(c.id, model, stacks.get(model)!, raw, {
        isCancelled: stopped,
        log: (m) => process.stderr.write(`mechedit: ${m}\n`),
        onProgress: (p) => progress(p),
      });
    },
    format: c.format,
  };
}
