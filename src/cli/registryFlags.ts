// The CLI's flags, help and raw settings derived from the registry's SettingSpecs: a setting
// `subgraphSize` is the flag --subgraph-size (or its spec's `cli` name), a switch for booleans,
// repeatable for files and texts. Values stay strings here; core's resolveSettings checks them
// with the same bounds the engine uses.

import type { ParseArgsConfig } from 'node:util';
import type { MethodDescriptor, SettingSpec } from '../protocol/registry';
import { badInput } from '../core/errors';
import { flagOf } from '../core/methods/settings';

type Options = NonNullable<ParseArgsConfig['options']>;

/** parseArgs options for every setting of the descriptors (a flag shared by two methods appears once). */
export function settingOptions(descriptors: readonly MethodDescriptor[]): Options {
  const out: Options = {};
  for (const d of descriptors) {
    for (const s of d.settings) {
      const name = flagOf(s).slice(2);
      out[name] = s.type === 'boolean' ? { type: 'boolean' } : s.type === 'files' || s.type === 'texts' ? { type: 'string', multiple: true } : { type: 'string' };
    }
  }
  return out;
}

/**
 * The raw settings of one method from parsed flags. A flag of another method's setting is an
 * error (it would be ignored otherwise): `all` lists every setting the command accepts.
 */
export function rawSettings(d: MethodDescriptor, values: Record<string, unknown>, all: readonly MethodDescriptor[]): Record<string, unknown> {
  const mine = new Set(d.settings.map((s) => flagOf(s)));
  for (const other of all) {
    for (const s of other.settings) {
      const flag = flagOf(s);
      if (!mine.has(flag) && values[flag.slice(2)] !== undefined) {
        throw badInput(`${flag} is not a setting of ${d.label}`, { field: flag, hint: `${d.label}'s settings: ${[...mine].join(' ')}` });
      }
    }
  }
  const raw: Record<string, unknown> = {};
  for (const s of d.settings) {
    const v = values[flagOf(s).slice(2)];
    if (v !== undefined) raw[s.name] = v;
  }
  return raw;
}

function valueHint(s: SettingSpec): string {
  switch (s.type) {
    case 'boolean': return '';
    case 'enum': return ` ${s.options?.join('|')}`;
    case 'layers': return ' L,…';
    case 'layer': return ' L';
    case 'file': return ' FILE';
    case 'files': return ' FILE …';
    case 'texts': return ' TEXT …';
    case 'strings': return ` ${s.options ? s.options.join(',') : 'A,B'}`;
    case 'numbers': return ' X,…';
    case 'int': return ' N';
    case 'number': return ' X';
    default: return ' TEXT';
  }
}

/** "--layer L  the edit layer (default: …)" lines for a help text. */
export function settingHelp(specs: readonly SettingSpec[], indent = '  '): string[] {
  return specs.map((s) => {
    const head = `${flagOf(s)}${valueHint(s)}`;
    const def = s.default !== undefined && s.type !== 'boolean' ? ` (default ${Array.isArray(s.default) ? s.default.join(',') : s.default})` : s.fromCheckpoint ? ` (default: ${s.fromCheckpoint})` : s.required ? ' (required)' : '';
    const bounds = s.min !== undefined || s.max !== undefined ? ` [${s.min ?? ''}${s.exclusiveMin ? '<' : '…'}${s.max ?? ''}]` : '';
    return `${indent}${head.padEnd(24)} ${s.doc}${bounds}${def}`;
  });
}

/** One usage line: `mechedit edit rome --subject S … [--layer L] …`. */
export function usageLine(prefix: string, d: MethodDescriptor): string {
  const parts = d.settings.map((s) => (s.required ? `${flagOf(s)}${valueHint(s)}` : `[${flagOf(s)}${valueHint(s)}]`));
  return `${prefix} ${parts.join(' ')}`;
}
