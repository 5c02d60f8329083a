// AlphaEdit (METHODS.md; ICLR 2025): MEMIT's keys and values (memit.ts: z_j from vstar.ts, keys
// at the subjects' last tokens, the residual spread over the layers left), with the update
// projected onto the null space of the preserved keys so that ΔW K0 ≈ 0, and earlier AlphaEdit
// edits kept by their keys K_p:
//   P      null-space projector of the layer's key statistics C (nullspace.ts), eigenvalues
//          below τ = threshold × mean eigenvalue of C;
//   ΔW_i   = R_i K1ᵀ P (K_p K_pᵀ P + K1 K1ᵀ P + λ I)⁻¹ = R_i Xᵀ with X = (P A P + λ I)⁻¹ P K1,
//          A = K_p K_pᵀ + K1 K1ᵀ (the columns of X lie in P's range, so the two forms agree).
//          Stored as U = R_i rows, V = X columns (rank n per layer), with the keys K1 (K.<layer>).
//   K_p    the keys of every enabled AlphaEdit edit in the stack at that layer, read from the
//          edits themselves (so the accumulation survives a restart: it is in the edit files).
//          P K_p is kept per projector, keyed by the stack's AlphaEdit targets; adding an edit
//          costs d² per key, reverting one rebuilds it.
// Solve: Woodbury over the projected columns M = P [K_p K1] while there are few (m ≤ d/4:
// an m × m system); else the dense d × d system P A P + λ I by Cholesky, with Σ P k kᵀ P kept.

import type { LoadedModel } from '../runtime/model';
import { badInput } from '../errors';
import type { EditStack } from './stack';
import type { Edit } from './editFile';
import { batchEditJson, memitTargets, spreadOverLayers, type MemitOptions } from './memit';
import type { VStarResult } from './vstar';
import type { FactRequest } from './rome';
import { cholesky, choleskySolve, solveLowRank } from './linalg';
import { applyProjector, energyShareTau, nullSpaceFor, projectorLeakage, relativeTau, type NullSpace } from './nullspace';
import { ALPHAEDIT_PAPER, NULL_ENERGY_SHARE, referenceModel } from './paperPresets';

/**
 * Defaults for any model (chosen on the bundled model, bench/alphaedit.mjs; see the report):
 *   threshold  0.1 × the mean eigenvalue of C (the reference's 2e-2 is absolute, on GPT-2 XL /
 *              Llama statistics; on the bundled model's layer 0 it leaves 5 of 512 directions);
 *   lambda     the ridge λ relative to the mean eigenvalue as well (λ = lambda × trace C / d).
 */
export const ALPHAEDIT_DEFAULTS = { threshold: 0.1, lambda: 1 };

export interface AlphaEditOptions extends MemitOptions {
  /** τ = threshold × mean eigenvalue of C. */
  threshold?: number;
  /** τ such that the null space holds at most this share of C's energy (nullspace.energyShareTau); wins over threshold. */
  nullEnergy?: number;
  /** λ = lambda × mean eigenvalue of C. */
  lambda?: number;
}

/** One layer's null space as the edit records it: τ and λ absolute, its energy share and the leakage on the corpus keys. */
export interface LayerNullSpace {
  layer: number;
  tau: number;
  dimension: number;
  lambda: number;
  /** trace(P C) / trace C: the share of the corpus keys' energy in P's range. */
  energy: number;
  /** √energy: RMS ‖P k‖ / ‖k‖ over the corpus keys (0 = they are protected exactly). */
  leakage: number;
  /** How τ was chosen. */
  rule: 'relative' | 'energy' | 'absolute';
}

/**
 * τ and λ at one layer:
 *   nullEnergy given      τ for that energy share, λ = lambda × mean eigenvalue (default 1);
 *   paper, no threshold   the reference's absolute 2e-2 and L2 10 on its own models; elsewhere τ
 *                         for NULL_ENERGY_SHARE of the energy and L2 = (10 / 2e-2) × τ (the
 *                         reference's L2 / τ, so that both stay on C's scale);
 *   otherwise             τ = threshold × mean eigenvalue, λ = lambda × mean eigenvalue.
 */
export function layerTauLambda(stats: { C: Float64Array; dim: number }, o: AlphaEditOptions, onReference: boolean): { tau: number; lambda: number; rule: LayerNullSpace['rule'] } {
  const mean = relativeTau(stats.C, stats.dim, 1);
  const paper = o.preset === 'paper' && o.threshold === undefined;
  if (o.nullEnergy !== undefined) return { tau: energyShareTau(stats.C, stats.dim, o.nullEnergy).tau, lambda: (o.lambda ?? ALPHAEDIT_DEFAULTS.lambda) * mean, rule: 'energy' };
  if (paper && onReference) return { tau: ALPHAEDIT_PAPER.threshold, lambda: o.lambda !== undefined ? o.lambda * mean : ALPHAEDIT_PAPER.L2, rule: 'absolute' };
  if (paper) {
    const tau = energyShareTau(stats.C, stats.dim, NULL_ENERGY_SHARE).tau;
    return { tau, lambda: o.lambda !== undefined ? o.lambda * mean : (ALPHAEDIT_PAPER.L2 / ALPHAEDIT_PAPER.threshold) * tau, rule: 'energy' };
  }
  return { tau: (o.threshold ?? ALPHAEDIT_DEFAULTS.threshold) * mean, lambda: (o.lambda ?? ALPHAEDIT_DEFAULTS.lambda) * mean, rule: 'relative' };
}

export interface AlphaEditReport {
  vstar: VStarResult[];
  nullSpace: { layer: number; tau: number; dimension: number; seconds: number; cached: boolean; leakage: number }[];
  /** Milliseconds: statistics, z optimisation, projectors (cached after the first), keys and solves. */
  timing: { stats: number; vstar: number; nullSpace: number; solve: number };
}

interface Accumulated {
  ids: Set<string>;
  /** P k for each key of the earlier edits. */
  cols: Float64Array[];
  /** Σ P k kᵀ P over cols (row-major d × d), once the dense solve has needed it. */
  sum?: Float64Array;
}

const accumulated = new WeakMap<Float32Array, Accumulated>();

function addOuter(sum: Float64Array, v: Float64Array): void {
  const d = v.length;
  for (let i = 0; i < d; i++) {
    const vi = v[i];
    if (vi === 0) continue;
    const row = i * d;
    for (let j = 0; j <= i; j++) sum[row + j] += vi * v[j];
  }
}

/** P K_p for the stack's enabled AlphaEdit edits at `layer` (cached per projector; rebuilt when one of the cached edits left the stack). */
export function previousKeys(stack: EditStack, layer: number, ns: NullSpace): Accumulated {
  const blocks = stack.keyBlocks(layer, 'alphaedit');
  const ids = new Set(blocks.map((b) => b.id));
  const cached = accumulated.get(ns.P);
  const fresh = blocks.filter((b) => !cached?.ids.has(b.id));
  if (cached && fresh.length === 0 && cached.ids.size === ids.size) return cached;
  // A new object, never the cached one extended in place: another request may be holding that one
  // for its own stack (the engine serves requests concurrently).
  const reuse = cached && [...cached.ids].every((id) => ids.has(id));
  const acc: Accumulated = reuse ? { ids: new Set(cached.ids), cols: [...cached.cols], sum: cached.sum && Float64Array.from(cached.sum) } : { ids: new Set(), cols: [] };
  const d = ns.dim;
  for (const b of reuse ? fresh : blocks) {
    for (let r = 0; r < b.K.length / d; r++) {
      const pk = applyProjector(ns, b.K.subarray(r * d, (r + 1) * d));
      acc.cols.push(pk);
      if (acc.sum) addOuter(acc.sum, pk);
    }
    acc.ids.add(b.id);
  }
  accumulated.set(ns.P, acc);
  return acc;
}

/** X = (P A P + λ I)⁻¹ P K1 for A = K_p K_pᵀ + K1 K1ᵀ (one column per key of K1). */
export function alphaEditColumns(ns: NullSpace, acc: Accumulated, keys: Float64Array[], lambda: number): Float64Array[] {
  const d = ns.dim;
  const pk = keys.map((k) => applyProjector(ns, k));
  const m = acc.cols.length + pk.length;
  if (m <= d / 4) {
    const cols = [...acc.cols, ...pk];
    return pk.map((b) => solveLowRank(cols, lambda, b));
  }
  if (!acc.sum) {
    acc.sum = new Float64Array(d * d);
    for (const c of acc.cols) addOuter(acc.sum, c);
  }
  const A = Float64Array.from(acc.sum);
  for (const c of pk) addOuter(A, c);
  const L = cholesky(A, d, lambda); // lower triangle of P A P, plus λ I
  return pk.map((b) => choleskySolve(L, d, b));
}

export async function computeAlphaEdit(model: LoadedModel, stack: EditStack, requests: FactRequest[], o: AlphaEditOptions = {}): Promise<{ edit: Edit; report: AlphaEditReport }> {
  for (const [field, v] of [['threshold', o.threshold], ['lambda', o.lambda]] as const) {
    if (v !== undefined && (!(v > 0) || !Number.isFinite(v))) throw badInput(`${field === 'lambda' ? 'λ' : 'The threshold'} must be a positive number, got ${v}`, { field });
  }
  if (o.nullEnergy !== undefined && !(o.nullEnergy > 0 && o.nullEnergy < 1)) throw badInput(`nullEnergy must be a share between 0 and 1, got ${o.nullEnergy}`, { field: 'nullEnergy' });
  const t = await memitTargets(model, requests, o, 'AlphaEdit');
  const t2 = performance.now();
  const onReference = referenceModel(model.dims) !== undefined;
  const spaces: NullSpace[] = [];
  const layers: LayerNullSpace[] = [];
  for (const [i, stats] of t.stats.entries()) {
    const { tau, lambda, rule } = layerTauLambda(stats, o, onReference);
    const ns = await nullSpaceFor(model, stats, tau, { isCancelled: o.isCancelled });
    if (ns.dimension === 0) throw badInput(`The key statistics of layer ${stats.layer} have no eigenvalue below τ = ${tau.toPrecision(3)}: the null space is empty`, { field: 'threshold', hint: 'Raise the threshold.' });
    spaces.push(ns);
    const leakage = projectorLeakage(ns.P, stats.C, stats.dim);
    layers.push({ layer: t.layers[i], tau, dimension: ns.dimension, lambda, energy: leakage ** 2, leakage, rule });
  }
  const t3 = performance.now();
  const { lambda: _mom2, ...vstarHp } = t.hp;
  const json = batchEditJson(model, 'alphaedit', 'AlphaEdit', requests, {
    layers: t.layers, defaults: t.defaults, ...vstarHp, threshold: o.threshold ?? (layers[0].rule === 'relative' ? ALPHAEDIT_DEFAULTS.threshold : null),
    nullEnergy: o.nullEnergy ?? (layers[0].rule === 'energy' ? NULL_ENERGY_SHARE : null), lambda: o.lambda ?? (layers[0].rule === 'relative' ? ALPHAEDIT_DEFAULTS.lambda : null),
    lti: t.lti ?? false, seed: o.seed ?? 0, templates: t.templates, stats: { corpus: t.stats[0].corpus, samples: t.stats[0].count },
    nullSpace: layers.map((l, i) => ({ ...l, previousKeys: previousKeys(stack, l.layer, spaces[i]).cols.length })),
  }, o.label);
  const draft: Edit = { json, tensors: [] };
  await spreadOverLayers(stack, requests, t, draft, (i, keys) => alphaEditColumns(spaces[i], previousKeys(stack, t.layers[i], spaces[i]), keys, layers[i].lambda));
  const nullSpace = spaces.map((s, i) => ({ layer: t.layers[i], tau: s.tau, dimension: s.dimension, seconds: s.seconds, cached: s.cached, leakage: layers[i].leakage }));
  return { edit: draft, report: { vstar: t.vstar, nullSpace, timing: { ...t.timing, nullSpace: t3 - t2, solve: performance.now() - t3 } } };
}
