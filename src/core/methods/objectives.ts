// The registry's training objectives: gradient unlearning as a low-rank edit (train/unlearn.ts).
// Each objective shares the training settings; their defaults per objective are the tuned
// preset (UNLEARN_DEFAULTS). The unlearning job (jobs/unlearnJob.ts) checks settings against
// these specs for the CLI and the engine alike: a setting's name is the engine's request field
// and, in kebab case, the CLI's flag.

import type { MethodDescriptor, PresetSpec, SettingSpec } from '../../protocol/registry';
import { UNLEARN_DEFAULTS, UNLEARN_METHODS, type UnlearnMethod } from '../train/unlearn';
import { IDK_ANSWERS } from '../train/unlearnStep';
import { LABEL, SEED } from './specs';

/** An edit's strength must stay within the stack's ±1000: UIPE writes strength 1 + α. */
export const MAX_UIPE = 999;

/** Each objective's label, description and its figure on the bundled model (the README's table). */
const ABOUT: Record<UnlearnMethod, { label: string; description: string; measured: string }> = {
  ga: { label: 'GA', description: 'gradient ascent on the forget answers', measured: 'keeps only 36 / 23 % of unrelated facts (`node bench/ort-forms.mjs`, 2026-12-03)' },
  graddiff: { label: 'GradDiff', description: 'ascent on the forget answers plus descent on retain facts', measured: 'qa top-1 6 / 6 %, unrelated facts kept 98 / 97 % (`node bench/ort-forms.mjs`, 2026-12-03)' },
  npo: { label: 'NPO', description: 'negative preference optimisation against the model before unlearning (+ retain)', measured: 'qa top-1 6 / 6 %, unrelated facts kept 100 / 96 % (`node bench/ort-forms.mjs`, 2026-12-03)' },
  rt: { label: 'RT', description: 'refusal tuning: the refusal trained after forget prompts', measured: 'unrelated facts kept 97 / 96 %, multiple choice untouched (100 / 100 %) (`node bench/ort-forms.mjs`, 2026-12-03)' },
  dpo: { label: 'DPO', description: 'the refusal preferred over the answer (DPO)', measured: 'unrelated facts kept only 66 / 72 % (`node bench/ort-forms.mjs`, 2026-12-03)' },
  rmu: { label: 'RMU', description: 'activations at a layer steered to a random direction on forget prompts (+ retain)', measured: 'RMU + UIPE α = 1: every form under 10 % or its floor, unrelated facts kept 98 / 100 % (`node bench/ort-forms.mjs`, 2026-12-03)' },
};

/** The settings every objective takes (material, where and how long to train, UIPE). */
export function trainingSettings(): SettingSpec[] {
  return [
    { name: 'forget', type: 'file', required: true, doc: 'JSONL of {prompt, answer}, or an ORT target folder (Target/<n>_<Name>/)' },
    { name: 'retain', type: 'file', doc: 'facts to keep (JSONL of {prompt, answer})', fromCheckpoint: 'eval/unlearn/retain.jsonl beside the model' },
    { name: 'unrelated', type: 'file', doc: 'unrelated facts (JSONL of {prompt, answer}) whose top-1 is measured before and after', fromCheckpoint: 'eval/unlearn/unrelated.jsonl beside the model, when it has one' },
    { name: 'forms', type: 'strings', doc: 'train only on these forms of the forget material (qa, cloze, adversarial, mcq, tf, passage, …)' },
    { name: 'layers', type: 'layers', doc: 'layers whose MLP output projection gets the LoRA pair', fromCheckpoint: 'every layer (RMU: its layer and the two below; paper preset: every layer up to it)' },
    { name: 'rank', type: 'int', min: 1, max: 4096, doc: 'rank of the LoRA pair (at most d_model)', fromCheckpoint: `${UNLEARN_DEFAULTS.rank} (paper preset: d_model, full rank)` },
    { name: 'steps', type: 'int', min: 1, max: 1_000_000, doc: 'training steps at most', fromCheckpoint: `${UNLEARN_DEFAULTS.steps}, or epochs × ⌈forget items / batchSize⌉ when epochs is set` },
    { name: 'epochs', type: 'int', min: 1, max: 10_000, doc: 'passes over the forget items; sets steps = epochs × ⌈forget items / batchSize⌉ when steps is not given' },
    { name: 'batchSize', type: 'int', min: 1, max: 4096, default: UNLEARN_DEFAULTS.batchSize, doc: 'forget items per step (and as many retain items)' },
    { name: 'lr', type: 'number', min: 0, exclusiveMin: true, max: 10, doc: 'learning rate', fromCheckpoint: 'per objective (tuned preset)' },
    { name: 'warmupEpochs', type: 'number', min: 0, max: 10_000, default: UNLEARN_DEFAULTS.warmupEpochs, doc: 'linear warm-up over ⌊warmupEpochs × forget items / batchSize⌋ steps' },
    { name: 'schedule', type: 'enum', options: ['constant', 'linear', 'cosine'], default: UNLEARN_DEFAULTS.schedule, doc: 'learning-rate decay after the warm-up (Hugging Face\'s schedules)' },
    { name: 'weightDecay', type: 'number', min: 0, max: 10, default: UNLEARN_DEFAULTS.weightDecay, doc: 'AdamW\'s decoupled weight decay on the LoRA factors' },
    { name: 'retainWeight', type: 'number', min: 0, max: 1e6, doc: 'weight of the retain term (0 = none)', fromCheckpoint: 'per objective (tuned preset)' },
    { name: 'lossMean', type: 'enum', options: ['item', 'token'], doc: 'how NLL and RMU terms average: per item then over items, or over every token of the batch at once (Hugging Face\'s loss)', fromCheckpoint: 'item (RMU: token)' },
    { name: 'beta', type: 'number', min: 0, exclusiveMin: true, max: 1e3, default: UNLEARN_DEFAULTS.beta, doc: 'NPO / DPO temperature' },
    { name: 'dpoScale', type: 'enum', options: ['unit', 'twoOverBeta'], default: UNLEARN_DEFAULTS.dpoScale, doc: 'DPO: the loss times 1, or times 2/β (open-unlearning\'s compute_dpo_loss)' },
    { name: 'idkAnswers', type: 'boolean', default: UNLEARN_DEFAULTS.idkAnswers, doc: `RT / DPO: a random "I don't know" answer per item and step, from ${IDK_ANSWERS.length} phrasings, instead of one refusal` },
    { name: 'rmuLayer', type: 'layer', doc: 'RMU: the layer whose output activations are steered', fromCheckpoint: 'max(2, round(layers / 4)) (paper preset: ⌊7/16 × layers⌋)' },
    { name: 'rmuCoef', type: 'number', min: 0, exclusiveMin: true, max: 1e6, doc: 'RMU: the steering coefficient c (the target is c·u, ‖u‖ = 1)', fromCheckpoint: `${UNLEARN_DEFAULTS.rmuScale} × the forget tokens' mean ‖h‖ at the layer under θ₀` },
    { name: 'rmuTokens', type: 'enum', options: ['all', 'answer'], default: UNLEARN_DEFAULTS.rmuTokens, doc: 'RMU: steer (and keep) every position, or the answer tokens only' },
    { name: 'stopBelow', type: 'number', min: 0, max: 1, default: UNLEARN_DEFAULTS.stopBelow, doc: 'stop once the forget answers\' teacher-forced top-1 is below this fraction (0 = never)' },
    { name: 'uipe', type: 'number', min: 0, max: MAX_UIPE, default: 0, doc: 'UIPE: write θ₀ + (1 + α)(θ_u − θ₀)' },
    { ...SEED, default: UNLEARN_DEFAULTS.seed, doc: 'seed of the initialisation and batching' },
    LABEL,
  ];
}

/** The objectives' default preset: one line to switch (the findings bench decides; docs/methods/unlearn.md). */
export const DEFAULT_PRESET: 'tuned' | 'paper' = 'tuned';

/** Per objective: the retain weight α and the switches of open-unlearning's TOFU trainer config. */
const PAPER_OWN: Record<UnlearnMethod, Record<string, unknown>> = {
  ga: { retainWeight: 0, lossMean: 'token' },
  graddiff: { retainWeight: 1, lossMean: 'token' },
  npo: { retainWeight: 1, lossMean: 'token' },
  rt: { retainWeight: 0, lossMean: 'token', idkAnswers: true },
  dpo: { retainWeight: 1, lossMean: 'token', dpoScale: 'twoOverBeta', idkAnswers: true },
  rmu: { retainWeight: 1, lossMean: 'item', rmuCoef: 2, rmuTokens: 'answer' },
};

/**
 * open-unlearning's TOFU configs (configs/experiment/unlearn/tofu/default.yaml, idk.yaml,
 * configs/trainer/*.yaml): AdamW lr 1e-5, weight decay 0.01, 10 epochs, one warm-up epoch, linear
 * decay, batch 8 × 4 accumulation = 32, gradient norm ≤ 1, no early stop; α = γ = 1, β = 0.1.
 * Deviation (named): LoRA factors of full rank at every layer's mlp.out, not every parameter.
 */
function paperPreset(id: UnlearnMethod): PresetSpec {
  const rules: Record<string, string> = {
    rank: 'd_model (full-rank factors: the references train every parameter; MechEdit trains ΔW = UᵀV at the MLP output projections)',
    layers: id === 'rmu' ? 'every layer up to rmuLayer (layers above it cannot move its activations)' : 'every layer',
    steps: 'epochs × ⌈forget items / batchSize⌉ (warm-up ⌊forget items / batchSize⌋ steps)',
  };
  if (id === 'rmu') rules.rmuLayer = '⌊7/16 × layers⌋ (open-unlearning steers layer 7 of Llama-3.2-1B\'s 16)';
  return {
    id: 'paper',
    doc: 'open-unlearning\'s TOFU configs (locuslab/open-unlearning), transferred by written rules (docs/methods/unlearn.md "Presets")',
    values: { lr: 1e-5, epochs: 10, batchSize: 32, warmupEpochs: 1, schedule: 'linear', weightDecay: 0.01, beta: 0.1, stopBelow: 0, ...PAPER_OWN[id] },
    rules,
  };
}

export const OBJECTIVE_DESCRIPTORS: readonly MethodDescriptor[] = UNLEARN_METHODS.map((id) => ({
  id, ...ABOUT[id], family: 'objective', kind: 'training',
  paper: { title: 'ORT\'s baselines, as in open-unlearning (GA, GradDiff, NPO, RT, DPO, RMU); UIPE\'s extrapolation', year: 2025 },
  settings: trainingSettings(),
  presets: [{ id: 'tuned', doc: 'working values on the bundled model (bench/ort-forms.mjs)', values: { lr: UNLEARN_DEFAULTS.lr[id], retainWeight: UNLEARN_DEFAULTS.retainWeight[id] } }, paperPreset(id)],
  defaultPreset: DEFAULT_PRESET,
  outputs: ['a low-rank edit file (<id>.json + <id>.safetensors, method "unlearn") with the loss curve and forget / retain figures'],
  doc: 'docs/methods/unlearn.md',
  writes: 'unlearn',
}));
