// The diagnostics, in the order they are listed to users, and the one way to run one:
// runDiagnostic (the CLI's run) and runDiagnosticPanel (the engine's 'diagnostics/run') check the
// raw settings against the plugin's descriptor, pick the data beside the checkpoint and the run
// folder, refuse a run folder in the checkpoint or someone else's, then run.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { LoadedModel } from '../../runtime/model';
import type { EditStack } from '../../edits/stack';
import type { MethodDescriptor } from '../../../protocol/registry';
import { badInput } from '../../errors';
import { checkRunFolder } from '../../outputs';
import { isFactMethod } from '../../methods/factEditors';
import { parseShard } from '../runner';
import { pick, resolveSettings } from '../../methods/settings';
import { evokePlugin } from './evoke';
import { fineKedPlugin } from './fineKed';
import { ortPlugin } from './ort';
import { probesPlugin } from './probes';
import { sequentialPlugin } from './sequential';
import { zsrePlugin } from './zsre';
import type { DiagnosticHooks, DiagnosticOptions, DiagnosticPlugin } from './types';

export type { DiagnosticHooks, DiagnosticOptions, DiagnosticPlugin, MergeTool } from './types';

export const DIAGNOSTICS: readonly DiagnosticPlugin[] = [evokePlugin, fineKedPlugin, probesPlugin, ortPlugin, sequentialPlugin, zsrePlugin];

/** The diagnostics' descriptors (the registry's `diagnostics`). */
export const diagnosticDescriptors = (): MethodDescriptor[] => DIAGNOSTICS.map((p) => p.descriptor);

/** The plugin of `id`, or a bad-input error (field `field`) listing them. */
export function diagnosticPlugin(id: unknown, field = 'kind'): DiagnosticPlugin {
  const p = DIAGNOSTICS.find((d) => d.descriptor.id === id);
  if (!p) throw badInput(`Unknown diagnostic ${JSON.stringify(id)}`, { field, hint: `Use ${DIAGNOSTICS.map((d) => d.descriptor.id).join(', ')}.` });
  return p;
}

/** Where a run's folder goes: the `out` setting (the CLI; absent: the default name in the working folder), or a new folder under `outDir` (the engine; `out` is not used). */
export interface RunPlace {
  /** An absolute folder; the run folder is <outDir>/<time>-<tool>-<method>[-lti]. */
  outDir?: string;
}

/** The run folder's default name: <tool>-<method>[-lti][-<i>of<n>] (a plugin without methods: <tool>[-<i>of<n>]). */
export function runFolderName(p: DiagnosticPlugin, o: Pick<DiagnosticOptions, 'method' | 'lti' | 'shard'>): string {
  const method = p.descriptor.settings.some((s) => s.name === 'method') ? `-${o.method}${o.lti ? '-lti' : ''}` : '';
  return `${p.descriptor.id}${method}${o.shard ? `-${o.shard.index}of${o.shard.count}` : ''}`;
}

function placeRun(p: DiagnosticPlugin, o: Pick<DiagnosticOptions, 'method' | 'lti' | 'shard'>, given: string | undefined, place: RunPlace): string {
  if (place.outDir === undefined) return given ?? `mechedit-${runFolderName(p, o)}`;
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
  return path.join(place.outDir, `${stamp}-${runFolderName(p, o)}`);
}

/** The raw settings checked and completed: data, run folder (checked), method, per-case edits on `stack`. */
export function resolveOptions(p: DiagnosticPlugin, model: LoadedModel, stack: EditStack, raw: Readonly<Record<string, unknown>>, place: RunPlace = {}): DiagnosticOptions {
  const settings = resolveSettings(p.descriptor.settings, pick(p.descriptor.settings, raw), { layers: model.dims.layers });
  const method = (settings.method as string | undefined) ?? 'none';
  const edits = isFactMethod(method);
  const shard = parseShard(settings.shard as string | undefined);
  const base = { method, lti: edits && settings.lti === true, limit: settings.limit as number | undefined, shard, resume: settings.resume === true };
  // The run folder is checked before the data: a run is refused early, before any file is read.
  const out = placeRun(p, base, settings.out as string | undefined, place);
  checkRunFolder(out, model.checkpoint, 'The run folder', settings.force === true);
  const given = settings[p.dataSetting] as string | undefined;
  if (given !== undefined && !fs.existsSync(given)) throw badInput(`The ${p.descriptor.label} data does not exist`, { file: path.resolve(given), field: p.dataSetting, hint: 'Check the path.' });
  const data = given ?? p.defaultData(model);
  const perCase = edits
    ? { stack, lti: base.lti, corpus: settings.corpus as string[] | undefined, layer: settings.layer as number | undefined, layers: settings.layers as number[] | undefined, lambda: settings.lambda as number | undefined, preset: settings.preset as string | undefined }
    : undefined;
  return { ...base, settings, data, out, perCase };
}

/**
 * One run of diagnostic `id` on `stack` (the run's own copy: never changed) into its run folder;
 * `raw`: the settings by their descriptor names, unchecked. Returns the plugin's result (the CLI's JSON).
 */
export async function runDiagnostic(id: string, model: LoadedModel, stack: EditStack, raw: Readonly<Record<string, unknown>>, hooks: DiagnosticHooks = {}, place: RunPlace = {}): Promise<unknown> {
  const p = diagnosticPlugin(id);
  if (!p.run) throw badInput(`${p.descriptor.label} runs through its own command`, { field: 'kind', hint: `Use mechedit ${p.descriptor.id}.` });
  return p.run(model, stack, resolveOptions(p, model, stack, raw, place), hooks);
}

/** The Diagnostics panel's run of `id` (the plugin's `panel`): its run folder under place.outDir. */
export async function runDiagnosticPanel(id: unknown, stack: EditStack, raw: Readonly<Record<string, unknown>>, hooks: DiagnosticHooks, place: RunPlace): Promise<unknown> {
  // The engine's working folder is nobody's choice: its runs go under an absolute outDir, always.
  if (typeof place.outDir !== 'string' || !path.isAbsolute(place.outDir)) throw badInput(`"outDir" must be an absolute path, got ${JSON.stringify(place.outDir)?.slice(0, 200)}`, { field: 'outDir', hint: 'Give the full path of the folder to write into.' });
  const p = diagnosticPlugin(id);
  if (!p.panel) throw badInput(`${p.descriptor.label} is not run from the Diagnostics panel`, { field: 'kind', hint: `Use ${DIAGNOSTICS.filter((d) => d.panel).map((d) => d.descriptor.id).join(', ')}.` });
  return p.panel(stack, resolveOptions(p, stack.model, stack, raw, place), hooks);
}
