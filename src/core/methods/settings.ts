// Settings checked once, from the registry's SettingSpecs, for every front end. The CLI hands in
// strings ("4-6", "0.5", "qa,cloze"); the engine hands in JSON values (numbers, lists). Both
// come out as the same typed values with the same bounds, or as one bad-input error whose field
// is the setting's neutral name ('subgraphSize'); the CLI prints it as its flag
// (`--subgraph-size`, flagOf) and the engine as its request field.

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

/** A number from the CLI's text or the engine's JSON. */
function toNumber(s: SettingSpec, raw: unknown, whole: boolean): number {
  const n = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
  return checkNumber(s, n, raw, whole);
}

function toLayers(s: SettingSpec, raw: unknown, c: SettingContext): number[] {
  let list: number[];
  if (Array.isArray(raw)) list = raw.map((x) => (typeof x === 'number' ? x : NaN));
  else if (typeof raw === 'string') list = layerText(s, raw);
  else throw badInput(`${s.name} must be a list of layers, got ${show(raw)}`, { field: s.name });
  const top = (c.layers ?? MAX_LAYER + 1) - 1;
  if (list.length === 0 || !list.every((l) => Number.isInteger(l) && l >= 0 && l <= top) || new Set(list).size !== list.length) {
    throw badInput(`${s.name} must be distinct layers in 0…${top}, got ${show(raw)}`, { field: s.name, hint: 'Give layers of the model, e.g. 4-6 or 4,5,6 (mechedit info shows how many it has).' });
  }
  return list;
}

/** "4,5,6" or "4-6" (or both, "1,3-5"). */
function layerText(s: SettingSpec, raw: string): number[] {
  const out: number[] = [];
  for (const p of raw.split(',').map((x) => x.trim()).filter(Boolean)) {
    const range = /^(\d+)-(\d+)$/.exec(p);
    const ends = range ? [Number(range[1]), Number(range[2])] : /^\d+$/.test(p) ? [Number(p)] : undefined;
    if (!ends) throw badInput(`${s.name} must be like 4,5,6 or 4-6, got ${show(raw)}`, { field: s.name });
    if (ends.some((l) => l > MAX_LAYER) || ends[0] > ends[ends.length - 1]) {
      throw badInput(`${s.name} "${p}" is not a layer range of a model (layers count from 0; none has more than ${MAX_LAYER})`, { field: s.name, hint: 'Give layers of the model, e.g. 4-6 or 4,5,6.' });
    }
    for (let l = ends[0]; l <= ends[ends.length - 1]; l++) out.push(l);
  }
  return out;
}

function toList(s: SettingSpec, raw: unknown): string[] {
  const list = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(',').map((x) => x.trim()).filter(Boolean) : undefined;
  if (!list || list.length === 0 || !list.every((x) => typeof x === 'string' && x.length > 0)) throw badInput(`${s.name} must be a list of non-empty words, got ${show(raw)}`, { field: s.name });
  if (s.options && !list.every((x) => s.options!.includes(x))) throw badInput(`${s.name} must list some of ${s.options.join(', ')}, got ${show(raw)}`, { field: s.name });
  return list as string[];
}

/** One setting's value, checked; `raw` is a CLI string (or strings for a repeated flag) or a JSON value. */
export function parseSetting(s: SettingSpec, raw: unknown, c: SettingContext = {}): SettingValue {
  switch (s.type) {
    case 'int':
      return toNumber(s, raw, true);
    case 'number':
      return toNumber(s, raw, false);
    case 'boolean':
      if (typeof raw === 'boolean') return raw;
      if (raw === 'true' || raw === 'false') return raw === 'true';
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
      const list = typeof raw === 'string' ? [raw] : raw;
      if (!Array.isArray(list) || list.length === 0 || !list.every((x) => typeof x === 'string' && x.length > 0)) throw badInput(`${s.name} must be a list of ${s.type === 'files' ? 'paths' : 'non-empty texts'}, got ${show(raw)}`, { field: s.name });
      return list as string[];
    }
    case 'strings':
      return toList(s, raw);
    case 'numbers': {
      const list = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(',').map((x) => x.trim()) : undefined;
      if (!list || list.length === 0) throw badInput(`${s.name} must be a list of numbers, got ${show(raw)}`, { field: s.name });
      return list.map((x) => toNumber(s, x, false));
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
