// `mechedit sweep`: a Slurm array job for a diagnostic over a grid of methods × presets, each
// cell cut into shards (core/jobs/sweep.ts); `sweep status ROOT` and `sweep merge ROOT`.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { badInput } from '../../core/errors';
import { writeFileAtomic } from '../../core/atomicWrite';
import { isSharded, PREEMPTED_EXIT, SWEEP_OWNED, sweepDiagnostics, sweepPlugin, gridCells, taskCount, writePlan, type SweepPlan, type SweepResources } from '../../core/jobs/sweep';
import { sbatchScript } from '../../core/jobs/sweepScript';
import { formatStatus, sweepStatus, type SweepStatus } from '../../core/jobs/sweepStatus';
import { sweepMerge, type SweepMergeResult } from '../../core/jobs/sweepMerge';
import { intOption, modelHelp, modelOptions, modelPathOf, requireString, type Command } from '../common';
import { settingOptions } from '../registryFlags';

const ids = () => sweepDiagnostics().map((d) => d.descriptor.id).join('|');

const HELP = () => [
  `mechedit sweep --diagnostic ${ids()} --model DIR|--default --method M … [--preset P …]`,
  '               --root DIR [--shards N] [--cpus N] [--mem 4G] [--gpus N] [--time HH:MM:SS] [--partition P]',
  '               [--throttle N] [--requeue] [-- DIAGNOSTIC FLAGS …]',
  'mechedit sweep status ROOT      finished, running, stopped and missing tasks, from the folders (no Slurm needed)',
  'mechedit sweep merge ROOT       merge every cell (ROOT/merged/<cell>/) and write ROOT/comparison.{csv,md,html}',
  modelHelp,
  `  --diagnostic D       ${ids()} (the diagnostics whose runs merge, and sequential: one run per cell)`,
  '  --method M …         the grid\'s methods (the diagnostic\'s --method choices)',
  '  --preset P …         presets: each method is run with each of these it has (a method with none of them: its default)',
  '  --root DIR           the sweep\'s folder: sweep.json, sweep.sbatch, cells/<cell>/shard-<i>of<n>/, tasks/, logs/',
  '  --shards N           array tasks per cell (default 1; sequential: 1)',
  '  --cpus N --mem M --gpus N --time T --partition P   per task (defaults 1, 4G, 0, 01:00:00); --gpus N adds --gres=gpu:N (give --provider cuda)',
  '  --throttle N         at most N tasks at once (--array=0-K%N)',
  `  --requeue            #SBATCH --requeue; a task stopped by SIGTERM (exit ${PREEMPTED_EXIT}) requeues itself and resumes`,
  '  -- FLAGS …           the diagnostic\'s own flags (e.g. -- --limit 20 --data FILE), checked here; not --method, --preset, --shard, --resume, --out',
  'Writes ROOT/sweep.json and ROOT/sweep.sbatch (submit it with sbatch). See docs/cluster.md.',
].join('\n');

function resources(values: Record<string, unknown>): SweepResources {
  const mem = (values.mem as string | undefined) ?? '4G';
  if (!/^\d+[KMGT]?$/.test(mem)) throw badInput(`--mem must be a size as Slurm takes it (e.g. 4096M, 16G), got "${mem}"`, { field: '--mem' });
  const time = (values.time as string | undefined) ?? '01:00:00';
  if (!/^(\d+-)?\d+(:\d{2}){0,2}$/.test(time)) throw badInput(`--time must be a Slurm time limit (MM, HH:MM:SS or D-HH:MM:SS), got "${time}"`, { field: '--time' });
  const partition = values.partition as string | undefined;
  if (partition !== undefined && !/^[A-Za-z0-9_.,-]+$/.test(partition)) throw badInput(`--partition must be a partition name, got "${partition}"`, { field: '--partition' });
  const throttle = values.throttle === undefined ? undefined : intOption(values, 'throttle', 1, 1, 100_000);
  return { cpus: intOption(values, 'cpus', 1, 1, 4096), mem, gpus: intOption(values, 'gpus', 0, 0, 64), time, ...(partition ? { partition } : {}), ...(throttle ? { throttle } : {}), requeue: values.requeue === true };
}

/** The model flags every task passes (paths absolute: the tasks start in another folder). */
function modelArgs(values: Record<string, unknown>): string[] {
  const model = modelPathOf(values);
  const out = values.default ? ['--default'] : ['--model', path.resolve(model)];
  if (values.provider !== undefined) out.push('--provider', String(values.provider));
  if (values.threads !== undefined) out.push('--threads', String(intOption(values, 'threads', 0, 0, 1024)));
  for (const e of (values.edits as string[] | undefined) ?? []) {
    if (!fs.existsSync(e)) throw badInput('The edit file does not exist', { file: path.resolve(e), field: '--edits' });
    out.push('--edits', path.resolve(e));
  }
  return out;
}

/** The diagnostic's own flags, parsed against its settings (the registry), the sweep's own refused. */
function diagnosticArgs(id: string, args: string[]): string[] {
  const p = sweepPlugin(id);
  const options = settingOptions(p.descriptor.settings);
  let values: Record<string, unknown>;
  try {
    ({ values } = parseArgs({ args, options, strict: true, allowPositionals: false }));
  } catch (e) {
    throw badInput(`${(e as Error).message} (the flags after -- are ${p.descriptor.label}'s: mechedit ${id} --help)`, { field: 'arguments' });
  }
  const owned = Object.keys(values).find((k) => SWEEP_OWNED.includes(k));
  if (owned) throw badInput(`--${owned} is set by the sweep for each task`, { field: `--${owned}`, hint: '--method and --preset go before --; the shard, --resume and --out come from --root and --shards.' });
  for (const [k, v] of Object.entries(values)) {
    if (options[k]?.type === 'string' && typeof v === 'string' && fs.existsSync(v) && !path.isAbsolute(v)) args = args.map((a) => (a === v ? path.resolve(v) : a));
  }
  return args;
}

function writeSweep(values: Record<string, unknown>, rest: string[]): { root: string; script: string; tasks: number; cells: string[]; shards: number } {
  const diagnostic = requireString(values, 'diagnostic');
  const p = sweepPlugin(diagnostic);
  const shards = intOption(values, 'shards', 1, 1, 100_000);
  if (!isSharded(p) && shards !== 1) throw badInput(`${p.descriptor.label} runs are not sharded: one run per cell`, { field: '--shards', hint: 'Leave --shards out.' });
  const root = path.resolve(requireString(values, 'root'));
  const plan: SweepPlan = {
    version: 1, diagnostic, root,
    cells: gridCells(p, (values.method as string[] | undefined) ?? [], (values.preset as string[] | undefined) ?? []),
    shards,
    mechedit: [process.execPath, path.resolve(process.argv[1])],
    modelArgs: modelArgs(values),
    args: diagnosticArgs(diagnostic, rest),
    resources: resources(values),
  };
  writePlan(plan);
  const script = path.join(root, 'sweep.sbatch');
  writeFileAtomic(script, sbatchScript(plan));
  fs.chmodSync(script, 0o755);
  return { root, script, tasks: taskCount(plan), cells: plan.cells.map((c) => c.id), shards };
}

export const sweep: Command = {
  summary: 'a Slurm array job over a grid of methods × presets × shards; sweep status ROOT; sweep merge ROOT',
  get help() {
    return HELP();
  },
  options: {
    ...modelOptions, diagnostic: { type: 'string' }, method: { type: 'string', multiple: true }, preset: { type: 'string', multiple: true }, root: { type: 'string' },
    shards: { type: 'string' }, cpus: { type: 'string' }, mem: { type: 'string' }, gpus: { type: 'string' }, time: { type: 'string' }, partition: { type: 'string' }, throttle: { type: 'string' }, requeue: { type: 'boolean' },
  },
  allowPositionals: true,
  async run(values, ctx) {
    const [first, ...rest] = ctx.positionals ?? [];
    if ((first === 'status' || first === 'merge') && values.diagnostic === undefined) {
      if (rest.length !== 1) throw badInput(`mechedit sweep ${first} takes one ROOT folder`, { field: 'arguments', hint: `mechedit sweep ${first} ROOT` });
      return first === 'status' ? { status: sweepStatus(rest[0]) } : { merge: sweepMerge(rest[0]) };
    }
    return { written: writeSweep(values, ctx.positionals ?? []) };
  },
  format: (r) => {
    const x = r as { status?: SweepStatus; merge?: SweepMergeResult; written?: ReturnType<typeof writeSweep> };
    if (x.status) return formatStatus(x.status);
    if (x.merge) return `${fs.readFileSync(x.merge.files.markdown, 'utf8').trimEnd()}\n\nmerged ${x.merge.cells.length} cells → ${x.merge.files.csv}, ${path.basename(x.merge.files.markdown)}, ${path.basename(x.merge.files.html)}`;
    const w = x.written!;
    return `${w.cells.length} cells (${w.cells.join(', ')}) × ${w.shards} shard(s) = ${w.tasks} array tasks\nwrote ${w.script}\nsubmit: sbatch ${w.script}\nthen:   mechedit sweep status ${w.root}; mechedit sweep merge ${w.root}`;
  },
};
