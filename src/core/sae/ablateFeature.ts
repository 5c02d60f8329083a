// "Ablate feature": a feature's decoder direction d_f (unit) projected out of what writes the
// SAE's hook, as a rank-one edit per module (edit-file method 'ablate', the directional-ablation
// kind; hparams name the SAE and the feature):
//   resid_post of block l → W ← (I − d dᵀ) W on mlp.out and attn.out of blocks 0…l
//   resid_pre of block l  → the same on blocks 0…l − 1
//   mlp_out / attn_out of block l → that module of block l only
//   mlp.key of block l (d_f in the MLP's hidden space) → the reader instead: W_down ← W_down (I − d dᵀ),
//     ΔW = −(W_down d) dᵀ, U = −(W_down d)ᵀ, V = dᵀ
// The embeddings also write the residual stream and are not edited: the part of d_f they carry
// stays (docs/sae.md). Biases are left as they are (as in directional ablation).

import * as path from 'node:path';
import type { LoadedModel } from '../runtime/model';
import { readTensorF32 } from '../checkpoint/safetensors';
import { badInput } from '../errors';
import { computeAblation } from '../edits/ablate';
import { newEditId, type Edit } from '../edits/editFile';
import type { EditModule } from '../graph/taps';
import { featureDirection, hookString, type Sae } from './sae';

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** The rank-one edit that removes feature `feature`'s direction at the SAE's hook. */
export function featureAblation(model: LoadedModel, sae: Sae, feature: number, label?: string): Edit {
  const d = featureDirection(sae, feature);
  const { layer, tap } = sae.hook;
  const name = label ?? `ablate feature ${feature} of the SAE at ${hookString(sae.hook)}`;
  const hparams = { sae: sae.cfg.mechedit_source ?? null, feature, hook: hookString(sae.hook) };
  if (tap === 'mlp.key') return keyAblation(model, d, layer, name, hparams);
  let layers: number[];
  let modules: EditModule[] = ['mlp.out', 'attn.out'];
  if (tap === 'resid_post') layers = range(layer + 1);
  else if (tap === 'resid_pre') layers = range(layer);
  else {
    layers = [layer];
    modules = [tap === 'mlp_out' ? 'mlp.out' : 'attn.out'];
  }
  if (layers.length === 0) throw badInput(`${hookString(sae.hook)} is written only by the embeddings, which MechEdit does not edit`, { field: 'hook' });
  const edit = computeAblation(model, d, layers, modules, name);
  edit.json.hparams = { ...edit.json.hparams, ...hparams };
  return edit;
}

function keyAblation(model: LoadedModel, d: Float32Array, layer: number, label: string, hparams: Record<string, unknown>): Edit {
  const w = model.plan.blocks[layer].down;
  const W = readTensorF32(w.w);
  const inOut = model.plan.spec.linear === 'in_out';
  const wd = new Float32Array(w.out);
  for (let o = 0; o < w.out; o++) {
    let s = 0;
    for (let i = 0; i < w.in; i++) s += (inOut ? W[i * w.out + o] : W[o * w.in + i]) * d[i];
    wd[o] = -s;
  }
  return {
    json: {
      format: 'mechedit-edit/1', id: newEditId(label), label, method: 'ablate', modelFingerprint: model.checkpoint.fingerprint,
      targets: [{ layer, module: 'mlp.out', rank: 1, U: `U.${layer}.mlp.out`, V: `V.${layer}.mlp.out` }], vectors: '',
      hparams: { layers: [layer], modules: ['mlp.out'], reader: true, ...hparams }, created: new Date().toISOString(),
    },
    tensors: [{ U: wd, V: d.slice() }],
  };
}

/** The SAE folder as an edit file records it. */
export function saeSource(dir: string): string {
  return path.resolve(dir);
}
