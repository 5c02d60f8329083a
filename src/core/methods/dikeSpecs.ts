// DiKE's own settings and its paper preset for the registry (factEditors.ts lists them). DiKE has
// no public code: the paper preset follows the paper's description (METHODS.md "DiKE").

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { PresetSpec, SettingSpec } from '../../protocol/registry';
import type { LoadedModel } from '../runtime/model';
import { badInput } from '../errors';
import { defaultEditLayer } from '../edits/rome';
import { defaultKrdFile } from '../edits/dike';
import { readInputJson } from '../inputs';

export const DIKE_SETTINGS: readonly SettingSpec[] = [
  { name: 'inLoop', type: 'boolean', default: true, doc: 'the δ loop sees the edit as the closed form applies it ((I + W3ᵀW3)⁻¹ and λ; ours); off: the paper\'s loop, δ at the subject\'s last token only' },
  { name: 'hStar', type: 'enum', options: ['residual', 'reconstruction'], default: 'residual', doc: 'h*_s = h_s + W5 δ (residual, ours) or the paper\'s Rec(z_r + δ, z_u) (reconstruction: the KRD\'s reconstruction error enters v*)' },
];

export const DIKE_LAYER_RULE = 'the layer where replacing the subject\'s h_s moves recall most (bench/dike-layer.mjs measures it; config.json\'s mechedit.dike_layer records it), when a KRD for it exists beside the checkpoint; else the edit layer (config.json\'s mechedit.edit_layer, the causal trace\'s), and the edit file says so';

export const DIKE_PAPER: PresetSpec = {
  id: 'paper',
  doc: 'the paper\'s DiKE (arXiv 2505.18774 §4; no public code): the closed form with (I + W3ᵀW3)⁻¹ applied after a plain δ loop (inLoop off), δ for NLL only (no KL, no δ decay), h* the reconstruction Rec(z_r + δ, z_u)',
  values: { inLoop: false, hStar: 'reconstruction', klFactor: 0, vWeightDecay: 0 },
  rules: { layer: DIKE_LAYER_RULE },
};

/** config.json's mechedit.dike_layer (the measured layer), checked; undefined when absent. */
export function measuredDikeLayer(model: LoadedModel): number | undefined {
  const file = path.join(model.checkpoint.dir, 'config.json');
  if (!fs.existsSync(file)) return undefined;
  const v = (readInputJson(file, 'config') as { mechedit?: { dike_layer?: unknown } }).mechedit?.dike_layer;
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= model.dims.layers) {
    throw badInput(`"mechedit.dike_layer" must be a layer in 0…${model.dims.layers - 1}, got ${JSON.stringify(v)}`, { file, field: 'mechedit.dike_layer', hint: 'Fix or remove it (bench/dike-layer.mjs measures the layer).' });
  }
  return v;
}

/** The paper preset's layer (DIKE_LAYER_RULE) and, when it fell back, why. */
export function dikePaperLayer(model: LoadedModel): { layer: number; measured?: number; note?: string } {
  const measured = measuredDikeLayer(model);
  const fallback = defaultEditLayer(model.dims).layer;
  if (measured === undefined) return { layer: fallback, note: 'no measured layer (config.json mechedit.dike_layer): the edit layer' };
  if (fs.existsSync(defaultKrdFile(model, measured))) return { layer: measured, measured };
  return { layer: fallback, measured, note: `no KRD for the measured layer ${measured} beside the checkpoint (train one: mechedit dike train --layer ${measured}): the edit layer ${fallback}` };
}
