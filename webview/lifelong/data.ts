// What the Lifelong editing panel draws, from a session's runs (pure: no DOM). One chart per
// measure, one line per method; values are percentages except the stack's health (the largest
// ‖ΔW‖/‖W‖ over the edited modules, a ratio).

import type { FactMethod } from '../../src/protocol/engine';
import type { LifelongPoint, LifelongRunSnapshot } from '../../src/protocol/lifelong';
import { SERIES, seriesProp } from '../shared/colors';

export interface Measure {
  key: string;
  label: string;
  /** Percent (0…100) or a ratio drawn on its own scale. */
  percent: boolean;
  value(p: LifelongPoint): number;
}

export const MEASURES: Measure[] = [
  { key: 'efficacy', label: 'Efficacy (all edits so far)', percent: true, value: (p) => p.efficacy },
  { key: 'paraphrase', label: 'Paraphrase', percent: true, value: (p) => p.paraphrase },
  { key: 'specificity', label: 'Specificity (unrelated facts)', percent: true, value: (p) => p.specificity },
  { key: 'choice', label: 'Skills: multiple choice', percent: true, value: (p) => p.skills.choice },
  { key: 'trueFalse', label: 'Skills: true / false', percent: true, value: (p) => p.skills.trueFalse },
  { key: 'twoHop', label: 'Skills: two-hop', percent: true, value: (p) => p.skills.twoHop },
  { key: 'health', label: 'Stack health: max ‖ΔW‖/‖W‖', percent: false, value: (p) => maxRelNorm(p) },
];

/**
 * The lines' colours: the theme's series colours (shared/colors.ts) with the foreground as the
 * fallback, solid (thin dashes vanish on dark themes); a method takes the style at its place in
 * the panel's method list, and only past the six series colours a long dash tells repeats apart.
 */
export function methodStyle(method: FactMethod, order: readonly string[], runs: readonly { method: string }[] = []): { colour: [string, string]; dash: string } {
  const i = order.indexOf(method);
  const j = i >= 0 ? i : order.length + Math.max(0, runs.findIndex((r) => r.method === method));
  return { colour: [seriesProp(j), 'currentColor'], dash: j >= SERIES.length ? '8 3' : '' };
}

/** A method's label from the panel's method list (its id when the list does not have it). */
export function methodLabel(method: string, methods: readonly { id: string; label: string }[]): string {
  return methods.find((m) => m.id === method)?.label ?? method;
}

/** A measured figure (not NaN, nor the null NaN becomes in JSON). */
export const isFigure = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

export function maxRelNorm(p: LifelongPoint): number {
  return p.health.reduce((m, h) => Math.max(m, isFigure(h.relNorm) ? h.relNorm : 0), 0);
}

export interface Line {
  method: FactMethod;
  /** [edits, value]. */
  values: [number, number][];
}

/** The lines of one measure: one per run that has points. */
export function measureLines(runs: readonly LifelongRunSnapshot[], m: Measure): Line[] {
  return runs
    .filter((r) => r.points.length)
    .map((r) => ({ method: r.method, values: r.points.map((p): [number, number] => [p.edits, m.value(p)]).filter((v) => isFigure(v[1])) }))
    .filter((l) => l.values.length);
}

/** The x axis's end: the planned edits of the runs while they run, else the most edits measured (at least 1). */
export function editsDomain(runs: readonly LifelongRunSnapshot[]): number {
  const planned = runs.map((r) => (r.status === 'running' || r.status === 'queued' ? r.total ?? 0 : 0));
  const measured = runs.flatMap((r) => r.points.map((p) => p.edits));
  return Math.max(1, ...planned, ...measured);
}

/** An SVG path through the values, scaled by x and y. */
export function linePath(values: readonly [number, number][], x: (v: number) => number, y: (v: number) => number): string {
  return values.map(([a, b], i) => `${i ? 'L' : 'M'}${x(a).toFixed(1)},${y(b).toFixed(1)}`).join('');
}

/** Every point of every run as CSV: method, edits, the measures, seconds, then ‖ΔW‖/‖W‖ per module. */
export function curvesCsv(runs: readonly LifelongRunSnapshot[]): string {
  const modules = [...new Set(runs.flatMap((r) => r.points.flatMap((p) => p.health.map((h) => h.module))))];
  const header = ['method', 'edits', 'efficacy', 'paraphrase', 'specificity', 'choice', 'trueFalse', 'twoHop', 'seconds', ...modules.map((m) => `relNorm ${m}`)];
  const cell = (v: string | number | null) => (typeof v === 'string' ? (/[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v) : isFigure(v) ? String(v) : '');
  const rows = runs.flatMap((r) => r.points.map((p) => [
    r.method, p.edits, p.efficacy, p.paraphrase, p.specificity, p.skills.choice, p.skills.trueFalse, p.skills.twoHop, p.seconds,
    ...modules.map((m) => p.health.find((h) => h.module === m)?.relNorm ?? ''),
  ].map(cell).join(',')));
  return [header.map(cell).join(','), ...rows].join('\n') + '\n';
}

/** A percentage for the status line, or — when absent. */
export function pct(x: number | undefined): string {
  return isFigure(x) ? `${x.toFixed(1)} %` : '—';
}
