// Setting specs shared by several methods, written once: the fact request, the v* optimisation,
// the key statistics, the label. A method's descriptor lists the ones it takes.

import type { SettingSpec } from '../../protocol/registry';

/** Bounds shared with the engine's other requests. */
export const BOUNDS = {
  /** MEMIT's, AlphaEdit's, DiKE's and ROCR's λ (the papers use 1–2e4). */
  lambda: 1e6,
  /** Key vectors for key statistics. */
  statsSamples: 10_000_000,
  steps: 10_000,
  seed: 2 ** 31,
} as const;

export const SUBJECT: SettingSpec = { name: 'subject', type: 'string', doc: 'the subject as it appears in the prompt' };
export const PROMPT: SettingSpec = { name: 'prompt', type: 'string', doc: 'the fact\'s prompt, with {} where the subject goes ("{} was born in")' };
export const TARGET: SettingSpec = { name: 'target', type: 'string', doc: 'the new object the prompt should complete to' };
export const REQUESTS: SettingSpec = { name: 'requests', type: 'file', doc: 'a file of fact requests: JSON Lines or a JSON array of {subject, prompt, target}, or CounterFact records' };

/** One fact: subject, prompt, target. */
export const ONE_FACT: readonly SettingSpec[] = [SUBJECT, PROMPT, TARGET];
/** A batch: a requests file, or one fact. */
export const FACTS: readonly SettingSpec[] = [REQUESTS, SUBJECT, PROMPT, TARGET];

export const LAYER: SettingSpec = { name: 'layer', type: 'layer', doc: 'the edit layer', fromCheckpoint: 'config.json\'s mechedit.editLayer (the causal trace\'s), else the papers\' layer for the model (GPT-2 XL 17, GPT-J 5, Llama 5), else 5/28 of the depth' };
export const LAYERS: SettingSpec = { name: 'layers', type: 'layers', doc: 'the edit layers', fromCheckpoint: 'the papers\' window where known (GPT-2 XL 13–17, GPT-J 3–8), else a ~16 % window centred on ROME\'s layer' };
export const LTI: SettingSpec = { name: 'lti', type: 'boolean', default: false, doc: 'EVOKE\'s LTI: an in-context teacher against editing overfit' };
export const STEPS: SettingSpec = { name: 'steps', type: 'int', min: 1, max: BOUNDS.steps, doc: 'steps of the v* (or δ) optimisation', fromCheckpoint: 'the paper\'s 20 (LTI 25–30) on the models it was tuned for, 160 elsewhere (stops once the loss is < 0.05)' };
export const SEED: SettingSpec = { name: 'seed', type: 'int', min: 0, max: BOUNDS.seed, default: 0, doc: 'seed of the context templates' };
export const CORPUS: SettingSpec = { name: 'corpus', type: 'files', doc: 'text files for the key statistics C = E[k kᵀ]', fromCheckpoint: 'corpus.txt beside the model' };
export const SAMPLES: SettingSpec = { name: 'samples', type: 'int', min: 1, max: BOUNDS.statsSamples, doc: 'key vectors averaged for the statistics', fromCheckpoint: '10 × d_mlp' };
export const LABEL: SettingSpec = { name: 'label', type: 'string', doc: 'a name for the edit (shown in the Edits view)' };
export const LAMBDA: SettingSpec = { name: 'lambda', type: 'number', min: 0, exclusiveMin: true, max: BOUNDS.lambda, doc: 'MEMIT\'s λ (mom2_update_weight): the weight of the key statistics against the new keys', fromCheckpoint: 'the papers\' value (GPT-2 XL 20000, GPT-J and Llama-2 15000), else the median over the batch of kᵀC⁻¹k / 19 per layer' };

/** The v* optimisation's hyper-parameters (ROME / MEMIT's v_lr, v_weight_decay, clamp_norm_factor, kl_factor; the early stop). */
export const CLAMP: SettingSpec = { name: 'clamp', type: 'number', min: 0, exclusiveMin: true, max: 1e3, doc: '‖δ‖ ≤ clamp × ‖v_init‖ (clamp_norm_factor)', fromCheckpoint: 'the method\'s own (ROME 4, MEMIT 0.75)' };
export const KL_FACTOR: SettingSpec = { name: 'klFactor', type: 'number', min: 0, max: 1e3, doc: 'weight of the essence KL on "{subject} is a" (kl_factor)', fromCheckpoint: '0.0625' };
export const V_LR: SettingSpec = { name: 'vLr', type: 'number', min: 0, exclusiveMin: true, max: 100, doc: 'Adam\'s learning rate in the v* optimisation (v_lr)', fromCheckpoint: '0.5' };
export const V_WEIGHT_DECAY: SettingSpec = { name: 'vWeightDecay', type: 'number', min: 0, max: 1e3, doc: 'weight of ‖δ‖² / ‖v_init‖² in the v* loss (v_weight_decay)', fromCheckpoint: '0.5' };
export const STOP_LOSS: SettingSpec = { name: 'stopLoss', type: 'number', min: 0, max: 100, doc: 'stop the v* optimisation once its loss is below this', fromCheckpoint: '0.05' };
export const KL_ORDER: SettingSpec = {
  name: 'klOrder', type: 'enum', options: ['init-edit', 'edit-init'], default: 'init-edit',
  doc: 'the essence KL\'s order: init-edit = KL(P_before ‖ P_edited) (MechEdit\'s tuned v*), edit-init = KL(P_edited ‖ P_before) as the ROME / MEMIT / AlphaEdit / GLAME code computes it (kl_div(init, edited, log_target=True))',
};
/** The v* hyper-parameters a preset may set. */
export const VSTAR_HPARAMS: readonly SettingSpec[] = [CLAMP, KL_FACTOR, KL_ORDER, V_LR, V_WEIGHT_DECAY, STOP_LOSS];

/** What every v*-based fact editor takes after its request and layer(s). */
export const VSTAR_RUN: readonly SettingSpec[] = [STEPS, ...VSTAR_HPARAMS, SEED, CORPUS, SAMPLES, LABEL];

/** The tuned preset: MechEdit's measured defaults, i.e. each setting's default or checkpoint rule. */
export const TUNED = { id: 'tuned', doc: 'MechEdit\'s defaults, measured on the bundled model (each setting\'s default or checkpoint rule)', values: {} } as const;

/**
 * The preset the edit methods use when none is chosen. `tuned`, because on the bundled model the
 * `paper` presets land far fewer edits, the measure the papers themselves optimise first
 * (docs/results/findings.md: efficacy with 95 % intervals, e.g. MEMIT 0 % [0, 0] against 100 %,
 * ROME 50 % [33, 67] against 100 % on 36 FINE-KED cases). A checkpoint where `paper` wins switches here.
 */
export const DEFAULT_PRESET: 'paper' | 'tuned' = 'tuned';
