// What the CLI commands share: the Command shape, the model options (--model, --default,
// --provider, --threads, --edits) and the model they open, and the checks of numbers and layers.

import type { ParseArgsConfig } from 'node:util';
import type { SettingSpec } from '../protocol/registry';
import type { ExecutionProviderSetting, ProviderProbe } from '../protocol/engine';
import { badInput } from '../core/errors';
import { resolveProvider } from '../core/runtime/providers';
import { LoadedModel } from '../core/runtime/model';
import { bundledModelPath } from '../core/defaultModel';
import { EditStack } from '../core/edits/stack';
import { readEdit } from '../core/edits/editFile';

export interface Command {
  summary: string;
  help: string;
  options: NonNullable<ParseArgsConfig['options']>;
  /** Accepts positional arguments (passed in ctx.positionals). */
  allowPositionals?: boolean;
  run(values: Record<string, unknown>, ctx: { json: boolean; positionals?: string[] }): Promise<unknown>;
  /** The settings behind the command's flags: errors naming one show its flag (cliField). */
  fields?: readonly SettingSpec[];
  format(result: unknown): string;
}

export const PROVIDERS = ['auto', 'cpu', 'cuda', 'webgpu'];

export function intOption(values: Record<string, unknown>, name: string, fallback: number, min: number, max: number): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw badInput(`--${name} must be a whole number from ${min} to ${max}, got "${raw}"`, { field: `--${name}` });
  return n;
}

export function providerOption(values: Record<string, unknown>): ExecutionProviderSetting {
  const p = (values.provider as string | undefined) ?? 'auto';
  if (!PROVIDERS.includes(p)) throw badInput(`--provider must be one of ${PROVIDERS.join(', ')}, got "${p}"`, { field: '--provider' });
  return p as ExecutionProviderSetting;
}

export const modelOptions = {
  model: { type: 'string' },
  default: { type: 'boolean' },
  provider: { type: 'string' },
  threads: { type: 'string' },
  edits: { type: 'string', multiple: true },
} as const;

/** --model DIR, or the bundled default model with --default. */
export function modelPathOf(values: Record<string, unknown>): string {
  if (values.default) {
    const p = bundledModelPath();
    if (!p) throw badInput('The bundled default model is not installed (models/default)', { field: '--default', hint: 'Reinstall MechEdit, or pass --model DIR.' });
    return p;
  }
  const modelPath = values.model as string | undefined;
  if (!modelPath) throw badInput('--model is required', { field: '--model', hint: 'Give the checkpoint folder (config.json, *.safetensors, tokenizer.json), or --default for the bundled model.' });
  return modelPath;
}

/** The edit stack openModel made (holding the --edits files). */
export const stacks = new WeakMap<LoadedModel, EditStack>();
/** How openModel chose the model's provider: every provider, tried or not, and why. */
export const providerProbes = new WeakMap<LoadedModel, ProviderProbe[]>();

/**
 * Opens --model on the resolved provider (stderr gets the log; stdout stays JSON). Returns the
 * view of the stack that holds the --edits files (stacks), so that its runs are edited.
 */
export async function openModel(values: Record<string, unknown>): Promise<LoadedModel> {
  const modelPath = modelPathOf(values);
  const threads = intOption(values, 'threads', 0, 0, 1024);
  const { provider, probes } = await resolveProvider(providerOption(values), { threads });
  const opened = LoadedModel.open(modelPath, { provider, threads, log: (m) => process.stderr.write(`mechedit: ${m}\n`) });
  const files = (values.edits as string[] | undefined) ?? [];
  const stack = new EditStack(opened);
  const model = stack.model;
  providerProbes.set(model, probes);
  stacks.set(model, stack);
  if (files.length) {
    for (const f of files) stack.apply(readEditShown(f));
    process.stderr.write(`mechedit: ${files.length} edit(s) applied: ${stack.list().map((e) => e.label).join(', ')}\n`);
  }
  return model;
}

/** readEdit, with its magnitude warnings (numbers.ts) on stderr. */
export function readEditShown(file: string): ReturnType<typeof readEdit> {
  const edit = readEdit(file);
  for (const w of edit.warnings ?? []) process.stderr.write(`mechedit: warning: ${w}\n`);
  return edit;
}

export function requireString(values: Record<string, unknown>, name: string): string {
  const v = values[name];
  if (typeof v !== 'string') throw badInput(`--${name} is required`, { field: `--${name}` });
  return v;
}

export const modelHelp = '  --model DIR          checkpoint folder (or a models--org--name folder of the Hugging Face cache)\n  --default            the bundled default model instead of --model\n  --provider P         auto|cuda|webgpu|cpu (default auto)\n  --threads N          onnxruntime threads (0 = its choice)\n  --edits FILE …       apply these edit files (.mechedit/edits/<id>.json) for this run';

/** For work that needs no provider probe (tokenizing, import, bake): open the checkpoint on the CPU. */
export function openOnCpu(values: Record<string, unknown>): LoadedModel {
  return LoadedModel.open(modelPathOf(values), { provider: 'cpu', threads: 0 });
}

/** A run's progress on stderr, at most once a second (and at the end): "mechedit <tool>: 3/150 cases, ETA 40 s". */
export function runProgress(tool: string): (p: { done: number; total: number; etaSeconds?: number }) => void {
  let last = 0;
  return (p) => {
    if (Date.now() - last < 1000 && p.done < p.total) return;
    last = Date.now();
    process.stderr.write(`mechedit ${tool}: ${p.done}/${p.total} cases${p.etaSeconds !== undefined ? `, ETA ${Math.round(p.etaSeconds)} s` : ''}\n`);
  };
}
