// The `paper` preset of the fact editors (ROME, MEMIT, AlphaEdit, FT-M) and ROCR: the reference
// code's hyper-parameters on the models the papers ran (read from the repositories' hparams files,
// METHODS.md "Paper presets"), and the written rules that transfer them to any other model.
//
// Reference models are recognised by model_type, layer count, d_model and d_mlp together:
//   gpt2-xl    gpt2,  48 layers, d_model 1600, d_mlp 6400
//   gpt-j      gptj,  28 layers, d_model 4096, d_mlp 16384
//   llama3-8b  llama, 32 layers, d_model 4096, d_mlp 14336
// Every other model takes the rules below from GPT-2 XL when it is of the gpt2 family, else from
// GPT-J (the two models ROME and MEMIT were tuned on).

import type { VStarHparams } from './vstar';

export type ReferenceModel = 'gpt2-xl' | 'gpt-j' | 'llama3-8b';

interface Shape {
  modelType: string;
  layers: number;
  dModel: number;
  dMlp: number;
  editLayer?: number;
}

const SHAPES: Record<ReferenceModel, Omit<Shape, 'editLayer'>> = {
  'gpt2-xl': { modelType: 'gpt2', layers: 48, dModel: 1600, dMlp: 6400 },
  'gpt-j': { modelType: 'gptj', layers: 28, dModel: 4096, dMlp: 16384 },
  'llama3-8b': { modelType: 'llama', layers: 32, dModel: 4096, dMlp: 14336 },
};

/** The reference model this checkpoint is (all four sizes match), else undefined. */
export function referenceModel(d: Shape): ReferenceModel | undefined {
  return (Object.keys(SHAPES) as ReferenceModel[]).find((k) => {
    const s = SHAPES[k];
    return s.modelType === d.modelType && s.layers === d.layers && s.dModel === d.dModel && s.dMlp === d.dMlp;
  });
}

/** The reference a rule transfers from: the model itself, else GPT-2 XL for the gpt2 family, else GPT-J. */
export function transferSource(d: Shape): ReferenceModel {
  return referenceModel(d) ?? (d.modelType === 'gpt2' ? 'gpt2-xl' : 'gpt-j');
}

/** v* hyper-parameters as vstar.ts takes them (steps, lr, weightDecay, clamp) plus the KL weight and the early stop. */
export type VStarPaper = Pick<VStarHparams, 'steps' | 'lr' | 'weightDecay' | 'clamp'> & { klFactor: number; stopLoss: number };

/** kmeng01/rome hparams/ROME (GPT-2 XL, GPT-J); AlphaEdit's hparams/ROME/Llama3-8B.json. */
export const ROME_PAPER: Record<ReferenceModel, VStarPaper & { layer: number }> = {
  'gpt2-xl': { layer: 17, steps: 20, lr: 0.5, weightDecay: 0.5, clamp: 4, klFactor: 0.0625, stopLoss: 0.05 },
  'gpt-j': { layer: 5, steps: 20, lr: 0.5, weightDecay: 0.5, clamp: 4, klFactor: 0.0625, stopLoss: 0.05 },
  'llama3-8b': { layer: 5, steps: 25, lr: 0.5, weightDecay: 1e-3, clamp: 4, klFactor: 0.0625, stopLoss: 0.05 },
};

/** kmeng01/memit hparams/MEMIT (GPT-2 XL, GPT-J); AlphaEdit's hparams/MEMIT/Llama3-8B.json. `lambda`: mom2_update_weight. */
export const MEMIT_PAPER: Record<ReferenceModel, VStarPaper & { layers: [number, number]; lambda: number }> = {
  'gpt2-xl': { layers: [13, 17], lambda: 20000, steps: 20, lr: 0.5, weightDecay: 0.5, clamp: 0.75, klFactor: 0.0625, stopLoss: 0.05 },
  'gpt-j': { layers: [3, 8], lambda: 15000, steps: 25, lr: 0.5, weightDecay: 0.5, clamp: 0.75, klFactor: 0.0625, stopLoss: 0.05 },
  'llama3-8b': { layers: [4, 8], lambda: 15000, steps: 25, lr: 0.1, weightDecay: 0.5, clamp: 0.75, klFactor: 0.0625, stopLoss: 0.05 },
};

/** jianghoucheng/AlphaEdit hparams/AlphaEdit: MEMIT's v* and layers, nullspace_threshold 2e-2 (absolute), L2 10 (absolute). */
export const ALPHAEDIT_PAPER = { threshold: 2e-2, L2: 10 } as const;

/**
 * The share of C's energy (trace) the null space may hold on models the reference did not run.
 * The reference's own share at 2e-2 on GPT-2 XL is not known here (no GPT-2 XL statistics); the
 * maintainers advise a share of the total energy (AlphaEdit issue #38) without a number. 1 % is
 * MechEdit's choice: the corpus keys then keep at most 10 % of their norm in P's range (RMS).
 */
export const NULL_ENERGY_SHARE = 0.01;

/** The v* hyper-parameters of the paper preset: the reference model's, else the transfer source's (clamp, KL, lr, decay, steps as in the reference). */
export function vstarPaper(method: 'rome' | 'memit' | 'alphaedit', d: Shape): VStarPaper {
  const src = transferSource(d);
  const { steps, lr, weightDecay, clamp, klFactor, stopLoss } = method === 'rome' ? ROME_PAPER[src] : MEMIT_PAPER[src];
  return { steps, lr, weightDecay, clamp, klFactor, stopLoss };
}

/**
 * ROME's layer: the reference's on its own models; else the checkpoint's causal-trace layer
 * (config.json mechedit.edit_layer); else the transfer source's layer at the same relative depth.
 */
export function romePaperLayer(d: Shape): number {
  const ref = referenceModel(d);
  if (ref) return ROME_PAPER[ref].layer;
  if (d.editLayer !== undefined) return d.editLayer;
  const src = transferSource(d);
  return Math.min(d.layers - 1, Math.round((ROME_PAPER[src].layer / SHAPES[src].layers) * d.layers));
}

/**
 * MEMIT's (and AlphaEdit's) window: the reference's on its own models; else
 *   width  w = max(1, round(w_ref / L_ref × L))            (GPT-2 XL 5/48, GPT-J 6/28)
 *   place  ROME's layer ℓ (romePaperLayer: the causal trace's) sits in the window where the
 *          reference's ROME layer sits in its own: the last of 13–17 (GPT-2 XL), the third of
 *          3–8 (GPT-J): start = ℓ − round(o_ref / max(1, w_ref − 1) × (w − 1)), o_ref = ℓ_ref − start_ref;
 *   clip   the window is shifted into 0…L − 1 (its width kept, at most L).
 */
export function memitPaperLayers(d: Shape): number[] {
  const ref = referenceModel(d);
  if (ref) {
    const [a, b] = MEMIT_PAPER[ref].layers;
    return Array.from({ length: b - a + 1 }, (_, i) => a + i);
  }
  const src = transferSource(d);
  const [a, b] = MEMIT_PAPER[src].layers;
  const wRef = b - a + 1;
  const w = Math.min(d.layers, Math.max(1, Math.round((wRef / SHAPES[src].layers) * d.layers)));
  const offset = Math.round(((ROME_PAPER[src].layer - a) / Math.max(1, wRef - 1)) * (w - 1));
  const start = Math.max(0, Math.min(d.layers - w, romePaperLayer(d) - offset));
  return Array.from({ length: w }, (_, i) => start + i);
}

/**
 * MEMIT's λ (mom2_update_weight): the reference's on its own models; else λ = (λ_ref / d_mlp_ref) × d_mlp,
 * which keeps λ / E[kᵀC⁻¹k] (E[kᵀC⁻¹k] = trace(C⁻¹C) = d_mlp over the keys C is the second moment of):
 * GPT-2 XL 20000 / 6400 = 3.125 for the gpt2 family, GPT-J 15000 / 16384 ≈ 0.916 otherwise.
 */
export function memitPaperLambda(d: Shape): number {
  const src = transferSource(d);
  if (referenceModel(d)) return MEMIT_PAPER[src].lambda;
  return (MEMIT_PAPER[src].lambda / SHAPES[src].dMlp) * d.dMlp;
}

/** FT-M (EasyEdit hparams/FT/llama-7b.yaml): layer 21 of Llama-2-7B's 32, 25 Adam steps at lr 5e-4, no weight decay, no norm constraint. */
export const FT_PAPER = { layer: 21, layers: 32, steps: 25, lr: 5e-4 } as const;

/** FT-M's layer: EasyEdit's 21 of 32 at the same relative depth, round(21 / 32 × L) (21 on a 32-layer model). */
export function ftPaperLayer(d: Pick<Shape, 'layers'>): number {
  return Math.min(d.layers - 1, Math.round((FT_PAPER.layer / FT_PAPER.layers) * d.layers));
}

/** ROCR (the ORT paper; METHODS.md): its layers per model family, at relative depth elsewhere, and λ. */
const ROCR_WINDOWS: { families: string[]; layers: number; window: [number, number]; lambda: number }[] = [
  { families: ['gpt2'], layers: 48, window: [13, 17], lambda: 10 },
  { families: ['gptj'], layers: 28, window: [3, 8], lambda: 10 },
  { families: ['llama', 'mistral'], layers: 32, window: [4, 6], lambda: 1 },
  { families: ['qwen2', 'phi3'], layers: 28, window: [4, 8], lambda: 1 },
];

/**
 * ROCR's window: the paper's for the model family (GPT-2 XL 13–17 of 48, GPT-J 3–8 of 28,
 * Llama-3 / Mistral 4–6 of 32, Qwen2.5 / Phi-3 4–8) on a model of that depth; else at the same
 * relative depth: start = round(a / L_ref × L), width = max(1, round(w_ref / L_ref × L)), clipped
 * into the model. Families it does not list take GPT-J's. λ: 10 (GPT-2, GPT-J) or 1 (the others).
 */
export function rocrPaper(d: Pick<Shape, 'modelType' | 'layers'>): { layers: number[]; lambda: number } {
  const ref = ROCR_WINDOWS.find((r) => r.families.includes(d.modelType)) ?? ROCR_WINDOWS[1];
  const [a, b] = ref.window;
  if (d.layers === ref.layers) return { layers: Array.from({ length: b - a + 1 }, (_, i) => a + i), lambda: ref.lambda };
  const w = Math.min(d.layers, Math.max(1, Math.round(((b - a + 1) / ref.layers) * d.layers)));
  const start = Math.max(0, Math.min(d.layers - w, Math.round((a / ref.layers) * d.layers)));
  return { layers: Array.from({ length: w }, (_, i) => start + i), lambda: ref.lambda };
}
