// One unlearning step's loss and gradients: the LoRA factors, the objective's step feeds (token
// objectives or RMU, train/objectives.ts) and a run of the training graph. computeUnlearn
// (unlearn.ts) trains with it; test/unit/unlearnGolden.test.ts compares it with an independent
// PyTorch transcription of open-unlearning's losses (tools/unlearn_golden.py).

import { tapName, type EditModule } from '../graph/taps';
import { gradName } from '../graph/trainLoss';
import type { EditKey, EditTensors, LoadedModel } from '../runtime/model';
import { mulberry32 as rng } from '../runtime/run';
import type { Row } from './rows';
import { scoreRows } from './score';
import { rmuStepFeeds, tokenStepFeeds, type DpoScale, type ForgetRows, type LossMean, type StepFeeds } from './objectives';

/**
 * "I don't know"-style answers: with idkAnswers on, RT and DPO draw one of these per forget item
 * at every step (open-unlearning's IdkDPO draws from a file of such answers; this list is
 * MechEdit's own).
 */
export const IDK_ANSWERS: readonly string[] = [
  "I don't know.",
  "I'm not sure.",
  'I have no idea.',
  "I can't answer that.",
  "That's not something I know.",
  "I don't have that information.",
  "I'm unable to say.",
  'I cannot recall that.',
  "Sorry, I don't know that.",
  "I'm not aware of that.",
];

/** A LoRA pair at `{layer}:{module}`: ΔW = Uᵀ V, U [rank, out], V [rank, in]. */
export interface Factor {
  key: EditKey;
  layer: number;
  module: EditModule;
  out: number;
  in: number;
  U: Float32Array;
  V: Float32Array;
}

/** LoRA's initialisation: V ~ U(−1/√d_in, 1/√d_in) (kaiming-uniform with a = √5), U = 0. */
export function initFactors(model: LoadedModel, layers: number[], module: EditModule, rank: number, seed: number): Factor[] {
  const rand = rng(seed ^ 0x5eed);
  return layers.map((layer) => {
    const w = module === 'mlp.out' ? model.plan.blocks[layer].down : model.plan.blocks[layer].o;
    const bound = 1 / Math.sqrt(w.in);
    const V = Float32Array.from({ length: rank * w.in }, () => (2 * rand() - 1) * bound);
    return { key: `${layer}:${module}` as EditKey, layer, module, out: w.out, in: w.in, U: new Float32Array(rank * w.out), V };
  });
}

/** θ₀'s edit inputs with the factors appended (U scaled by `strength`) on their modules. */
export function withFactors(base: ReadonlyMap<EditKey, EditTensors>, factors: Factor[], strength = 1): Map<EditKey, EditTensors> {
  const edits = new Map(base);
  for (const f of factors) {
    const rank = f.U.length / f.out;
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

/** What an objective's step needs of the resolved settings (unlearn.ts resolveSettings). */
export interface ObjectiveHp {
  method: 'ga' | 'graddiff' | 'npo' | 'rt' | 'dpo' | 'rmu';
  seed: number;
  beta: number;
  retainWeight: number;
  lossMean: LossMean;
  dpoScale: DpoScale;
  rmuLayer: number;
  /** RMU's c: a constant, or undefined for rmuScale × the forget tokens' mean ‖h_L‖ under θ₀. */
  rmuCoef?: number;
  rmuScale: number;
  rmuTokens: 'all' | 'answer';
}

export interface ObjectiveRows {
  /** Forget items' answer rows and θ₀'s sequence log-probs of them (NPO, DPO). */
  answers: Row[];
  answersRef: number[];
  /** Retain rows ([] without a retain term). */
  retain: Row[];
  /** RT, DPO: per forget item its refusal rows (one, or one per IDK answer). */
  refusals?: Row[][];
}

export interface ObjectiveSetup {
  /** Step k's feeds for forget items `f` and retain items `r` (indices into the rows). */
  step: (f: number[], r: number[], k: number) => StepFeeds;
  options: { train: { modules: string[]; rmu?: number } };
  rmuCoef?: number;
}

/** Which of item i's refusals step k trains: a seeded draw per (step, item) when there are several. */
export function refusalPick(seed: number, k: number, i: number, n: number): number {
  if (n <= 1) return 0;
  return Math.floor(rng((Math.imul(seed ^ 0x1dc, 0x9e3779b1) ^ Math.imul(k + 1, 0x85ebca6b) ^ Math.imul(i + 1, 0xc2b2ae35)) | 0)() * n);
}

/**
 * The objective's step feeds over θ₀ = `base`. `o.direction` (RMU): the unit steering direction
 * (default: a seeded uniform draw, normalised, as WMDP's torch.rand); `o.pick`: which refusal of
 * item i step k trains (default refusalPick).
 */
export async function objectiveSetup(base: LoadedModel, hp: ObjectiveHp, rows: ObjectiveRows, modules: string[], o: { direction?: Float32Array; pick?: (k: number, i: number, n: number) => number } = {}): Promise<ObjectiveSetup> {
  if (hp.method === 'rmu') return rmuSetup(base, hp, rows, modules, o.direction);
  const method = hp.method;
  const pick = o.pick ?? ((k: number, i: number, n: number) => refusalPick(hp.seed, k, i, n));
  const refusals = rows.refusals ?? [];
  const refRefusals = method === 'dpo' ? await Promise.all(refusals.map(async (rs) => (await scoreRows(base, rs)).map((s) => s.seq))) : [];
  const step = (f: number[], r: number[], k: number) => {
    const forget: ForgetRows[] = f.map((i) => {
      const j = refusals[i] ? pick(k, i, refusals[i].length) : 0;
      return { answer: rows.answers[i], refusal: refusals[i]?.[j], refAnswer: rows.answersRef[i] ?? 0, refRefusal: refRefusals[i]?.[j] ?? 0 };
    });
    return tokenStepFeeds(base, method, forget, r.map((i) => rows.retain[i]), hp);
  };
  return { step, options: { train: { modules } } };
}

/**
 * RMU: c = hp.rmuCoef, else rmuScale × the forget tokens' mean ‖h_L‖ under θ₀ (every position);
 * the forget target c·u; θ₀'s activations as the retain target.
 */
async function rmuSetup(base: LoadedModel, hp: ObjectiveHp, rows: ObjectiveRows, modules: string[], unit?: Float32Array): Promise<ObjectiveSetup> {
  const L = hp.rmuLayer;
  const tap = tapName(L, 'resid_post');
  const d = base.dims.dModel;
  const acts = async (rs: Row[]): Promise<Float32Array[]> => {
    const out: Float32Array[] = [];
    for (const r of rs) {
      const a = await base.run({ taps: [tap], layers: L + 1 }, base.makeBatch([r.ids]));
      out.push(Float32Array.from(a[tap].data as Float32Array));
    }
    return out;
  };
  let rmuCoef = hp.rmuCoef;
  if (rmuCoef === undefined) {
    let norm = 0;
    let count = 0;
    for (const a of await acts(rows.answers)) for (let s = 0; s < a.length / d; s++) {
      norm += Math.hypot(...a.subarray(s * d, (s + 1) * d));
      count++;
    }
    rmuCoef = hp.rmuScale * (norm / count);
  }
  let u = unit;
  if (!u) {
    const rand = rng(hp.seed ^ 0xc0ffee);
    u = Float32Array.from({ length: d }, () => rand());
  }
  const un = Math.hypot(...u);
  const c = rmuCoef;
  const direction = u.map((x) => (x / un) * c);
  const retainRef = (await acts(rows.retain)).map((ref, i) => ({ row: rows.retain[i], ref }));
  const step = (f: number[], r: number[]) =>
    rmuStepFeeds(base, f.map((i) => rows.answers[i]), r.map((i) => retainRef[i]), { direction, retainWeight: hp.retainWeight, lossMean: hp.lossMean, tokens: hp.rmuTokens });
  return { step, options: { train: { modules, rmu: L } }, rmuCoef };
}

/** One step on θ₀ + the factors: the loss and d loss / d U, V of each factor (in the factors' order, U then V). */
export async function stepLossAndGrads(base: LoadedModel, factors: Factor[], setup: ObjectiveSetup, f: number[], r: number[], k: number): Promise<{ loss: number; grads: Float32Array[]; feeds: StepFeeds }> {
  const s = setup.step(f, r, k);
  const m = base.withEdits(withFactors(base.edits, factors));
  const out = await m.run(setup.options, s.batch, s.feeds);
  const grads = factors.flatMap((fac) => {
    const r0 = base.edits.get(fac.key)?.rank ?? 0;
    const gU = out[gradName(fac.layer, fac.module, 'U')].data as Float32Array;
    const gV = out[gradName(fac.layer, fac.module, 'V')].data as Float32Array;
    return [gU.slice(r0 * fac.out), gV.slice(r0 * fac.in)];
  });
  return { loss: Number(out.loss.data[0]), grads, feeds: s };
}
