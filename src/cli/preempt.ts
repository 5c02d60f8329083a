// SIGTERM as a cluster sends it (Slurm: preemption, the time limit, `scontrol requeue`; SIGKILL
// follows after KillWait, 30 s by default): a run stops at its next case boundary — the results
// so far are already appended to cases.jsonl — and mechedit exits with PREEMPTED_EXIT (75,
// EX_TEMPFAIL) instead of 2, so a batch script can tell "stopped early, resume me" from a failure
// (the sweep's script requeues the task on 75). A second SIGTERM exits at once (code 143).

import { PREEMPTED_EXIT } from '../core/jobs/sweep';

let terminated = false;
let installed = false;

/** Starts listening for SIGTERM (once per process); returns the check the run polls at case boundaries. */
export function watchTermination(onFirst?: () => void): () => boolean {
  if (!installed) {
    installed = true;
    process.on('SIGTERM', () => {
      if (terminated) process.exit(143);
      terminated = true;
      process.stderr.write('mechedit: SIGTERM: stopping at the next case boundary; the results so far are saved (continue with --resume)\n');
      onFirst?.();
    });
  }
  return () => terminated;
}

/** The exit code after a run stopped: PREEMPTED_EXIT once SIGTERM came, else `code`. */
export const exitAfterTermination = (code: number): number => (terminated ? PREEMPTED_EXIT : code);
