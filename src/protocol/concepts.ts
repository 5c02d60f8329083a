// Concept directions as they travel from the engine to the Concepts panel.

import type { Token } from './model';

export interface ConceptLayer {
  layer: number;
  /**
   * Separability of the prompt sets along the direction (0.5 = none, 1 = perfect), measured on
   * the same prompts the direction was computed from (optimistic).
   */
  auc: number;
  /** The same, held out: each prompt projected on the direction computed without it (leave-one-out). */
  heldOutAuc: number;
  /** ‖mean(positive) − mean(negative)‖ of resid_post. */
  norm: number;
  /** The unit direction d̂ [d_model]. */
  direction: number[];
  /** Top tokens of W_U d̂ (direct logit read, no final norm). */
  lens: (Token & { logit: number })[];
  /** |cos| between d̂ and the values U of the stack's edits at this layer (largest over their rows). */
  cosEdits: { id: string; label: string; module: string; cos: number }[];
}

export interface ConceptResult {
  positive: number;
  negative: number;
  layers: ConceptLayer[];
  /** The layer with the highest AUC (larger ‖d‖ on ties). */
  best: number;
  /** A probe prompt's tokens projected on each layer's direction: values[layer][token]. */
  probe?: { tokens: Token[]; values: number[][] };
}
