// GLAME's paper presets: the reference's hparams/GLAME/<preset>/<model>.json
// (github.com/Acruxos/GLAME, read 2026-12-07), exactly on GPT-2 XL and GPT-J, and transferred to
// any other model by written rules (GLAME_RULES). The preset ids: `paper` (the reference's `cf`,
// CounterFact), `cf_plus` (CounterFactPlus), `mquake` (MQuAKE).

export type GlameFeatures = 'avg' | 'compositeNorm';

/** One reference configuration: edit layer, feature block (get_repr_layer) and the GNN's optimiser. */
export interface GlameReference {
  layer: number;
  featureLayer: number;
  steps: number;
  lr: number;
  /** AdamW's weight decay on the GNN's weights (gnn_weight_decay). */
  adamWDecay: number;
  klFactor: number;
  stopLoss: number;
  /** gnn_feat_drop: dropout after each layer's activation. */
  dropout: number;
  subgraphSize: number;
  clamp: number;
  /** gnn_fact_token_strategy: the labels' mean ('avg') or last token plus the norm-matched mean, halved ('composite_norm'). */
  features: GlameFeatures;
}

export const GLAME_PAPER_PRESETS = ['paper', 'cf_plus', 'mquake'] as const;
export type GlamePaperPreset = (typeof GLAME_PAPER_PRESETS)[number];

const ref = (layer: number, featureLayer: number, steps: number, adamWDecay: number, klFactor: number, stopLoss: number, dropout: number, subgraphSize: number, features: GlameFeatures = 'avg'): GlameReference => ({
  layer, featureLayer, steps, lr: 0.5, adamWDecay, klFactor, stopLoss, dropout, subgraphSize, clamp: 4, features,
});

/** preset → `<model_type>:<layers>` → the reference's values. */
export const GLAME_REFERENCE: Readonly<Record<GlamePaperPreset, Readonly<Record<'gpt2:48' | 'gptj:28', GlameReference>>>> = {
  paper: { 'gpt2:48': ref(9, 5, 40, 0.1, 0.0625, 0.04, 0.3, 20), 'gptj:28': ref(5, 2, 35, 0.1, 0.0625, 0.04, 0.15, 35) },
  cf_plus: { 'gpt2:48': ref(9, 5, 35, 0.5, 0.0725, 0.04, 0.4, 20), 'gptj:28': ref(5, 5, 25, 0.5, 0.075, 0.03, 0.2, 45) },
  mquake: { 'gpt2:48': ref(9, 5, 50, 0.5, 0.075, 0.005, 0.3, 50, 'compositeNorm'), 'gptj:28': ref(5, 2, 25, 0.1, 0.0725, 0.03, 0.4, 100) },
};

export function isGlamePaperPreset(p: unknown): p is GlamePaperPreset {
  return typeof p === 'string' && (GLAME_PAPER_PRESETS as readonly string[]).includes(p);
}

/** The rules, in words (the registry's PresetSpec.rules). */
export const GLAME_RULES: Readonly<Record<string, string>> = {
  layer: 'the reference\'s own edit layer (GPT-2 XL 9 of 48, GPT-J 5 of 28); elsewhere GPT-2 XL\'s at the same relative depth, round(9 · layers / 48)',
  featureLayer: 'the reference\'s get_repr_layer (GPT-2 XL 5, GPT-J 2; cf_plus on GPT-J 5); elsewhere the edit layer − round(4 · layers / 48) (GPT-2 XL\'s 4 blocks before, at the same relative depth), at least 0',
  steps: 'the reference\'s (GPT-2 XL: cf 40, cf_plus 35, mquake 50; GPT-J 35 / 25 / 25); elsewhere GPT-2 XL\'s',
  adamWDecay: 'the reference\'s (GPT-2 XL: cf 0.1, cf_plus 0.5, mquake 0.5); elsewhere GPT-2 XL\'s',
  klFactor: 'the reference\'s (GPT-2 XL: cf 0.0625, cf_plus 0.0725, mquake 0.075); elsewhere GPT-2 XL\'s',
  stopLoss: 'the reference\'s (GPT-2 XL: cf 0.04, cf_plus 0.04, mquake 0.005); elsewhere GPT-2 XL\'s',
  dropout: 'the reference\'s gnn_feat_drop (GPT-2 XL: cf 0.3, cf_plus 0.4, mquake 0.3); elsewhere GPT-2 XL\'s',
  subgraphSize: 'the reference\'s (GPT-2 XL: 20, 20, 50; GPT-J 35, 45, 100); elsewhere GPT-2 XL\'s',
  features: 'the reference\'s (mquake on GPT-2 XL: composite_norm; else the labels\' mean); elsewhere GPT-2 XL\'s',
};

/**
 * The reference's values for a preset on a model: exactly on GPT-2 XL (gpt2, 48 layers) and GPT-J
 * (gptj, 28 layers); elsewhere GPT-2 XL's, with the edit layer and the feature block at the same
 * relative depth (GLAME_RULES). `transferred` says which.
 */
export function glameReference(preset: GlamePaperPreset, dims: { modelType: string; layers: number }): GlameReference & { transferred: boolean } {
  const key = `${dims.modelType}:${dims.layers}`;
  const table = GLAME_REFERENCE[preset];
  if (key === 'gpt2:48' || key === 'gptj:28') return { ...table[key], transferred: false };
  const xl = table['gpt2:48'];
  const L = dims.layers;
  const layer = Math.min(L - 1, Math.round((xl.layer * L) / 48));
  const offset = Math.round(((xl.layer - xl.featureLayer) * L) / 48);
  return { ...xl, layer, featureLayer: Math.max(0, layer - offset), transferred: true };
}

/** GLAME's settings as computeGlame takes them (undefined: computeGlame's own defaults, the tuned preset). */
export interface GlameResolved {
  layer?: number;
  featureLayer?: number;
  subgraphSize?: number;
  features?: GlameFeatures;
  dropout?: number;
  hparams: Record<string, number>;
}

/**
 * Fills the settings left undefined from the paper preset's reference (glameReference); the feature
 * block keeps the reference's distance from the edit layer when the layer is given. `given` holds
 * the settings by registry name, `hparams` the v* ones already mapped (steps, lr, klFactor, …).
 * Any other preset (tuned): `given` as it is.
 */
export function resolveGlamePreset(preset: string | undefined, dims: { modelType: string; layers: number }, given: Omit<GlameResolved, 'hparams'> & { adamWDecay?: number }, hparams: Record<string, number | boolean>): GlameResolved & { reference?: GlameReference & { transferred: boolean } } {
  const { adamWDecay, ...rest } = given;
  const hp = { ...hparams, ...(adamWDecay !== undefined ? { adamWDecay } : {}) };
  if (!isGlamePaperPreset(preset)) return { ...rest, hparams: hp };
  const r = glameReference(preset, dims);
  const layer = given.layer ?? r.layer;
  return {
    layer,
    featureLayer: given.featureLayer ?? Math.max(0, layer - (r.layer - r.featureLayer)),
    subgraphSize: given.subgraphSize ?? r.subgraphSize,
    features: given.features ?? r.features,
    dropout: given.dropout ?? r.dropout,
    hparams: { steps: r.steps, lr: r.lr, adamWDecay: r.adamWDecay, klFactor: r.klFactor, stopLoss: r.stopLoss, clamp: r.clamp, weightDecay: 0, ...hp },
    reference: r,
  };
}
