// The comparison of a merged sweep's cells (webview/shared/sweep.ts): one row per figure (the
// cells' case counts first, then sweep merge's columns, in its order), the picked cells' values in
// the order picked, and each later cell's difference from the first picked (absent where either
// value is missing).

import type { SweepView } from '../../src/protocol/sweep';

export interface CompareRow {
  figure: string;
  values: (number | undefined)[];
  /** values[i + 1] − values[0]. */
  diffs: (number | undefined)[];
}

export function compareRows(merged: NonNullable<SweepView['merged']>, picked: string[]): CompareRow[] {
  const cells = picked.map((id) => merged.cells.find((c) => c.cell === id)).filter((c) => c !== undefined);
  const row = (figure: string, values: (number | undefined)[]): CompareRow => ({
    figure, values,
    diffs: values.slice(1).map((x) => (x === undefined || values[0] === undefined ? undefined : x - values[0])),
  });
  return [row('cases', cells.map((c) => c.cases)), ...merged.columns.map((k) => row(k, cells.map((c) => c.values[k])))];
}

const csvField = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

/** The comparison as CSV: figure, each cell, then Δ <cell> for each cell after the first. */
export function compareCsv(picked: string[], rows: CompareRow[]): string {
  const head = ['figure', ...picked, ...picked.slice(1).map((c) => `Δ ${c}`)];
  const num = (x: number | undefined) => (x === undefined ? '' : String(x));
  return [head, ...rows.map((r) => [r.figure, ...r.values.map(num), ...r.diffs.map(num)])].map((r) => r.map(csvField).join(',')).join('\n') + '\n';
}
