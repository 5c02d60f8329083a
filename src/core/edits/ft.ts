// FT-M (EasyEdit's fine-tuning baseline, "target_new" objective): fine-tune one MLP output
// projection W [d_out, d_in] on the edit's target tokens only — the NLL of " " + target after the
// prompt, averaged over the target's tokens, the prompt's tokens masked out — with Adam (lr 5e-4,
// no weight decay) for at most 25 steps, stopping (without updating) once the loss is below 1e-2;
// optionally each entry of ΔW is clamped to ±normConstraint after every step (FT-L's constraint).
//
// As an edit, ΔW is the factor pair U = I [d_out, d_out], V = ΔW [d_out, d_in] (ΔW = Uᵀ V, rank
// d_out): the training graph's gradient for V is ∂loss/∂ΔW, so training V alone is exactly
// fine-tuning W. The stack folds an edit of full rank into a dense ΔW (consolidate.ts).

import type { LoadedModel, EditKey, EditTensors } from '../runtime/model';
import { badInput, cancelled } from '../errors';
import { gradName } from '../graph/trainLoss';
import { makeRow } from '../train/rows';
import { tokenStepFeeds } from '../train/objectives';
import type { EditStack } from './stack';
import { newEditId, type Edit } from './editFile';
import type { FactRequest } from './rome';
import type { VStarResult, VStarStep } from './vstar';

export interface FtOptions {
  layer: number;
  steps?: number;
  lr?: number;
  /** Clamp every entry of ΔW to ±this after each step (EasyEdit's norm_constraint); undefined: none (FT-M). */
  normConstraint?: number;
  label?: string;
  onStep?: (s: VStarStep) => void;
  isCancelled?: () => boolean;
}

/** EasyEdit's FT-M settings (hparams/FT/llama-7b.yaml: layers [21] of 32, 25 steps, lr 5e-4, no norm constraint). */
export const FT_HPARAMS = { steps: 25, lr: 5e-4, stopLoss: 1e-2, betas: [0.9, 0.999] as const, eps: 1e-8 };

/** EasyEdit's FT-M layer on Llama-2-7B (21 of 32) at the same relative depth, unless the checkpoint names its edit layer. */
export function defaultFtLayer(d: { layers: number; editLayer?: number }): number {
  return d.editLayer ?? Math.min(d.layers - 1, Math.round((d.layers * 21) / 32));
}

/** base's edit inputs with U = I, V = ΔW appended on the module (after the edits already there). */
function withDelta(base: ReadonlyMap<EditKey, EditTensors>, key: EditKey, I: Float32Array, dW: Float32Array, dOut: number, dIn: number): Map<EditKey, EditTensors> {
  const edits = new Map(base);
  const e0 = base.get(key);
  const r0 = e0?.rank ?? 0;
  const U = new Float32Array((r0 + dOut) * dOut);
  const V = new Float32Array((r0 + dOut) * dIn);
  if (e0) {
    U.set(e0.U);
    V.set(e0.V);
  }
  U.set(I, r0 * dOut);
  V.set(dW, r0 * dIn);
  edits.set(key, { rank: r0 + dOut, U, V });
  return edits;
}

export async function computeFt(model: LoadedModel, stack: EditStack, req: FactRequest, o: FtOptions): Promise<{ edit: Edit; vstar: VStarResult }> {
  const t0 = performance.now();
  const base = stack.model; // the caller's copy: θ₀ (its edits) is never changed here
  const { layer } = o;
  const steps = o.steps ?? FT_HPARAMS.steps;
  const lr = o.lr ?? FT_HPARAMS.lr;
  if (!req.prompt.includes('{}')) throw badInput('The prompt has no {} for the subject', { field: 'prompt' });
  const w = model.plan.blocks[layer].down;
  const [dOut, dIn] = [w.out, w.in];
  const key = `${layer}:mlp.out` as EditKey;
  const I = new Float32Array(dOut * dOut);
  for (let i = 0; i < dOut; i++) I[i * dOut + i] = 1;
  const dW = new Float32Array(dOut * dIn);
  const m1 = new Float64Array(dW.length);
  const m2 = new Float64Array(dW.length);
  const row = makeRow(base, req.prompt.replace('{}', req.subject), req.target, { file: 'request', index: 0 });
  // The target's mean NLL: RT's token head with the target as the trained continuation (objectives.ts).
  const feeds = tokenStepFeeds(base, 'rt', [{ answer: row, refusal: row, refAnswer: 0, refRefusal: 0 }], [], { beta: 1, retainWeight: 0 });
  const r0 = base.edits.get(key)?.rank ?? 0;
  const curve: VStarStep[] = [];
  let ortMs = 0;
  for (let k = 0; k < steps; k++) {
    if (o.isCancelled?.()) throw cancelled();
    const t = performance.now();
    const out = await base.withEdits(withDelta(base.edits, key, I, dW, dOut, dIn)).run({ train: { modules: [key] } }, feeds.batch, feeds.feeds);
    ortMs += performance.now() - t;
    const loss = Number(out.loss.data[0]);
    const point = { step: k, loss, nll: loss, kl: 0, mid: 0, decay: 0, targetProb: Math.exp(-loss) };
    curve.push(point);
    o.onStep?.(point);
    if (loss < FT_HPARAMS.stopLoss) break; // EasyEdit: no update once the loss is under 1e-2, then stop
    const g = (out[gradName(layer, 'mlp.out', 'V')].data as Float32Array).subarray(r0 * dIn);
    adamStep(dW, g, m1, m2, k + 1, lr, o.normConstraint);
  }
  const label = o.label ?? `FT-M: ${req.prompt.replace('{}', req.subject)} → ${req.target}`;
  const edit: Edit = {
    json: {
      format: 'mechedit-edit/1', id: newEditId(label), label, method: 'ft', modelFingerprint: model.checkpoint.fingerprint,
      targets: [{ layer, module: 'mlp.out', rank: dOut, U: 'U', V: 'V' }], vectors: '', created: new Date().toISOString(),
      request: { ...req },
      hparams: { layer, steps, lr, normConstraint: o.normConstraint ?? false, objective: 'target_new', stopLoss: FT_HPARAMS.stopLoss, optimizer: 'Adam(0.9, 0.999, eps 1e-8, no weight decay)', stepsRun: curve.length },
    },
    tensors: [{ U: I, V: dW }],
  };
  const vstar: VStarResult = { delta: new Float64Array(0), vInit: new Float64Array(0), steps: curve, ortMs, jsMs: performance.now() - t0 - ortMs };
  return { edit, vstar };
}

/** torch.optim.Adam (weight decay 0) at step t ≥ 1, then the optional ±eps clamp of ΔW. */
function adamStep(p: Float32Array, g: Float32Array, m: Float64Array, v: Float64Array, t: number, lr: number, clamp?: number): void {
  const [b1, b2] = FT_HPARAMS.betas;
  const c1 = 1 - b1 ** t;
  const c2 = 1 - b2 ** t;
  for (let i = 0; i < p.length; i++) {
    m[i] = b1 * m[i] + (1 - b1) * g[i];
    v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
    let x = p[i] - (lr * (m[i] / c1)) / (Math.sqrt(v[i] / c2) + FT_HPARAMS.eps);
    if (clamp !== undefined) x = Math.max(-clamp, Math.min(clamp, x));
    p[i] = x;
  }
}
