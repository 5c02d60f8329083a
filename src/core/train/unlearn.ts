// Gradient unlearning as a low-rank edit (METHODS.md, "Training edits"): LoRA factors U, V at
// chosen output projections, trained through the model's graph (graph/trainLoss.ts) by the core
// trainer (trainer.ts) with one of GA, GradDiff, NPO, RT, DPO, RMU, and returned as an edit
// (method "unlearn") that the stack applies, reverts, scales and bakes like any other.
//
// The stack passed in is the caller's own copy (EditStack.fork()): training reads its edits as
// the starting point θ₀ and never changes it, so other requests keep working meanwhile.

import type { EditStack } from '../edits/stack';
import type { Edit } from '../edits/editFile';
import type { EditModule } from '../graph/taps';
import type { CurvePoint, StopReason } from './trainer';
import type { UnlearnMaterial } from './unlearnData';

export const UNLEARN_METHODS = ['ga', 'graddiff', 'npo', 'rt', 'dpo', 'rmu'] as const;
export type UnlearnMethod = (typeof UNLEARN_METHODS)[number];

/** Every field but `method` has a default that works on the bundled model (DEFAULTS in this file). */
export interface UnlearnSettings {
  method: UnlearnMethod;
  /** Layers whose `module` gets a LoRA pair. */
  layers?: number[];
  module?: EditModule;
  rank?: number;
  steps?: number;
  lr?: number;
  batchSize?: number;
  seed?: number;
  /** Weight of the retain term (GradDiff, NPO + retain, RMU's α). 0 = no retain term. */
  retainWeight?: number;
  /** NPO / DPO temperature. */
  beta?: number;
  /** RT / DPO: the refusal trained after forget prompts. */
  refusal?: string;
  /** RMU: the layer whose activations are steered, and the steering coefficient c. */
  rmuLayer?: number;
  rmuCoef?: number;
  /** Stop once the forget items' teacher-forced top-1 answer accuracy is below this (0…1). */
  stopBelow?: number;
  /** Wall-clock budget in ms (the run stops, keeping what it has, when it is spent). */
  budgetMs?: number;
  /** UIPE: write θ₀ + (1 + α)(θ_u − θ₀), i.e. the trained factors at strength 1 + α. */
  uipe?: number;
  label?: string;
}

export interface UnlearnProgress extends CurvePoint {
  steps: number;
}

export interface UnlearnResult {
  /** The edit, not yet written (writeEdit) nor applied. */
  edit: Edit;
  curve: CurvePoint[];
  stoppedBy: StopReason;
  ms: number;
  /** Teacher-forced top-1 answer accuracy of the forget and retain items before and after. */
  figures: { forgetTop1: [number, number]; retainTop1: [number, number] };
}

export interface UnlearnRun {
  onStep?: (p: UnlearnProgress) => void;
  isCancelled?: () => boolean;
  log?: (message: string) => void;
}

export async function computeUnlearn(stack: EditStack, material: UnlearnMaterial, settings: UnlearnSettings, run: UnlearnRun = {}): Promise<UnlearnResult> {
  void stack;
  void material;
  void settings;
  void run;
  throw new Error('computeUnlearn: being written');
}
