// An edit as data: `.mechedit/edits/<id>.json` (reviewable, diffable) with its vectors in the
// sidecar `<id>.safetensors`. JSON schema: schemas/edit.schema.json.
//
//   { "format": "mechedit-edit/1", "id", "label", "method", "modelFingerprint",
//     "targets": [{ "layer", "module": "mlp.out" | "attn.out", "rank", "U": name, "V": name }],
//     "vectors": "<id>.safetensors", "request"?, "hparams"?, "training"?, "health"?, "created" }
//
// Each target is a rank-r update of one output projection, ΔW = Uᵀ V with U [r, d_out] and
// V [r, d_in] (y = W x + Uᵀ (V x)); a single-layer edit (ROME) has one target, MEMIT / ROCR one
// per layer. The fingerprint (sha256 of config.json, the safetensors headers and the weight
// bytes) binds the edit to its model.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { badInput } from '../errors';
import { editSchemaError } from './editSchema';
import { readSafetensorsHeader, readTensorF32 } from '../checkpoint/safetensors';
import { f32Tensor, writeSafetensors } from '../checkpoint/writeSafetensors';
import type { EditModule } from '../graph/taps';
import { jsonHas, makeOutFolder, refuseForeignFile, refuseInsideCheckpoint, refuseNotAFolder, writeOut, type CheckpointPlace } from '../outputs';
import { checkInput, readInputText } from '../inputs';
import { checkMagnitudes } from '../numbers';

export const EDIT_FORMAT = 'mechedit-edit/1';
/** The method that made an edit: a registry method's `writes ?? id` (schemas/edit.schema.json lists them, generated from the registry). */
export type EditMethod = string;

export interface EditTargetJson {
  layer: number;
  module: EditModule;
  rank: number;
  U: string;
  V: string;
  /** ROCR: the keys [n, d_in] the update was solved for (sequential edits add them to C_prev). */
  K?: string;
}

export interface EditJson {
  $schema?: string;
  format: typeof EDIT_FORMAT;
  id: string;
  label: string;
  method: EditMethod;
  modelFingerprint: string;
  targets: EditTargetJson[];
  vectors: string;
  request?: Record<string, unknown>;
  hparams?: Record<string, unknown>;
  /** Trained edits (method "unlearn"): the objective, how training stopped, the loss curve, before / after figures. */
  training?: Record<string, unknown>;
  health?: Record<string, unknown>;
  created: string;
}

/** An edit in memory: its JSON and, per target, U [rank·d_out] and V [rank·d_in] (row-major), and K [n·d_in] when the target has keys. */
export interface Edit {
  json: EditJson;
  file?: string;
  tensors: { U: Float32Array; V: Float32Array; K?: Float32Array }[];
  /** From readEdit: values within a factor 100 of the magnitude bound (numbers.ts), for the caller to show. */
  warnings?: string[];
}

export function newEditId(label: string): string {
  const slug = label.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 40) || 'edit';
  return `${slug}-${randomBytes(3).toString('hex')}`;
}

/**
 * Reads and validates an edit file and its sidecar; every error names the file and field. The
 * JSON is checked against schemas/edit.schema.json (editSchema.ts, ajv), the sidecar's tensors
 * against the targets (present, [rank, …], finite).
 */
export function readEdit(file: string): Edit {
  const where = (field: string, hint?: string) => ({ file, field, hint });
  const text = readInputText(file, 'edit');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw badInput(`Cannot read the edit: ${(e as Error).message}`, where('', 'An edit file is JSON (see schemas/edit.schema.json).'));
  }
  const invalid = editSchemaError(parsed, file);
  if (invalid) throw invalid;
  const json = parsed as EditJson;
  const sidecar = path.join(path.dirname(file), json.vectors);
  if (!fs.existsSync(sidecar)) throw badInput(`The vectors file ${json.vectors} is missing`, where('vectors', 'Keep the .safetensors file beside the edit\'s .json.'));
  checkInput(sidecar, 'vectors', 'vectors');
  const header = readSafetensorsHeader(sidecar);
  const warnings: string[] = [];
  const bounded = (values: Float32Array, name: string, field: string) => {
    const w = checkMagnitudes(values, `Tensor "${name}"`, where(field), 'Recompute the edit; an edit vector this large breaks the model');
    if (w) warnings.push(w);
    return values;
  };
  const tensors = json.targets.map((t, i) => {
    const f = `targets[${i}]`;
    const readKeys = (name: string) => {
      const entry = header.tensors.get(name);
      if (!entry || entry.shape.length !== 2) throw badInput(`Keys tensor "${name}" is missing or not a matrix`, where(`${f}.K`));
      return bounded(readTensorF32(entry), name, `${f}.K`);
    };
    const read = (key: 'U' | 'V') => {
      const entry = header.tensors.get(t[key]);
      if (!entry) throw badInput(`Tensor "${t[key]}" is not in ${json.vectors}`, where(`${f}.${key}`));
      if (entry.shape.length !== 2 || entry.shape[0] !== t.rank) throw badInput(`Tensor "${t[key]}" has shape [${entry.shape}], expected [${t.rank}, …]`, where(`${f}.${key}`));
      return bounded(readTensorF32(entry), t[key], `${f}.${key}`);
    };
    return { U: read('U'), V: read('V'), K: t.K ? readKeys(t.K) : undefined };
  });
  return { json, file, tensors, ...(warnings.length ? { warnings } : {}) };
}

/**
 * Writes `<id>.json` and its `<id>.safetensors` into the folder `out`; or, when `out` ends in
 * `.json`, that file and the sidecar beside it with the same stem (`mechedit edit … --out x.json`).
 * Refuses (checkEditOut) to write into the checkpoint's folders or over files that are not a
 * MechEdit edit's. Returns the JSON path.
 */
export function writeEdit(out: string, edit: Omit<Edit, 'file'>, dims: (t: EditTargetJson) => { out: number; in: number }, checkpoint: CheckpointPlace, force = false): string {
  const { dir, json: file, vectors } = checkEditOut(out, checkpoint, edit.json.id, force);
  makeOutFolder(dir);
  const hadVectors = fs.existsSync(vectors);
  const json: EditJson = { ...edit.json, vectors: path.basename(vectors) };
  writeSafetensors(
    vectors,
    json.targets.flatMap((t, i) => {
      const d = dims(t);
      const keys = t.K && edit.tensors[i].K ? [f32Tensor(t.K, [edit.tensors[i].K!.length / d.in, d.in], edit.tensors[i].K!)] : [];
      return [f32Tensor(t.U, [t.rank, d.out], edit.tensors[i].U), f32Tensor(t.V, [t.rank, d.in], edit.tensors[i].V), ...keys];
    }),
    { format: EDIT_FORMAT, id: json.id },
  );
  try {
    writeOut(file, `${JSON.stringify(json, null, 2)}\n`);
  } catch (e) {
    if (!hadVectors) fs.rmSync(vectors, { force: true }); // no vectors file without its edit
    throw e;
  }
  return file;
}

/**
 * Where writeEdit puts an edit, checked (outputs.ts): not in the checkpoint's folders, and the
 * .json / .safetensors it would replace are a MechEdit edit's (format "mechedit-edit/1" in the
 * JSON, in the safetensors metadata). Without `id` (before the edit is computed) a folder `out`
 * is checked as a place only. Call it before computing, so a bad --out fails in milliseconds.
 */
export function checkEditOut(out: string, checkpoint: CheckpointPlace, id?: string, force = false): { dir: string; json: string; vectors: string } {
  const named = out.endsWith('.json');
  const dir = named ? path.dirname(out) : out;
  const stem = named ? path.basename(out, '.json') : id ?? '';
  refuseInsideCheckpoint(dir, checkpoint, 'The edit folder');
  refuseNotAFolder(dir, named ? 'The folder of the edit file' : 'The edit output (a folder, or a name ending in .json)');
  const json = path.join(dir, `${stem}.json`);
  const vectors = path.join(dir, `${stem}.safetensors`);
  if (named || id) {
    refuseInsideCheckpoint(json, checkpoint, 'The edit file');
    refuseInsideCheckpoint(vectors, checkpoint, "The edit's vectors file");
    refuseForeignFile(json, (f) => jsonHas(f, 'format', [EDIT_FORMAT]), 'a MechEdit edit file', force);
    refuseForeignFile(vectors, (f) => readSafetensorsHeader(f).metadata?.format === EDIT_FORMAT, "a MechEdit edit's vectors file", force);
  }
  return { dir, json, vectors };
}
