// Presets as the extension shows them, without VS Code (unit-tested): a method's presets as quick
// pick items, the preset a pick preselects (the one last used with the method, else the
// mechedit.edit.preset setting when the method has it, else the method's default preset), and
// the preset an edit file records (json.hparams.preset; files written before presets record
// none, and then nothing is shown), and the preset the Diagnostics and Lifelong panels' runs pass
// (only where the registry's diagnostic descriptor takes a `preset` setting, only for a method
// that has the preset).

import { presetFor, takesSetting, type MethodDescriptor, type PresetSpec, type RegistryDescription } from '../protocol/registry';
import type { LifelongStart } from '../protocol/lifelong';
import { readUserText } from './readGuard';

/** What a quick pick item shows of a preset: id (default marked), its doc, the values it fixes, the settings it derives. */
export interface PresetItem {
  id: string;
  label: string;
  description: string;
  detail: string;
}

const shown = (v: unknown) => (Array.isArray(v) ? v.join(',') : String(v));

/** The settings a preset fixes and derives, in one line ("clamp 0.75, steps 20; derived: layers, lambda"). */
export function presetSummary(p: PresetSpec): string {
  const values = Object.entries(p.values).map(([k, v]) => `${k} ${shown(v)}`).join(', ');
  const rules = Object.keys(p.rules ?? {});
  return [values, rules.length ? `from the model: ${rules.join(', ')}` : ''].filter(Boolean).join('; ');
}

export function presetItems(d: Pick<MethodDescriptor, 'presets' | 'defaultPreset'>): PresetItem[] {
  return d.presets.map((p) => ({
    id: p.id,
    label: p.id,
    description: `${p.id === d.defaultPreset ? 'default · ' : ''}${presetSummary(p) || 'each setting\'s default'}`,
    detail: p.doc,
  }));
}

/** The preset to preselect for `d`: `remembered` (last used with it), else `configured` (the setting), else its default preset, else its first; each only when `d` has it. */
export function preselectedPreset(d: Pick<MethodDescriptor, 'presets' | 'defaultPreset'>, remembered?: string, configured?: string): string | undefined {
  const has = (id: string | undefined) => !!id && d.presets.some((p) => p.id === id);
  for (const id of [remembered, configured, d.defaultPreset]) if (has(id)) return id;
  return d.presets[0]?.id;
}

/** The preset an edit file's JSON records (hparams.preset), or undefined (an older file, or not an edit). */
export function editPreset(json: unknown): string | undefined {
  const p = (json as { hparams?: { preset?: unknown } } | undefined)?.hparams?.preset;
  return typeof p === 'string' && p.length > 0 ? p : undefined;
}

/** The preset an edit file records, or undefined (none recorded, or the file unreadable). */
export function editFilePreset(file: string): string | undefined {
  try {
    return editPreset(JSON.parse(readUserText(file, 'edit')));
  } catch {
    return undefined;
  }
}

/** "preset paper" for a recorded preset, '' for none (never "undefined"). */
export function presetWords(preset: string | undefined): string {
  return preset ? `preset ${preset}` : '';
}

/**
 * The preset a diagnostics run's per-case edits use: `wanted` when the method has it and the
 * diagnostic takes a per-case preset (its descriptor's `preset` setting), none ('' or absent: the
 * method's default); a preset the method lacks, or one asked of a diagnostic that takes none, is refused.
 */
export function perCasePreset(r: RegistryDescription, kind: string, method: MethodDescriptor, wanted: string | undefined): string | undefined {
  if (!wanted) return undefined;
  if (!presetFor(method, wanted)) throw new Error(`${method.label} has no preset "${wanted}": use one of ${method.presets.map((x) => x.id).join(', ')}.`);
  const d = r.diagnostics.find((x) => x.id === kind);
  if (!d || !takesSetting(d, 'preset')) throw new Error(`${d?.label ?? kind} runs each case's edit with the method's default preset only (it takes no per-case preset): choose the default preset.`);
  return wanted;
}

/** Whether a sequential run's edits take a preset (the registry's sequential descriptor has a `preset` setting). */
export const sequentialTakesPreset = (r: RegistryDescription): boolean => r.diagnostics.some((d) => d.id === 'sequential' && takesSetting(d, 'preset'));

/**
 * A method's per-edit settings: the form's, with its preset only for a method that has it and when
 * runs take one (`taken`); the others run their default preset.
 */
export function editSettings(start: LifelongStart, d: MethodDescriptor | undefined, taken: boolean): LifelongStart['settings'] {
  if (!start.settings) return undefined;
  const { preset, ...rest } = start.settings;
  const own = taken ? presetFor(d, preset) : undefined;
  return own ? { ...rest, preset: own } : rest;
}
