// Gradient unlearning as a low-rank edit (METHODS.md, "Training edits"): LoRA factors U, V at
// chosen output projections, trained through the model's graph (graph/trainLoss.ts) by the core
// trainer (trainer.ts) with one of GA, GradDiff, NPO, RT, DPO, RMU, and returned as an edit
// (method "unlearn") that the stack applies, reverts, scales and bakes like any other.
//
// The stack passed in is the caller's own copy (EditStack.fork()): training reads its edits as
// the starting point θ₀ and never changes it, so other requests keep working meanwhile.

import type { EditStack } from '../edits/stack';
import { newEditId, type Edit, type EditTargetJson } from '../edits/editFile';
import type { EditModule } from '../graph/taps';
import type { LoadedModel } from '../runtime/model';
import { badInput } from '../errors';
import { train, type CurvePoint, type Param, type StopReason, type TrainResult } from './trainer';
import type { TrainItem, UnlearnMaterial } from './unlearnData';
import { makeRow, type Row } from './rows';
import { scoreRows, summarise } from './score';
import type { DpoScale, LossMean } from './objectives';
import { IDK_ANSWERS, initFactors, objectiveSetup, stepLossAndGrads, withFactors, type Factor } from './unlearnStep';
import { ortPrompt } from './ortItems';
import { mulberry32 as rng } from '../runtime/run';

export const UNLEARN_METHODS = ['ga', 'graddiff', 'npo', 'rt', 'dpo', 'rmu'] as const;
export type UnlearnMethod = (typeof UNLEARN_METHODS)[number];

/** Every field but `method` has a default that works on the bundled model (DEFAULTS in this file). */
export interface UnlearnSettings {
  method: UnlearnMethod;
  /** Layers whose `module` gets a LoRA pair. */
  layers?: number[];
  module?: EditModule;
  rank?: number;
  steps?: number;
  /** When given and `steps` is not: steps = epochs × ⌈forget items / batchSize⌉. */
  epochs?: number;
  lr?: number;
  batchSize?: number;
  /** Linear warm-up over ⌊warmupEpochs × forget items / batchSize⌋ steps (open-unlearning's warmup_epochs). */
  warmupEpochs?: number;
  schedule?: 'constant' | 'linear' | 'cosine';
  /** AdamW's decoupled weight decay on U and V. */
  weightDecay?: number;
  /** NLL and RMU terms: a mean over items of per-item token means, or one mean over all tokens (objectives.ts). */
  lossMean?: LossMean;
  /** DPO: the loss scale, 1 or open-unlearning's 2/β. */
  dpoScale?: DpoScale;
  /** RT, DPO: a random "I don't know" answer per item and step (IDK_ANSWERS) instead of one refusal. */
  idkAnswers?: boolean;
  /** RMU: steer every position, or the answer tokens only. */
  rmuTokens?: 'all' | 'answer';
  /** The preset the settings came from: 'paper' applies its transfer rules to rank, layers and rmuLayer when they are not given. */
  preset?: string;
  seed?: number;
  /** Weight of the retain term (GradDiff, NPO + retain, RMU's α). 0 = no retain term. */
  retainWeight?: number;
  /** NPO / DPO temperature. */
  beta?: number;
  /** RT / DPO: the refusal trained after forget prompts. */
  refusal?: string;
  /** RMU: the layer whose activations are steered, and the steering coefficient c. */
  rmuLayer?: number;
  rmuCoef?: number;
  /** Stop once the forget items' teacher-forced top-1 answer accuracy is below this (0…1). */
  stopBelow?: number;
  /** Wall-clock budget in ms (the run stops, keeping what it has, when it is spent). */
  budgetMs?: number;
  /** UIPE: write θ₀ + (1 + α)(θ_u − θ₀), i.e. the trained factors at strength 1 + α. */
  uipe?: number;
  label?: string;
}

export interface UnlearnProgress extends CurvePoint {
  steps: number;
}

export interface UnlearnResult {
  /** The edit, not yet written (writeEdit) nor applied. */
  edit: Edit;
  curve: CurvePoint[];
  stoppedBy: StopReason;
  ms: number;
  /** Teacher-forced top-1 answer accuracy of the forget and retain items before and after. */
  figures: { forgetTop1: [number, number]; retainTop1: [number, number] };
}

export interface UnlearnRun {
  onStep?: (p: UnlearnProgress) => void;
  /** Called after every update with the model as it is then (θ₀ + the factors so far): step curves of other measures. */
  probe?: (model: LoadedModel, step: number) => Promise<void>;
  isCancelled?: () => boolean;
  log?: (message: string) => void;
}

/** The defaults (bundled model and papers): see README "Unlearning" for how they were chosen. */
export const UNLEARN_DEFAULTS = {
  rank: 8,
  module: 'mlp.out' as EditModule,
  steps: 100,
  /** Per method: the bundled model's working values (bench/ort-forms.mjs). */
  schedule: 'constant' as const,
  weightDecay: 0,
  warmupEpochs: 0,
  dpoScale: 'unit' as DpoScale,
  idkAnswers: false,
  rmuTokens: 'all' as const,
  lr: { ga: 1e-3, graddiff: 2e-3, npo: 2e-3, rt: 1e-3, dpo: 5e-3, rmu: 1e-2 } as Record<UnlearnMethod, number>,
  batchSize: 16,
  seed: 1,
  beta: 0.1,
  refusal: "I don't know.",
  stopBelow: 0.1,
  retainWeight: { ga: 0, graddiff: 120, npo: 20, rt: 0, dpo: 0, rmu: 100 } as Record<UnlearnMethod, number>,
  /** RMU's c as a multiple of the mean ‖h_L‖ of the forget tokens under θ₀. */
  rmuScale: 3,
};

/** The tuned preset's averaging: per item for the token objectives, over all tokens for RMU. */
export const tunedLossMean = (m: UnlearnMethod): LossMean => (m === 'rmu' ? 'token' : 'item');

/** The paper preset's transfer rules (objectives.ts documents them): RMU's layer at open-unlearning's 7/16 of the depth. */
export const paperRmuLayer = (layers: number): number => Math.floor((7 * layers) / 16);

const METHOD_NAMES: Record<UnlearnMethod, string> = { ga: 'GA', graddiff: 'GradDiff', npo: 'NPO', rt: 'RT', dpo: 'DPO', rmu: 'RMU' };

/** The settings with every default filled in, as recorded in the edit's hparams. */
type Optional = 'budgetMs' | 'rmuCoef' | 'label' | 'epochs' | 'preset';
export type ResolvedUnlearn = Required<Omit<UnlearnSettings, Optional>> & Pick<UnlearnSettings, Optional>;

export function resolveSettings(model: LoadedModel, s: UnlearnSettings): ResolvedUnlearn {
  if (!(UNLEARN_METHODS as readonly string[]).includes(s.method)) throw badInput(`Unknown unlearning method "${s.method}"`, { field: 'method', hint: `Use one of ${UNLEARN_METHODS.join(', ')}.` });
  const L = model.dims.layers;
  const paper = s.preset === 'paper';
  const rmuLayer = s.rmuLayer ?? (paper ? paperRmuLayer(L) : Math.max(Math.min(2, L - 1), Math.round(L / 4)));
  const layers = s.layers ?? (s.method === 'rmu' ? (paper ? Array.from({ length: rmuLayer + 1 }, (_, l) => l) : [rmuLayer - 2, rmuLayer - 1, rmuLayer].filter((l) => l >= 0)) : Array.from({ length: L }, (_, l) => l));
  if (layers.length === 0 || layers.some((l) => !Number.isInteger(l) || l < 0 || l >= L) || new Set(layers).size !== layers.length) {
    throw badInput(`Layers must be distinct whole numbers in 0…${L - 1}, got [${layers}]`, { field: 'layers' });
  }
  if (s.method === 'rmu' && (!Number.isInteger(rmuLayer) || rmuLayer < 0 || rmuLayer >= L)) throw badInput(`The RMU layer must be in 0…${L - 1}, got ${rmuLayer}`, { field: 'rmuLayer' });
  if (s.method === 'rmu' && layers.some((l) => l > rmuLayer)) throw badInput(`RMU trains layers at or below its layer ${rmuLayer}; got [${layers}]`, { field: 'layers', hint: 'Layers above the steered one cannot change its activations.' });
  const positive = (v: number | undefined, name: string, fallback: number, int = false): number => {
    const x = v ?? fallback;
    if (!Number.isFinite(x) || x <= 0 || (int && !Number.isInteger(x))) throw badInput(`${name} must be a positive ${int ? 'whole ' : ''}number, got ${v}`, { field: name });
    return x;
  };
  const retainWeight = s.retainWeight ?? UNLEARN_DEFAULTS.retainWeight[s.method];
  if (!Number.isFinite(retainWeight) || retainWeight < 0) throw badInput(`retainWeight must be ≥ 0, got ${s.retainWeight}`, { field: 'retainWeight' });
  const uipe = s.uipe ?? 0;
  if (!Number.isFinite(uipe) || uipe < 0) throw badInput(`UIPE's α must be ≥ 0, got ${s.uipe}`, { field: 'uipe' });
  const stopBelow = s.stopBelow ?? UNLEARN_DEFAULTS.stopBelow;
  if (!Number.isFinite(stopBelow) || stopBelow < 0 || stopBelow > 1) throw badInput(`stopBelow is a fraction in 0…1, got ${s.stopBelow}`, { field: 'stopBelow' });
  const weightDecay = s.weightDecay ?? UNLEARN_DEFAULTS.weightDecay;
  const warmupEpochs = s.warmupEpochs ?? UNLEARN_DEFAULTS.warmupEpochs;
  if (!(weightDecay >= 0) || !(warmupEpochs >= 0)) throw badInput('weightDecay and warmupEpochs must be ≥ 0', { field: weightDecay >= 0 ? 'warmupEpochs' : 'weightDecay' });
  return {
    method: s.method,
    layers: [...layers].sort((a, b) => a - b),
    module: s.module ?? UNLEARN_DEFAULTS.module,
    rank: positive(s.rank, 'rank', paper ? model.dims.dModel : UNLEARN_DEFAULTS.rank, true),
    steps: positive(s.steps, 'steps', UNLEARN_DEFAULTS.steps, true),
    epochs: s.epochs === undefined ? undefined : positive(s.epochs, 'epochs', 1, true),
    lr: positive(s.lr, 'lr', UNLEARN_DEFAULTS.lr[s.method]),
    batchSize: positive(s.batchSize, 'batchSize', UNLEARN_DEFAULTS.batchSize, true),
    warmupEpochs,
    schedule: s.schedule ?? UNLEARN_DEFAULTS.schedule,
    weightDecay,
    lossMean: s.lossMean ?? tunedLossMean(s.method),
    dpoScale: s.dpoScale ?? UNLEARN_DEFAULTS.dpoScale,
    idkAnswers: s.idkAnswers ?? UNLEARN_DEFAULTS.idkAnswers,
    rmuTokens: s.rmuTokens ?? UNLEARN_DEFAULTS.rmuTokens,
    preset: s.preset,
    seed: s.seed ?? UNLEARN_DEFAULTS.seed,
    retainWeight,
    beta: positive(s.beta, 'beta', UNLEARN_DEFAULTS.beta),
    refusal: s.refusal ?? UNLEARN_DEFAULTS.refusal,
    rmuLayer,
    rmuCoef: s.rmuCoef,
    stopBelow,
    budgetMs: s.budgetMs,
    uipe,
    label: s.label,
  };
}

function rowsOf(model: LoadedModel, items: TrainItem[], answer?: (i: TrainItem) => string): Row[] {
  return items.map((it) => makeRow(model, it.prompt === '' ? '' : ortPrompt(model, it.prompt), answer ? answer(it) : it.answer, it));
}

const sample = <T>(items: T[], n: number, seed: number): T[] => {
  if (items.length <= n) return items;
  const rand = rng(seed);
  const idx = items.map((_, i) => i);
  for (let i = idx.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  return idx.slice(0, n).sort((a, b) => a - b).map((i) => items[i]);
};

/** The trained factors as an edit (method "unlearn"), U at `strength` (UIPE), with the settings, the material and the training record. */
function unlearnEdit(base: LoadedModel, hp: ResolvedUnlearn, material: UnlearnMaterial, factors: Factor[], t: { refusal: string; rmuCoef?: number; steps: number; warmup: number; strength: number; figures: UnlearnResult['figures']; result: TrainResult }): Edit {
  const method = hp.method;
  const { strength, result } = t;
  const label = hp.label ?? `Unlearn (${METHOD_NAMES[method]}${hp.uipe ? ` + UIPE α=${hp.uipe}` : ''}): ${material.name}${material.forms.length ? ` [${material.forms.join(', ')}]` : ''}`;
  const targets: EditTargetJson[] = factors.map((f) => ({ layer: f.layer, module: f.module, rank: hp.rank, U: `${f.key}.U`, V: `${f.key}.V` }));
  return {
    json: {
      format: 'mechedit-edit/1',
      id: newEditId(`unlearn-${method}-${material.name}`),
      label,
      method: 'unlearn',
      modelFingerprint: base.checkpoint.fingerprint,
      targets,
      vectors: '',
      request: { forget: material.name, forms: material.forms, sources: material.sources, forgetItems: material.forget.length, retainItems: material.retain.length, refusal: method === 'rt' || method === 'dpo' ? t.refusal : undefined },
      hparams: { ...hp, label: undefined, refusal: undefined, rmuCoef: t.rmuCoef, steps: t.steps, warmup: t.warmup, clip: 1, optimizer: `AdamW(0.9, 0.999, eps 1e-8, wd ${hp.weightDecay})` },
      training: { objective: method, stoppedBy: result.stoppedBy, steps: result.steps, ms: Math.round(result.ms), figures: t.figures, curve: result.curve },
      created: new Date().toISOString(),
    },
    tensors: factors.map((f) => ({ U: strength === 1 ? Float32Array.from(f.U) : f.U.map((x) => x * strength), V: Float32Array.from(f.V) })),
  };
}

export async function computeUnlearn(stack: EditStack, material: UnlearnMaterial, settings: UnlearnSettings, run: UnlearnRun = {}): Promise<UnlearnResult> {
  const t0 = performance.now();
  const base = stack.model; // θ₀: the caller's copy of the stack, never changed here
  const hp = resolveSettings(base, settings);
  const method = hp.method;
  if (material.forget.length === 0) throw badInput('There is no forget material to train on', { field: 'forget' });
  const needsRetain = hp.retainWeight > 0;
  if (needsRetain && material.retain.length === 0) {
    throw badInput(`${METHOD_NAMES[method]} with a retain weight of ${hp.retainWeight} needs retain material (facts to keep)`, { field: 'retain', hint: 'Give a retain JSONL file of {prompt, answer}, or set the retain weight to 0.' });
  }
  const refusal = material.refusals[0] ?? hp.refusal;
  const answerRows = rowsOf(base, material.forget);
  const retainRows = needsRetain ? rowsOf(base, material.retain) : [];
  // What the figures measure: all forget items, and up to 256 retain items (seeded sample).
  const retainProbe = sample(retainRows.length ? retainRows : rowsOf(base, material.retain), 256, hp.seed);
  // θ₀'s scores of the forget answers: the "before" figure, and π_ref for NPO and DPO.
  const answersBefore = await scoreRows(base, answerRows);
  const before = { forget: summarise(answersBefore), retain: summarise(await scoreRows(base, retainProbe)) };
  run.log?.(`before: forget top-1 ${(100 * before.forget.top1).toFixed(1)} %, retain top-1 ${(100 * before.retain.top1).toFixed(1)} %`);

  const trainedModules = hp.layers.map((l) => `${l}:${hp.module}`);
  const factors = initFactors(base, hp.layers, hp.module, hp.rank, hp.seed);
  const view = (strength = 1) => base.withEdits(withFactors(base.edits, factors, strength));
  const answers = method === 'rt' || method === 'dpo' ? (hp.idkAnswers ? IDK_ANSWERS : [refusal]) : [];
  const refusalRows = answers.length ? material.forget.map((it) => answers.map((a) => rowsOf(base, [it], () => a)[0])) : undefined;
  const setup = await objectiveSetup(base, { ...hp, rmuScale: UNLEARN_DEFAULTS.rmuScale }, { answers: answerRows, answersRef: answersBefore.map((s) => s.seq), retain: retainRows, refusals: refusalRows }, trainedModules);

  // Paper preset: epochs over the forget items (steps = epochs × ⌈F / batch⌉), warm-up in epochs.
  const perEpoch = Math.ceil(answerRows.length / hp.batchSize);
  const steps = settings.steps === undefined && hp.epochs !== undefined ? hp.epochs * perEpoch : hp.steps;
  const warmup = Math.floor((hp.warmupEpochs * answerRows.length) / hp.batchSize);
  const decay = hp.weightDecay > 0;
  const params: Param[] = factors.flatMap((f) => [{ name: `${f.key}.U`, value: f.U, decay }, { name: `${f.key}.V`, value: f.V, decay }]);
  const result = await train(params, {
    steps, lr: hp.lr, weightDecay: hp.weightDecay, betas: [0.9, 0.999], eps: 1e-8, warmup, schedule: hp.schedule, clip: 1,
    batchSizes: [hp.batchSize, hp.batchSize], seed: hp.seed, budgetMs: hp.budgetMs,
  }, {
    pools: [answerRows.length, retainRows.length],
    isCancelled: run.isCancelled,
    compute: async ([f, r], k) => {
      const { loss, grads } = await stepLossAndGrads(base, factors, setup, f, r, k);
      return { loss, grads };
    },
    // After each update: the forget items' top-1 on the model with the factors so far.
    earlyStop: async (p) => {
      const now = summarise(await scoreRows(view(), answerRows));
      p.metrics.forgetTop1 = now.top1;
      p.metrics.forgetProb = now.prob;
      run.onStep?.({ ...p, steps });
      await run.probe?.(view(), p.step);
      return now.top1 < hp.stopBelow;
    },
  });

  const strength = 1 + hp.uipe;
  const after = view(strength);
  const figures = {
    forgetTop1: [before.forget.top1, summarise(await scoreRows(after, answerRows)).top1] as [number, number],
    retainTop1: [before.retain.top1, summarise(await scoreRows(after, retainProbe)).top1] as [number, number],
  };
  const ms = performance.now() - t0;
  const edit = unlearnEdit(base, hp, material, factors, { refusal: hp.idkAnswers && answers.length ? `${answers.length} IDK answers` : refusal, rmuCoef: setup.rmuCoef, steps, warmup, strength, figures, result });
  return { edit, curve: result.curve, stoppedBy: result.stoppedBy, ms, figures };
}
