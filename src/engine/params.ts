// Checks on request parameters that arrive over the wire (the types say nothing at run time).
// Each returns the value with its type, or throws a bad-input error naming the field. Numbers
// are bounded, not only finite: a strength of 3e38 is finite but makes every logit NaN.

import * as path from 'node:path';
import { badInput } from '../core/errors';
import { BOUNDS } from '../core/methods/specs';

/** Bounds of the numbers requests carry (see each handler for which applies). */
export const LIMITS = {
  /** An edit's strength α: |α| ≤ 1000 (a strength of 1 is the edit as computed). */
  strength: 1e3,
  /** Noise samples of causal tracing. */
  traceSamples: 10_000,
  /** Key vectors for key statistics (the registry's bound on the methods' `samples`). */
  statsSamples: BOUNDS.statsSamples,
  /** Entries of a steering vector or a concept direction (wireParams.ts). */
  vectorEntry: 1e6,
} as const;

const show = (v: unknown) => (typeof v === 'string' ? JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v) : JSON.stringify(v) ?? String(v));

/** A non-empty string parameter, or a bad-input error naming the field. */
export function text(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0) throw badInput(`"${field}" must be a non-empty string`, { field });
  return value;
}

/**
 * An output folder: an absolute path. The engine's working directory is nobody's choice, so a
 * relative folder would land wherever the engine happened to start.
 */
export function outputFolder(value: unknown, field: string): string {
  const dir = text(value, field);
  if (dir.includes('\0')) throw badInput(`"${field}" holds a NUL character`, { field, hint: 'Give the full path of the folder to write into.' });
  if (!path.isAbsolute(dir)) throw badInput(`"${field}" must be an absolute path, got ${JSON.stringify(dir.slice(0, 200))}`, { field, hint: 'Give the full path of the folder to write into.' });
  return dir;
}

/** An optional string: undefined when absent, else a non-empty string. */
export function optionalText(value: unknown, field: string): string | undefined {
  return value === undefined || value === null ? undefined : text(value, field);
}

/** A list of non-empty strings (at least `min` of them). */
export function texts(value: unknown, field: string, min = 1): string[] {
  if (!Array.isArray(value) || value.length < min || !value.every((v) => typeof v === 'string' && v.length > 0)) {
    throw badInput(`"${field}" must be a list of ${min > 0 ? `at least ${min} ` : ''}non-empty strings, got ${show(value)}`, { field });
  }
  return value as string[];
}

/** A whole number in [min, max]; `fallback` when absent (or an error when there is none). */
export function int(value: unknown, field: string, min: number, max: number, fallback?: number): number {
  if ((value === undefined || value === null) && fallback !== undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw badInput(`"${field}" must be a whole number in ${min}…${max}, got ${show(value)}`, { field });
  }
  return value;
}

/** An optional whole number in [min, max]. */
export function optionalInt(value: unknown, field: string, min: number, max: number): number | undefined {
  return value === undefined || value === null ? undefined : int(value, field, min, max);
}

/** A finite number in [min, max] (exclusive of min with `above`); `fallback` when absent. */
export function num(value: unknown, field: string, o: { min: number; max: number; above?: boolean; fallback?: number }): number {
  if ((value === undefined || value === null) && o.fallback !== undefined) return o.fallback;
  const ok = typeof value === 'number' && Number.isFinite(value) && (o.above ? value > o.min : value >= o.min) && value <= o.max;
  if (!ok) throw badInput(`"${field}" must be a number ${o.above ? 'above' : 'from'} ${o.min} ${o.above ? 'and at most' : 'to'} ${o.max}, got ${show(value)}`, { field });
  return value;
}

/** An edit strength α: |α| ≤ LIMITS.strength; `fallback` when absent (else required). */
export function strength(value: unknown, fallback?: number, field = 'strength'): number {
  return num(value, field, { min: -LIMITS.strength, max: LIMITS.strength, fallback });
}

/** An optional boolean. */
export function flag(value: unknown, field: string): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw badInput(`"${field}" must be true or false, got ${show(value)}`, { field });
  return value;
}

/** One of `options`; `fallback` when absent. */
export function oneOf<T extends string>(value: unknown, field: string, options: readonly T[], fallback?: T): T {
  if ((value === undefined || value === null) && fallback !== undefined) return fallback;
  if (!options.includes(value as T)) throw badInput(`"${field}" must be one of ${options.join(', ')}, got ${show(value)}`, { field });
  return value as T;
}

/** A layer of a model with `layers` layers. */
export function layer(value: unknown, layers: number, field = 'layer'): number {
  return int(value, field, 0, layers - 1);
}

/** A plain object parameter (not null, not a list). */
export function object(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw badInput(`"${field}" must be an object, got ${show(value)}`, { field });
  return value as Record<string, unknown>;
}

/** Fact requests: a non-empty list of { subject, prompt, target } strings. */
export function factRequests(value: unknown, field = 'requests'): { subject: string; prompt: string; target: string }[] {
  if (!Array.isArray(value) || value.length === 0) throw badInput('No fact requests given', { field });
  return value.map((r, i) => {
    const o = object(r, `${field}[${i}]`);
    return { subject: text(o.subject, `${field}[${i}].subject`), prompt: text(o.prompt, `${field}[${i}].prompt`), target: text(o.target, `${field}[${i}].target`) };
  });
}
