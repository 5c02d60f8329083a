// A model opened for running: checkpoint + plan + tokenizer + graphs on one execution provider.
// Graph variants (plain, with taps, with the logit lens, with a KV cache, truncated) are built on
// demand, written once to the graph folder and opened as sessions; weights are memory-mapped,
// so a new variant costs milliseconds and no copy.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import type { ExecutionProvider } from '../../protocol/engine';
import { openCheckpoint, type Checkpoint } from '../checkpoint/checkpoint';
import { planModel, type ModelPlan } from '../models/model';
import { buildForward, type ForwardOptions } from '../graph/forward';
import { editInput, EDIT_MODULES, type EditModule } from '../graph/taps';
import { TextTokenizer } from '../tokenizer';
import { badInput } from '../errors';
import { loadOrt, sessionOptions, type InferenceSession, type OrtTensor } from './ort';
import { prepareGraphDir, type GraphDir } from './graphDir';
import { writeFileAtomic } from '../atomicWrite';

/**
 * The name of a built graph in the graph folder: the sha256 of its bytes. Whatever changes the
 * graph (the builder's code, the plan, the options, the weight locations) names another file, and
 * a file of that name can only hold these bytes. Building costs a fraction of opening the session.
 */
export function graphKey(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex').slice(0, 32);
}

/** A rank-r update of one output projection: ΔW = Uᵀ V, U [r, d_out], V [r, d_in]. */
export interface EditTensors {
  rank: number;
  U: Float32Array;
  V: Float32Array;
}

const EMPTY = new Float32Array(0);

export type EditKey = `${number}:${EditModule}`;

export interface Batch {
  ids: BigInt64Array;
  mask: BigInt64Array;
  positions: BigInt64Array;
  batch: number;
  seq: number;
  /** Real (unpadded) length of each row. */
  lengths: number[];
}

export interface OpenOptions {
  provider: ExecutionProvider;
  threads: number;
  log?: (message: string) => void;
}

/** What every view of one opened model shares: its sessions and zero-update tensors. */
interface Shared {
  sessions: Map<string, Promise<InferenceSession>>;
  zeros: Map<string, EditTensors>;
}

/** No edits: the unedited model. */
export const NO_EDITS: ReadonlyMap<EditKey, EditTensors> = new Map();

/**
 * An opened model, or a *view* of one (withEdits): views share the checkpoint, the tokenizer and
 * the sessions, and each feeds its own edit inputs to its runs. A request that needs the model as
 * the user's edits leave it takes a view fixed at its start, so nothing another request does to
 * the edit stack meanwhile changes what it computes.
 */
export class LoadedModel {
  /**
   * The edit inputs fed to every run of this model (an edit stack combined per module). Replaced
   * as a whole, never changed in place: a view made from it stays as it was.
   */
  edits: ReadonlyMap<EditKey, EditTensors> = NO_EDITS;

  private constructor(
    readonly checkpoint: Checkpoint,
    readonly plan: ModelPlan,
    readonly tokenizer: TextTokenizer,
    readonly graphDir: GraphDir,
    readonly options: OpenOptions,
    private readonly shared: Shared,
  ) {}

  static open(modelPath: string, options: OpenOptions): LoadedModel {
    const checkpoint = openCheckpoint(modelPath);
    const plan = planModel(checkpoint);
    const tokenizer = TextTokenizer.fromCheckpoint(checkpoint, plan.dims.maxPositions);
    const graphDir = prepareGraphDir(checkpoint, options.log);
    return new LoadedModel(checkpoint, plan, tokenizer, graphDir, options, { sessions: new Map(), zeros: new Map() });
  }

  /** A view of this model that feeds `edits` to its runs (sessions shared, nothing copied). */
  withEdits(edits: ReadonlyMap<EditKey, EditTensors>): LoadedModel {
    const view = new LoadedModel(this.checkpoint, this.plan, this.tokenizer, this.graphDir, this.options, this.shared);
    view.edits = edits;
    return view;
  }

  /** A view of the unedited model. */
  bare(): LoadedModel {
    return this.withEdits(NO_EDITS);
  }

  private get sessions() {
    return this.shared.sessions;
  }

  private get zeros() {
    return this.shared.zeros;
  }

  get dims() {
    return this.plan.dims;
  }

  /** Opens (once) the session of a graph variant. */
  session(options: ForwardOptions): Promise<InferenceSession> {
    const key = JSON.stringify({ ...options, taps: options.taps ? [...options.taps].sort() : undefined });
    let s = this.sessions.get(key);
    if (!s) {
      s = this.createSession(options);
      s.catch(() => this.sessions.delete(key));
      this.sessions.set(key, s);
    }
    return s;
  }

  /** The graph's file in the graph folder (named by graphKey), written when it is not there yet. */
  graphFile(options: ForwardOptions): string {
    const bytes = buildForward(this.plan, this.graphDir.locate, options);
    const file = path.join(this.graphDir.dir, `${this.graphDir.prefix}${graphKey(bytes)}.onnx`);
    // The cache may be shared by a cluster's nodes: a temp name unique across hosts, then rename.
    if (!fs.existsSync(file)) writeFileAtomic(file, bytes);
    return file;
  }

  private async createSession(options: ForwardOptions): Promise<InferenceSession> {
    const file = this.graphFile(options);
    return loadOrt().InferenceSession.create(file, sessionOptions(this.options.provider, this.options));
  }

  /** Right-padded batch with positions counted over the unmasked tokens (as HF does). */
  makeBatch(rows: number[][]): Batch {
    if (rows.length === 0 || rows.some((r) => r.length === 0)) throw badInput('Empty prompt: nothing to run', { field: 'prompt' });
    const seq = Math.max(...rows.map((r) => r.length));
    if (seq > this.dims.maxPositions) {
      throw badInput(`The prompt is ${seq} tokens long but the model's context is ${this.dims.maxPositions}`, { field: 'prompt', hint: 'Shorten the prompt.' });
    }
    const batch = rows.length;
    const ids = new BigInt64Array(batch * seq);
    const mask = new BigInt64Array(batch * seq);
    const positions = new BigInt64Array(batch * seq);
    rows.forEach((row, b) => {
      for (let i = 0; i < row.length; i++) {
        const id = row[i];
        if (!Number.isInteger(id) || id < 0 || id >= this.dims.vocab) throw badInput(`Token id ${id} is outside the vocabulary (0…${this.dims.vocab - 1})`, { field: 'ids' });
        ids[b * seq + i] = BigInt(id);
        mask[b * seq + i] = 1n;
        positions[b * seq + i] = BigInt(i);
      }
    });
    return { ids, mask, positions, batch, seq, lengths: rows.map((r) => r.length) };
  }

  /** Feeds for a batch: ids, mask, positions, and the edit inputs of every layer. */
  feeds(b: Batch, extra: Record<string, OrtTensor> = {}): Record<string, OrtTensor> {
    const ort = loadOrt();
    const feeds: Record<string, OrtTensor> = {
      input_ids: new ort.Tensor('int64', b.ids, [b.batch, b.seq]),
      position_ids: new ort.Tensor('int64', b.positions, [b.batch, b.seq]),
      attention_mask: new ort.Tensor('int64', b.mask, [b.batch, b.mask.length / b.batch]),
    };
    for (let l = 0; l < this.dims.layers; l++) {
      for (const module of EDIT_MODULES) {
        const w = module === 'mlp.out' ? this.plan.blocks[l].down : this.plan.blocks[l].o;
        const e = this.edits.get(`${l}:${module}`) ?? this.noEdit(w.out, w.in);
        feeds[editInput(l, module, 'U')] = new ort.Tensor('float32', e.U, [e.rank, w.out]);
        feeds[editInput(l, module, 'V')] = new ort.Tensor('float32', e.V, [e.rank, w.in]);
      }
    }
    return { ...feeds, ...extra };
  }

  /**
   * "No edit": rank 0 on the CPU (empty tensors, exact). GPU providers get a rank-1 zero update
   * instead, also exact (y + (x·0)·0 = y), because WebGPU crashes on zero-sized inputs.
   */
  private noEdit(out: number, inDim: number): EditTensors {
    if (this.options.provider === 'cpu') return { rank: 0, U: EMPTY, V: EMPTY };
    const key = `${out}x${inDim}`;
    let zero = this.zeros.get(key);
    if (!zero) this.zeros.set(key, (zero = { rank: 1, U: new Float32Array(out), V: new Float32Array(inDim) }));
    return zero;
  }

  async run(options: ForwardOptions, b: Batch, extra: Record<string, OrtTensor> = {}): Promise<Record<string, OrtTensor>> {
    // 'last' is the batch's last position: with right padding it is a pad for shorter rows.
    if (options.logits === 'last' && b.lengths.some((n) => n !== b.seq) && !options.kvCache) {
      throw new Error(`logits 'last' needs rows of equal length (got ${b.lengths.join(', ')}); use 'all' or one row per run`);
    }
    const session = await this.session(options);
    return session.run(this.feeds(b, extra));
  }

  /** Releases the sessions of the model and of all its views. */
  async release(): Promise<void> {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(all.map(async (s) => (await s.catch(() => undefined))?.release()));
  }
}
