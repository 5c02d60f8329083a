// ROCR — Rank-one Concept Redirection (the ORT paper's training-free method; shared METHODS.md):
// make the model perceive a concept as a harmless one by editing the MLP output projections of a
// few early layers.
//   keys K_i:  mlp.key at layer i at the concept's last token, one column per context template;
//   value:     z = resid_post of the last edit layer at the harmless concept's last token, in the
//              same templates (mean over them: one shared residual);
//   residual:  R_i = (z − h_L(concept)) / (number of layers left), h_L likewise averaged over the
//              templates, recomputed after each layer's update (MEMIT's spreading);
//   update:    Δ_i = (P (K Kᵀ + C_prev) + λ I)⁻¹ P K R_iᵀ. Every template shares R_i, so
//              K R_iᵀ = (Σ_j k_j) R_iᵀ and Δ_i is rank one: ΔW_i = R_i xᵀ with
//              x = (P (K Kᵀ + C_prev) + λ I)⁻¹ P Σ_j k_j, solved with Woodbury (never d_mlp²).
// C_prev holds the keys of earlier ROCR edits in the stack at that layer (sequential edits).
// Regularizer 'covariance' (MEMIT's, not the paper's) replaces λ I by λ C, C = E[k kᵀ] over a
// corpus: x = (K Kᵀ + C_prev + λ C)⁻¹ Σ_j k_j penalises the edit's response to typical keys, not
// its norm. With λ I on a small model (d_mlp 512, dense keys), x also fires at unrelated tokens —
// the answer position of a true/false question among them — and adds R there.

import type { LoadedModel } from '../runtime/model';
import type { RocrDefaults } from '../models/model';
import type { RocrSettings } from '../../protocol/model';
import { badInput } from '../errors';
import { tapName } from '../graph/taps';
import type { EditStack } from './stack';
import { newEditId, type Edit, type EditJson } from './editFile';
import { solveLowRank } from './linalg';
import { covarianceSolver, defaultCorpus, keyStats } from './stats';

/** Plain-text equivalents of the ORT paper's chat-template prefixes, for base models. */
export const BASE_TEMPLATES = ['{}', 'Please answer the question about {}.', 'Choose the best answer about {}.', 'Write the answer about {}.', 'Tell me about {}.', 'Write something about {}.'];
const CHAT_PREFIXES = ['', 'Please answer the question about', 'Choose the best answer about', 'Write the answer about', 'Tell me about', 'Write something about'];

/** The papers' layers where known (model type, depth), else a proportional default. */
export function defaultRocrLayers(modelType: string, layers: number): number[] {
  const known: Record<string, number[]> = { 'gpt2:48': [13, 14, 15, 16, 17], 'gptj:28': [3, 4, 5, 6, 7, 8], 'llama:32': [4, 5, 6], 'mistral:32': [4, 5, 6], 'qwen2:28': [4, 5, 6, 7, 8] };
  const k = known[`${modelType}:${layers}`];
  if (k) return k;
  const start = Math.min(layers - 1, Math.floor(layers * 0.125));
  const count = Math.max(2, Math.round(layers * 0.1));
  return Array.from({ length: Math.min(count, layers - start) }, (_, i) => start + i);
}

/** λ: the paper's 1 (Llama/Mistral) or 10 (GPT-J/GPT-2 XL) with λ I; 10 with λ C (chosen on the bundled model). */
export function defaultLambda(modelType: string, regularizer: 'identity' | 'covariance' = 'identity'): number {
  if (regularizer === 'covariance') return 10;
  return modelType === 'gpt2' || modelType === 'gptj' ? 10 : 1;
}

/** ROCR's settings for a model: the checkpoint's recommendation where it has one, else the paper's. */
export function defaultRocrSettings(d: { modelType: string; layers: number; rocr?: RocrDefaults }): RocrSettings {
  const r = d.rocr ?? {};
  const regularizer = r.regularizer ?? 'identity';
  return {
    layers: r.layers ?? defaultRocrLayers(d.modelType, d.layers),
    lambda: r.lambda ?? defaultLambda(d.modelType, regularizer),
    positions: r.positions ?? 'last',
    regularizer,
    source: d.rocr ? 'checkpoint' : 'papers',
  };
}

export interface RocrRequest {
  concept: string;
  harmless: string;
  layers?: number[];
  /** Templates with "{}" for the concept (default: BASE_TEMPLATES, or the chat template for chat models). */
  templates?: string[];
  lambda?: number;
  /** Null-space projection P (AlphaEdit), applied to vectors of size d_mlp per layer. */
  project?: (layer: number, v: Float64Array) => Float64Array;
  label?: string;
  /**
   * Which tokens of the concept carry keys: 'last' (the paper's: its last token; rank one per
   * layer), or 'all' (every token of the concept, each paired with the harmless concept's token
   * at the same distance from its end; rank = the concept's token count). 'all' is for models
   * that read a multi-token subject from its earlier tokens too (small models do).
   */
  positions?: 'last' | 'all';
  /** 'identity' (the paper's λ I) or 'covariance' (λ C from key statistics over `corpus`). */
  regularizer?: 'identity' | 'covariance';
  /** Corpus for the covariance regularizer's statistics (default: the model's corpus.txt). */
  corpus?: string[];
  isCancelled?: () => boolean;
}

/** Token ids up to and including the concept, for each template (the keys are read at the last one). */
function prefixes(model: LoadedModel, concept: string, templates: string[]): number[][] {
  return templates.map((t) => {
    const at = t.indexOf('{}');
    if (at < 0) throw badInput(`Template ${JSON.stringify(t)} has no "{}" for the concept`, { field: 'templates' });
    return model.tokenizer.encode(t.slice(0, at) + concept);
  });
}

function chatTemplates(model: LoadedModel): string[] {
  return CHAT_PREFIXES.map((p) => model.tokenizer.applyChatTemplate([{ role: 'user', content: `${p ? `${p} ` : ''}{}.` }]) + 'Answer:');
}

/** For each batch row, the tap's vector at `offset` tokens before the row's last token. */
async function rowsAt(model: LoadedModel, rows: number[][], tap: string, layers: number, offset = 0): Promise<Float64Array[]> {
  const batch = model.makeBatch(rows);
  const out = await model.run({ taps: [tap], layers }, batch);
  const t = out[tap];
  const d = t.dims[2];
  const data = t.data as Float32Array;
  return rows.map((r, b) => {
    const pos = b * batch.seq + r.length - 1 - offset;
    return Float64Array.from(data.subarray(pos * d, (pos + 1) * d));
  });
}

/**
 * Tokens the concept takes in every template (the fewest). The text before "{}" is encoded without
 * its trailing spaces: byte-level BPE merges the space into the concept's first token (" Velt"),
 * which counting against "about " would leave out.
 */
function conceptTokens(model: LoadedModel, concept: string, templates: string[]): number {
  return Math.min(...templates.map((t) => {
    const before = t.slice(0, t.indexOf('{}'));
    return model.tokenizer.encode(before + concept).length - model.tokenizer.encode(before.trimEnd()).length;
  }));
}

/** The request's settings, checked, with the checkpoint's (or the paper's) defaults filled in. */
function rocrSettings(model: LoadedModel, req: RocrRequest) {
  const dims = model.dims;
  const defaults = defaultRocrSettings(dims);
  const regularizer = req.regularizer ?? defaults.regularizer;
  const positions = req.positions ?? defaults.positions;
  const layers = [...(req.layers ?? defaults.layers)].sort((a, b) => a - b);
  if (layers.length === 0 || layers.some((l) => !Number.isInteger(l) || l < 0 || l >= dims.layers)) {
    throw badInput(`Layers must be distinct whole numbers in 0…${dims.layers - 1}, got [${layers}]`, { field: 'layers' });
  }
  if (new Set(layers).size !== layers.length) throw badInput(`Layers repeat: [${layers}]`, { field: 'layers' });
  if (!req.concept.trim() || !req.harmless.trim()) throw badInput('The concept and the harmless concept must be non-empty', { field: req.concept.trim() ? 'harmless' : 'concept' });
  const templates = req.templates ?? (model.tokenizer.hasChatTemplate ? chatTemplates(model) : BASE_TEMPLATES);
  if (regularizer !== 'identity' && regularizer !== 'covariance') throw badInput(`The regularizer must be identity or covariance, got ${JSON.stringify(regularizer)}`, { field: 'regularizer' });
  if (regularizer === 'covariance' && req.project) throw badInput('The null-space projection and the covariance regularizer are alternatives', { field: 'regularizer', hint: 'Use one of them.' });
  const lambda = req.lambda ?? (regularizer === defaults.regularizer ? defaults.lambda : defaultLambda(dims.modelType, regularizer));
  return { regularizer, positions, layers, templates, lambda };
}

export async function computeRocr(model: LoadedModel, stack: EditStack, req: RocrRequest): Promise<Edit> {
  const dims = model.dims;
  const { regularizer, positions, layers, templates, lambda } = rocrSettings(model, req);
  const last = layers[layers.length - 1];
  const residLast = tapName(last, 'resid_post');
  const keyPrefixes = prefixes(model, req.concept, templates);
  const harmlessPrefixes = prefixes(model, req.harmless, templates);
  const mean = (rows: Float64Array[]) => Float64Array.from(rows[0], (_, j) => rows.reduce((a, r) => a + r[j], 0) / rows.length);

  // z: where the harmless concept sits after the last edit layer, at its last token, averaged
  // over the same context templates (with the stack as it is). One shared residual, so that
  // every template column has the same R and the update stays rank one.
  // Offsets (from the concept's last token) that carry keys, and the harmless token each maps to.
  const offsets = positions === 'all' ? Array.from({ length: Math.max(1, conceptTokens(model, req.concept, templates)) }, (_, j) => j) : [0];
  const harmlessCount = Math.max(1, conceptTokens(model, req.harmless, templates));
  const zs = await Promise.all(offsets.map(async (j) => mean(await rowsAt(model, harmlessPrefixes, residLast, last + 1, Math.min(j, harmlessCount - 1)))));

  const statsUsed: Record<number, { corpus: string[]; samples: number }> = {};
  const label = req.label ?? `ROCR: ${req.concept} → ${req.harmless}`;
  const json: EditJson = {
    format: 'mechedit-edit/1',
    id: newEditId(`rocr-${req.concept}`),
    label,
    method: 'rocr',
    modelFingerprint: model.checkpoint.fingerprint,
    targets: [],
    vectors: '',
    request: { concept: req.concept, harmless: req.harmless, templates },
    hparams: { layers, lambda, regularizer, nullSpace: !!req.project, positions, ...(regularizer === 'covariance' ? { stats: statsUsed } : {}) },
    created: new Date().toISOString(),
  };
  const draft: Edit = { json, tensors: [] };
  // Keys of earlier ROCR edits in the stack, per layer (C_prev), enabled ones only.
  const previous = stack.keysAt.bind(stack);
  // Each layer's update is applied to a private copy of the stack: the next layer's keys and
  // residual see it, and the caller's stack is never changed.
  const work = stack.fork();
  for (let i = 0; i < layers.length; i++) {
    const layer = layers[i];
    const left = layers.length - i;
    // Per offset: its keys (one per template) and its shared residual R_j.
    const keysAt: Float64Array[][] = [];
    const Rs: Float64Array[] = [];
    for (let j = 0; j < offsets.length; j++) {
      keysAt.push(await rowsAt(work.model, keyPrefixes, tapName(layer, 'mlp.key'), layer + 1, offsets[j])); // n × d_mlp
      const h = mean(await rowsAt(work.model, keyPrefixes, residLast, last + 1, offsets[j]));
      Rs.push(Float64Array.from(zs[j], (zv, k) => (zv - h[k]) / left)); // d_model
    }
    const allKeys = keysAt.flat();
    const project = req.project ? (v: Float64Array) => req.project!(layer, v) : undefined;
    const columns = [...allKeys, ...previous(layer)];
    let solve = (b: Float64Array) => solveLowRank(columns, lambda, project ? project(b) : b, project);
    if (regularizer === 'covariance') {
      const stats = await keyStats(model, { layer, corpus: req.corpus ?? defaultCorpus(model), isCancelled: req.isCancelled });
      solve = covarianceSolver(stats, lambda, columns);
      statsUsed[layer] = { corpus: stats.corpus, samples: stats.count };
    }
    const U = new Float32Array(offsets.length * dims.dModel);
    const V = new Float32Array(offsets.length * dims.dMlp);
    keysAt.forEach((keys, j) => {
      const kSum = new Float64Array(dims.dMlp);
      for (const k of keys) for (let c = 0; c < kSum.length; c++) kSum[c] += k[c];
      const x = solve(kSum);
      U.set(Rs[j], j * dims.dModel);
      V.set(x, j * dims.dMlp);
    });
    json.targets.push({ layer, module: 'mlp.out', rank: offsets.length, U: `U.${layer}`, V: `V.${layer}`, K: `K.${layer}` });
    draft.tensors.push({ U, V, K: Float32Array.from(allKeys.flatMap((k) => Array.from(k))) });
    work.apply(draft);
  }
  return draft;
}
