// Directional ablation: W ← (I − d dᵀ) W on the output projections (MLP and/or attention) of the
// chosen layers, for a unit direction d in the residual stream. As an edit, each module gets the
// rank-one update ΔW = −d (Wᵀ d)ᵀ: U = −dᵀ [1, d_model], V = (Wᵀ d)ᵀ [1, d_in]. The projections'
// biases are left as they are (their component along d is not removed).

import type { LoadedModel } from '../runtime/model';
import { readTensorF32 } from '../checkpoint/safetensors';
import { badInput } from '../errors';
import type { EditModule } from '../graph/taps';
import { newEditId, type Edit, type EditJson } from './editFile';
import { norm } from './linalg';

export function computeAblation(model: LoadedModel, direction: Float32Array, layers: number[], modules: EditModule[], label?: string): Edit {
  const d = model.dims.dModel;
  if (direction.length !== d) throw badInput(`The direction has ${direction.length} values; the model's residual stream has ${d}`, { field: 'direction' });
  const n = norm(direction);
  if (!(n > 0) || !Number.isFinite(n)) throw badInput('The direction is zero or not finite', { field: 'direction' });
  if (layers.length === 0 || layers.some((l) => !Number.isInteger(l) || l < 0 || l >= model.dims.layers)) throw badInput(`Layers must be in 0…${model.dims.layers - 1}, got [${layers}]`, { field: 'layers' });
  const unit = Float64Array.from(direction, (x) => x / n);
  const inOut = model.plan.spec.linear === 'in_out';
  const json: EditJson = {
    format: 'mechedit-edit/1',
    id: newEditId(label ?? 'ablate'),
    label: label ?? `ablate a direction at layers ${layers.join(',')}`,
    method: 'ablate',
    modelFingerprint: model.checkpoint.fingerprint,
    targets: [],
    vectors: '',
    hparams: { layers, modules, directionNorm: n },
    created: new Date().toISOString(),
  };
  const tensors: Edit['tensors'] = [];
  for (const layer of layers) {
    for (const module of modules) {
      const w = module === 'mlp.out' ? model.plan.blocks[layer].down : model.plan.blocks[layer].o;
      const W = readTensorF32(w.w);
      const wd = new Float64Array(w.in); // Wᵀ d
      for (let o = 0; o < w.out; o++) {
        const dOut = unit[o];
        if (dOut === 0) continue;
        for (let i = 0; i < w.in; i++) wd[i] += (inOut ? W[i * w.out + o] : W[o * w.in + i]) * dOut;
      }
      json.targets.push({ layer, module, rank: 1, U: `U.${layer}.${module}`, V: `V.${layer}.${module}` });
      tensors.push({ U: Float32Array.from(unit, (x) => -x), V: Float32Array.from(wd) });
    }
  }
  return { json, tensors };
}
