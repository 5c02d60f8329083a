// A sweep root (`mechedit sweep`, docs/cluster.md) as the Diagnostics and Lifelong panels show it:
// the engine's 'sweep/view' reads it through core (sweepStatus; sweep merge's comparison once
// merged) and 'sweep/merge' merges it; the panels' hosts open a root (folder picker), watch its
// folders and push a fresh SweepView on every change.

export type SweepTaskState = 'finished' | 'running' | 'stopped' | 'missing';

/** One array task: a grid cell's shard (core TaskStatus). */
export interface SweepTask {
  task: number;
  cell: string;
  shard: number;
  state: SweepTaskState;
  /** The run folder (absolute). */
  out: string;
  /** Complete lines of cases.jsonl (sequential: curve.jsonl) so far. */
  cases: number;
  exit?: number;
  host?: string;
  restarts?: number;
}

/** One cell's row of the comparison (core CellTable): every number of its merged summary.json (sequential: its last curve point) by dotted path. */
export interface SweepCellFigures {
  cell: string;
  method: string;
  preset?: string;
  out: string;
  cases: number;
  values: Record<string, number>;
}

export interface SweepView {
  root: string;
  diagnostic: string;
  cells: string[];
  shards: number;
  counts: Record<SweepTaskState, number>;
  tasks: SweepTask[];
  /** Once `sweep merge` ran: the comparison as it wrote it (comparison.csv / .md / .html). */
  merged?: { columns: string[]; cells: SweepCellFigures[]; files: { csv: string; markdown: string; html: string } };
  /** Every task finished and not merged yet. */
  mergeable: boolean;
  /**
   * Sequential sweeps: each cell's curve so far, the lines of its curve.jsonl (LifelongPoint of
   * ./lifelong.ts, not imported: lifelong.ts imports panels.ts, which imports this file).
   */
  curves?: { cell: string; points: Record<string, unknown>[] }[];
}

/** The requests a panel that opens sweeps adds to its protocol. */
// Type aliases, not interfaces: a panel's requests must take an index signature (PanelProtocol).
export type SweepRequests = {
  /** Opens a sweep root: `root`, or a folder picker when absent; null when none was picked. Watched from then on. */
  openSweep: { params: { root?: string }; result: SweepView | null };
  /** Reads the open root again. */
  refreshSweep: { params: { root: string }; result: SweepView };
  /** `mechedit sweep merge ROOT`: every cell merged, the comparison written; the view after it. */
  mergeSweep: { params: { root: string }; result: SweepView };
  /** Stops watching the root and forgets it. */
  closeSweep: { params: { root: string }; result: { closed: boolean } };
};

/** What the host pushes: the open root read again after its folders changed (complete snapshot). */
export type SweepNotifications = {
  sweep: SweepView;
};
