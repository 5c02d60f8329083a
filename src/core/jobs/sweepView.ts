// What the VS Code panels show of a sweep root (the engine's 'sweep/view'): sweepStatus as
// `mechedit sweep status` reports it; once `sweep merge` has run, its comparison read back from
// what it wrote (merged/<cell>/summary.json; sequential: each cell's last curve point), not merged
// again; and for a sequential sweep every cell's curve (cells/<cell>/run/curve.jsonl), for one chart.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { isSharded, readPlan, sweepPlugin } from './sweep';
import { completeLines, sweepStatus, type SweepStatus } from './sweepStatus';
import { cellTable, columnsOf, sequentialCell, type CellTable, type SweepMergeResult } from './sweepMerge';

export interface SweepCurve {
  cell: string;
  /** The cell's curve.jsonl, one parsed object per complete line (a half-written last line is left out). */
  points: Record<string, unknown>[];
}

export interface SweepViewData {
  status: SweepStatus;
  /** Absent until `sweep merge` wrote comparison.csv and every cell's merged result. */
  merged?: Omit<SweepMergeResult, 'root' | 'diagnostic'>;
  /** Every task finished and not merged yet: a merge would succeed now. */
  mergeable: boolean;
  /** Sequential sweeps: each cell's curve (so far). */
  curves?: SweepCurve[];
}

const comparisonFiles = (root: string) => ({ csv: path.join(root, 'comparison.csv'), markdown: path.join(root, 'comparison.md'), html: path.join(root, 'comparison.html') });

/** The comparison `sweep merge` wrote, read back; undefined when the sweep has not been merged (or a cell's merged folder is gone). */
export function readMerged(root: string): SweepViewData['merged'] {
  const plan = readPlan(root);
  const files = comparisonFiles(plan.root);
  if (!fs.existsSync(files.csv)) return undefined;
  const sharded = isSharded(sweepPlugin(plan.diagnostic));
  const cells: CellTable[] = [];
  for (const [i, c] of plan.cells.entries()) {
    if (!sharded) {
      cells.push(cellTable(c, sequentialCell(plan, i)));
      continue;
    }
    const out = path.join(plan.root, 'merged', c.id);
    const file = path.join(out, 'summary.json');
    if (!fs.existsSync(file)) return undefined;
    cells.push(cellTable(c, { out, cases: completeLines(path.join(out, 'cases.jsonl')), summary: JSON.parse(fs.readFileSync(file, 'utf8')) }));
  }
  return { columns: columnsOf(cells), cells, files };
}

function readCurve(file: string): Record<string, unknown>[] {
  if (!fs.existsSync(file)) return [];
  const text = fs.readFileSync(file, 'utf8');
  const complete = text.slice(0, text.lastIndexOf('\n') + 1);
  return complete.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as Record<string, unknown>);
}

export function sweepView(root: string): SweepViewData {
  const status = sweepStatus(root);
  const merged = readMerged(root);
  const sequential = status.diagnostic === 'sequential';
  return {
    status,
    ...(merged ? { merged } : {}),
    mergeable: !merged && status.counts.finished === status.tasks.length,
    ...(sequential ? { curves: status.tasks.map((t) => ({ cell: t.cell, points: readCurve(path.join(t.out, 'curve.jsonl')) })) } : {}),
  };
}
