// ROCR — Rank-one Concept Redirection (the ORT paper's training-free method; shared METHODS.md):
// make the model perceive a concept as a harmless one by editing the MLP output projections of a
// few early layers.
//   keys K_i:  mlp.key at layer i at the concept's last token, one column per context template;
//   value:     z = resid_post of the last edit layer at the harmless concept's last token;
//   residual:  R_i = (z − h_L(concept)) / (number of layers left), recomputed after each layer's
//              update (MEMIT's spreading);
//   update:    Δ_i = (P (K Kᵀ + C_prev) + λ I)⁻¹ P K R_iᵀ. Every template shares R_i, so
//              K R_iᵀ = (Σ_j k_j) R_iᵀ and Δ_i is rank one: ΔW_i = R_i xᵀ with
//              x = (P (K Kᵀ + C_prev) + λ I)⁻¹ P Σ_j k_j, solved with Woodbury (never d_mlp²).
// C_prev holds the keys of earlier ROCR edits in the stack at that layer (sequential edits).

import type { LoadedModel } from '../runtime/model';
import { badInput } from '../errors';
import { tapName } from '../graph/taps';
import type { EditStack } from './stack';
import { newEditId, type Edit, type EditJson } from './editFile';
import { solveLowRank } from './linalg';

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

export function defaultLambda(modelType: string): number {
  return modelType === 'gpt2' || modelType === 'gptj' ? 10 : 1;
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

/** Row `pos` of a [B, S, d] tap for each batch row. */
async function lastRows(model: LoadedModel, rows: number[][], tap: string, layers: number): Promise<Float64Array[]> {
  const batch = model.makeBatch(rows);
  const out = await model.run({ taps: [tap], layers }, batch);
  const t = out[tap];
  const d = t.dims[2];
  const data = t.data as Float32Array;
  return rows.map((r, b) => Float64Array.from(data.subarray((b * batch.seq + r.length - 1) * d, (b * batch.seq + r.length) * d)));
}

export async function computeRocr(model: LoadedModel, stack: EditStack, req: RocrRequest): Promise<Edit> {
  const dims = model.dims;
  const layers = [...(req.layers ?? defaultRocrLayers(dims.modelType, dims.layers))].sort((a, b) => a - b);
  if (layers.length === 0 || layers.some((l) => !Number.isInteger(l) || l < 0 || l >= dims.layers)) {
    throw badInput(`Layers must be distinct whole numbers in 0…${dims.layers - 1}, got [${layers}]`, { field: 'layers' });
  }
  if (new Set(layers).size !== layers.length) throw badInput(`Layers repeat: [${layers}]`, { field: 'layers' });
  if (!req.concept.trim() || !req.harmless.trim()) throw badInput('The concept and the harmless concept must be non-empty', { field: req.concept.trim() ? 'harmless' : 'concept' });
  const templates = req.templates ?? (model.tokenizer.hasChatTemplate ? chatTemplates(model) : BASE_TEMPLATES);
  const lambda = req.lambda ?? defaultLambda(dims.modelType);
  const last = layers[layers.length - 1];
  const residLast = tapName(last, 'resid_post');
  const conceptIds = model.tokenizer.encode(req.concept);
  const harmlessIds = model.tokenizer.encode(req.harmless);
  const keyPrefixes = prefixes(model, req.concept, templates);

  // z: where the harmless concept sits after the last edit layer (with the stack as it is).
  const [z] = await lastRows(model, [harmlessIds], residLast, last + 1);

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
    hparams: { layers, lambda, nullSpace: !!req.project },
    created: new Date().toISOString(),
  };
  const draft: Edit = { json, tensors: [] };
  // Keys of earlier ROCR edits in the stack, per layer (C_prev), enabled ones only.
  const previous = stack.keysAt.bind(stack);
  try {
    for (let i = 0; i < layers.length; i++) {
      const layer = layers[i];
      const keys = await lastRows(model, keyPrefixes, tapName(layer, 'mlp.key'), layer + 1); // n × d_mlp
      const [h] = await lastRows(model, [conceptIds], residLast, last + 1);
      const left = layers.length - i;
      const R = Float64Array.from(z, (zv, j) => (zv - h[j]) / left); // d_model
      const kSum = new Float64Array(dims.dMlp);
      for (const k of keys) for (let j = 0; j < kSum.length; j++) kSum[j] += k[j];
      const project = req.project ? (v: Float64Array) => req.project!(layer, v) : undefined;
      const x = solveLowRank([...keys, ...previous(layer)], lambda, project ? project(kSum) : kSum, project);
      json.targets.push({ layer, module: 'mlp.out', rank: 1, U: `U.${layer}`, V: `V.${layer}`, K: `K.${layer}` });
      draft.tensors.push({ U: Float32Array.from(R), V: Float32Array.from(x), K: Float32Array.from(keys.flatMap((k) => Array.from(k))) });
      stack.apply(draft); // the next layer's keys and residual see this layer's update
    }
  } finally {
    if (stack.list().some((e) => e.id === json.id)) stack.revert(json.id);
  }
  return draft;
}
