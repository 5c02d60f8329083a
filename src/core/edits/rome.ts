// ROME (METHODS.md; the reference's compute/apply split): one fact, one MLP output projection.
//   templates  "{}" + 10 prefixes of 5 tokens + 10 of 10, sampled from the model (seeded);
//   k̄          mean over the templates of blocks.{l}.mlp.key at the subject's last token;
//   v*         v_init + δ, δ optimised by vstar.ts (NLL of the target after every template, the
//              bare prompt weighing bareWeight; KL on "{s} is a" at the subject's last token,
//              weight decay, clamp), with the update in the loop (RomeHparams);
//   update     u = C⁻¹ k̄ / ‖C⁻¹ k̄‖, ΔW = δ uᵀ / (uᵀ k) with k the key of the bare prompt,
//              so that W' k = v* exactly. Stored as U = δ / (uᵀ k) [d_model], V = u [d_mlp].
// The fact prompts (rewrite rows, KL row, LTI teacher rows) are built by factRows() and shared
// with MEMIT (memit.ts).

import type { LoadedModel } from '../runtime/model';
import { badInput } from '../errors';
import { tapName } from '../graph/taps';
import { generateIds } from '../runtime/run';
import type { EditStack } from './stack';
import { newEditId, type Edit, type EditJson } from './editFile';
import { optimiseDelta, distributions, type DeltaBasis, type VStarProblem, type VStarHparams, type VStarResult, type VStarRun, type At } from './vstar';
import { keyStats, solveC, defaultCorpus, type KeyStats } from './stats';
import { dot, norm } from './linalg';
import { romePaperLayer, vstarPaper } from './paperPresets';

export interface FactRequest {
  subject: string;
  /** The prompt with "{}" where the subject goes, e.g. "{} was born in". */
  prompt: string;
  target: string;
}

/** LTI (EVOKE): an in-context teacher and a mid-layer logit-lens KL; METHODS.md's settings. */
export interface LtiHparams {
  mid: number;
  nll: number;
  midKl: number;
  lastKl: number;
  steps: number;
}

export interface RomeOptions extends VStarRun {
  layer?: number;
  lti?: boolean | Partial<LtiHparams>;
  hparams?: Partial<RomeHparams>;
  /** Key statistics corpus (default: the model's corpus.txt) and sample count. */
  corpus?: string[];
  samples?: number;
  seed?: number;
  label?: string;
  /** GLAME: δ = basis.map(θ) (a graph network's output) instead of a free δ; the rest is ROME's. */
  basis?: DeltaBasis;
  /** The preset the settings came from: 'paper' fills what is not given by paperPresets.ts's rules and turns off ROME_HPARAMS's two deviations. */
  preset?: string;
}

export interface RomeReport {
  vstar: VStarResult;
  /** Milliseconds: key statistics (cached after the first), context templates + keys, v* optimisation, C⁻¹ solve and update. */
  timing: { stats: number; keys: number; vstar: number; solve: number };
  stats: { file: string; count: number; cached: boolean };
}

/**
 * ROME's default layer and where it comes from: the checkpoint's own recommendation
 * (Dims.editLayer: the bundled model's is 0, where causal tracing puts its facts), else the
 * papers' layers (EVOKE's settings) where known, else a proportional one (GPT-J's 5 of 28).
 */
export function defaultEditLayer(d: { modelType: string; layers: number; editLayer?: number }): { layer: number; source: 'checkpoint' | 'papers' | 'proportional' } {
  if (d.editLayer !== undefined) return { layer: d.editLayer, source: 'checkpoint' };
  const known: Record<string, number> = { 'gpt2:48': 17, 'gptj:28': 5, 'llama:32': 5 };
  const k = known[`${d.modelType}:${d.layers}`];
  if (k !== undefined) return { layer: k, source: 'papers' };
  return { layer: Math.min(d.layers - 1, Math.floor((d.layers * 5) / 28)), source: 'proportional' };
}

export function defaultLti(modelType: string, layers: number): LtiHparams {
  const gpt2 = modelType === 'gpt2';
  const llama = ['llama', 'mistral', 'qwen2'].includes(modelType);
  const midFraction = gpt2 ? 30 / 48 : llama ? 15 / 32 : 17 / 28;
  const base = gpt2 ? { nll: 0.15, midKl: 0.0625, lastKl: 0.0325, steps: 30 } : llama ? { nll: 0.35, midKl: 0.0425, lastKl: 0.0725, steps: 30 } : { nll: 0.0625, midKl: 0.0625, lastKl: 0.0325, steps: 25 };
  return { mid: Math.min(layers - 1, Math.round(layers * midFraction)), ...base };
}

/**
 * ROME's settings: the reference's (EasyEdit / ROME hparams for GPT-2 XL) plus two choices of ours
 * about the v* objective, each switchable back to the reference:
 *   updateInLoop  the loop adds δ · uᵀk/uᵀk_bare at every position, which is what the rank-one
 *                 update does once applied, instead of δ at the subject's last token only
 *                 (reference: false). u depends only on C and k̄, so it is known before v*.
 *   bareWeight    the edit prompt itself ("{}") carries this share of the NLL, the 20 generated
 *                 prefixes the rest (reference: undefined, every template 1/21). The bare prompt is
 *                 where a model recalls its facts most firmly and where efficacy is measured; with
 *                 1/21 the loop gives it up for prefixed contexts where the fact is weakly held.
 * bench/fact-edits.mjs --n 100 --seed 2 on the bundled model: efficacy 91 % (reference) → 95 %
 * (update in the loop) → 99 % (both; bareWeight ¼, and ½, which plateaus longer on some edits);
 * seeds 1 and 3 confirm it (README.md).
 */
export interface RomeHparams extends VStarHparams {
  klFactor: number;
  updateInLoop: boolean;
  bareWeight?: number;
}

export const ROME_HPARAMS: RomeHparams = { steps: 20, lr: 0.5, weightDecay: 0.5, clamp: 4, klFactor: 0.0625, updateInLoop: true, bareWeight: 0.5 };

/**
 * The step budget of the v* loop: the papers' (20, or LTI's) on the models they tuned it for;
 * 160 elsewhere (the loop still stops as soon as the loss is < 0.05). Small models trained to
 * certainty on their facts, like the bundled one, need more than 20 steps to move a fact:
 * bench/fact-edits.mjs measured ROME efficacy 85 % at 20 steps, 95 % at 40, 100 % at 80 on its
 * first sample; on two samples of 100 more, 97 / 96 % at 80 and 100 / 98 % at 160 (the misses
 * were still climbing at 80, P(target) 0.5–0.9).
 */
export function stepBudget(modelType: string, layers: number, paperSteps: number): number {
  const tuned = ['gpt2:48', 'gptj:28', 'llama:32'].includes(`${modelType}:${layers}`);
  return tuned ? paperSteps : Math.max(paperSteps, 160);
}

/** Per checkpoint (shared by every view of the model). */
const templateCache = new WeakMap<object, Map<string, string[]>>();

/**
 * Context templates, sampled from the unedited model (top-k 5) and cached per checkpoint and seed:
 *   rome   "{}" plus 10 prefixes of 5 tokens and 10 of 10, generated from the start token;
 *   memit  "{}" plus 5 prefixes of 10 tokens, one each after "The", "Therefore", "Because",
 *          "I", "You" (the MEMIT reference's set).
 */
export async function contextTemplates(model: LoadedModel, seed = 0, kind: 'rome' | 'memit' = 'rome'): Promise<string[]> {
  let perSeed = templateCache.get(model.checkpoint);
  if (!perSeed) templateCache.set(model.checkpoint, (perSeed = new Map()));
  const cached = perSeed.get(`${kind}:${seed}`);
  if (cached) return cached;
  const bare = model.bare();
  const start = model.dims.bosId ?? model.dims.eosIds[0];
  const starts: { ids: number[]; prefix: string; length: number }[] = kind === 'memit'
    ? ['The', 'Therefore', 'Because', 'I', 'You'].map((w) => ({ ids: model.tokenizer.encode(w, false), prefix: w, length: 10 }))
    : [5, 10].flatMap((length) => Array.from({ length: 10 }, () => ({ ids: start === undefined ? [] : [start], prefix: '', length })));
  const out = ['{}'];
  for (const [i, s] of starts.entries()) {
    const r = s.ids.length === 0 ? { text: '' } : await generateIds(bare, s.ids, { maxTokens: s.length, temperature: 1, topK: 5, seed: seed * 1000 + s.length * 100 + (i % 10), stop: [] });
    const text = (s.prefix + r.text).replace(/[{}]/g, ' ').replace(/\s+/g, ' ').trim();
    out.push(text ? `${text}. {}` : '{}');
  }
  perSeed.set(`${kind}:${seed}`, out);
  return out;
}

export function checkRequest(r: FactRequest, where = 'request'): void {
  for (const k of ['subject', 'prompt', 'target'] as const) {
    if (typeof r[k] !== 'string' || !r[k].trim()) throw badInput(`The ${k} of the ${where} is missing or empty`, { field: k });
  }
  if (!r.prompt.includes('{}')) throw badInput(`The prompt ${JSON.stringify(r.prompt)} has no "{}" for the subject`, { field: 'prompt', hint: 'Write the prompt as, for example, "{} was born in".' });
}

/** Token ids of `text` with "{}" → subject, and the index of the subject's last token. */
export function withSubject(model: LoadedModel, text: string, subject: string): { ids: number[]; lookup: number } {
  const at = text.indexOf('{}');
  return { ids: model.tokenizer.encode(text.replace('{}', subject)), lookup: model.tokenizer.encode(text.slice(0, at) + subject).length - 1 };
}

/** The new target's token ids (" " + target, no special tokens: the scoring convention). */
export function targetIds(model: LoadedModel, target: string): number[] {
  const ids = model.tokenizer.encode(` ${target}`, false);
  if (ids.length === 0) throw badInput('The target is empty after tokenisation', { field: 'target' });
  return ids;
}

/**
 * The v* problem of one fact: a rewrite row per template (template ∘ prompt, then the target's
 * tokens but the last, teacher-forced), the KL row "{s} is a", and with LTI the teacher rows.
 * The NLL weighs every template alike, or the bare one "{}" `bareWeight` and the others the rest.
 */
export async function factProblem(model: LoadedModel, req: FactRequest, layer: number, templates: string[], init: VStarProblem['init'], klFactor: number, lti?: LtiHparams, bareWeight?: number): Promise<VStarProblem> {
  const tgt = targetIds(model, req.target);
  const m = tgt.length;
  const rewrite = templates.map((t) => withSubject(model, t.replace('{}', req.prompt), req.subject));
  const kl = withSubject(model, '{} is a', req.subject);
  const rows = [...rewrite.map((r) => [...r.ids, ...tgt.slice(0, -1)]), kl.ids];
  const lookups = [...rewrite.map((r) => r.lookup), kl.lookup];
  const P = rewrite.length;
  const targetsAt = (row: number, promptLen: number): (At & { target: number })[] => tgt.map((target, j) => ({ row, pos: promptLen - 1 + j, target }));
  const nllScale = lti ? lti.nll : 1;
  const bare = templates.indexOf('{}');
  const rowWeight = (b: number) => (bareWeight === undefined || bare < 0 || P === 1 ? 1 / P : b === bare ? bareWeight : (1 - bareWeight) / (P - 1));
  const nll = rewrite.flatMap((r, b) => targetsAt(b, r.ids.length).map((x) => ({ ...x, weight: (nllScale * rowWeight(b)) / m })));
  const klAt: At = { row: P, pos: kl.lookup };
  if (!lti) {
    const init0 = await distributions(model, layer, [kl.ids], [{ row: 0, pos: kl.lookup }]);
    return { layer, rows, lookups, nll, kl: [{ ...klAt, weight: klFactor }], klTeacher: init0.kl, init };
  }
  // LTI: the unedited model given the new fact in context teaches the edited one without it.
  const fact = `${req.prompt.replace('{}', req.subject)} ${req.target}`;
  const teacher = templates.map((t) => withSubject(model, `Imagine that ${fact}\n${t.replace('{}', req.prompt)}`, req.subject));
  const teacherRows = [...teacher.map((r) => [...r.ids, ...tgt.slice(0, -1)]), kl.ids];
  const studentKl: At[] = [...rewrite.flatMap((r, b) => targetsAt(b, r.ids.length)), klAt];
  const teacherKl: At[] = [...teacher.flatMap((r, b) => targetsAt(b, r.ids.length)), { row: P, pos: kl.lookup }];
  const midOn = lti.mid > layer;
  const dist = await distributions(model, layer, teacherRows, teacherKl, midOn ? { layer: lti.mid, items: teacher.map((r, b) => ({ row: b, pos: r.lookup })) } : undefined);
  return {
    layer, rows, lookups, nll, init,
    kl: studentKl.map((a) => ({ ...a, weight: lti.lastKl / studentKl.length })),
    klTeacher: dist.kl,
    mid: midOn ? { layer: lti.mid, items: rewrite.map((r, b) => ({ row: b, pos: r.lookup, weight: lti.midKl / P })), teacher: dist.mid! } : undefined,
  };
}

/** Mean over the templates of a tap's vector at the subject's last token, and the bare prompt's. */
export async function keysAtSubject(model: LoadedModel, req: FactRequest, layer: number, templates: string[], tap = tapName(layer, 'mlp.key')): Promise<{ mean: Float64Array; bare: Float64Array }> {
  const rows = templates.map((t) => withSubject(model, t.replace('{}', req.prompt), req.subject));
  const b = model.makeBatch(rows.map((r) => r.ids.slice(0, r.lookup + 1)));
  const out = await model.run({ taps: [tap], layers: layer + 1 }, b);
  const t = out[tap];
  const d = t.dims[2];
  const data = t.data as Float32Array;
  const at = (i: number) => data.subarray((i * b.seq + rows[i].lookup) * d, (i * b.seq + rows[i].lookup + 1) * d);
  const mean = new Float64Array(d);
  rows.forEach((_, i) => at(i).forEach((v, j) => (mean[j] += v / rows.length)));
  const bareIndex = templates.indexOf('{}');
  const bare = bareIndex >= 0 ? Float64Array.from(at(bareIndex)) : (await keysAtSubject(model, req, layer, ['{}'], tap)).bare;
  return { mean, bare };
}

/** uᵀk / uᵀk_bare at every position of every row: where and how much the rank-one update moves the MLP output. */
export async function updateScales(model: LoadedModel, rows: number[][], layer: number, u: Float64Array, bare: number): Promise<Float64Array[]> {
  const tap = tapName(layer, 'mlp.key');
  const b = model.makeBatch(rows);
  const t = (await model.run({ taps: [tap], layers: layer + 1 }, b))[tap];
  const d = t.dims[2];
  const data = t.data as Float32Array;
  return rows.map((row, r) => Float64Array.from(row, (_, pos) => dot(data.subarray((r * b.seq + pos) * d, (r * b.seq + pos + 1) * d), u) / bare));
}

export function resolveLti(model: LoadedModel, lti: RomeOptions['lti']): LtiHparams | undefined {
  if (!lti) return undefined;
  return { ...defaultLti(model.dims.modelType, model.dims.layers), ...(lti === true ? {} : lti) };
}

export async function statsFor(model: LoadedModel, layer: number, o: { corpus?: string[]; samples?: number; isCancelled?: () => boolean }): Promise<KeyStats> {
  return keyStats(model, { layer, corpus: o.corpus ?? defaultCorpus(model), samples: o.samples, isCancelled: o.isCancelled });
}

/**
 * ROME's hyper-parameters before the settings given: 'paper' the reference's (vstarPaper: 20 steps,
 * lr 0.5, decay 0.5, clamp 4, KL 0.0625, stop < 0.05; LTI's steps with LTI) without the two
 * deviations (updateInLoop false, every template 1/21); 'tuned' ROME_HPARAMS and stepBudget.
 */
export function romeHparams(dims: LoadedModel['dims'], lti: LtiHparams | undefined, paper: boolean): RomeHparams & { stopLoss?: number } {
  if (!paper) return { ...ROME_HPARAMS, steps: stepBudget(dims.modelType, dims.layers, lti?.steps ?? ROME_HPARAMS.steps) };
  const p = vstarPaper('rome', dims);
  return { ...p, ...(lti ? { steps: lti.steps } : {}), updateInLoop: false, bareWeight: undefined };
}

export async function computeRome(model: LoadedModel, stack: EditStack, req: FactRequest, o: RomeOptions = {}): Promise<{ edit: Edit; report: RomeReport }> {
  checkRequest(req);
  void stack; // ROME reads the model as the stack leaves it (its edits are fed to every run)
  const dims = model.dims;
  const paper = o.preset === 'paper';
  const layer = o.layer ?? (paper ? romePaperLayer(dims) : defaultEditLayer(dims).layer);
  if (!Number.isInteger(layer) || layer < 0 || layer >= dims.layers) throw badInput(`Layer must be in 0…${dims.layers - 1}, got ${layer}`, { field: 'layer' });
  const lti = resolveLti(model, o.lti);
  const hp = { ...romeHparams(dims, lti, paper), ...o.hparams };
  const t0 = performance.now();
  const stats = await statsFor(model, layer, o);
  const tStats = performance.now();
  const templates = await contextTemplates(model, o.seed ?? 0);
  const keys = await keysAtSubject(model, req, layer, templates);
  const t1 = performance.now();
  const problem = await factProblem(model, req, layer, templates, 'mlp_out', hp.klFactor, lti, hp.bareWeight);
  const x = solveC(stats, keys.mean);
  const u = Float64Array.from(x, (v) => v / norm(x));
  const scale = dot(keys.bare, u);
  if (hp.updateInLoop) problem.scales = await updateScales(model, problem.rows, layer, u, scale);
  if (o.basis) problem.basis = o.basis;
  const vstar = await optimiseDelta(model, problem, hp, o);
  const t2 = performance.now();
  const U = Float32Array.from(vstar.delta, (v) => v / scale);
  const json: EditJson = {
    format: 'mechedit-edit/1',
    id: newEditId(`rome-${req.subject}`),
    label: o.label ?? `ROME: ${req.prompt.replace('{}', req.subject)} → ${req.target}`,
    method: 'rome',
    modelFingerprint: model.checkpoint.fingerprint,
    targets: [{ layer, module: 'mlp.out', rank: 1, U: `U.${layer}`, V: `V.${layer}`, K: `K.${layer}` }],
    vectors: '',
    request: { ...req },
    hparams: { layer, ...hp, lti: lti ?? false, seed: o.seed ?? 0, templates, stats: { corpus: stats.corpus, samples: stats.count } },
    created: new Date().toISOString(),
  };
  const edit: Edit = { json, tensors: [{ U, V: Float32Array.from(u), K: Float32Array.from(keys.bare) }] };
  const t3 = performance.now();
  return { edit, report: { vstar, timing: { stats: tStats - t0, keys: t1 - tStats, vstar: t2 - t1, solve: t3 - t2 }, stats: { file: stats.file, count: stats.count, cached: stats.cached } } };
}
