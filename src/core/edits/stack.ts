// The edit stack of an open model: an ordered list of edits, each enabled or not, with a
// strength α. Applying, reverting, toggling, scaling or reordering only recombines the edit
// inputs fed to every run of the stack's own view of the model (stack.model.edits): no session
// is rebuilt. Edits on the same module stack as a higher rank: U = [α₁U₁; α₂U₂; …],
// V = [V₁; V₂; …]. An empty stack feeds rank 0, so reverting everything gives bit-identical
// logits to the unedited model.
//
// Consolidation (consolidate.ts): once a module's summed rank exceeds the policy's limit (by
// default min(d_out, d_in)), the stack feeds one folded update for it instead: ΔW formed densely
// (exact up to float32), or a truncated SVD within a stated tolerance (policy 'svd'). The edits
// stay in the list, as they are in their files: any change recomputes the fold from them, so
// revert stays exact. The dense ΔW is cached per module (never changed in place, so forks share
// it); an edit applied on top only adds its own Uᵀ V to a copy.

import type { LoadedModel, EditKey, EditTensors } from '../runtime/model';
import { badInput, MechEditError } from '../errors';
import type { Edit } from './editFile';
import { addDense, denseFactors, stackParts, truncatedSvd, type ConsolidationPolicy, type FactorPart, type ModuleConsolidation } from './consolidate';

/**
 * What a module was last fed, for the parts (by identity, in order) it came from; with ΔW when it
 * was formed, and (policy svd) the truncated SVD of the first `count` parts, with the squared
 * Frobenius norm of what it dropped: later parts are stacked on it until the rank limit is reached.
 */
interface ModuleFeed {
  parts: FactorPart[];
  dense?: Float64Array;
  svd?: { count: number; tensors: EditTensors; dropped: number };
  fed: EditTensors;
  info: ModuleConsolidation;
}

export interface StackEntry {
  edit: Edit;
  enabled: boolean;
  strength: number;
}

export type { StackItem } from '../../protocol/edits';
import type { StackItem } from '../../protocol/edits';

export class EditStack {
  /**
   * The stack's own view of the model (LoadedModel.bare()): every change sets its edit inputs,
   * and nothing else does. Run this (not the model the stack was made from) to run with the edits.
   */
  readonly model: LoadedModel;
  private entries: StackEntry[] = [];
  private policy: ConsolidationPolicy = { mode: 'exact' };
  private feeds = new Map<EditKey, ModuleFeed>();

  /**
   * An empty stack on a view of its own of `model`, which is not changed: the stack feeds no
   * edits from the start, whatever `model` feeds or an earlier stack on it applied.
   */
  constructor(model: LoadedModel) {
    this.model = model.bare();
  }

  /**
   * A private copy of this stack, on a view of the model with the same edit inputs: what a
   * request or a computation changes on the copy (a draft edit, a case's edit, edits switched
   * off) never reaches this stack, and what is done to this stack meanwhile never reaches it.
   */
  fork(): EditStack {
    const copy = new EditStack(this.model);
    copy.model.edits = this.model.edits; // the copy's own view takes this stack's inputs
    copy.entries = this.entries.map((e) => ({ ...e }));
    copy.policy = this.policy;
    copy.feeds = new Map(this.feeds);
    return copy;
  }

  /** The same edits, in the same state, on a view of another LoadedModel of the same checkpoint. */
  moveTo(model: LoadedModel): EditStack {
    const next = new EditStack(model);
    for (const e of this.entries) next.check(e.edit);
    next.entries = this.entries.map((e) => ({ ...e }));
    next.policy = this.policy;
    next.sync();
    return next;
  }

  list(): StackItem[] {
    return this.entries.map((e) => ({
      id: e.edit.json.id,
      label: e.edit.json.label,
      method: e.edit.json.method,
      file: e.edit.file,
      enabled: e.enabled,
      strength: e.strength,
      targets: e.edit.json.targets.map(({ layer, module, rank }) => ({ layer, module, rank })),
    }));
  }

  /** The edits the stack feeds (enabled, strength ≠ 0), in order: what a run on it measures. */
  applied(): Edit[] {
    return this.entries.filter((e) => e.enabled && e.strength !== 0).map((e) => e.edit);
  }

  /** How modules whose summed rank exceeds a limit are folded (default: exact, above min(d_out, d_in)). */
  setConsolidation(policy: ConsolidationPolicy): void {
    if (policy.mode === 'svd' && !(policy.tolerance >= 0 && policy.tolerance < 1)) throw badInput(`The SVD tolerance must be in [0, 1), got ${policy.tolerance}`, { field: 'tolerance' });
    if (policy.mode !== 'off' && policy.above !== undefined && !(Number.isInteger(policy.above) && policy.above >= 0)) throw badInput(`The rank limit must be a whole number ≥ 0, got ${policy.above}`, { field: 'above' });
    this.policy = policy;
    this.feeds = new Map();
    this.sync();
  }

  /** Per edited module ("layer:module"): the summed rank, the rank fed, and how (stacked, dense or svd with its error). */
  consolidation(): Map<EditKey, ModuleConsolidation> {
    return new Map([...this.feeds].map(([key, f]) => [key, { ...f.info }]));
  }

  /** Checks an edit against this model: fingerprint, layers, and the vector shapes. */
  check(edit: Edit): void {
    const { json } = edit;
    const where = { file: edit.file, hint: undefined as string | undefined };
    if (json.modelFingerprint !== this.model.checkpoint.fingerprint) {
      throw badInput(
        `Edit "${json.label}" was made for another model (fingerprint ${json.modelFingerprint}); the open model ${this.model.checkpoint.dir} has fingerprint ${this.model.checkpoint.fingerprint}`,
        { ...where, field: 'modelFingerprint', hint: 'Open the model the edit was computed on, or compute the edit again on this one.' },
      );
    }
    json.targets.forEach((t, i) => {
      if (t.layer >= this.model.dims.layers) throw badInput(`Layer ${t.layer} does not exist (the model has ${this.model.dims.layers})`, { ...where, field: `targets[${i}].layer` });
      const w = this.weightOf(t.layer, t.module);
      const { U, V } = edit.tensors[i];
      if (U.length !== t.rank * w.out) throw badInput(`U of target ${i} has ${U.length / t.rank} columns; ${t.module} at layer ${t.layer} has d_out ${w.out}`, { ...where, field: `targets[${i}].U` });
      if (V.length !== t.rank * w.in) throw badInput(`V of target ${i} has ${V.length / t.rank} columns; ${t.module} at layer ${t.layer} has d_in ${w.in}`, { ...where, field: `targets[${i}].V` });
    });
  }

  /** The value vectors (rows of U, d_out each) of the enabled edits, per target (concept cosines). */
  values(): { id: string; label: string; layer: number; module: string; values: Float32Array[] }[] {
    return this.entries.filter((e) => e.enabled).flatMap((e) => e.edit.json.targets.map((t, i) => {
      const U = e.edit.tensors[i].U;
      const d = U.length / t.rank;
      return { id: e.edit.json.id, label: e.edit.json.label, layer: t.layer, module: t.module, values: Array.from({ length: t.rank }, (_, r) => U.subarray(r * d, (r + 1) * d)) };
    }));
  }

  /** Keys (columns of d_in) of the enabled edits' targets at `layer` that recorded them (ROCR's C_prev). */
  keysAt(layer: number): Float64Array[] {
    const cols: Float64Array[] = [];
    for (const e of this.entries) {
      if (!e.enabled) continue;
      e.edit.json.targets.forEach((t, i) => {
        const K = e.edit.tensors[i].K;
        if (t.layer !== layer || t.module !== 'mlp.out' || !K) return;
        const d = this.weightOf(layer, 'mlp.out').in;
        for (let r = 0; r < K.length / d; r++) cols.push(Float64Array.from(K.subarray(r * d, (r + 1) * d)));
      });
    }
    return cols;
  }

  /** Per enabled edit of `method` with keys at `layer`'s mlp.out: its id and keys [n·d_in] (AlphaEdit's K_p). */
  keyBlocks(layer: number, method: string): { id: string; K: Float32Array }[] {
    return this.entries.flatMap((e) => (!e.enabled || e.edit.json.method !== method ? [] : e.edit.json.targets.flatMap((t, i) => {
      const K = e.edit.tensors[i].K;
      return t.layer === layer && t.module === 'mlp.out' && K ? [{ id: `${e.edit.json.id}#${i}`, K }] : [];
    })));
  }

  /** Adds an edit on top (or replaces the one with the same id, keeping its place). */
  apply(edit: Edit, strength = 1): void {
    this.check(edit);
    const i = this.entries.findIndex((e) => e.edit.json.id === edit.json.id);
    const entry = { edit, enabled: true, strength };
    if (i >= 0) this.entries[i] = entry;
    else this.entries.push(entry);
    this.sync();
  }

  revert(id: string): void {
    this.entries.splice(this.index(id), 1);
    this.sync();
  }

  revertAll(): void {
    this.entries = [];
    this.sync();
  }

  setEnabled(id: string, enabled: boolean): void {
    const i = this.index(id);
    this.entries[i] = { ...this.entries[i], enabled };
    this.sync();
  }

  scale(id: string, strength: number): void {
    if (!Number.isFinite(strength)) throw badInput(`Strength must be a finite number, got ${strength}`, { field: 'strength' });
    const i = this.index(id);
    this.entries[i] = { ...this.entries[i], strength };
    this.sync();
  }

  /** New order, as a permutation of the current ids. */
  reorder(ids: string[]): void {
    const current = this.entries.map((e) => e.edit.json.id);
    if (ids.length !== current.length || [...ids].sort().join('\n') !== [...current].sort().join('\n')) {
      throw badInput(`The new order must list each of the ${current.length} edits once`, { field: 'ids' });
    }
    this.entries = ids.map((id) => this.entries[this.index(id)]);
    this.sync();
  }

  private index(id: string): number {
    const i = this.entries.findIndex((e) => e.edit.json.id === id);
    if (i < 0) throw new MechEditError({ code: 'not-found', message: `No edit "${id}" in the stack`, field: 'id' });
    return i;
  }

  private weightOf(layer: number, module: string) {
    const b = this.model.plan.blocks[layer];
    return module === 'mlp.out' ? b.down : b.o;
  }

  /** Recombines the enabled edits into the model's edit inputs, folding modules above the policy's limit. */
  private sync(): void {
    const parts = new Map<EditKey, FactorPart[]>();
    for (const e of this.entries) {
      if (!e.enabled || e.strength === 0) continue;
      e.edit.json.targets.forEach((t, i) => {
        const key = `${t.layer}:${t.module}` as EditKey;
        const list = parts.get(key) ?? [];
        const { U, V } = e.edit.tensors[i];
        list.push({ U, V, rank: t.rank, alpha: e.strength });
        parts.set(key, list);
      });
    }
    const feeds = new Map<EditKey, ModuleFeed>();
    for (const [key, list] of parts) {
      const cached = this.feeds.get(key);
      const prefix = cached && cached.parts.length <= list.length && cached.parts.every((p, i) => p.U === list[i].U && p.V === list[i].V && p.alpha === list[i].alpha);
      if (prefix && cached.parts.length === list.length) feeds.set(key, cached);
      else feeds.set(key, this.feed(key, list, prefix ? cached : undefined));
    }
    this.feeds = feeds;
    this.model.edits = new Map([...feeds].map(([key, f]) => [key, f.fed]));
  }

  /** A module's feed: its parts stacked, or folded (dense or svd) when their summed rank exceeds the limit. */
  private feed(key: EditKey, list: FactorPart[], prefix?: ModuleFeed): ModuleFeed {
    const [layer, module] = key.split(':');
    const w = this.weightOf(Number(layer), module);
    const summedRank = list.reduce((a, p) => a + p.rank, 0);
    const small = Math.min(w.out, w.in);
    const limit = this.policy.mode === 'off' ? Infinity : this.policy.above ?? small;
    if (summedRank <= limit || (this.policy.mode === 'exact' && summedRank <= small)) {
      return { parts: list, fed: stackParts(list), info: { summedRank, rank: summedRank, kind: 'stacked', error: 0 } };
    }
    // ΔW from the prefix's (plus the parts after it), or summed anew from every part.
    let dense: Float64Array | undefined;
    if (summedRank > small) {
      dense = prefix?.dense
        ? addDense(Float64Array.from(prefix.dense), list.slice(prefix.parts.length), w.out, w.in)
        : addDense(new Float64Array(w.out * w.in), list, w.out, w.in);
    }
    if (this.policy.mode === 'svd') {
      // Stack the new parts on the prefix's SVD while the rank and the error allow (‖ΔW‖ from the
      // dense ΔW; the fed ΔW misses exactly what the SVD dropped), else fold all parts anew.
      const base = prefix?.svd;
      if (dense && base) {
        const tail = list.slice(base.count);
        const rank = base.tensors.rank + tail.reduce((a, p) => a + p.rank, 0);
        const norm2 = dense.reduce((a, x) => a + x * x, 0);
        const error = norm2 > 0 ? Math.sqrt(base.dropped / norm2) : 0;
        if (rank <= limit && error <= this.policy.tolerance) {
          const fed = stackParts([{ ...base.tensors, alpha: 1 }, ...tail]);
          return { parts: list, dense, svd: base, fed, info: { summedRank, rank, kind: 'svd', error } };
        }
      }
      const { tensors, error, singularValues } = truncatedSvd(dense ? { dense } : { parts: list }, w.out, w.in, this.policy.tolerance);
      const dropped = singularValues.slice(tensors.rank).reduce((a, x) => a + x * x, 0);
      const svd = { count: list.length, tensors, dropped };
      return { parts: list, dense, svd, fed: tensors, info: { summedRank, rank: tensors.rank, kind: 'svd', error } };
    }
    return { parts: list, dense, fed: denseFactors(dense!, w.out, w.in), info: { summedRank, rank: small, kind: 'dense', error: 0 } };
  }
}
