// What the Unlearning panel draws, from the run's points (pure: unit-tested without a browser).
// Steps arrive from 0 (the trainer's index); the chart counts them from 1 (updates made).

import type { UnlearnChartPoint } from '../../src/protocol/panels';

/** The metrics with a name of their own on the chart; any other metric in 0…1 is drawn under its key. */
const RATE_LABELS: Record<string, string> = {
  forgetTop1: 'forget top-1',
  forgetProb: 'forget P(answer)',
  retainTop1: 'retain top-1',
  retainProb: 'retain P(answer)',
};

export interface Series {
  key: string;
  label: string;
  /** [updates made, value]. */
  values: [number, number][];
}

export interface ChartSeries {
  loss: Series;
  /** Metrics whose every value lies in 0…1, on the right-hand (percent) axis: the named ones first. */
  rates: Series[];
  /** The last step drawn (updates made), 0 when none. */
  last: number;
}

export function chartSeries(points: readonly UnlearnChartPoint[]): ChartSeries {
  const keys = [...new Set(points.flatMap((p) => Object.keys(p.metrics)))];
  const rates = keys
    .filter((k) => points.every((p) => p.metrics[k] === undefined || (Number.isFinite(p.metrics[k]) && p.metrics[k] >= 0 && p.metrics[k] <= 1)))
    .sort((a, b) => rank(a) - rank(b))
    .map((key) => ({ key, label: RATE_LABELS[key] ?? key, values: points.filter((p) => p.metrics[key] !== undefined).map((p): [number, number] => [p.step + 1, p.metrics[key]]) }));
  return {
    loss: { key: 'loss', label: 'loss', values: points.filter((p) => Number.isFinite(p.loss)).map((p) => [p.step + 1, p.loss]) },
    rates,
    last: points.length ? points[points.length - 1].step + 1 : 0,
  };
}

function rank(key: string): number {
  const i = Object.keys(RATE_LABELS).indexOf(key);
  return i < 0 ? 100 : i;
}

/** An SVG path through the values, scaled by x and y. */
export function linePath(values: readonly [number, number][], x: (v: number) => number, y: (v: number) => number): string {
  return values.map(([a, b], i) => `${i ? 'L' : 'M'}${x(a).toFixed(1)},${y(b).toFixed(1)}`).join('');
}

/** A fraction as a percentage, or — when it is not a number (no such items). */
export function percent(x: number | null | undefined): string {
  return typeof x === 'number' && Number.isFinite(x) ? `${(100 * x).toFixed(1)} %` : '—';
}

/** The curve as CSV: step (updates made), loss, then every metric. */
export function curveCsv(points: readonly UnlearnChartPoint[]): string {
  const keys = [...new Set(points.flatMap((p) => Object.keys(p.metrics)))];
  const rows = points.map((p) => [p.step + 1, p.loss, ...keys.map((k) => p.metrics[k] ?? '')].join(','));
  return [['step', 'loss', ...keys].join(','), ...rows].join('\n') + '\n';
}
