// Settings checked once, from the registry's SettingSpecs, for every front end: JSON values
// (numbers, lists, switches) from the engine's requests, or from the CLI's flags once
// src/cli/registryFlags.ts has turned their text into the same values. Both come out typed, with
// the same bounds, or as one bad-input error whose field is the setting's neutral name
// ('subgraphSize'); the CLI prints it as its flag (`--subgraph-size`, flagOf) and the engine as its
// request field.

import type { SettingSpec } from '../../protocol/registry';
import { badInput } from '../errors';

/** What a setting's bounds depend on: the open model's sizes (layers for 'layer' / 'layers'). */
export interface SettingContext {
  layers?: number;
}

export type SettingValue = number | string | boolean | number[] | string[];
export type Settings = Record<string, SettingValue | undefined>;

/** No model has more layers than this: a larger number is refused before a range is expanded. */
export const MAX_LAYER = 100_000;

/** The CLI flag of a setting: its `cli` name, else the name in kebab case (subgraphSize → --subgraph-size). */
export function flagOf(spec: Pick<SettingSpec, 'name'> & { cli?: string }): string {
  return `--${spec.cli ?? kebab(spec.name)}`;
}

export function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

const show = (v: unknown) => (typeof v === 'string' ? JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v) : JSON.stringify(v) ?? String(v));

function bounds(s: SettingSpec): string {
  const lo = s.min === undefined ? '' : s.exclusiveMin ? `above ${s.min}` : `from ${s.min}`;
  const hi = s.max === undefined ? '' : `${lo ? ' ' : ''}${lo ? 'up to' : 'at most'} ${s.max}`;
  return `${lo}${hi}`;
}

function checkNumber(s: SettingSpec, n: number, raw: unknown, whole: boolean): number {
  const inRange = Number.isFinite(n) && (s.min === undefined || (s.exclusiveMin ? n > s.min : n >= s.min)) && (s.max === undefined || n <= s.max);
  if (!inRange || (whole && !Number.isInteger(n))) {
    throw badInput(`${s.name} must be ${whole ? 'a whole number' : 'a number'}${bounds(s) ? ` ${bounds(s)}` : ''}, got ${show(raw)}`, { field: s.name, hint: s.doc });
  }
  return n;
}

/** A number (JSON; the CLI turns its flags' text into numbers first, registryFlags.ts). */
function toNumber(s: SettingSpec, raw: unknown, whole: boolean): number {
  return checkNumber(s, typeof raw === 'number' ? raw : NaN, raw, whole);
}

function toLayers(s: SettingSpec, raw: unknown, c: SettingContext): number[] {
  const top = (c.layers ?? MAX_LAYER + 1) - 1;
  if (!Array.isArray(raw) || raw.length === 0 || !raw.every((l) => Number.isInteger(l) && l >= 0 && l <= top) || new Set(raw).size !== raw.length) {
    throw badInput(`${s.name} must be distinct layers in 0…${top}, got ${show(raw)}`, { field: s.name, hint: 'Give layers of the model, e.g. 4-6 or 4,5,6 (mechedit info shows how many it has).' });
  }
  return raw as number[];
}

/** "4,5,6" or "4-6" (or both, "1,3-5") as layers; text that is not a layer list is an error naming `field`. */
export function layerText(field: string, raw: string): number[] {
  const out: number[] = [];
  for (const p of raw.split(',').map((x) => x.trim()).filter(Boolean)) {
    const range = /^(\d+)-(\d+)$/.exec(p);
    const ends = range ? [Number(range[1]), Number(range[2])] : /^\d+$/.test(p) ? [Number(p)] : undefined;
    if (!ends) throw badInput(`${field} must be like 4,5,6 or 4-6, got ${show(raw)}`, { field });
    if (ends.some((l) => l > MAX_LAYER) || ends[0] > ends[ends.length - 1]) {
      throw badInput(`${field} "${p}" is not a layer range of a model (layers count from 0; none has more than ${MAX_LAYER})`, { field, hint: 'Give layers of the model, e.g. 4-6 or 4,5,6.' });
    }
    for (let l = ends[0]; l <= ends[ends.length - 1]; l++) out.push(l);
  }
  return out;
}

function toList(s: SettingSpec, raw: unknown): string[] {
  if (!Array.isArray(raw) || raw.length === 0 || !raw.every((x) => typeof x === 'string' && x.length > 0)) throw badInput(`${s.name} must be a list of non-empty words, got ${show(raw)}`, { field: s.name });
  if (s.options && !raw.every((x) => s.options!.includes(x))) throw badInput(`${s.name} must list some of ${s.options.join(', ')}, got ${show(raw)}`, { field: s.name });
  return raw as string[];
}

/** One setting's value, checked; `raw` is a JSON value (numbers as numbers, lists as arrays). */
export function parseSetting(s: SettingSpec, raw: unknown, c: SettingContext = {}): SettingValue {
  switch (s.type) {
    case 'int':
      return toNumber(s, raw, true);
    case 'number':
      return toNumber(s, raw, false);
    case 'boolean':
      if (typeof raw === 'boolean') return raw;
      throw badInput(`${s.name} must be true or false, got ${show(raw)}`, { field: s.name });
    case 'layer': {
      const l = toNumber({ ...s, min: 0, max: (c.layers ?? MAX_LAYER + 1) - 1 }, raw, true);
      return l;
    }
    case 'layers':
      return toLayers(s, raw, c);
    case 'enum':
      if (typeof raw !== 'string' || !s.options?.includes(raw)) throw badInput(`${s.name} must be one of ${s.options?.join(', ')}, got ${show(raw)}`, { field: s.name });
      return raw;
    case 'string':
    case 'file':
      if (typeof raw !== 'string' || raw.length === 0) throw badInput(`${s.name} must be a non-empty ${s.type === 'file' ? 'path' : 'string'}, got ${show(raw)}`, { field: s.name, hint: s.doc });
      return raw;
    case 'files':
    case 'texts': {
      if (!Array.isArray(raw) || raw.length === 0 || !raw.every((x) => typeof x === 'string' && x.length > 0)) throw badInput(`${s.name} must be a list of ${s.type === 'files' ? 'paths' : 'non-empty texts'}, got ${show(raw)}`, { field: s.name });
      return raw as string[];
    }
    case 'strings':
      return toList(s, raw);
    case 'numbers': {
      if (!Array.isArray(raw) || raw.length === 0) throw badInput(`${s.name} must be a list of numbers, got ${show(raw)}`, { field: s.name });
      return raw.map((x) => toNumber(s, x, false));
    }
  }
}

/**
 * Every setting of `specs`, checked: a given value (from `given`), else the preset's, else the
 * static default; undefined when none (the method then works it out from the checkpoint, as its
 * spec's `fromCheckpoint` says). Names in `given` that no spec has are refused (a typo must not
 * pass silently): pass only the method's settings.
 */
export function resolveSettings(specs: readonly SettingSpec[], given: Record<string, unknown>, c: SettingContext = {}, preset: Readonly<Record<string, unknown>> = {}): Settings {
  const known = new Set(specs.map((s) => s.name));
  for (const k of Object.keys(given)) {
    if (!known.has(k) && given[k] !== undefined && given[k] !== null) throw badInput(`Unknown setting "${k}"`, { field: k, hint: `This method's settings: ${[...known].join(', ')}.` });
  }
  const out: Settings = {};
  for (const s of specs) {
    const raw = given[s.name];
    if (raw !== undefined && raw !== null) out[s.name] = parseSetting(s, raw, c);
    else if (preset[s.name] !== undefined) out[s.name] = parseSetting(s, preset[s.name], c);
    else if (s.default !== undefined) out[s.name] = (Array.isArray(s.default) ? [...s.default] : s.default) as SettingValue;
    else if (s.required) throw badInput(`${s.name} is required`, { field: s.name, hint: s.doc });
  }
  return out;
}

/** The settings a spec list defines, picked from a larger object (undefined ones left out). */
export function pick(specs: readonly SettingSpec[], from: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const s of specs) if (from[s.name] !== undefined && from[s.name] !== null) out[s.name] = from[s.name];
  return out;
}
