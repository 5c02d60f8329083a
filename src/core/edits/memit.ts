// MEMIT (METHODS.md): a batch of facts over several MLP output projections.
//   z_j      the residual after the last edit layer at subject j's last token (bare prompt),
//            plus δ_j from vstar.ts (clamp 0.75);
//   layer i  K_i [n × d_mlp]: keys at the subjects' last tokens, ½ the bare prompt's and ½ the
//            mean over MEMIT's 5 generated prefixes, with the updates of earlier layers in place;
//            R_i = (z − h_last(current)) / (layers left);
//            ΔW_i = R_i K̃_iᵀ with K̃_i = (λ C₀ + K_i K_iᵀ)⁻¹ K_i (float64, Woodbury over solveC,
//            so no d_mlp² system is ever factorised). Rank n per layer: U = R_i rows, V = K̃_i rows.

import type { LoadedModel } from '../runtime/model';
import { badInput } from '../errors';
import { tapName } from '../graph/taps';
import type { EditStack } from './stack';
import { newEditId, type Edit, type EditJson } from './editFile';
import { optimiseDelta, type VStarHparams, type VStarResult, type VStarRun } from './vstar';
import { adjustedColumns, type KeyStats } from './stats';
import { checkRequest, stepBudget, contextTemplates, factProblem, keysAtSubject, resolveLti, statsFor, type FactRequest, type LtiHparams } from './rome';

export interface MemitOptions extends VStarRun {
  layers?: number[];
  lti?: boolean | Partial<LtiHparams>;
  hparams?: Partial<VStarHparams & { klFactor: number; lambda: number }>;
  corpus?: string[];
  samples?: number;
  seed?: number;
  label?: string;
  onRequest?: (done: number, total: number) => void;
}

export const MEMIT_HPARAMS: VStarHparams & { klFactor: number; lambda: number } = { steps: 20, lr: 0.5, weightDecay: 0.5, clamp: 0.75, klFactor: 0.0625, lambda: 15000 };

/**
 * λ (mom2_update_weight): the papers' where known (GPT-2 XL 20000, GPT-J and Llama-2 15000), else
 * GPT-J's scaled by d_mlp. One key's update is applied in the proportion s / (1 + s) with
 * s = kᵀ C⁻¹ k / λ, and kᵀ C⁻¹ k is about d_mlp for a typical key, so λ has to follow d_mlp:
 * 15000 on the bundled model (d_mlp 512) moves 3 % of the residual and no fact.
 */
export function defaultMemitLambda(modelType: string, layers: number, dMlp: number): number {
  return paperMemitLambda(modelType, layers) ?? Math.round((15000 * dMlp) / 16384);
}

/** The papers' λ for the models they tuned (GPT-2 XL, GPT-J, Llama-2 7B), else undefined. */
export function paperMemitLambda(modelType: string, layers: number): number | undefined {
  const known: Record<string, number> = { 'gpt2:48': 20000, 'gptj:28': 15000, 'llama:32': 15000 };
  return known[`${modelType}:${layers}`];
}

/** The papers' layers where known (GPT-2 XL 13–17, GPT-J 3–8, Llama-2 4–8), else proportional to GPT-J's. */
export function defaultMemitLayers(modelType: string, layers: number): number[] {
  const known: Record<string, [number, number]> = { 'gpt2:48': [13, 17], 'gptj:28': [3, 8], 'llama:32': [4, 8] };
  const [a, b] = known[`${modelType}:${layers}`] ?? [Math.floor((layers * 3) / 28), Math.max(Math.floor((layers * 8) / 28), Math.floor((layers * 3) / 28) + 1)];
  return Array.from({ length: Math.min(b, layers - 1) - a + 1 }, (_, i) => a + i);
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
  const layers = [...(o.layers ?? defaultMemitLayers(dims.modelType, dims.layers))].sort((a, b) => a - b);
  if (layers.length === 0 || layers.some((l) => !Number.isInteger(l) || l < 0 || l >= dims.layers) || new Set(layers).size !== layers.length) {
    throw badInput(`Layers must be distinct whole numbers in 0…${dims.layers - 1}, got [${layers}]`, { field: 'layers' });
  }
  const lti = resolveLti(model, o.lti);
  const hp = { ...MEMIT_HPARAMS, lambda: defaultMemitLambda(dims.modelType, dims.layers, dims.dMlp), steps: stepBudget(dims.modelType, dims.layers, lti?.steps ?? MEMIT_HPARAMS.steps), ...o.hparams };
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
  return { layers, lti, hp, stats, templates, vstar, zs, timing: { stats: t1 - t0, vstar: performance.now() - t1 } };
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
  const json = batchEditJson(model, 'memit', 'MEMIT', requests, { layers: t.layers, ...t.hp, lti: t.lti ?? false, seed: o.seed ?? 0, templates: t.templates, stats: { corpus: t.stats[0].corpus, samples: t.stats[0].count } }, o.label);
  const draft: Edit = { json, tensors: [] };
  // K̃ = (λ C + K Kᵀ)⁻¹ K (float64, Woodbury over solveC).
  await spreadOverLayers(stack, requests, t, draft, (i, keys) => adjustedColumns(t.stats[i], t.hp.lambda, keys));
  return { edit: draft, report: { vstar: t.vstar, timing: { ...t.timing, solve: performance.now() - t2 } } };
}
