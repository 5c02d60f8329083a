// A sequential sweep's cells on one chart (the Lifelong editing panel): each picked cell's curve
// (cells/<cell>/run/curve.jsonl, as the host read it through the engine) as a line, drawn by the
// panel's own small multiples (chart.ts), a cell in place of a method.

import type { LifelongPoint, LifelongRunSnapshot } from '../../src/protocol/lifelong';
import type { SweepView } from '../../src/protocol/sweep';
import { h } from '../shared/host';
import { curvesChart } from './chart';

/** The picked cells' curves as runs the chart draws (a cell id in place of the method). */
export function sweepRuns(v: SweepView, picked: string[]): LifelongRunSnapshot[] {
  return (v.curves ?? []).filter((c) => picked.includes(c.cell)).map((c) => ({
    method: c.cell,
    folder: v.tasks.find((t) => t.cell === c.cell)?.out ?? '',
    status: 'loaded',
    // Lines of curve.jsonl: NaN figures were written as null, which the chart treats as a gap.
    points: c.points as unknown as LifelongPoint[],
  }));
}

/** The chart box's content: a heading and the chart, or nothing when the view has no curves. */
export function sweepCurvesBox(v: SweepView | undefined, picked: string[], width: number): (Node | string)[] {
  if (!v?.curves) return [];
  const runs = sweepRuns(v, picked).filter((r) => r.points.length);
  if (!runs.length) return [h('p', { class: 'muted' }, 'No picked cell has a measured point yet.')];
  return [h('h3', {}, `The sweep's cells: ${runs.map((r) => r.method).join(', ')}`), curvesChart(runs, width, [])];
}
