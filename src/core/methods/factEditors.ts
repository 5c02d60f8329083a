// The fact editors of the registry: one entry per method, its descriptor (settings, presets,
// capabilities) and the call into its own module (rome.ts, memit.ts, …). The CLI, the engine,
// EVOKE / FINE-KED / probes runs, sequential runs and the benches pick a method by id here. A new
// fact editor is its module plus one entry in FACT_EDITORS (and its page in docs/methods/).

import { factEditors, type MethodCapabilities, type MethodDescriptor, type PresetSpec } from '../../protocol/registry';
import type { LoadedModel } from '../runtime/model';
import { badInput } from '../errors';
import type { EditStack } from '../edits/stack';
import type { Edit } from '../edits/editFile';
import type { VStarResult, VStarStep } from '../edits/vstar';
import { computeRome, type FactRequest } from '../edits/rome';
import { computeMemit } from '../edits/memit';
import { computeAlphaEdit } from '../edits/alphaedit';
import { computeDike } from '../edits/dike';
import { DIKE_PAPER, DIKE_SETTINGS, dikePaperLayer } from './dikeSpecs';
import { computeGlame } from '../edits/glame';
import { resolveGlamePreset, type GlameFeatures } from '../edits/glamePresets';
import { GLAME_PRESETS, GLAME_SETTINGS } from './glameSpecs';
import { computeFt, defaultFtLayer, FT_HPARAMS } from '../edits/ft';
import { resolveSettings, pick, type Settings } from './settings';
import { DEFAULT_PRESET, FACTS, LABEL, LAMBDA, LAYER, LAYERS, LTI, ONE_FACT, TUNED, VSTAR_RUN } from './specs';
import { ALPHAEDIT_PRESETS, FT_PRESETS, MEMIT_PRESETS, ROME_PRESETS } from './presets';
import { ftPaperLayer } from '../edits/paperPresets';

/** How a computation reports and stops (not settings: nothing a preset or a file records). */
export interface EditRun {
  onStep?: (s: VStarStep) => void;
  isCancelled?: () => boolean;
  /** Inputs given as data rather than files (the Concepts panel's direction, as float32 [d_model]). */
  data?: Readonly<Record<string, Float32Array>>;
  /** The preset the settings were resolved with ('paper', 'tuned', …): its transfer rules fill the settings left undefined. */
  preset?: string;
}

export interface FactEditResult {
  edit: Edit;
  /** The v* (or δ) optimisation of each request. */
  vstar: VStarResult[];
  timing: Record<string, number>;
}

export interface FactEditor {
  descriptor: MethodDescriptor;
  /** `s`: the descriptor's settings, checked (resolveSettings); a setting left undefined takes the method's checkpoint rule. */
  compute(model: LoadedModel, stack: EditStack, requests: FactRequest[], s: Settings, run: EditRun): Promise<FactEditResult>;
}

const n = (v: unknown) => v as number | undefined;
/** The v* hyper-parameters given (or set by the preset) as the edit modules' `hparams`; the others keep each module's own. */
const steps = (s: Settings) => {
  const hp: Record<string, number | boolean> = {};
  const map: [string, string][] = [['steps', 'steps'], ['clamp', 'clamp'], ['klFactor', 'klFactor'], ['vLr', 'lr'], ['vWeightDecay', 'weightDecay'], ['stopLoss', 'stopLoss']];
  for (const [name, key] of map) if (s[name] !== undefined) hp[key] = s[name] as number;
  return s.klOrder === 'edit-init' ? { ...hp, klReverse: true } : hp;
};
/** What every editor's own options share: the run hooks, LTI, statistics, templates' seed, label. */
const common = (s: Settings, run: EditRun) => ({
  onStep: run.onStep, isCancelled: run.isCancelled, lti: s.lti as boolean | undefined, corpus: s.corpus as string[] | undefined,
  samples: n(s.samples), seed: n(s.seed), label: s.label as string | undefined,
});
const everywhere = { perCase: true, sequential: true, lti: true };

export const FACT_EDITORS: readonly FactEditor[] = [
  {
    descriptor: {
      id: 'rome', label: 'ROME', family: 'edit', kind: 'fact', description: 'one fact, a rank-one update of one MLP output projection (v* by gradient descent, C⁻¹ from key statistics)',
      paper: { title: 'Locating and Editing Factual Associations in GPT', year: 2022, url: 'https://arxiv.org/abs/2202.05262' },
      settings: [...ONE_FACT, LAYER, LTI, ...VSTAR_RUN], presets: ROME_PRESETS, defaultPreset: DEFAULT_PRESET, outputs: ['an edit file (<id>.json + <id>.safetensors)'], capabilities: everywhere, doc: 'docs/methods/rome.md', measured: 'efficacy 96.7 %, same-subject R-Loc 84.8 on 30 FINE-KED cases (`node bench/fine-ked.mjs --limit 30 …`, 2026-12-03)',
    },
    async compute(model, stack, requests, s, run) {
      const r = await computeRome(model, stack, requests[0], { ...common(s, run), layer: n(s.layer), hparams: steps(s), preset: run.preset });
      return { edit: r.edit, vstar: [r.report.vstar], timing: r.report.timing };
    },
  },
  {
    descriptor: {
      id: 'memit', label: 'MEMIT', family: 'edit', kind: 'batch', description: 'a batch of facts, the update spread over several layers (rank = facts per layer)',
      paper: { title: 'Mass-Editing Memory in a Transformer', year: 2023, url: 'https://arxiv.org/abs/2210.07229' },
      settings: [...FACTS, LAYERS, LAMBDA, LTI, ...VSTAR_RUN], presets: MEMIT_PRESETS, defaultPreset: DEFAULT_PRESET, outputs: ['an edit file (<id>.json + <id>.safetensors)'], capabilities: everywhere, doc: 'docs/methods/memit.md', measured: 'single edits 100.0 % efficacy, other facts drop 0.10 points (`node bench/fact-edits.mjs --method memit --n 20`, 2026-12-03)',
    },
    async compute(model, stack, requests, s, run) {
      const r = await computeMemit(model, stack, requests, { ...common(s, run), layers: s.layers as number[] | undefined, hparams: { ...steps(s), ...(s.lambda ? { lambda: s.lambda as number } : {}) }, preset: run.preset });
      return { edit: r.edit, vstar: r.report.vstar, timing: r.report.timing };
    },
  },
  {
    descriptor: {
      id: 'alphaedit', label: 'AlphaEdit', family: 'edit', kind: 'batch', description: 'MEMIT\'s update projected onto the null space of the key statistics and kept off earlier AlphaEdit edits\' keys',
      paper: { title: 'AlphaEdit: Null-Space Constrained Knowledge Editing for Language Models', year: 2025, url: 'https://arxiv.org/abs/2410.02355' },
      settings: [
        ...FACTS, LAYERS,
        { name: 'threshold', type: 'number', min: 0, exclusiveMin: true, max: 1e6, doc: 'null space: eigenvalues of C below threshold × their mean', fromCheckpoint: 'the preset\'s: tuned 0.1; paper 2e-2 absolute on the reference\'s models, else an energy share (nullEnergy)' },
        { name: 'nullEnergy', type: 'number', min: 0, exclusiveMin: true, max: 0.999, doc: 'null space: the smallest eigen-directions of C holding at most this share of its energy (trace); wins over threshold' },
        { ...LAMBDA, fromCheckpoint: 'the preset\'s: tuned 1; paper L2 10 on the reference\'s models, else (10 / 2e-2) × τ', doc: 'the ridge λ × the mean eigenvalue of C' },
        LTI, ...VSTAR_RUN,
      ],
      presets: ALPHAEDIT_PRESETS, defaultPreset: DEFAULT_PRESET, outputs: ['an edit file (<id>.json + <id>.safetensors)'], capabilities: everywhere, doc: 'docs/methods/alphaedit.md', measured: '100.0 % efficacy, other facts drop 0.33 points (`node bench/fact-edits.mjs --method alphaedit --n 20`, 2026-12-03)',
    },
    async compute(model, stack, requests, s, run) {
      const r = await computeAlphaEdit(model, stack, requests, { ...common(s, run), layers: s.layers as number[] | undefined, lambda: n(s.lambda), threshold: n(s.threshold), nullEnergy: n(s.nullEnergy), hparams: steps(s), preset: run.preset });
      return { edit: r.edit, vstar: r.report.vstar, timing: r.report.timing };
    },
  },
  {
    descriptor: {
      id: 'dike', label: 'DiKE', family: 'edit', kind: 'fact', description: 'one fact, δ on the subject\'s target-related component (a trained KRD module), then (I + W3ᵀW3)⁻¹ Δ_MEMIT',
      paper: { title: 'Disentangling Knowledge Representations for Large Language Model Editing', year: 2026, url: 'https://arxiv.org/abs/2505.18774' },
      settings: [
        ...ONE_FACT, LAYER,
        { name: 'krd', type: 'file', doc: 'the KRD module file', fromCheckpoint: 'krd-L<layer>.safetensors beside the checkpoint (train one with mechedit dike train)' },
        ...DIKE_SETTINGS, LAMBDA, LTI, ...VSTAR_RUN,
      ],
      presets: [DIKE_PAPER, TUNED], defaultPreset: DEFAULT_PRESET, outputs: ['an edit file (<id>.json + <id>.safetensors)'], capabilities: everywhere, doc: 'docs/methods/dike.md', measured: 'tuned preset: efficacy 96.7 %, same-subject R-Loc 85.0 against ROME\'s 84.8 (`node bench/fine-ked.mjs --limit 30 …`, 2026-12-03)',
    },
    async compute(model, stack, requests, s, run) {
      const rule = n(s.layer) === undefined && run.preset === 'paper' ? dikePaperLayer(model) : undefined;
      const layer = n(s.layer) ?? rule?.layer;
      const own = { inLoop: s.inLoop as boolean, hStar: s.hStar as 'residual' | 'reconstruction' };
      const r = await computeDike(model, stack, requests[0], { ...common(s, run), layer, krd: s.krd as string | undefined, hparams: { ...steps(s), ...own, ...(s.lambda ? { lambda: s.lambda as number } : {}) } });
      if (rule) r.edit.json.hparams = { ...r.edit.json.hparams, layerRule: { measured: rule.measured, used: rule.layer, ...(rule.note ? { note: rule.note } : {}) } };
      return { edit: r.edit, vstar: [r.report.vstar], timing: r.report.timing };
    },
  },
  {
    descriptor: {
      id: 'glame', label: 'GLAME', family: 'edit', kind: 'fact', description: 'one fact, ROME whose δ is a relational graph network\'s output over the new target\'s subgraph',
      paper: { title: 'Knowledge Graph Enhanced Large Language Model Editing', year: 2024, url: 'https://arxiv.org/abs/2402.13593' },
      settings: [
        ...ONE_FACT,
        { name: 'graph', type: 'file', doc: 'the knowledge graph: JSON Lines {subject, relation, object}, GLAME\'s per-case JSON, or a world.json', fromCheckpoint: 'world.json beside the model' },
        { name: 'subgraphSize', type: 'int', min: 1, max: 1000, doc: 'triples of the subgraph (the edit triple and the target\'s own)', fromCheckpoint: '20 (35 on GPT-J)' },
        LAYER, ...GLAME_SETTINGS, LTI, ...VSTAR_RUN,
      ],
      presets: [...GLAME_PRESETS, TUNED], defaultPreset: DEFAULT_PRESET, outputs: ['an edit file (<id>.json + <id>.safetensors) listing the subgraph it used'], capabilities: everywhere, doc: 'docs/methods/glame.md', measured: 'tuned preset: efficacy 95.0 %, two-hop portability 84.8 against ROME\'s 89.3 (`node bench/glame.mjs --limit 20 --probe-limit 20 --methods rome,glame,memit --out D`, 2026-12-03)',
    },
    async compute(model, stack, requests, s, run) {
      const given = { layer: n(s.layer), featureLayer: n(s.featureLayer), subgraphSize: n(s.subgraphSize), features: s.features as GlameFeatures | undefined, dropout: n(s.dropout), adamWDecay: n(s.adamWDecay) };
      const { reference, ...g } = resolveGlamePreset(run.preset, model.dims, given, steps(s));
      const r = await computeGlame(model, stack, requests[0], { ...common(s, run), graph: s.graph as string | undefined, ...g });
      if (reference) r.edit.json.hparams = { ...r.edit.json.hparams, reference: { preset: run.preset, transferred: reference.transferred } };
      return { edit: r.edit, vstar: [r.report.vstar], timing: r.report.timing };
    },
  },
  {
    descriptor: {
      id: 'ft', label: 'FT-M', family: 'edit', kind: 'fact', description: 'one fact, fine-tuning one MLP output projection on the target tokens only (EasyEdit\'s FT-M baseline)',
      paper: { title: 'Editing Large Language Models: Problems, Methods, and Opportunities (FT-M as in EasyEdit)', year: 2023, url: 'https://arxiv.org/abs/2305.13172' },
      settings: [
        ...ONE_FACT,
        { ...LAYER, fromCheckpoint: 'config.json\'s mechedit.edit_layer, else EasyEdit\'s Llama-2-7B layer (21 of 32) at the same relative depth' },
        { name: 'steps', type: 'int', min: 1, max: 10_000, default: FT_HPARAMS.steps, doc: 'Adam steps at most (stops once the target\'s NLL is < 0.01)' },
        { name: 'lr', type: 'number', min: 0, exclusiveMin: true, max: 1, default: FT_HPARAMS.lr, doc: 'Adam\'s learning rate' },
        { name: 'normConstraint', type: 'number', min: 0, exclusiveMin: true, max: 1e3, doc: 'clamp every entry of ΔW to ±this after each step (FT-L\'s constraint; none for FT-M)' },
        LABEL,
      ],
      presets: FT_PRESETS, defaultPreset: DEFAULT_PRESET, outputs: ['an edit file (<id>.json + <id>.safetensors): ΔW of the module at full rank'], capabilities: { perCase: true, sequential: true }, doc: 'docs/methods/ft.md',
      measured: 'efficacy 98.0 %, held-out paraphrases 80.0 %, other facts drop 0.14 points, 96 ms per edit (`node bench/fact-edits.mjs --method ft --n 50`, 2026-12-07)',
    },
    async compute(model, stack, requests, s, run) {
      const layer = n(s.layer) ?? (run.preset === 'paper' ? ftPaperLayer(model.dims) : defaultFtLayer(model.dims));
      const r = await computeFt(model, stack, requests[0], { layer, steps: n(s.steps), lr: n(s.lr), normConstraint: n(s.normConstraint), label: s.label as string | undefined, ...run });
      return { edit: r.edit, vstar: [r.vstar], timing: { ms: r.vstar.ortMs + r.vstar.jsMs } };
    },
  },
];

/** The fact editors' ids, in registry order. */
export const FACT_METHODS: readonly string[] = FACT_EDITORS.map((f) => f.descriptor.id);
export type FactMethod = string;

/** The ids of the fact editors with a capability (all of them without one), in registry order. */
export function factMethodIds(capability?: keyof MethodCapabilities): string[] {
  return factEditors({ methods: FACT_EDITORS.map((f) => f.descriptor) }, capability).map((d) => d.id);
}

/** Methods that edit one fact at a time (kind 'fact'; the others take a batch). */
export const SINGLE_FACT_METHODS: readonly string[] = FACT_EDITORS.filter((f) => f.descriptor.kind === 'fact').map((f) => f.descriptor.id);

export function isFactMethod(m: unknown): m is FactMethod {
  return typeof m === 'string' && FACT_METHODS.includes(m);
}

/** A fact editor by id, or a bad-input error listing the registry's. */
export function factEditor(method: unknown, field = 'method'): FactEditor {
  const f = FACT_EDITORS.find((x) => x.descriptor.id === method);
  if (!f) throw badInput(`Unknown fact editor ${JSON.stringify(method)}`, { field, hint: `Use one of: ${FACT_METHODS.join(', ')}.` });
  return f;
}

/** The settings that say what to edit (the job reads them), not how. */
export const REQUEST_FIELDS: readonly string[] = ['requests', 'subject', 'prompt', 'target'];

/** Settings by name (each method takes those its descriptor lists), and the run's hooks. */
export interface FactEditSettings extends EditRun {
  layer?: number;
  layers?: number[];
  lambda?: number;
  lti?: boolean;
  steps?: number;
  corpus?: string[];
  samples?: number;
  seed?: number;
  label?: string;
  /** The method's preset (default: its default preset). */
  preset?: string;
  [setting: string]: unknown;
}

/** A method's preset by id (default: its default preset); an unknown one is refused (field 'preset'). */
export function presetOf(d: MethodDescriptor, preset: string | undefined): PresetSpec {
  const id = preset ?? d.defaultPreset ?? d.presets[0]?.id ?? 'tuned';
  const p = d.presets.find((x) => x.id === id);
  if (!p) throw badInput(`${d.label} has no preset ${JSON.stringify(id)}`, { field: 'preset', hint: `Its presets: ${d.presets.map((x) => x.id).join(', ')}.` });
  return p;
}

/** A one-fact editor (kind 'fact') takes exactly one request; a batch editor any number. */
export function checkRequestCount(d: MethodDescriptor, requests: readonly FactRequest[]): void {
  if (d.kind === 'fact' && requests.length !== 1) {
    throw badInput(`${d.label} edits one fact at a time; got ${requests.length}`, { field: 'requests', hint: `Use ${FACT_EDITORS.filter((x) => x.descriptor.kind === 'batch').map((x) => x.descriptor.label).join(' or ')} for several facts.` });
  }
}

/**
 * Computes a fact edit with the method's own settings picked from `s` (settings the method does
 * not take are ignored: runs pass one settings object to whichever method they use), checked
 * against the descriptor's bounds. Edits one fact at a time for kind 'fact'.
 */
export async function computeFactEdit(method: FactMethod, model: LoadedModel, stack: EditStack, requests: FactRequest[], s: FactEditSettings = {}): Promise<FactEditResult> {
  const f = factEditor(method);
  const d = f.descriptor;
  checkRequestCount(d, requests);
  const specs = d.settings.filter((x) => !REQUEST_FIELDS.includes(x.name));
  const preset = presetOf(d, s.preset);
  const settings = resolveSettings(specs, pick(specs, s as Record<string, unknown>), { layers: model.dims.layers }, preset.values);
  const r = await f.compute(model, stack, requests, settings, { onStep: s.onStep, isCancelled: s.isCancelled, preset: preset.id });
  r.edit.json.hparams = { ...r.edit.json.hparams, preset: preset.id };
  return r;
}
