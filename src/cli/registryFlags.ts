// The CLI's flags, help and settings derived from the registry's SettingSpecs: a setting
// `subgraphSize` is the flag --subgraph-size (or its spec's `cli` name), a switch for booleans,
// repeatable for files and texts. The flags' text becomes the JSON values the engine would send
// (numbers, lists, layer ranges); core's resolveSettings then checks both with the same bounds.
// Errors from core name neutral fields; cliField shows them as the command's flags.

import * as path from 'node:path';
import type { ParseArgsConfig } from 'node:util';
import type { MethodDescriptor, SettingSpec } from '../protocol/registry';
import type { ErrorData } from '../protocol/errors';
import { badInput } from '../core/errors';
import { flagOf, kebab, layerText } from '../core/methods/settings';

type Options = NonNullable<ParseArgsConfig['options']>;

/** The option name of a setting (its flag without the dashes). */
const optionOf = (s: SettingSpec) => flagOf(s).slice(2);

/** parseArgs options for the settings (a flag shared by two methods appears once). */
export function settingOptions(specs: readonly SettingSpec[]): Options {
  const out: Options = {};
  for (const s of specs) out[optionOf(s)] = s.type === 'boolean' ? { type: 'boolean' } : s.type === 'files' || s.type === 'texts' ? { type: 'string', multiple: true } : { type: 'string' };
  return out;
}

const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i;

/** A flag's text as the setting's JSON value; text that is not a number stays text, for core to refuse by name. */
function fromFlag(s: SettingSpec, v: unknown): unknown {
  if (typeof v !== 'string') return v;
  switch (s.type) {
    case 'int':
    case 'number':
    case 'layer':
      return NUMBER.test(v.trim()) ? Number(v) : v;
    case 'layers':
      return layerText(s.name, v);
    case 'strings':
      return v.split(',').map((x) => x.trim()).filter(Boolean);
    case 'numbers':
      return v.split(',').map((x) => (NUMBER.test(x.trim()) ? Number(x) : x));
    default:
      return v;
  }
}

/** The settings of `specs` from parsed flags, by their neutral names (core checks them). */
export function settingsFromFlags(specs: readonly SettingSpec[], values: Record<string, unknown>): Record<string, unknown> {
  const raw: Record<string, unknown> = {};
  for (const s of specs) {
    const v = values[optionOf(s)];
    if (v !== undefined) raw[s.name] = fromFlag(s, v);
  }
  return raw;
}

/**
 * The settings of one method from parsed flags. A flag of another method's setting is an error
 * (it would be ignored otherwise): `all` lists every method the command serves.
 */
export function methodSettings(d: MethodDescriptor, values: Record<string, unknown>, all: readonly MethodDescriptor[]): Record<string, unknown> {
  const mine = new Set(d.settings.map((s) => flagOf(s)));
  for (const s of all.flatMap((o) => o.settings)) {
    const flag = flagOf(s);
    if (!mine.has(flag) && values[flag.slice(2)] !== undefined) throw badInput(`${flag} is not a setting of ${d.label}`, { field: flag, hint: `${d.label}'s settings: ${[...mine].join(' ')}` });
  }
  return settingsFromFlags(d.settings, values);
}

function valueHint(s: SettingSpec): string {
  const hints: Record<SettingSpec['type'], string> = { boolean: '', enum: ` ${s.options?.join('|')}`, layers: ' L,…', layer: ' L', file: ' FILE', files: ' FILE …', texts: ' TEXT …', strings: ` ${s.options ? s.options.join(',') : 'A,B'}`, numbers: ' X,…', int: ' N', number: ' X', string: ' TEXT' };
  return hints[s.type];
}

/** "--layer L  the edit layer [bounds] (default …)" lines for a help text. */
export function settingsHelp(specs: readonly SettingSpec[], indent = '  '): string[] {
  return specs.map((s) => {
    const def = s.default !== undefined && s.type !== 'boolean' ? ` (default ${Array.isArray(s.default) ? s.default.join(',') : s.default})` : s.fromCheckpoint ? ` (default: ${s.fromCheckpoint})` : s.required ? ' (required)' : '';
    const bounds = s.min !== undefined || s.max !== undefined ? ` [${s.min ?? ''}${s.exclusiveMin ? '<' : '…'}${s.max ?? ''}]` : '';
    return `${indent}${`${flagOf(s)}${valueHint(s)}`.padEnd(24)} ${s.doc}${bounds}${def}`;
  });
}

/** One usage line: `mechedit edit rome --subject S … [--layer L] …`. */
export function usageLine(prefix: string, specs: readonly SettingSpec[]): string {
  return `${prefix} ${specs.map((s) => (s.required ? `${flagOf(s)}${valueHint(s)}` : `[${flagOf(s)}${valueHint(s)}]`)).join(' ')}`;
}

/**
 * An error's field as the command's flag. A neutral field ("limit", "subgraphSize", ROCR's
 * "harmless") that stands for one of the command's options becomes its flag (--limit,
 * --subgraph-size, --to) when the error is about the option itself: it names no file, or the
 * file the option gave. Any other field (a record's "line 2", a config's "model_type", run.json's
 * "data") is left as it is. A message that starts with the field starts with the flag instead.
 */
export function cliField(e: ErrorData, command: { options: Options; fields?: readonly SettingSpec[] }, values: Record<string, unknown> | undefined): ErrorData {
  const field = e.field;
  if (!field || field.startsWith('-')) return e;
  const spec = command.fields?.find((f) => f.name === field);
  const name = spec ? optionOf(spec) : kebab(field);
  if (!Object.hasOwn(command.options, name)) return e;
  const given = values?.[name];
  const gave = (v: unknown) => typeof v === 'string' && path.resolve(v) === path.resolve(e.file!);
  if (e.file && !(Array.isArray(given) ? given.some(gave) : gave(given))) return e;
  const flag = `--${name}`;
  return { ...e, field: flag, message: e.message.startsWith(`${field} `) || e.message.startsWith(`${field}:`) ? `${flag}${e.message.slice(field.length)}` : e.message };
}
