// The registry's training objectives: gradient unlearning as a low-rank edit (train/unlearn.ts).
// Each objective shares the training settings; their defaults per objective are the tuned
// preset (UNLEARN_DEFAULTS). The unlearning job (jobs/unlearnJob.ts) checks settings against
// these specs for the CLI and the engine alike: a setting's name is the engine's request field
// and, in kebab case, the CLI's flag.

import type { MethodDescriptor, SettingSpec } from '../../protocol/registry';
import { UNLEARN_DEFAULTS, UNLEARN_METHODS, type UnlearnMethod } from '../train/unlearn';
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
    { name: 'layers', type: 'layers', doc: 'layers whose MLP output projection gets the LoRA pair', fromCheckpoint: 'every layer (RMU: its layer and the two below)' },
    { name: 'rank', type: 'int', min: 1, max: 4096, default: UNLEARN_DEFAULTS.rank, doc: 'rank of the LoRA pair (at most d_model)' },
    { name: 'steps', type: 'int', min: 1, max: 1_000_000, default: UNLEARN_DEFAULTS.steps, doc: 'training steps at most' },
    { name: 'lr', type: 'number', min: 0, exclusiveMin: true, max: 10, doc: 'learning rate', fromCheckpoint: 'per objective (tuned preset)' },
    { name: 'retainWeight', type: 'number', min: 0, max: 1e6, doc: 'weight of the retain term (0 = none)', fromCheckpoint: 'per objective (tuned preset)' },
    { name: 'beta', type: 'number', min: 0, exclusiveMin: true, max: 1e3, default: UNLEARN_DEFAULTS.beta, doc: 'NPO / DPO temperature' },
    { name: 'stopBelow', type: 'number', min: 0, max: 1, default: UNLEARN_DEFAULTS.stopBelow, doc: 'stop once the forget answers\' teacher-forced top-1 is below this fraction' },
    { name: 'uipe', type: 'number', min: 0, max: MAX_UIPE, default: 0, doc: 'UIPE: write θ₀ + (1 + α)(θ_u − θ₀)' },
    { ...SEED, default: UNLEARN_DEFAULTS.seed, doc: 'seed of the initialisation and batching' },
    LABEL,
  ];
}

export const OBJECTIVE_DESCRIPTORS: readonly MethodDescriptor[] = UNLEARN_METHODS.map((id) => ({
  id, ...ABOUT[id], family: 'objective', kind: 'training',
  paper: { title: 'ORT\'s baselines, as in open-unlearning (GA, GradDiff, NPO, RT, DPO, RMU); UIPE\'s extrapolation', year: 2025 },
  settings: trainingSettings(),
  presets: [{ id: 'tuned', doc: 'working values on the bundled model (bench/ort-forms.mjs)', values: { lr: UNLEARN_DEFAULTS.lr[id], retainWeight: UNLEARN_DEFAULTS.retainWeight[id] } }],
  defaultPreset: 'tuned',
  outputs: ['a low-rank edit file (<id>.json + <id>.safetensors, method "unlearn") with the loss curve and forget / retain figures'],
  doc: 'docs/methods/unlearn.md',
  writes: 'unlearn',
}));
