// The edit stack as the engine reports it (src/core/edits/stack.ts).

export interface StackItem {
  id: string;
  label: string;
  method: string;
  /** The edit's .json file, when it came from one. */
  file?: string;
  enabled: boolean;
  /** Strength α: the update is α Uᵀ V. */
  strength: number;
  targets: { layer: number; module: string; rank: number }[];
}

export interface StackState {
  items: StackItem[];
  /** Time the last change took to recombine the edit inputs, in ms (no session is rebuilt). */
  lastChangeMs?: number;
}
