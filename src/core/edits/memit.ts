// MEMIT (METHODS.md): a batch of facts over several MLP output projections.
//   z_j      the residual after the last edit layer at subject j's last token (bare prompt),
//            plus δ_j from vstar.ts (clamp 0.75 on the papers' models, else ROME's 4: memitDefaults);
//   layer i  K_i [n × d_mlp]: keys at the subjects' last tokens, ½ the bare prompt's and ½ the
//            mean over MEMIT's 5 generated prefixes, with the updates of earlier layers in place;
//            R_i = (z − h_last(current)) / (layers left);
//            ΔW_i = R_i K̃_iᵀ with K̃_i = (λ C₀ + K_i K_iᵀ)⁻¹ K_i (λ: the papers', else from the keys'
//            energy, keyEnergyLambda; float64, Woodbury over solveC,
//            so no d_mlp² system is ever factorised). Rank n per layer: U = R_i rows, V = K̃_i rows.

import type { LoadedModel } from '../runtime/model';
import { badInput } from '../errors';
import { tapName } from '../graph/taps';
import type { EditStack } from './stack';
import { newEditId, type Edit, type EditJson } from './editFile';
import { optimiseDelta, type VStarHparams, type VStarResult, type VStarRun } from './vstar';
import { adjustedColumns, solveC, type KeyStats } from './stats';
import { dot } from './linalg';
import { memitPaperLambda, memitPaperLayers, vstarPaper } from './paperPresets';
import { checkRequest, defaultEditLayer, stepBudget, contextTemplates, factProblem, keysAtSubject, resolveLti, statsFor, type FactRequest, type LtiHparams } from './rome';

export interface MemitOptions extends VStarRun {
  layers?: number[];
  lti?: boolean | Partial<LtiHparams>;
  hparams?: Partial<VStarHparams & { klFactor: number; lambda: number }>;
  corpus?: string[];
  samples?: number;
  seed?: number;
  label?: string;
  onRequest?: (done: number, total: number) => void;
  /** The preset the settings came from: 'paper' fills layers, λ and the v* hyper-parameters by paperPresets.ts's rules. */
  preset?: string;
}

export const MEMIT_HPARAMS: VStarHparams & { klFactor: number; lambda: number } = { steps: 20, lr: 0.5, weightDecay: 0.5, clamp: 0.75, klFactor: 0.0625, lambda: 15000 };

/**
 * λ (mom2_update_weight): the papers' where known (GPT-2 XL 20000, GPT-J and Llama-2 15000), else
 * GPT-J's scaled by d_mlp. One key's update is applied in the proportion s / (1 + s) with
 * s = kᵀ C⁻¹ k / λ, and kᵀ C⁻¹ k is about d_mlp for a typical key, so λ has to follow d_mlp.
 */
export function defaultMemitLambda(modelType: string, layers: number, dMlp: number): number {
  return paperMemitLambda(modelType, layers) ?? Math.round((15000 * dMlp) / 16384);
}

/** The papers' λ for the models they tuned (GPT-2 XL, GPT-J, Llama-2 7B), else undefined. */
export function paperMemitLambda(modelType: string, layers: number): number | undefined {
  const known: Record<string, number> = { 'gpt2:48': 20000, 'gptj:28': 15000, 'llama:32': 15000 };
  return known[`${modelType}:${layers}`];
}

/**
 * The papers' layers where known (GPT-2 XL 13–17, GPT-J 3–8, Llama-2 4–8). Elsewhere a window
 * around ROME's layer `editLayer` (the checkpoint's own, or defaultEditLayer's), as wide as the
 * papers' windows are in proportion (5 of 48, 6 of 28, 5 of 32: about 16 % of the layers, at
 * least one), centred on it where the model allows: the bundled 6-layer model gets [0].
 */
export function defaultMemitLayers(modelType: string, layers: number, editLayer?: number): number[] {
  const known: Record<string, [number, number]> = { 'gpt2:48': [13, 17], 'gptj:28': [3, 8], 'llama:32': [4, 8] };
  const paper = known[`${modelType}:${layers}`];
  const count = paper ? paper[1] - paper[0] + 1 : Math.max(1, Math.round(layers * 0.16));
  const centre = editLayer ?? defaultEditLayer({ modelType, layers }).layer;
  const a = paper ? paper[0] : Math.max(0, Math.min(layers - count, centre - Math.floor((count - 1) / 2)));
  return Array.from({ length: count }, (_, i) => a + i);
}

export const LAMBDA_RULE = 'median over the batch of kᵀC⁻¹k, / 19';
/** The paper preset's λ (paperPresets.memitPaperLambda). */
export const PAPER_LAMBDA_RULE = 'the reference\'s λ on its own models, else (λ_ref / d_mlp_ref) × d_mlp (GPT-2 XL 20000 / 6400 for the gpt2 family, GPT-J 15000 / 16384 otherwise)';

/**
 * λ from the keys' energy (models the papers did not tune): one key's update writes the share
 * s / (1 + s) of its residual, s = kᵀC⁻¹k / λ; λ = median_j k_jᵀ C⁻¹ k_j / 19 writes 95 % for the
 * batch's median key (DiKE's rule for its one key, dike.ts). kᵀC⁻¹k is d_mlp on average over the
 * corpus's keys (trace C⁻¹C) and about 1.7 d_mlp at the bundled model's subjects (layer 0, 860 at
 * d_mlp 512), where the old d_mlp-scaled 469 wrote 65 % and landed 30 % of single edits.
 */
export function keyEnergyLambda(stats: KeyStats, keys: Float64Array[]): number {
  const e = keys.map((k) => dot(k, solveC(stats, k))).sort((a, b) => a - b);
  const mid = e.length >> 1;
  return (e.length % 2 ? e[mid] : (e[mid - 1] + e[mid]) / 2) / 19;
}

/**
 * MEMIT's settings for a model, and where they come from (recorded in the edit's hparams):
 *   papers  GPT-2 XL, GPT-J, Llama-2 7B: MEMIT_HPARAMS (clamp 0.75) and the papers' λ and layers;
 *   model   any other: the layers around ROME's (defaultMemitLayers), ROME's clamp 4 (with one
 *           edit layer z sits where ROME's v* does: the MLP output of that layer), and λ from
 *           the keys (keyEnergyLambda, per layer; `lambda` here is only the fallback).
 */
export function memitDefaults(d: { modelType: string; layers: number; dMlp: number; editLayer?: number }): { layers: number[]; lambda: number; clamp: number; source: 'papers' | 'model' } {
  const paper = paperMemitLambda(d.modelType, d.layers);
  const layers = defaultMemitLayers(d.modelType, d.layers, d.editLayer);
  if (paper !== undefined) return { layers, lambda: paper, clamp: MEMIT_HPARAMS.clamp, source: 'papers' };
  return { layers, lambda: defaultMemitLambda(d.modelType, d.layers, d.dMlp), clamp: 4, source: 'model' };
}

export interface MemitReport {
  vstar: VStarResult[];
  timing: { stats: number; vstar: number; solve: number };
}

/** What MEMIT and AlphaEdit share before the layer loop: checked layers, settings, statistics, templates, and z_j = v_init + δ_j. */
export interface MemitTargets {
  layers: number[];
  lti: LtiHparams | undefined;
  hp: typeof MEMIT_HPARAMS;
  /** Where the default layers, λ and clamp came from: memitDefaults ('papers', 'model') or the paper preset's rules ('paper'). */
  defaults: 'papers' | 'model' | 'paper';
  stats: KeyStats[];
  templates: string[];
  vstar: VStarResult[];
  zs: Float64Array[];
  timing: { stats: number; vstar: number };
}

/**
 * Checks the requests and layers, loads each layer's key statistics and the context templates,
 * and optimises the target residual z_j of each request at the last edit layer (vstar.ts).
 * `what` names the method in errors.
 */
export async function memitTargets(model: LoadedModel, requests: FactRequest[], o: MemitOptions, what = 'MEMIT'): Promise<MemitTargets> {
  if (requests.length === 0) throw badInput(`No requests: ${what} needs at least one fact`, { field: 'requests' });
  requests.forEach((r, i) => checkRequest(r, `request ${i + 1}`));
  const dims = model.dims;
  const paper = o.preset === 'paper';
  const defaults = paper ? { layers: memitPaperLayers(dims), lambda: memitPaperLambda(dims), source: 'paper' as const } : memitDefaults(dims);
  const layers = [...(o.layers ?? defaults.layers)].sort((a, b) => a - b);
  if (layers.length === 0 || layers.some((l) => !Number.isInteger(l) || l < 0 || l >= dims.layers) || new Set(layers).size !== layers.length) {
    throw badInput(`Layers must be distinct whole numbers in 0…${dims.layers - 1}, got [${layers}]`, { field: 'layers' });
  }
  const lti = resolveLti(model, o.lti);
  const base = paper
    ? { ...MEMIT_HPARAMS, ...vstarPaper('memit', dims), ...(lti ? { steps: lti.steps } : {}) }
    : { ...MEMIT_HPARAMS, clamp: (defaults as ReturnType<typeof memitDefaults>).clamp, steps: stepBudget(dims.modelType, dims.layers, lti?.steps ?? MEMIT_HPARAMS.steps) };
  const hp = { ...base, lambda: defaults.lambda, ...o.hparams };
  const last = layers[layers.length - 1];
  const t0 = performance.now();
  const stats = await Promise.all(layers.map((l) => statsFor(model, l, o)));
  const templates = await contextTemplates(model, o.seed ?? 0, 'memit');
  const t1 = performance.now();
  const vstar: VStarResult[] = [];
  for (let j = 0; j < requests.length; j++) {
    const problem = await factProblem(model, requests[j], last, templates, 'resid_post', hp.klFactor, lti);
    vstar.push(await optimiseDelta(model, problem, hp, o));
    o.onRequest?.(j + 1, requests.length);
  }
  const zs = vstar.map((r) => Float64Array.from(r.vInit, (v, k) => v + r.delta[k]));
  return { layers, lti, hp, defaults: defaults.source, stats, templates, vstar, zs, timing: { stats: t1 - t0, vstar: performance.now() - t1 } };
}

/**
 * MEMIT's layer loop. Per layer i: the keys K_i (n × d_mlp, at the subjects' last tokens, ½ the
 * bare prompt's and ½ the mean over the generated prefixes) and the residuals
 * R_i = (z − h_last(current)) / (layers left); `solve(i, keys)` returns the V rows (n × d_mlp) of
 * ΔW_i = R_iᵀ V. Each layer's target (with its keys K.<layer>) is appended to `draft`, and the
 * update applied to a private copy of the stack, so the next layer's keys and residuals see it
 * and the caller's stack is never changed.
 */
export async function spreadOverLayers(stack: EditStack, requests: FactRequest[], t: MemitTargets, draft: Edit, solve: (i: number, keys: Float64Array[]) => Float64Array[]): Promise<void> {
  const { layers, templates, zs } = t;
  const dims = stack.model.dims;
  const n = requests.length;
  const last = layers[layers.length - 1];
  const work = stack.fork();
  for (let i = 0; i < layers.length; i++) {
    const layer = layers[i];
    const keys: Float64Array[] = [];
    const residuals: Float64Array[] = [];
    for (let j = 0; j < n; j++) {
      // The reference averages within each kind of context ("{}" alone; the generated
      // prefixes), then over the kinds: the bare prompt's key weighs ½.
      const { mean, bare } = await keysAtSubject(work.model, requests[j], layer, templates);
      const T = templates.length;
      keys.push(Float64Array.from(mean, (m, k) => 0.5 * bare[k] + (0.5 * (T * m - bare[k])) / (T - 1)));
      const now = (await keysAtSubject(work.model, requests[j], last, ['{}'], tapName(last, 'resid_post'))).bare;
      residuals.push(Float64Array.from(zs[j], (z, k) => (z - now[k]) / (layers.length - i)));
    }
    const columns = solve(i, keys);
    const U = new Float32Array(n * dims.dModel);
    const V = new Float32Array(n * dims.dMlp);
    for (let j = 0; j < n; j++) {
      U.set(residuals[j], j * dims.dModel);
      V.set(columns[j], j * dims.dMlp);
    }
    draft.json.targets.push({ layer, module: 'mlp.out', rank: n, U: `U.${layer}`, V: `V.${layer}`, K: `K.${layer}` });
    draft.tensors.push({ U, V, K: Float32Array.from(keys.flatMap((k) => Array.from(k))) });
    work.apply(draft);
  }
}

/**
 * The edit file's JSON of a batch editor (MEMIT, AlphaEdit) before its targets: id and label from
 * the one fact or the count ("MEMIT: 3 facts"), the requests, the settings.
 */
export function batchEditJson(model: LoadedModel, method: 'memit' | 'alphaedit', name: string, requests: FactRequest[], hparams: Record<string, unknown>, label?: string): EditJson {
  const n = requests.length;
  return {
    format: 'mechedit-edit/1',
    id: newEditId(n === 1 ? `${method}-${requests[0].subject}` : `${method}-${n}-facts`),
    label: label ?? (n === 1 ? `${name}: ${requests[0].prompt.replace('{}', requests[0].subject)} → ${requests[0].target}` : `${name}: ${n} facts`),
    method,
    modelFingerprint: model.checkpoint.fingerprint,
    targets: [],
    vectors: '',
    request: { requests },
    hparams,
    created: new Date().toISOString(),
  };
}

export async function computeMemit(model: LoadedModel, stack: EditStack, requests: FactRequest[], o: MemitOptions = {}): Promise<{ edit: Edit; report: MemitReport }> {
  const t = await memitTargets(model, requests, o);
  const t2 = performance.now();
  const json = batchEditJson(model, 'memit', 'MEMIT', requests, { layers: t.layers, defaults: t.defaults, ...t.hp, lti: t.lti ?? false, seed: o.seed ?? 0, templates: t.templates, stats: { corpus: t.stats[0].corpus, samples: t.stats[0].count } }, o.label);
  const draft: Edit = { json, tensors: [] };
  // K̃ = (λ C + K Kᵀ)⁻¹ K (float64, Woodbury over solveC); λ per layer from the keys unless given or the papers'.
  const fromKeys = t.defaults === 'model' && o.hparams?.lambda === undefined;
  const lambdas: { layer: number; lambda: number }[] = [];
  await spreadOverLayers(stack, requests, t, draft, (i, keys) => {
    const lambda = fromKeys ? keyEnergyLambda(t.stats[i], keys) : t.hp.lambda;
    lambdas.push({ layer: t.layers[i], lambda });
    return adjustedColumns(t.stats[i], lambda, keys);
  });
  if (fromKeys) Object.assign(json.hparams!, { lambda: lambdas[0].lambda, lambdas, lambdaRule: LAMBDA_RULE });
  if (t.defaults === 'paper' && o.hparams?.lambda === undefined) Object.assign(json.hparams!, { lambdaRule: PAPER_LAMBDA_RULE });
  return { edit: draft, report: { vstar: t.vstar, timing: { ...t.timing, solve: performance.now() - t2 } } };
}
