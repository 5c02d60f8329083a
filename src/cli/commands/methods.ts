// `mechedit methods`: the registry — every edit method, training objective and diagnostic with
// its kind, settings (type, default, bounds, doc) and presets.

import type { MethodDescriptor, PresetSpec, RegistryDescription, SettingSpec } from '../../protocol/registry';
import { describeRegistry } from '../../core/registry/index';
import type { Command } from '../common';
import { settingsHelp } from '../registryFlags';

const shown = (v: unknown) => (Array.isArray(v) ? v.join(',') : String(v));

/** A preset's lines: its id (default marked) and doc, the values it fixes, and each setting it derives by a transfer rule. */
export function presetLines(d: Pick<MethodDescriptor, 'defaultPreset'>, p: PresetSpec, indent = '    '): string[] {
  const values = Object.entries(p.values).map(([k, v]) => `${k} ${shown(v)}`);
  return [
    `${indent}${p.id}${p.id === d.defaultPreset ? ' (default)' : ''}: ${p.doc}`,
    ...(values.length ? [`${indent}  values: ${values.join(', ')}`] : []),
    ...Object.entries(p.rules ?? {}).map(([k, rule]) => `${indent}  ${k}: ${rule}`),
  ];
}

function block(d: MethodDescriptor): string[] {
  const paper = d.paper ? ` — ${d.paper.title} (${d.paper.year})` : '';
  return [
    `${d.id} · ${d.label} · ${d.kind}${paper}`,
    `  ${d.description}`,
    ...settingsHelp(d.settings as SettingSpec[], '    '),
    ...(d.presets.length ? ['  presets (--preset ID; a setting given wins over the preset):', ...d.presets.flatMap((p) => presetLines(d, p))] : []),
  ];
}

export const methods: Command = {
  summary: 'list every edit method, training objective and diagnostic with its settings and presets',
  help: 'mechedit methods [--json]\n  Prints the method registry: each entry\'s id, label, kind, paper, settings (type, default, bounds, doc) and presets (the values each fixes and the transfer rule of each setting it derives from the model).\n  --json: the registry as data (every preset with its values and rules).',
  options: {},
  async run() {
    return describeRegistry();
  },
  format(r) {
    const x = r as RegistryDescription;
    const section = (title: string, list: MethodDescriptor[]) => [`## ${title}`, '', ...list.flatMap((d) => [...block(d), ''])];
    return [...section('Edit methods', x.methods), ...section('Training objectives', x.objectives), ...section('Diagnostics', x.diagnostics)].join('\n').trimEnd();
  },
};
