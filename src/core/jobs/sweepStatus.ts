// `mechedit sweep status ROOT`: each array task's state from the folders alone (no Slurm needed):
//   finished  the run folder holds summary.json (sequential: the task recorded exit 0)
//   running   the task recorded its start and no exit yet
//   stopped   the task exited without finishing (e.g. 75: preempted; resubmit or wait for the requeue)
//   missing   nothing yet: the task has not started
// `cases` counts the complete lines of the shard's cases.jsonl (what a resume keeps).

import * as fs from 'node:fs';
import * as path from 'node:path';
import { isSharded, readPlan, sweepPlugin, taskArgs, taskCount, type TaskMark } from './sweep';

export type TaskState = 'finished' | 'running' | 'stopped' | 'missing';

export interface TaskStatus {
  task: number;
  cell: string;
  shard: number;
  state: TaskState;
  out: string;
  cases: number;
  exit?: number;
  host?: string;
  restarts?: number;
}

export interface SweepStatus {
  root: string;
  diagnostic: string;
  cells: string[];
  shards: number;
  counts: Record<TaskState, number>;
  tasks: TaskStatus[];
}

function readMark(file: string): TaskMark | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as TaskMark;
  } catch {
    return undefined; // not started, or being replaced (mv is atomic: only a hand-edited file is unreadable)
  }
}

export function completeLines(file: string): number {
  if (!fs.existsSync(file)) return 0;
  const bytes = fs.readFileSync(file);
  let n = 0;
  for (const b of bytes) if (b === 0x0a) n++;
  return n;
}

function stateOf(sharded: boolean, out: string, mark: TaskMark | undefined): TaskState {
  if (sharded ? fs.existsSync(path.join(out, 'summary.json')) : mark?.exit === 0) return 'finished';
  if (mark && mark.exit === undefined) return 'running';
  if (mark || fs.existsSync(out)) return 'stopped';
  return 'missing';
}

export function sweepStatus(root: string): SweepStatus {
  const plan = readPlan(root);
  const sharded = isSharded(sweepPlugin(plan.diagnostic));
  const tasks: TaskStatus[] = [];
  for (let i = 0; i < taskCount(plan); i++) {
    const t = taskArgs(plan, i);
    const mark = readMark(path.join(plan.root, 'tasks', `${i}.json`));
    const state = stateOf(sharded, t.out, mark);
    tasks.push({
      task: i, cell: t.cell.id, shard: t.shard, state, out: t.out,
      cases: completeLines(path.join(t.out, sharded ? 'cases.jsonl' : 'curve.jsonl')),
      ...(mark?.exit !== undefined ? { exit: mark.exit } : {}), ...(mark?.host ? { host: mark.host } : {}), ...(mark?.restarts ? { restarts: mark.restarts } : {}),
    });
  }
  const counts: Record<TaskState, number> = { finished: 0, running: 0, stopped: 0, missing: 0 };
  for (const t of tasks) counts[t.state]++;
  return { root: plan.root, diagnostic: plan.diagnostic, cells: plan.cells.map((c) => c.id), shards: plan.shards, counts, tasks };
}

export function formatStatus(s: SweepStatus): string {
  const rows = s.tasks.map((t) => `| ${t.task} | ${t.cell} | ${t.shard}/${s.shards} | ${t.state}${t.exit !== undefined && t.state !== 'finished' ? ` (exit ${t.exit})` : ''} | ${t.cases} | ${t.restarts ?? 0} |`);
  const c = s.counts;
  return [
    '| task | cell | shard | state | lines done | restarts |', '|---:|---|---|---|---:|---:|', ...rows, '',
    `${s.diagnostic} sweep in ${s.root}: ${c.finished} finished, ${c.running} running, ${c.stopped} stopped, ${c.missing} missing of ${s.tasks.length} tasks`,
  ].join('\n');
}
