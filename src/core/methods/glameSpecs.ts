// GLAME's own settings and presets for the registry (factEditors.ts lists them in its descriptor);
// the reference's values and the transfer rules live in edits/glamePresets.ts.

import type { PresetSpec, SettingSpec } from '../../protocol/registry';
import { GLAME_RULES } from '../edits/glamePresets';

export const GLAME_SETTINGS: readonly SettingSpec[] = [
  { name: 'featureLayer', type: 'layer', doc: 'the block whose residual (resid_post) gives the nodes\' and relations\' features', fromCheckpoint: '⌊layers · 5/48⌋ (tuned); the edit layer − the reference\'s offset (paper presets)' },
  { name: 'features', type: 'enum', options: ['avg', 'compositeNorm'], doc: 'a label\'s feature: the mean of its tokens\' states (avg), or its last token\'s plus the norm-matched mean, halved (compositeNorm, the reference\'s MQuAKE composite_norm)', fromCheckpoint: 'avg (mquake on GPT-2 XL: compositeNorm)' },
  { name: 'dropout', type: 'number', min: 0, max: 0.95, doc: 'dropout after each GNN layer (δ included) in the optimisation steps; off for the applied δ; seeded, so an edit is deterministic', fromCheckpoint: '0 (tuned); the reference\'s gnn_feat_drop (paper presets)' },
  { name: 'adamWDecay', type: 'number', min: 0, max: 100, doc: 'AdamW\'s decoupled weight decay on the GNN\'s weights (the reference\'s gnn_weight_decay)', fromCheckpoint: '0.1' },
];

/** The reference's v* settings every GLAME paper preset shares: lr 0.5, clamp 4, no δ-norm penalty. */
/** klOrder: GLAME's compute_v is ROME's with δ from the graph network, so its KL is taken as ROME's (kl_div(init, edited, log_target=True)); not read line by line in GLAME's repository. */
const SHARED = { vLr: 0.5, clamp: 4, vWeightDecay: 0, klOrder: 'edit-init' } as const;

export const GLAME_PRESETS: readonly PresetSpec[] = [
  { id: 'paper', doc: 'the reference\'s CounterFact configuration (hparams/GLAME/cf): GPT-2 XL and GPT-J exactly, other models by the rules', values: SHARED, rules: GLAME_RULES },
  { id: 'cf_plus', doc: 'the reference\'s CounterFactPlus configuration (hparams/GLAME/cf_plus)', values: SHARED, rules: GLAME_RULES },
  { id: 'mquake', doc: 'the reference\'s MQuAKE configuration (hparams/GLAME/mquake; composite_norm features on GPT-2 XL)', values: SHARED, rules: GLAME_RULES },
];
