// Gradient unlearning as a low-rank edit (METHODS.md, "Training edits"): LoRA factors U, V at
// chosen output projections, trained through the model's graph (graph/trainLoss.ts) by the core
// trainer (trainer.ts) with one of GA, GradDiff, NPO, RT, DPO, RMU, and returned as an edit
// (method "unlearn") that the stack applies, reverts, scales and bakes like any other.
//
// The stack passed in is the caller's own copy (EditStack.fork()): training reads its edits as
// the starting point θ₀ and never changes it, so other requests keep working meanwhile.

import type { EditStack } from '../edits/stack';
import { newEditId, type Edit, type EditTargetJson } from '../edits/editFile';
import { tapName, type EditModule } from '../graph/taps';
import { gradName } from '../graph/trainLoss';
import type { EditKey, EditTensors, LoadedModel } from '../runtime/model';
import { badInput } from '../errors';
import { train, type CurvePoint, type Param, type StopReason, type TrainResult } from './trainer';
import type { TrainItem, UnlearnMaterial } from './unlearnData';
import { makeRow, type Row } from './rows';
import { scoreRows, summarise } from './score';
import { rmuStepFeeds, tokenStepFeeds, type ForgetRows, type StepFeeds } from './objectives';
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
  lr?: number;
  batchSize?: number;
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

const METHOD_NAMES: Record<UnlearnMethod, string> = { ga: 'GA', graddiff: 'GradDiff', npo: 'NPO', rt: 'RT', dpo: 'DPO', rmu: 'RMU' };

/** The settings with every default filled in, as recorded in the edit's hparams. */
export function resolveSettings(model: LoadedModel, s: UnlearnSettings): Required<Omit<UnlearnSettings, 'budgetMs' | 'rmuCoef' | 'label'>> & Pick<UnlearnSettings, 'budgetMs' | 'rmuCoef' | 'label'> {
  if (!(UNLEARN_METHODS as readonly string[]).includes(s.method)) throw badInput(`Unknown unlearning method "${s.method}"`, { field: 'method', hint: `Use one of ${UNLEARN_METHODS.join(', ')}.` });
  const L = model.dims.layers;
  const rmuLayer = s.rmuLayer ?? Math.max(Math.min(2, L - 1), Math.round(L / 4));
  const layers = s.layers ?? (s.method === 'rmu' ? [rmuLayer - 2, rmuLayer - 1, rmuLayer].filter((l) => l >= 0) : Array.from({ length: L }, (_, l) => l));
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
  return {
    method: s.method,
    layers: [...layers].sort((a, b) => a - b),
    module: s.module ?? UNLEARN_DEFAULTS.module,
    rank: positive(s.rank, 'rank', UNLEARN_DEFAULTS.rank, true),
    steps: positive(s.steps, 'steps', UNLEARN_DEFAULTS.steps, true),
    lr: positive(s.lr, 'lr', UNLEARN_DEFAULTS.lr[s.method]),
    batchSize: positive(s.batchSize, 'batchSize', UNLEARN_DEFAULTS.batchSize, true),
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

interface Factor {
  key: EditKey;
  layer: number;
  module: EditModule;
  out: number;
  in: number;
  U: Float32Array;
  V: Float32Array;
}

/** LoRA's initialisation: V ~ U(−1/√d_in, 1/√d_in) (kaiming-uniform with a = √5), U = 0. */
function initFactors(model: LoadedModel, layers: number[], module: EditModule, rank: number, seed: number): Factor[] {
  const rand = rng(seed ^ 0x5eed);
  return layers.map((layer) => {
    const w = module === 'mlp.out' ? model.plan.blocks[layer].down : model.plan.blocks[layer].o;
    const bound = 1 / Math.sqrt(w.in);
    const V = Float32Array.from({ length: rank * w.in }, () => (2 * rand() - 1) * bound);
    return { key: `${layer}:${module}` as EditKey, layer, module, out: w.out, in: w.in, U: new Float32Array(rank * w.out), V };
  });
}

/** θ₀'s edit inputs with the factors appended (U scaled by `strength`) on their modules. */
function withFactors(base: ReadonlyMap<EditKey, EditTensors>, factors: Factor[], rank: number, strength = 1): Map<EditKey, EditTensors> {
  const edits = new Map(base);
  for (const f of factors) {
    const e0 = base.get(f.key);
    const r0 = e0?.rank ?? 0;
    const U = new Float32Array((r0 + rank) * f.out);
    const V = new Float32Array((r0 + rank) * f.in);
    if (e0) {
      U.set(e0.U);
      V.set(e0.V);
    }
    if (strength === 1) U.set(f.U, r0 * f.out);
    else for (let i = 0; i < f.U.length; i++) U[r0 * f.out + i] = strength * f.U[i];
    V.set(f.V, r0 * f.in);
    edits.set(f.key, { rank: r0 + rank, U, V });
  }
  return edits;
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

/**
 * RMU's step feeds: c = rmuScale × the forget tokens' mean ‖h_L‖ under θ₀ (unless given), a
 * seeded random direction of that norm as the forget target, θ₀'s activations as the retain
 * target (`retainRows` empty when there is no retain term).
 */
async function rmuSetup(base: LoadedModel, hp: ReturnType<typeof resolveSettings>, answerRows: Row[], retainRows: Row[], trainedModules: string[]) {
  const L = hp.rmuLayer;
  const tap = tapName(L, 'resid_post');
  const d = base.dims.dModel;
  const acts = async (rows: Row[]): Promise<Float32Array[]> => {
    const out: Float32Array[] = [];
    for (const r of rows) {
      const a = await base.run({ taps: [tap], layers: L + 1 }, base.makeBatch([r.ids]));
      out.push(Float32Array.from(a[tap].data as Float32Array));
    }
    return out;
  };
  // c: a multiple of the forget tokens' mean ‖h_L‖ under θ₀ (WMDP's 6.5 is for 7B models' scale).
  const fa = await acts(answerRows);
  let norm = 0;
  let count = 0;
  for (const a of fa) for (let s = 0; s < a.length / d; s++) {
    norm += Math.hypot(...a.subarray(s * d, (s + 1) * d));
    count++;
  }
  const rmuCoef = hp.rmuCoef ?? UNLEARN_DEFAULTS.rmuScale * (norm / count);
  const rand = rng(hp.seed ^ 0xc0ffee);
  const u = Float32Array.from({ length: d }, () => rand());
  const un = Math.hypot(...u);
  const direction = u.map((x) => (x / un) * rmuCoef);
  const retainRef = (await acts(retainRows)).map((ref, i) => ({ row: retainRows[i], ref }));
  const step = (f: number[], r: number[]) => rmuStepFeeds(base, f.map((i) => answerRows[i]), r.map((i) => retainRef[i]), { direction, retainWeight: hp.retainWeight });
  return { step, options: { train: { modules: trainedModules, rmu: L } }, rmuCoef };
}

/** The trained factors as an edit (method "unlearn"), U at `strength` (UIPE), with the settings, the material and the training record. */
function unlearnEdit(base: LoadedModel, hp: ReturnType<typeof resolveSettings>, material: UnlearnMaterial, factors: Factor[], t: { refusal: string; rmuCoef?: number; strength: number; figures: UnlearnResult['figures']; result: TrainResult }): Edit {
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
      hparams: { ...hp, label: undefined, refusal: undefined, rmuCoef: t.rmuCoef, schedule: 'constant', clip: 1, optimizer: 'AdamW(0.9, 0.999, eps 1e-8, wd 0)' },
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
  const view = (strength = 1) => base.withEdits(withFactors(base.edits, factors, hp.rank, strength));

  let step: (forget: number[], retain: number[]) => StepFeeds;
  let options: { train: { modules: string[]; rmu?: number } };
  let rmuCoef: number | undefined;
  if (method === 'rmu') {
    ({ step, options, rmuCoef } = await rmuSetup(base, hp, answerRows, needsRetain ? retainRows : [], trainedModules));
  } else {
    const refusalRows = method === 'rt' || method === 'dpo' ? rowsOf(base, material.forget, () => refusal) : undefined;
    const refAnswer = method === 'npo' || method === 'dpo' ? answersBefore.map((s) => s.seq) : undefined;
    const refRefusal = method === 'dpo' ? (await scoreRows(base, refusalRows!)).map((s) => s.seq) : undefined;
    const forget: ForgetRows[] = answerRows.map((answer, i) => ({ answer, refusal: refusalRows?.[i], refAnswer: refAnswer?.[i] ?? 0, refRefusal: refRefusal?.[i] ?? 0 }));
    step = (f, r) => tokenStepFeeds(base, method, f.map((i) => forget[i]), r.map((i) => retainRows[i]), { beta: hp.beta, retainWeight: hp.retainWeight });
    options = { train: { modules: trainedModules } };
  }

  const params: Param[] = factors.flatMap((f) => [{ name: `${f.key}.U`, value: f.U, decay: false }, { name: `${f.key}.V`, value: f.V, decay: false }]);
  const result = await train(params, {
    steps: hp.steps, lr: hp.lr, weightDecay: 0, betas: [0.9, 0.999], eps: 1e-8, warmup: 0, schedule: 'constant', clip: 1,
    batchSizes: [hp.batchSize, hp.batchSize], seed: hp.seed, budgetMs: hp.budgetMs,
  }, {
    pools: [answerRows.length, retainRows.length],
    isCancelled: run.isCancelled,
    compute: async ([f, r]) => {
      const s = step(f, r);
      const m = view();
      const out = await m.run(options, s.batch, s.feeds);
      const grads = factors.flatMap((fac) => {
        const r0 = base.edits.get(fac.key)?.rank ?? 0;
        const gU = out[gradName(fac.layer, fac.module, 'U')].data as Float32Array;
        const gV = out[gradName(fac.layer, fac.module, 'V')].data as Float32Array;
        return [gU.slice(r0 * fac.out), gV.slice(r0 * fac.in)];
      });
      return { loss: Number(out.loss.data[0]), grads };
    },
    // After each update: the forget items' top-1 on the model with the factors so far.
    earlyStop: async (p) => {
      const now = summarise(await scoreRows(view(), answerRows));
      p.metrics.forgetTop1 = now.top1;
      p.metrics.forgetProb = now.prob;
      run.onStep?.({ ...p, steps: hp.steps });
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
  const edit = unlearnEdit(base, hp, material, factors, { refusal, rmuCoef, strength, figures, result });
  return { edit, curve: result.curve, stoppedBy: result.stoppedBy, ms, figures };
}
