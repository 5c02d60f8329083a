// The presets of the fact editors ROME, MEMIT, AlphaEdit, FT-M and of ROCR, ablation and import:
// `paper` (the reference code's hyper-parameters; on other models the transfer rules of
// edits/paperPresets.ts, which the methods' code applies when a setting is not given) and `tuned`
// (MechEdit's measured defaults). `values` are fixed on every model; `rules` say in words what the
// code works out from the open model. The edit file records the preset and what it resolved to.

import type { PresetSpec } from '../../protocol/registry';
import { NULL_ENERGY_SHARE } from '../edits/paperPresets';
import { TUNED } from './specs';

/** The v* loss as the reference code has it: kl_factor 0.0625, kl_div(init, edited, log_target=True) = KL(P_edited ‖ P_before), stop below 0.05. */
const V_STAR_FIXED = { klFactor: 0.0625, klOrder: 'edit-init', stopLoss: 0.05 } as const;
const STEPS_RULE = 'the reference model\'s own; else GPT-2 XL\'s for the gpt2 family, GPT-J\'s otherwise';
const TRACE_LAYER = 'GPT-2 XL 17, GPT-J 5, Llama-3-8B 5 on those models; else the causal trace\'s layer (config.json mechedit.edit_layer); else GPT-J\'s 5 / 28 (GPT-2 XL\'s 17 / 48 for gpt2) at the same relative depth';
const MEMIT_LAYERS = 'GPT-2 XL 13–17, GPT-J 3–8, Llama-3-8B 4–8 on those models; else width w = max(1, round(w_ref / L_ref × L)) (GPT-2 XL 5/48 for the gpt2 family, GPT-J 6/28 otherwise), placed so that ROME\'s layer (the causal trace\'s) sits where the reference\'s ROME layer sits in its window (the last of 13–17; the third of 3–8), shifted into the model';
const MEMIT_LAMBDA = 'GPT-2 XL 20000, GPT-J and Llama-3-8B 15000 on those models; else λ = (λ_ref / d_mlp_ref) × d_mlp, the reference\'s λ / E[kᵀC⁻¹k] (E[kᵀC⁻¹k] = d_mlp over the corpus keys): 20000 / 6400 for the gpt2 family, 15000 / 16384 otherwise';

export const ROME_PRESETS: readonly PresetSpec[] = [
  {
    id: 'paper',
    doc: 'kmeng01/rome hparams/ROME (GPT-2 XL, GPT-J; Llama-3-8B from AlphaEdit\'s repository): clamp 4, v_lr 0.5, KL 0.0625, stop below 0.05; the v* loop as the reference has it (no update in the loop, every context template weighs 1/21)',
    values: { clamp: 4, vLr: 0.5, ...V_STAR_FIXED },
    rules: { layer: TRACE_LAYER, steps: `20 (Llama-3-8B 25): ${STEPS_RULE}`, vWeightDecay: `0.5 (Llama-3-8B 1e-3): ${STEPS_RULE}` },
  },
  TUNED,
];

export const MEMIT_PRESETS: readonly PresetSpec[] = [
  {
    id: 'paper',
    doc: 'kmeng01/memit hparams/MEMIT (GPT-2 XL, GPT-J; Llama-3-8B from AlphaEdit\'s repository): clamp 0.75, v_weight_decay 0.5, KL 0.0625, stop below 0.05',
    values: { clamp: 0.75, vWeightDecay: 0.5, ...V_STAR_FIXED },
    rules: { layers: MEMIT_LAYERS, lambda: MEMIT_LAMBDA, steps: `20 (GPT-J, Llama-3-8B 25): ${STEPS_RULE}`, vLr: `0.5 (Llama-3-8B 0.1): ${STEPS_RULE}` },
  },
  { ...TUNED, doc: 'MechEdit\'s defaults: ROME\'s clamp 4 and 160 v* steps off the papers\' models, λ = the batch\'s median kᵀC⁻¹k / 19 per layer, a ~16 % window centred on ROME\'s layer' },
];

export const ALPHAEDIT_PRESETS: readonly PresetSpec[] = [
  {
    id: 'paper',
    doc: 'jianghoucheng/AlphaEdit hparams/AlphaEdit: MEMIT\'s v* settings and layers, nullspace_threshold 2e-2 and L2 10 (both absolute); the projector\'s leakage on the corpus keys is recorded',
    values: { clamp: 0.75, vWeightDecay: 0.5, ...V_STAR_FIXED },
    rules: {
      layers: MEMIT_LAYERS,
      steps: `20 (GPT-J, Llama-3-8B 25): ${STEPS_RULE}`,
      vLr: `0.5 (Llama-3-8B 0.1): ${STEPS_RULE}`,
      threshold: `τ = 2e-2 on GPT-2 XL, GPT-J, Llama-3-8B; else the τ whose null space holds ${NULL_ENERGY_SHARE * 100} % of C's energy (trace) — a share, as the maintainers advise (AlphaEdit issue #38); the reference's own share on GPT-2 XL is not measured here`,
      lambda: 'L2 = 10 on those models; else L2 = (10 / 2e-2) × τ, the reference\'s L2 / τ',
    },
  },
  { ...TUNED, doc: 'MechEdit\'s defaults: τ = 0.1 × C\'s mean eigenvalue, λ = C\'s mean eigenvalue, MEMIT\'s tuned layers, clamp and steps', values: { threshold: 0.1, lambda: 1 } },
];

export const FT_PRESETS: readonly PresetSpec[] = [
  {
    id: 'paper',
    doc: 'EasyEdit hparams/FT/llama-7b.yaml (FT-M: objective target_new): 25 Adam steps, lr 5e-4, no weight decay, no KL, no norm constraint',
    values: { steps: 25, lr: 5e-4 },
    rules: { layer: 'EasyEdit\'s 21 of Llama-2-7B\'s 32 at the same relative depth: round(21 / 32 × L)' },
  },
  { ...TUNED, doc: 'MechEdit\'s defaults: EasyEdit\'s steps and lr at the causal trace\'s layer (config.json mechedit.edit_layer), else 21 / 32 of the depth' },
];

export const ROCR_PRESETS: readonly PresetSpec[] = [
  {
    id: 'paper',
    doc: 'the ORT paper\'s ROCR: the concept\'s last token, λ I, the values projected onto the null space of C (AlphaEdit\'s P)',
    values: { positions: 'last', regularizer: 'identity', nullSpace: true },
    rules: {
      layers: 'GPT-2 XL 13–17 of 48, GPT-J 3–8 of 28, Llama-3 / Mistral 4–6 of 32, Qwen2.5 / Phi-3 4–8 on models of that family and depth; else at the same relative depth: start round(a / L_ref × L), width max(1, round(w_ref / L_ref × L)) (GPT-J\'s for other families)',
      lambda: '10 (GPT-2, GPT-J), 1 (the others)',
      threshold: `τ = 2e-2 on GPT-2 XL, GPT-J, Llama-3-8B; else the τ whose null space holds ${NULL_ENERGY_SHARE * 100} % of C's energy (as AlphaEdit's paper preset)`,
    },
  },
  { ...TUNED, doc: 'MechEdit\'s defaults: the checkpoint\'s mechedit.rocr recommendation (else the paper\'s layers and λ), no null space', values: { nullSpace: false, threshold: 0.02 } },
];

/** Ablation and import take their inputs and nothing else: both presets are the same. */
export const NO_HPARAM_PRESETS = (what: string): readonly PresetSpec[] => [
  { id: 'paper', doc: `no hyper-parameters: ${what}, exactly as given (the same as tuned)`, values: {} },
  { ...TUNED, doc: `no hyper-parameters: ${what}, exactly as given (the same as paper)` },
];
