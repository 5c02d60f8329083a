// A sweep: one diagnostic run over a grid of methods × presets, each grid cell cut into shards,
// one Slurm array task per (cell, shard). The plan is written once to <root>/sweep.json; the
// array task i runs cell ⌊i / shards⌋, shard i mod shards, with --resume, into its own folder
//   <root>/cells/<cell>/shard-<s>of<n>/     (a run folder: run.json, cases.jsonl, summary.json)
//   <root>/cells/<cell>/run/                (sequential: one run per cell, not sharded)
// and records its start and exit in <root>/tasks/<i>.json (TaskMark), so that `sweep status`
// needs only the folders. `sweep merge` (sweepMerge.ts) joins each cell's shards with mergeRuns
// and writes one table across the cells.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { badInput } from '../errors';
import { writeFileAtomic } from '../atomicWrite';
import { DIAGNOSTICS, type DiagnosticPlugin } from '../diagnostics/plugins/index';
import { FACT_EDITORS } from '../methods/factEditors';

export const SWEEP_FILE = 'sweep.json';

/** One grid cell: a method and (for a method with presets) one of its presets. */
export interface SweepCell {
  /** The cell's folder name under cells/: <method> or <method>-<preset>. */
  id: string;
  method: string;
  preset?: string;
}

export interface SweepResources {
  cpus: number;
  /** Slurm's --mem per task (e.g. 4G). */
  mem: string;
  /** GPUs per task (--gres=gpu:N); 0: none. */
  gpus: number;
  /** Slurm's --time (e.g. 01:00:00). */
  time: string;
  partition?: string;
  /** At most this many array tasks at once (--array …%N); absent: no limit. */
  throttle?: number;
  /** #SBATCH --requeue, and a task interrupted by SIGTERM (exit 75) requeues itself. */
  requeue: boolean;
}

/** <root>/sweep.json: everything the array tasks, `sweep status` and `sweep merge` need. */
export interface SweepPlan {
  version: 1;
  diagnostic: string;
  /** Absolute. */
  root: string;
  cells: SweepCell[];
  /** Shards per cell (sequential: 1). */
  shards: number;
  /** How a task starts mechedit: [node, main.js] (absolute paths). */
  mechedit: string[];
  /** The model flags (--model DIR with an absolute DIR, or --default; --provider, --threads, --edits). */
  modelArgs: string[];
  /** The diagnostic's own flags, checked against its settings (never method, preset, shard, resume, out). */
  args: string[];
  resources: SweepResources;
}

/** The exit code of a run stopped by SIGTERM at a case boundary with its records flushed (EX_TEMPFAIL): resume it. */
export const PREEMPTED_EXIT = 75;

/** Flags a sweep sets itself, per task: refused among the diagnostic's own flags. */
export const SWEEP_OWNED = ['method', 'preset', 'shard', 'resume', 'out'];

/** The diagnostics a sweep runs: those whose runs merge (sharded), and sequential (one run per cell). */
export function sweepDiagnostics(): DiagnosticPlugin[] {
  return DIAGNOSTICS.filter((d) => d.merge || d.descriptor.id === 'sequential');
}

export function sweepPlugin(id: unknown): DiagnosticPlugin {
  const p = sweepDiagnostics().find((d) => d.descriptor.id === id);
  if (!p) throw badInput(`A sweep runs ${sweepDiagnostics().map((d) => d.descriptor.id).join(', ')}; got ${JSON.stringify(id)}`, { field: 'diagnostic' });
  return p;
}

export const isSharded = (p: DiagnosticPlugin) => p.merge !== undefined;

/** The grid: each method once, × each given preset the method has (a method without presets, or with none given: one cell, its default). */
export function gridCells(p: DiagnosticPlugin, methods: string[], presets: string[]): SweepCell[] {
  const spec = p.descriptor.settings.find((s) => s.name === 'method');
  if (!spec) {
    // A diagnostic without methods (ORT measures the --edits stack): one cell.
    if (methods.length || presets.length) throw badInput(`${p.descriptor.label} has no --method: its sweep is one cell (the --edits stack), cut into shards`, { field: 'method', hint: 'Leave --method and --preset out.' });
    return [{ id: p.descriptor.id, method: 'none' }];
  }
  const allowed = spec.options ?? [];
  if (!methods.length) throw badInput('Give the grid\'s methods', { field: 'method', hint: `e.g. --method none --method rome (${p.descriptor.label} takes ${allowed.join(', ')}).` });
  const cells: SweepCell[] = [];
  const used = new Set<string>();
  for (const m of new Set(methods)) {
    if (!allowed.includes(m)) throw badInput(`${p.descriptor.label} has no method ${JSON.stringify(m)}`, { field: 'method', hint: `Use ${allowed.join(', ')}.` });
    const own = FACT_EDITORS.find((f) => f.descriptor.id === m)?.descriptor.presets.map((x) => x.id) ?? [];
    const mine = [...new Set(presets)].filter((x) => own.includes(x));
    mine.forEach((x) => used.add(x));
    if (!mine.length) cells.push({ id: m, method: m });
    for (const x of mine) cells.push({ id: `${m}-${x}`, method: m, preset: x });
  }
  const unknown = presets.filter((x) => !used.has(x));
  if (unknown.length) throw badInput(`No method of the grid has the preset ${JSON.stringify(unknown[0])}`, { field: 'preset', hint: 'mechedit methods lists each method\'s presets.' });
  return cells;
}

/** The run folder of cell c, shard s. */
export function shardFolder(plan: Pick<SweepPlan, 'root' | 'shards' | 'diagnostic'>, cell: SweepCell, s: number): string {
  const sharded = isSharded(sweepPlugin(plan.diagnostic));
  return path.join(plan.root, 'cells', cell.id, sharded ? `shard-${s}of${plan.shards}` : 'run');
}

export const taskCount = (plan: Pick<SweepPlan, 'cells' | 'shards'>) => plan.cells.length * plan.shards;

/** The arguments of array task i: the cell, the shard and the mechedit command line. */
export function taskArgs(plan: SweepPlan, i: number): { cell: SweepCell; shard: number; out: string; argv: string[] } {
  const cell = plan.cells[Math.floor(i / plan.shards)];
  const shard = i % plan.shards;
  const out = shardFolder(plan, cell, shard);
  const hasMethod = sweepPlugin(plan.diagnostic).descriptor.settings.some((x) => x.name === 'method');
  const argv = [plan.diagnostic, ...plan.modelArgs, ...(hasMethod ? ['--method', cell.method] : []), ...(cell.preset ? ['--preset', cell.preset] : []), ...plan.args,
    ...(isSharded(sweepPlugin(plan.diagnostic)) ? ['--shard', `${shard}/${plan.shards}`] : []), '--resume', '--out', out];
  return { cell, shard, out, argv };
}

/** Writes <root>/sweep.json; a root that holds another sweep is refused (the same plan again is fine). */
export function writePlan(plan: SweepPlan): void {
  const file = path.join(plan.root, SWEEP_FILE);
  const text = `${JSON.stringify(plan, null, 2)}\n`;
  if (fs.existsSync(file) && fs.readFileSync(file, 'utf8') !== text) {
    throw badInput('The run root already holds another sweep', { file, field: 'root', hint: 'Give a new --root (or the same grid, shards, flags and resources as the sweep there).' });
  }
  if (fs.existsSync(plan.root) && !fs.existsSync(file) && fs.readdirSync(plan.root).length) {
    throw badInput('The run root is not empty and holds no sweep', { file: plan.root, field: 'root', hint: 'Give a new or empty folder.' });
  }
  fs.mkdirSync(path.join(plan.root, 'tasks'), { recursive: true });
  fs.mkdirSync(path.join(plan.root, 'logs'), { recursive: true });
  writeFileAtomic(file, text);
}

/** <root>/sweep.json, checked for the fields the status and the merge use. */
export function readPlan(root: string): SweepPlan {
  const file = path.join(root, SWEEP_FILE);
  let plan: SweepPlan;
  try {
    plan = JSON.parse(fs.readFileSync(file, 'utf8')) as SweepPlan;
  } catch (e) {
    throw badInput(`Not a sweep root: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no sweep.json' : (e as Error).message}`, { file, hint: 'Give the --root of a sweep that mechedit sweep wrote.' });
  }
  const bad = (field: string) => badInput(`sweep.json is damaged: "${field}" is missing or of the wrong type`, { file, field, hint: 'Write the sweep again with mechedit sweep (the run folders are kept).' });
  if (plan?.version !== 1) throw bad('version');
  if (typeof plan.diagnostic !== 'string') throw bad('diagnostic');
  sweepPlugin(plan.diagnostic);
  if (!Array.isArray(plan.cells) || !plan.cells.every((c) => typeof c?.id === 'string' && /^[A-Za-z0-9._-]+$/.test(c.id) && typeof c.method === 'string')) throw bad('cells');
  if (!Number.isInteger(plan.shards) || plan.shards < 1) throw bad('shards');
  // The folders are where this sweep.json is, wherever the root was when it was written.
  return { ...plan, root: path.resolve(root) };
}

/** What a task records in <root>/tasks/<i>.json: its start (exit absent) and its exit code. */
export interface TaskMark {
  task: number;
  host: string;
  job?: string;
  started: string;
  restarts?: number;
  exit?: number;
  ended?: string;
}
