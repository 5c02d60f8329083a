// The sbatch script of a sweep (sweep.ts): one array job, task i = (cell ⌊i / shards⌋, shard
// i mod shards). Each task's command line is written out in full (a `case` on
// $SLURM_ARRAY_TASK_ID), so the script shows exactly what runs. A task:
//   1. writes <root>/tasks/<i>.json {task, host, job, started, restarts} (atomically: tmp + mv);
//   2. runs mechedit in the foreground with --resume into its own run folder; bash traps SIGTERM
//      (Slurm's preemption / time-limit / `scontrol requeue` signal, sent to every process of the
//      task), so it waits while mechedit stops at the next case boundary and exits 75;
//   3. records the exit code in tasks/<i>.json; with --requeue, exit 75 requeues the task
//      (`scontrol requeue`), and its next start resumes the run folder.

import * as path from 'node:path';
import { PREEMPTED_EXIT, taskArgs, taskCount, type SweepPlan } from './sweep';

/** A word for bash: single-quoted unless it is plainly safe. */
export function shellWord(s: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

function directives(plan: SweepPlan): string[] {
  const r = plan.resources;
  const n = taskCount(plan);
  return [
    `--job-name=mechedit-${plan.diagnostic}`,
    `--array=0-${n - 1}${r.throttle ? `%${r.throttle}` : ''}`,
    '--ntasks=1',
    `--cpus-per-task=${r.cpus}`,
    `--mem=${r.mem}`,
    `--time=${r.time}`,
    ...(r.gpus > 0 ? [`--gres=gpu:${r.gpus}`] : []),
    ...(r.partition ? [`--partition=${r.partition}`] : []),
    r.requeue ? '--requeue' : '--no-requeue',
    // A requeued task appends to its log instead of replacing it.
    '--open-mode=append',
    `--output=${path.join(plan.root, 'logs', '%A_%a.out')}`,
  ].map((d) => `#SBATCH ${d}`);
}

export function sbatchScript(plan: SweepPlan): string {
  const n = taskCount(plan);
  const cases: string[] = [];
  for (let i = 0; i < n; i++) {
    const t = taskArgs(plan, i);
    cases.push(`  ${i}) # cell ${t.cell.id}, shard ${t.shard}/${plan.shards}`, `    args=(${t.argv.map(shellWord).join(' ')}) ;;`);
  }
  const marks = shellWord(path.join(plan.root, 'tasks'));
  return [
    '#!/bin/bash',
    `# mechedit sweep: ${plan.diagnostic} over ${plan.cells.map((c) => c.id).join(', ')}; ${plan.shards} shard(s) per cell, ${n} array task(s).`,
    `# Submit: sbatch ${shellWord(path.join(plan.root, 'sweep.sbatch'))}   Progress: mechedit sweep status ${shellWord(plan.root)}   Table: mechedit sweep merge ${shellWord(plan.root)}`,
    ...directives(plan),
    '',
    'set -u',
    'i=${SLURM_ARRAY_TASK_ID:?run this script with sbatch (it is an array job)}',
    `mechedit=(${plan.mechedit.map(shellWord).join(' ')})`,
    'case "$i" in',
    ...cases,
    '  *) echo "mechedit sweep: no array task $i in this sweep" >&2; exit 2 ;;',
    'esac',
    '',
    `marks=${marks}`,
    'mark() { # the task\'s record in tasks/<i>.json, replaced atomically',
    '  printf \'{"task": %d, "host": "%s", "job": "%s", "started": "%s", "restarts": %d%s}\\n\' "$i" "$(hostname -s)" "${SLURM_JOB_ID:-}" "$started" "${SLURM_RESTART_COUNT:-0}" "$1" >"$marks/$i.json.$$" && mv -f "$marks/$i.json.$$" "$marks/$i.json"',
    '}',
    'started=$(date -u +%Y-%m-%dT%H:%M:%SZ)',
    'mark ""',
    '# SIGTERM reaches every process of the task: mechedit stops at the next case boundary; bash waits for it.',
    'trap \'echo "mechedit sweep: task $i got SIGTERM: stopping at the next case boundary" >&2\' TERM',
    'echo "mechedit sweep: task $i (restart ${SLURM_RESTART_COUNT:-0}) on $(hostname -s): ${args[*]}" >&2',
    '"${mechedit[@]}" "${args[@]}"',
    'rc=$?',
    'mark ", \\"exit\\": $rc, \\"ended\\": \\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\\""',
    ...(plan.resources.requeue
      ? [
          `if [ "$rc" -eq ${PREEMPTED_EXIT} ]; then`,
          '  echo "mechedit sweep: task $i stopped early (exit ' + PREEMPTED_EXIT + '): requeueing it; it resumes its run folder" >&2',
          '  scontrol requeue "${SLURM_JOB_ID}" || echo "mechedit sweep: scontrol requeue failed (the task may already be requeued)" >&2',
          'fi',
        ]
      : []),
    'exit "$rc"',
    '',
  ].join('\n');
}
