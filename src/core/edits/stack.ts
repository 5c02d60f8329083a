// The edit stack of an open model: an ordered list of edits, each enabled or not, with a
// strength α. Applying, reverting, toggling, scaling or reordering only recombines the edit
// inputs fed to every run (model.edits): no session is rebuilt. Edits on the same module stack
// as a higher rank: U = [α₁U₁; α₂U₂; …], V = [V₁; V₂; …]. An empty stack feeds rank 0, so
// reverting everything gives bit-identical logits to the unedited model.

import type { LoadedModel, EditKey, EditTensors } from '../runtime/model';
import { badInput, MechEditError } from '../errors';
import type { Edit } from './editFile';

export interface StackEntry {
  edit: Edit;
  enabled: boolean;
  strength: number;
}

export type { StackItem } from '../../protocol/edits';
import type { StackItem } from '../../protocol/edits';

export class EditStack {
  private entries: StackEntry[] = [];

  /** The stack sets `model.edits` on every change: give it a model (or view) of its own. */
  constructor(readonly model: LoadedModel) {}

  /**
   * A private copy of this stack, on a view of the model with the same edit inputs: what a
   * request or a computation changes on the copy (a draft edit, a case's edit, edits switched
   * off) never reaches this stack, and what is done to this stack meanwhile never reaches it.
   */
  fork(): EditStack {
    const copy = new EditStack(this.model.withEdits(this.model.edits));
    copy.entries = this.entries.map((e) => ({ ...e }));
    return copy;
  }

  /** The same edits, in the same state, on another LoadedModel of the same checkpoint. */
  moveTo(model: LoadedModel): EditStack {
    const next = new EditStack(model);
    for (const e of this.entries) next.check(e.edit);
    next.entries = this.entries.map((e) => ({ ...e }));
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

  /** Recombines the enabled edits into the model's edit inputs. */
  private sync(): void {
    const parts = new Map<EditKey, { U: Float32Array; V: Float32Array; rank: number; alpha: number }[]>();
    for (const e of this.entries) {
      if (!e.enabled || e.strength === 0) continue;
      e.edit.json.targets.forEach((t, i) => {
        const key = `${t.layer}:${t.module}` as EditKey;
        const list = parts.get(key) ?? [];
        list.push({ ...e.edit.tensors[i], rank: t.rank, alpha: e.strength });
        parts.set(key, list);
      });
    }
    const edits = new Map<EditKey, EditTensors>();
    for (const [key, list] of parts) {
      const rank = list.reduce((a, p) => a + p.rank, 0);
      const U = new Float32Array(list.reduce((a, p) => a + p.U.length, 0));
      const V = new Float32Array(list.reduce((a, p) => a + p.V.length, 0));
      let u = 0;
      let v = 0;
      for (const p of list) {
        if (p.alpha === 1) U.set(p.U, u);
        else for (let i = 0; i < p.U.length; i++) U[u + i] = p.alpha * p.U[i];
        V.set(p.V, v);
        u += p.U.length;
        v += p.V.length;
      }
      edits.set(key, { rank, U, V });
    }
    this.model.edits = edits;
  }
}
