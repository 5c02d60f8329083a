// Checks a request's settings against their SettingSpecs (protocol/registry.ts): one set of types,
// defaults and bounds for the engine (numbers and lists as JSON) and the CLI (its flags turned into
// the same values by src/cli/common.ts settingsFromFlags). Errors name the neutral field ("limit",
// "subjSpec"); the CLI shows it as its flag (--limit, --subj-spec).

import { badInput } from '../errors';
import type { SettingSpec } from '../../protocol/registry';

/** What bounds a setting beyond its spec: the model's number of layers ('layer', 'layers'). */
export interface SettingContext {
  layers: number;
}

const show = (v: unknown) => (typeof v === 'string' ? JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v) : JSON.stringify(v) ?? String(v));

function inBounds(s: SettingSpec, x: number): boolean {
  return (s.min === undefined || (s.exclusiveMin ? x > s.min : x >= s.min)) && (s.max === undefined || x <= s.max);
}

function boundsText(s: SettingSpec): string {
  if (s.min !== undefined && s.max !== undefined) return s.exclusiveMin ? `above ${s.min} and at most ${s.max}` : `in ${s.min}…${s.max}`;
  if (s.min !== undefined) return s.exclusiveMin ? `above ${s.min}` : `≥ ${s.min}`;
  return s.max !== undefined ? `≤ ${s.max}` : '';
}

const nonEmpty = (v: unknown) => typeof v === 'string' && v.length > 0;

/** One setting's value, checked; `undefined` when absent and without a default. */
export function checkSetting(s: SettingSpec, value: unknown, ctx: SettingContext): unknown {
  if (value === undefined || value === null) {
    if (s.required) throw badInput(`"${s.name}" is required`, { field: s.name, hint: s.doc });
    return s.default;
  }
  const bad = (what: string) => badInput(`"${s.name}" must be ${what}, got ${show(value)}`, { field: s.name, hint: s.doc });
  switch (s.type) {
    case 'int':
      if (!(typeof value === 'number' && Number.isInteger(value) && inBounds(s, value))) throw bad(`a whole number ${boundsText(s)}`.trim());
      return value;
    case 'number':
      if (!(typeof value === 'number' && Number.isFinite(value) && inBounds(s, value))) throw bad(`a number ${boundsText(s)}`.trim());
      return value;
    case 'boolean':
      if (typeof value !== 'boolean') throw bad('true or false');
      return value;
    case 'string':
    case 'file':
      if (!nonEmpty(value)) throw bad(s.type === 'file' ? 'a path' : 'a non-empty string');
      return value;
    case 'enum':
      if (!s.options?.includes(value as string)) throw bad(`one of ${s.options?.join(', ')}`);
      return value;
    case 'layer':
      if (!(typeof value === 'number' && Number.isInteger(value) && value >= 0 && value < ctx.layers)) throw bad(`a layer of the model, 0…${ctx.layers - 1}`);
      return value;
    case 'layers':
      if (!(Array.isArray(value) && value.length > 0 && value.length <= ctx.layers && value.every((l) => Number.isInteger(l) && l >= 0 && l < ctx.layers) && new Set(value).size === value.length)) {
        throw bad(`distinct whole numbers in 0…${ctx.layers - 1}`);
      }
      return value;
    case 'files':
    case 'strings':
      if (!(Array.isArray(value) && value.length > 0 && value.every(nonEmpty))) throw bad(`a list of ${s.type === 'files' ? 'paths' : 'non-empty strings'}`);
      if (s.type === 'strings' && s.options && !value.every((v) => s.options!.includes(v))) throw bad(`a list of ${s.options.join(', ')}`);
      return value;
    case 'numbers':
      if (!(Array.isArray(value) && value.length > 0 && value.every((x) => typeof x === 'number' && Number.isFinite(x) && inBounds(s, x)))) throw bad(`a list of numbers ${boundsText(s)}`.trim());
      return value;
  }
}

/** Every setting of `specs` from `raw` (keys not in `specs` are left alone), checked, defaults filled in. */
export function checkSettings(specs: readonly SettingSpec[], raw: Readonly<Record<string, unknown>>, ctx: SettingContext): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const s of specs) {
    const v = checkSetting(s, raw[s.name], ctx);
    if (v !== undefined) out[s.name] = v;
  }
  return out;
}
