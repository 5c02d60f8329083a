// The registry's edit methods that do not edit facts: ROCR (a concept redirected), directional
// ablation (a direction removed) and import (user-made factors). Each entry: its descriptor and
// the computation, which the job layer (jobs/editJob.ts) runs for the CLI and the engine alike.

import * as path from 'node:path';
import type { MethodDescriptor } from '../../protocol/registry';
import type { LoadedModel } from '../runtime/model';
import { badInput } from '../errors';
import type { EditStack } from '../edits/stack';
import { newEditId, type Edit, type EditJson } from '../edits/editFile';
import type { EditModule } from '../graph/taps';
import { computeRocr, defaultRocrSettings } from '../edits/rocr';
import { computeAblation } from '../edits/ablate';
import { readVectors } from '../edits/importVectors';
import { featureAblation } from '../sae/ablateFeature';
import { openSae } from '../sae/saeFile';
import { applyProjector, energyShareTau, nullSpaceFor, projectorLeakage } from '../edits/nullspace';
import { defaultCorpus, keyStats } from '../edits/stats';
import type { Settings } from './settings';
import { BOUNDS, CORPUS, DEFAULT_PRESET, LABEL } from './specs';
import { NO_HPARAM_PRESETS, ROCR_PRESETS } from './presets';
import { ALPHAEDIT_PAPER, NULL_ENERGY_SHARE, referenceModel, rocrPaper } from '../edits/paperPresets';
import type { EditRun } from './factEditors';

export interface OtherEditor {
  descriptor: MethodDescriptor;
  /** Works on the CPU without probing providers (no forward passes). */
  cpuOnly?: boolean;
  compute(model: LoadedModel, stack: EditStack, s: Settings, run: EditRun): Promise<Edit>;
}

const MODULES = ['mlp.out', 'attn.out'] as const;
const FILE = ['an edit file (<id>.json + <id>.safetensors)'];

/**
 * AlphaEdit's null-space projection of ROCR's values at each layer: τ absolute (the paper's 0.02,
 * `threshold`); with the paper preset and no threshold given, 2e-2 on the reference models and
 * else the τ whose null space holds NULL_ENERGY_SHARE of C's energy. Records τ, the dimension and
 * the leakage on the corpus keys (nullspace.projectorLeakage) per layer.
 */
async function rocrProjector(model: LoadedModel, s: Settings, layers: number[], run: EditRun) {
  const corpus = (s.corpus as string[] | undefined) ?? defaultCorpus(model);
  const byEnergy = s.threshold === undefined && run.preset === 'paper' && !referenceModel(model.dims);
  const projectors = new Map<number, (v: Float64Array) => Float64Array>();
  const dims: Record<number, number> = {};
  const nullSpace: { layer: number; tau: number; dimension: number; leakage: number }[] = [];
  for (const l of layers) {
    const stats = await keyStats(model, { layer: l, corpus, isCancelled: run.isCancelled });
    const tau = byEnergy ? energyShareTau(stats.C, stats.dim, NULL_ENERGY_SHARE).tau : ((s.threshold as number | undefined) ?? ALPHAEDIT_PAPER.threshold);
    const p = await nullSpaceFor(model, stats, tau);
    if (p.dimension === 0) throw badInput(`C at layer ${l} has no eigenvalue below ${tau}: the null space is empty`, { field: 'threshold', hint: 'Raise the threshold or leave nullSpace off.' });
    dims[l] = p.dimension;
    nullSpace.push({ layer: l, tau, dimension: p.dimension, leakage: projectorLeakage(p.P, stats.C, stats.dim) });
    projectors.set(l, (v) => applyProjector(p, v));
  }
  return { project: (layer: number, v: Float64Array) => projectors.get(layer)!(v), dims, nullSpace, rule: byEnergy ? `energy share ${NULL_ENERGY_SHARE}` : 'absolute' };
}

const rocr: OtherEditor = {
  descriptor: {
    id: 'rocr', label: 'ROCR', family: 'edit', kind: 'concept', description: 'redirect a concept to a harmless one, training-free, rank one per layer',
    paper: { title: 'Rank-one Concept Redirection, the ORT benchmark paper\'s training-free method (ORT: form-independent unlearning)', year: 2025 },
    settings: [
      { name: 'concept', type: 'string', required: true, doc: 'the concept to redirect' },
      { name: 'harmless', type: 'string', required: true, cli: 'to', doc: 'the harmless concept it should read as' },
      { name: 'layers', type: 'layers', doc: 'the edit layers', fromCheckpoint: 'paper preset: the paper\'s by depth; tuned: config.json\'s mechedit.rocr.layers, else the paper\'s by depth' },
      { name: 'lambda', type: 'number', min: 0, exclusiveMin: true, max: BOUNDS.lambda, doc: 'the ridge λ', fromCheckpoint: 'paper preset: the paper\'s 1 (Llama, Mistral) or 10 (GPT-J, GPT-2 XL); tuned: config.json\'s mechedit.rocr.lambda, else the paper\'s' },
      { name: 'templates', type: 'texts', cli: 'template', doc: 'templates with {} for the concept', fromCheckpoint: 'six plain templates, or the chat template\'s for chat models' },
      { name: 'positions', type: 'enum', options: ['last', 'all'], doc: 'which tokens of the concept carry keys: its last (the paper\'s) or all', fromCheckpoint: 'config.json\'s mechedit.rocr.positions, else last' },
      { name: 'regularizer', type: 'enum', options: ['identity', 'covariance'], doc: 'λ I (the paper\'s) or λ C from key statistics', fromCheckpoint: 'config.json\'s mechedit.rocr.regularizer, else identity' },
      { name: 'nullSpace', type: 'boolean', doc: 'project the values onto the null space of the key statistics (AlphaEdit\'s)', fromCheckpoint: 'the preset\'s: paper on, tuned off' },
      { name: 'threshold', type: 'number', min: 0, exclusiveMin: true, max: 1e6, doc: 'with nullSpace: eigenvalues of C below this (absolute)', fromCheckpoint: 'the preset\'s: tuned 0.02; paper 0.02 on the reference models, else an energy share of 1 %' },
      CORPUS, LABEL,
    ],
    presets: ROCR_PRESETS, defaultPreset: DEFAULT_PRESET, outputs: FILE, doc: 'docs/methods/rocr.md', measured: 'fill-in, question and adversarial ≤ 3 %, unrelated facts kept 100 / 100 %, 0.2 / 0.1 s per edit (`node bench/ort-forms.mjs`, 2026-12-03)',
  },
  async compute(model, stack, s, run) {
    const regularizer = (s.regularizer as 'identity' | 'covariance' | undefined) ?? defaultRocrSettings(model.dims).regularizer;
    if (s.nullSpace && regularizer === 'covariance') {
      throw badInput('nullSpace and the covariance regularizer are alternatives', { field: 'regularizer', hint: s.regularizer ? 'Use one of them.' : "This model's config.json recommends the covariance regularizer: set the regularizer to identity to use nullSpace." });
    }
    const paper = run.preset === 'paper' ? rocrPaper(model.dims) : undefined;
    const layers = (s.layers as number[] | undefined) ?? paper?.layers ?? defaultRocrSettings(model.dims).layers;
    const projector = s.nullSpace ? await rocrProjector(model, s, layers, run) : undefined;
    const edit = await computeRocr(model, stack, {
      concept: s.concept as string, harmless: s.harmless as string, layers, lambda: (s.lambda as number | undefined) ?? paper?.lambda,
      templates: s.templates as string[] | undefined, positions: s.positions as 'last' | 'all' | undefined, regularizer: s.regularizer as 'identity' | 'covariance' | undefined,
      corpus: s.corpus as string[] | undefined, project: projector?.project, label: s.label as string | undefined, isCancelled: run.isCancelled,
    });
    if (projector) edit.json.hparams = { ...edit.json.hparams, nullSpaceDims: projector.dims, nullSpaceLayers: projector.nullSpace, thresholdRule: projector.rule };
    return edit;
  },
};

const ablate: OtherEditor = {
  descriptor: {
    id: 'ablate', label: 'Directional ablation', family: 'edit', kind: 'direction', description: 'W ← (I − d dᵀ) W on the output projections of chosen layers, for a direction d of the residual stream',
    settings: [
      { name: 'direction', type: 'file', doc: 'the direction d: .npy or .safetensors, d_model values (required, unless given as data)' },
      { name: 'layers', type: 'layers', required: true, doc: 'the layers whose output projections lose the direction' },
      { name: 'modules', type: 'strings', options: MODULES, default: MODULES, doc: 'which output projections: mlp.out and/or attn.out' },
      LABEL,
    ],
    presets: NO_HPARAM_PRESETS('d and the layers and modules'), defaultPreset: DEFAULT_PRESET, outputs: FILE, doc: 'docs/methods/ablate.md',
  },
  cpuOnly: true,
  async compute(model, _stack, s, run) {
    const given = run.data?.direction;
    if (!given && s.direction === undefined) throw badInput('direction is required', { field: 'direction', hint: 'Give a .npy or .safetensors file of d_model values.' });
    const dir = given ? { rows: 1, data: given } : readVectors(s.direction as string, 'u');
    if (dir.rows !== 1) throw badInput(`The direction must be one vector, got ${dir.rows} rows`, { field: 'direction' });
    const edit = computeAblation(model, dir.data, s.layers as number[], s.modules as EditModule[], s.label as string | undefined);
    edit.json.request = { direction: given ? 'given as data' : path.resolve(s.direction as string) };
    return edit;
  },
};

const saeAblate: OtherEditor = {
  descriptor: {
    id: 'sae-ablate', label: 'Ablate feature', family: 'edit', kind: 'direction', description: "an SAE feature's decoder direction projected out of what writes its hook (rank one per module; the MLP key: out of the MLP's reader)",
    settings: [
      { name: 'sae', type: 'file', required: true, doc: 'the SAE: a SAELens-format folder (cfg.json + sae_weights.safetensors)' },
      { name: 'feature', type: 'int', required: true, min: 0, max: 1 << 24, doc: 'the feature (a row of W_dec)' },
      LABEL,
    ],
    presets: NO_HPARAM_PRESETS('the SAE and the feature'), defaultPreset: DEFAULT_PRESET, outputs: FILE, doc: 'docs/sae.md',
  },
  cpuOnly: true,
  async compute(model, _stack, s) {
    const dir = s.sae as string;
    const sae = openSae(dir, model.dims);
    const edit = featureAblation(model, sae, s.feature as number, s.label as string | undefined);
    edit.json.hparams = { ...edit.json.hparams, sae: path.resolve(dir) };
    edit.json.request = { sae: path.resolve(dir), feature: s.feature };
    return edit;
  },
};

const importVectors: OtherEditor = {
  descriptor: {
    id: 'import', label: 'Import', family: 'edit', kind: 'vectors', description: 'user-made factors u (d_out) and v (d_in), or U [r, d_out] and V [r, d_in], as ΔW = Uᵀ V',
    settings: [
      { name: 'layer', type: 'layer', required: true, doc: 'the layer of the output projection' },
      { name: 'module', type: 'enum', options: MODULES, default: 'mlp.out', doc: 'which output projection' },
      { name: 'u', type: 'file', required: true, doc: 'u or U: .npy or .safetensors' },
      { name: 'v', type: 'file', required: true, doc: 'v or V: .npy or .safetensors' },
      LABEL,
    ],
    presets: NO_HPARAM_PRESETS('the factors u and v at the layer and module'), defaultPreset: DEFAULT_PRESET, outputs: FILE, doc: 'docs/methods/import.md', writes: 'manual',
  },
  cpuOnly: true,
  async compute(model, _stack, s) {
    const layer = s.layer as number;
    const module = s.module as EditModule;
    const U = readVectors(s.u as string, 'u');
    const V = readVectors(s.v as string, 'v');
    if (U.rows !== V.rows) throw badInput(`u has ${U.rows} row(s) but v has ${V.rows}: they must have the same rank`, { field: 'v' });
    const label = (s.label as string | undefined) ?? `manual edit, layer ${layer} ${module}`;
    const json: EditJson = {
      format: 'mechedit-edit/1', id: newEditId(label), label, method: 'manual', modelFingerprint: model.checkpoint.fingerprint,
      targets: [{ layer, module, rank: U.rows, U: 'U', V: 'V' }], vectors: '', created: new Date().toISOString(),
      request: { u: path.resolve(s.u as string), v: path.resolve(s.v as string) },
    };
    return { json, tensors: [{ U: U.data, V: V.data }] };
  },
};

export const OTHER_EDITORS: readonly OtherEditor[] = [rocr, ablate, saeAblate, importVectors];
