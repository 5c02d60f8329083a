// `mechedit methods`: the registry — every edit method, training objective and diagnostic with
// its kind, settings (type, default, bounds, doc) and presets.

import type { MethodDescriptor, RegistryDescription, SettingSpec } from '../../protocol/registry';
import { describeRegistry } from '../../core/registry/index';
import type { Command } from '../common';
import { settingsHelp } from '../registryFlags';

function block(d: MethodDescriptor): string[] {
  const paper = d.paper ? ` — ${d.paper.title} (${d.paper.year})` : '';
  const presets = d.presets.flatMap((p) => [`${p.id}${p.id === d.defaultPreset ? ' (default)' : ''}: ${p.doc}`, ...Object.entries(p.rules ?? {}).map(([k, rule]) => `  ${k}: ${rule}`)]);
  return [
    `${d.id} · ${d.label} · ${d.kind}${paper}`,
    `  ${d.description}`,
    ...settingsHelp(d.settings as SettingSpec[], '    '),
    ...(presets.length ? ['  presets:', ...presets.map((p) => `    ${p}`)] : []),
  ];
}

export const methods: Command = {
  summary: 'list every edit method, training objective and diagnostic with its settings and presets',
  help: 'mechedit methods [--json]\n  Prints the method registry: each entry\'s id, label, kind, paper, settings (type, default, bounds, doc) and presets.',
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
