// A method's settings (SettingSpec, protocol/registry.ts) on the command line: the flag of each
// (camelCase name → --kebab-case), the parseArgs options, the help lines, the flags' text turned
// into the values core checks (checkSettings), and the flag an error's neutral field stands for.

import * as path from 'node:path';
import type { ParseArgsConfig } from 'node:util';
import type { SettingSpec } from '../protocol/registry';
import type { ErrorData } from '../protocol/errors';
import { layerList } from './common';

/** "subjSpec" → "subj-spec" (the option's name; its flag is --subj-spec). */
export const kebab = (name: string) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** "subjSpec" → "--subj-spec". */
export const flagOf = (name: string) => `--${kebab(name)}`;

/** parseArgs options for `specs`: switches for booleans, several values for file lists, else one string. */
export function settingOptions(specs: readonly SettingSpec[]): NonNullable<ParseArgsConfig['options']> {
  return Object.fromEntries(specs.map((s) => [kebab(s.name), s.type === 'boolean' ? { type: 'boolean' as const } : s.type === 'files' ? { type: 'string' as const, multiple: true } : { type: 'string' as const }]));
}

const PLACEHOLDER: Record<SettingSpec['type'], string> = { int: 'N', number: 'X', boolean: '', string: 'TEXT', enum: 'M', layer: 'L', layers: 'L,…', file: 'FILE', files: 'FILE …', strings: 'A,B', numbers: 'X,Y' };

/** One help line per setting: flag, its value, the doc, the options and the default. */
export function settingsHelp(specs: readonly SettingSpec[]): string[] {
  return specs.map((s) => {
    const flag = `  ${flagOf(s.name)}${PLACEHOLDER[s.type] ? ` ${s.name === 'out' || s.name === 'baseline' ? 'DIR' : PLACEHOLDER[s.type]}` : ''}`;
    const options = s.options ? ` (${s.options.join('|')})` : '';
    const dflt = s.fromCheckpoint ? `; default: ${s.fromCheckpoint}` : s.default !== undefined && s.default !== false ? `; default ${JSON.stringify(s.default)}` : '';
    return `${flag.padEnd(22)} ${s.doc}${options}${dflt}`;
  });
}

const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i;

/** A flag's text as the setting's value: numbers as numbers (text that is not one stays text: core names it), lists split at commas. */
function fromFlag(s: SettingSpec, v: unknown, values: Record<string, unknown>): unknown {
  if (typeof v !== 'string') return v;
  switch (s.type) {
    case 'int':
    case 'number':
    case 'layer':
      return NUMBER.test(v.trim()) ? Number(v) : v;
    case 'layers':
      return layerList(values, kebab(s.name));
    case 'strings':
      return v.split(',').map((x) => x.trim()).filter(Boolean);
    case 'numbers':
      return v.split(',').map((x) => (NUMBER.test(x.trim()) ? Number(x) : x));
    default:
      return v;
  }
}

/** The settings of `specs` from parsed flags, by their neutral names (unchecked: core checks them). */
export function settingsFromFlags(specs: readonly SettingSpec[], values: Record<string, unknown>): Record<string, unknown> {
  const raw: Record<string, unknown> = {};
  for (const s of specs) {
    const v = values[kebab(s.name)];
    if (v !== undefined) raw[s.name] = fromFlag(s, v, values);
  }
  return raw;
}

/**
 * An error's field as the command's flag: a neutral field ("limit", "subjSpec") that names one of
 * the command's options becomes its flag (--limit, --subj-spec) when the error is about the option
 * itself: it names no file, or the file the option gave. Any other field (a record's "line 2", a
 * config's "model_type", run.json's "data") is left as it is.
 */
export function cliField(e: ErrorData, options: Record<string, unknown>, values: Record<string, unknown> | undefined): ErrorData {
  const field = e.field;
  if (!field || field.startsWith('-')) return e;
  const name = kebab(field);
  if (!Object.hasOwn(options, name)) return e;
  const given = values?.[name];
  const gave = (v: unknown) => typeof v === 'string' && path.resolve(v) === path.resolve(e.file!);
  if (e.file && !(Array.isArray(given) ? given.some(gave) : gave(given))) return e;
  return { ...e, field: `--${name}` };
}
