// `mechedit sweep merge ROOT`: each grid cell's shards joined by mergeRuns (diagnostics/merge.ts,
// which refuses anything but every finished shard of one run) into <root>/merged/<cell>/, and one
// table across the cells: <root>/comparison.csv, comparison.md, comparison.html (linking each
// cell's report.html where the diagnostic writes one). A column is a number of the cell's
// summary.json (sequential: its last curve point), by its dotted path (e.g. tasks.efficacy.indicators.es).
// A cell merged before is merged again into a new folder, then put in place of the old one.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { badInput } from '../errors';
import { writeFileAtomic } from '../atomicWrite';
import { mergeRuns } from '../diagnostics/merge';
import { isSharded, readPlan, shardFolder, sweepPlugin, type SweepCell, type SweepPlan } from './sweep';

export interface CellTable {
  cell: string;
  method: string;
  preset?: string;
  /** The merged run folder (sequential: the cell's run folder). */
  out: string;
  cases: number;
  values: Record<string, number>;
}

export interface SweepMergeResult {
  root: string;
  diagnostic: string;
  columns: string[];
  cells: CellTable[];
  files: { csv: string; markdown: string; html: string };
}

/** The numbers of a JSON value by dotted path (arrays by index), in document order. */
export function numberLeaves(x: unknown, prefix = '', into: Record<string, number> = {}): Record<string, number> {
  if (typeof x === 'number' && Number.isFinite(x)) into[prefix] = x;
  else if (Array.isArray(x)) x.forEach((v, i) => numberLeaves(v, prefix ? `${prefix}.${i}` : String(i), into));
  else if (x && typeof x === 'object') for (const [k, v] of Object.entries(x)) numberLeaves(v, prefix ? `${prefix}.${k}` : k, into);
  return into;
}

function mergeCell(plan: SweepPlan, cellIndex: number): { out: string; cases: number; summary: unknown } {
  const cell = plan.cells[cellIndex];
  const dirs = Array.from({ length: plan.shards }, (_, s) => shardFolder(plan, cell, s));
  const target = path.join(plan.root, 'merged', cell.id);
  const fresh = `${target}.merging-${process.pid}`;
  fs.rmSync(fresh, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const r = mergeRuns(dirs, fresh);
  fs.rmSync(target, { recursive: true, force: true });
  fs.renameSync(fresh, target);
  return { out: target, cases: r.cases, summary: JSON.parse(fs.readFileSync(path.join(target, 'summary.json'), 'utf8')) };
}

/** A cell's row of the comparison: the numbers of its summary, less the run record (config), how it measured (protocol) and its case list, which every cell shares. */
export function cellTable(c: SweepCell, m: { out: string; cases: number; summary: unknown }): CellTable {
  const { config: _config, protocol: _protocol, cases: _cases, ...figures } = (m.summary ?? {}) as Record<string, unknown>;
  return { cell: c.id, method: c.method, ...(c.preset ? { preset: c.preset } : {}), out: m.out, cases: m.cases, values: numberLeaves(figures) };
}

/** The comparison's columns: every cell's figures, in the order first met. */
export const columnsOf = (cells: CellTable[]) => [...new Set(cells.flatMap((c) => Object.keys(c.values)))];

export function sequentialCell(plan: SweepPlan, cellIndex: number): { out: string; cases: number; summary: unknown } {
  const out = shardFolder(plan, plan.cells[cellIndex], 0);
  const file = path.join(out, 'curve.jsonl');
  const lines = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()) : [];
  if (!lines.length) throw badInput(`Cell ${plan.cells[cellIndex].id} has no curve point yet`, { file, hint: 'Wait for its task (mechedit sweep status), then merge.' });
  const last = JSON.parse(lines[lines.length - 1]) as { edits?: number };
  return { out, cases: last.edits ?? 0, summary: last };
}

const csvCell = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
const num = (v: number | undefined) => (v === undefined ? '' : String(Number(v.toPrecision(6))));

function writeTables(plan: SweepPlan, columns: string[], cells: CellTable[]): SweepMergeResult['files'] {
  const head = ['cell', 'method', 'preset', 'cases', ...columns];
  const row = (c: CellTable) => [c.cell, c.method, c.preset ?? '', String(c.cases), ...columns.map((k) => num(c.values[k]))];
  const files = { csv: path.join(plan.root, 'comparison.csv'), markdown: path.join(plan.root, 'comparison.md'), html: path.join(plan.root, 'comparison.html') };
  writeFileAtomic(files.csv, [head, ...cells.map(row)].map((r) => r.map(csvCell).join(',')).join('\n') + '\n');
  // Markdown: one row per column, one column per cell (a sweep has few cells and many figures).
  const md = [
    `# ${plan.diagnostic} sweep: ${cells.length} cells, ${plan.shards} shard(s) each`, '',
    `| figure | ${cells.map((c) => c.cell).join(' | ')} |`, `|---|${cells.map(() => '---:').join('|')}|`,
    `| cases | ${cells.map((c) => c.cases).join(' | ')} |`,
    ...columns.map((k) => `| ${k} | ${cells.map((c) => num(c.values[k])).join(' | ')} |`), '',
  ];
  writeFileAtomic(files.markdown, md.join('\n'));
  const link = (c: CellTable) => (fs.existsSync(path.join(c.out, 'report.html')) ? `<a href="${esc(path.relative(plan.root, path.join(c.out, 'report.html')))}">${esc(c.cell)}</a>` : esc(c.cell));
  const html = [
    '<!doctype html><html><head><meta charset="utf-8"><title>MechEdit sweep</title>',
    '<style>body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}td:first-child,th:first-child{text-align:left}</style></head><body>',
    `<h1>${esc(plan.diagnostic)} sweep: ${cells.length} cells, ${plan.shards} shard(s) each</h1>`,
    `<table><tr><th>figure</th>${cells.map((c) => `<th>${link(c)}</th>`).join('')}</tr>`,
    `<tr><td>cases</td>${cells.map((c) => `<td>${c.cases}</td>`).join('')}</tr>`,
    ...columns.map((k) => `<tr><td>${esc(k)}</td>${cells.map((c) => `<td>${num(c.values[k])}</td>`).join('')}</tr>`),
    '</table></body></html>', '',
  ];
  writeFileAtomic(files.html, html.join('\n'));
  return files;
}

export function sweepMerge(root: string): SweepMergeResult {
  const plan = readPlan(root);
  const sharded = isSharded(sweepPlugin(plan.diagnostic));
  const cells: CellTable[] = plan.cells.map((c, i) => cellTable(c, sharded ? mergeCell(plan, i) : sequentialCell(plan, i)));
  const columns = columnsOf(cells);
  const files = writeTables(plan, columns, cells);
  return { root: plan.root, diagnostic: plan.diagnostic, columns, cells, files };
}
