// 'sweep/view' and 'sweep/merge': a sweep root for the Diagnostics and Lifelong panels, through
// core's sweep status and sweep merge (core/jobs/sweepView.ts, sweepMerge.ts): the same states and
// the same comparison as `mechedit sweep status` / `sweep merge`. No model is needed. A merge runs
// on the engine's thread between other requests (it reads and writes the run folders only).

import { badInput } from '../core/errors';
import { sweepMerge } from '../core/jobs/sweepMerge';
import { sweepView } from '../core/jobs/sweepView';
import type { SweepView } from '../protocol/sweep';
import type { EngineServer } from './server';
import { outputFolder } from './params';

function view(root: string): SweepView {
  const v = sweepView(root);
  const s = v.status;
  return {
    root: s.root, diagnostic: s.diagnostic, cells: s.cells, shards: s.shards, counts: s.counts, tasks: s.tasks,
    ...(v.merged ? { merged: v.merged } : {}), mergeable: v.mergeable, ...(v.curves ? { curves: v.curves } : {}),
  };
}

export function registerSweepHandlers(server: EngineServer): void {
  server.handle('sweep/view', async (p) => view(outputFolder(p.root, 'root')));
  server.handle('sweep/merge', async (p) => {
    const root = outputFolder(p.root, 'root');
    const before = sweepView(root).status;
    const left = before.tasks.filter((t) => t.state !== 'finished');
    if (left.length) throw badInput(`${left.length} of ${before.tasks.length} tasks have not finished (${left.slice(0, 3).map((t) => `${t.cell} shard ${t.shard}: ${t.state}`).join(', ')}${left.length > 3 ? ', …' : ''})`, { file: root, hint: 'Wait for them (or resubmit the sweep), then merge.' });
    sweepMerge(root);
    return view(root);
  });
}
