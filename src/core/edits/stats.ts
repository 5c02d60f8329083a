// Key statistics C = E[k kᵀ] of the MLP output-projection inputs (blocks.{l}.mlp.key) at one
// layer, over a text corpus: uncentred second moment, the mean over token positions. Computed
// with a graph that stops after layer l and accumulates Kᵀ K inside the graph (only d_mlp² floats
// come out per batch), summed in float64. Cached in memory and on disk by everything that
// decides the value (StatsKey: model fingerprint, layer, corpus hash, samples, sequence length,
// rows per forward, sampling): <cache>/stats/<fingerprint>/L<l>-<corpus>-<n>-t<seq>-b<rows>-<sampling>.safetensors
// (tensor "C", metadata: count, layer, corpus files, seqLen, batch, sampling).
// Default sample size ≈ 10 × d_mlp key vectors (arXiv 2506.04226: ≥ 95 % of full-statistics
// editing quality).

import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import type { LoadedModel } from '../runtime/model';
import { cacheRoot } from '../cacheRoot';
import { withCacheLock } from '../cacheLock';
import { badInput, cancelled } from '../errors';
import { makeOutFolder } from '../outputs';
import { readSafetensorsHeader, readTensorF32 } from '../checkpoint/safetensors';
import { f32Tensor, writeSafetensors } from '../checkpoint/writeSafetensors';
import { cholesky, choleskySolve, dot, solveSmall } from './linalg';
import { readInputBytes, readInputText } from '../inputs';

export interface KeyStats {
  layer: number;
  /** C = E[k kᵀ], row-major [d_mlp, d_mlp]. */
  C: Float64Array;
  dim: number;
  /** Key vectors (token positions) averaged. */
  count: number;
  corpus: string[];
  file: string;
  cached: boolean;
}

export interface StatsOptions {
  layer: number;
  corpus: string[];
  samples?: number;
  /** Tokens per sequence (≤ the context), default STATS_SEQ_LEN. */
  seqLen?: number;
  /** Token rows per forward pass, default STATS_BATCH (the float32 sums inside the graph depend on it). */
  batch?: number;
  onProgress?: (done: number, total: number) => void;
  isCancelled?: () => boolean;
}

/** Token rows per forward pass when no batch is given. */
export const STATS_BATCH = 8;

/** Tokens per sequence when no seqLen is given (at most the model's context). */
export const STATS_SEQ_LEN = 128;

/** Names the way the corpus is sampled: changed with that code, so that cached statistics are recomputed. */
const SAMPLING = 's2';

/**
 * Everything that decides the value of C: the keys of the in-memory cache and the name of the
 * cache file. The corpus is named by the sha256 of its files' names and bytes.
 */
export interface StatsKey {
  fingerprint: string;
  layer: number;
  corpus: string;
  samples: number;
  seqLen: number;
  batch: number;
  sampling: string;
}

/** Corpus hashes by the files' paths, sizes and mtimes: a corpus is read for its hash once while it is unchanged. */
const corpusHashes = new Map<string, string>();

function corpusHash(files: string[]): string {
  const stamp = JSON.stringify([...files].sort().map((f) => {
    const st = fs.statSync(f);
    return [path.resolve(f), st.size, st.mtimeMs];
  }));
  let hash = corpusHashes.get(stamp);
  if (!hash) {
    const h = createHash('sha256');
    for (const f of [...files].sort()) h.update(path.basename(f)).update('\0').update(readInputBytes(f, 'text', 'corpus')).update('\0');
    corpusHashes.set(stamp, (hash = h.digest('hex').slice(0, 12)));
  }
  return hash;
}

function positiveInt(value: number | undefined, fallback: number, field: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) throw badInput(`${field} must be a whole number ≥ 1, got ${value}`, { field });
  return value;
}

/** The options checked and their defaults filled in (samples 10 × d_mlp, seqLen ≤ the context, STATS_BATCH rows). */
export function statsKey(model: LoadedModel, o: Pick<StatsOptions, 'layer' | 'corpus' | 'samples' | 'seqLen' | 'batch'>): StatsKey {
  const { dMlp, layers, maxPositions } = model.dims;
  if (!Number.isInteger(o.layer) || o.layer < 0 || o.layer >= layers) throw badInput(`Layer must be in 0…${layers - 1}, got ${o.layer}`, { field: 'layer' });
  if (o.corpus.length === 0) throw badInput('The corpus is empty', { field: 'corpus' });
  for (const f of o.corpus) if (!fs.existsSync(f) || !fs.statSync(f).isFile()) throw badInput('Corpus file not found', { file: f });
  return {
    fingerprint: model.checkpoint.fingerprint,
    layer: o.layer,
    corpus: corpusHash(o.corpus),
    samples: positiveInt(o.samples, 10 * dMlp, 'samples'),
    seqLen: Math.min(positiveInt(o.seqLen, STATS_SEQ_LEN, 'seqLen'), maxPositions),
    batch: positiveInt(o.batch, STATS_BATCH, 'batch'),
    sampling: SAMPLING,
  };
}

/** <cache>/stats/<fingerprint>/L<layer>-<corpus>-<samples>-t<seqLen>-b<batch>-<sampling>.safetensors */
export function statsFile(model: LoadedModel, o: Pick<StatsOptions, 'layer' | 'corpus' | 'samples' | 'seqLen' | 'batch'>): string {
  return fileOf(statsKey(model, o));
}

function fileOf(k: StatsKey): string {
  return path.join(cacheRoot(), 'stats', k.fingerprint, `L${k.layer}-${k.corpus}-${k.samples}-t${k.seqLen}-b${k.batch}-${k.sampling}.safetensors`);
}

/**
 * The corpus's documents, file after file: paragraphs separated by blank lines (a paragraph may
 * span lines: a multiple-choice question with its options), or lines where a file has no blank
 * line (one sentence per line).
 */
export function corpusDocuments(files: string[]): string[] {
  return files.flatMap((f) => {
    const text = readInputText(f, 'text', 'corpus').replace(/\r\n/g, '\n');
    return (/\n[ \t]*\n/.test(text) ? text.split(/\n[ \t]*\n/) : text.split('\n')).map((d) => d.trim()).filter(Boolean);
  });
}

/**
 * The documents in an order that covers the whole corpus from the start: index i·step mod n with
 * step ≈ 0.618·n coprime to n (a golden-ratio sweep), so the first few thousand key vectors come
 * from every part of every file, not from its head.
 */
export function* spreadDocuments(docs: string[]): Generator<string> {
  const n = docs.length;
  let step = Math.max(1, Math.round(n * 0.6180339887));
  const gcd = (a: number, b: number): number => (b ? gcd(b, a % b) : a);
  while (n > 1 && gcd(step, n) !== 1) step++;
  for (let i = 0; i < n; i++) yield docs[(i * step) % n];
}

/** The default corpus: corpus.txt beside the model (the bundled default model ships one). */
export function defaultCorpus(model: LoadedModel): string[] {
  const f = path.join(model.checkpoint.dir, 'corpus.txt');
  if (!fs.existsSync(f)) throw badInput('No corpus given and the model has no corpus.txt', { field: 'corpus', hint: 'Pass text files with --corpus (Wikipedia-like text works best).' });
  return [f];
}

/** One request for statistics that are being loaded or computed. */
interface Waiter {
  resolve: (s: KeyStats) => void;
  reject: (e: unknown) => void;
  onProgress?: (done: number, total: number) => void;
  isCancelled?: () => boolean;
}

/**
 * Key statistics by StatsKey: loaded ones per checkpoint object (dropped with it; solveC's factor
 * cache hangs on them), and those being loaded or computed, which later requests for the same key
 * join instead of computing them again. A joined computation reports its progress to every
 * request; a request that is cancelled leaves it, and it stops when no request is left.
 */
export class KeyStatsCache {
  private loaded = new WeakMap<object, Map<string, KeyStats>>();
  private running = new Map<string, Set<Waiter>>();

  async get(model: LoadedModel, o: StatsOptions): Promise<KeyStats> {
    const key = statsKey(model, o);
    const id = JSON.stringify(key);
    let perModel = this.loaded.get(model.checkpoint);
    if (!perModel) this.loaded.set(model.checkpoint, (perModel = new Map()));
    const known = perModel.get(id);
    if (known) return { ...known, cached: true };
    return new Promise<KeyStats>((resolve, reject) => {
      const waiter = { resolve, reject, onProgress: o.onProgress, isCancelled: o.isCancelled };
      const waiters = this.running.get(id);
      if (waiters) {
        waiters.add(waiter);
        return;
      }
      this.running.set(id, new Set([waiter]));
      void this.run(model, o.corpus, key, id, perModel!);
    });
  }

  private async run(model: LoadedModel, corpus: string[], key: StatsKey, id: string, perModel: Map<string, KeyStats>): Promise<void> {
    const waiters = this.running.get(id)!;
    // Before each forward pass: cancelled requests leave (and hear so); false once none is left.
    const wanted = (count: number): boolean => {
      for (const w of waiters) {
        if (!w.isCancelled?.()) continue;
        waiters.delete(w);
        w.reject(cancelled(`Key statistics cancelled after ${count} key vectors.`));
      }
      if (waiters.size === 0) this.running.delete(id);
      return waiters.size > 0;
    };
    const progress = (done: number, total: number) => {
      for (const w of waiters) w.onProgress?.(done, total);
    };
    try {
      const stats = await loadOrCompute(model, corpus, key, wanted, progress);
      perModel.set(id, stats);
      for (const w of waiters) w.resolve(stats);
    } catch (e) {
      for (const w of waiters) w.reject(e);
    } finally {
      if (this.running.get(id) === waiters) this.running.delete(id);
    }
  }
}

/** The cache keyStats uses: each edit (ROME, MEMIT, health, every case of an EVOKE run) asks again. */
export const keyStatsCache = new KeyStatsCache();

export function keyStats(model: LoadedModel, o: StatsOptions): Promise<KeyStats> {
  return keyStatsCache.get(model, o);
}

/**
 * The statistics of `key`, from its file or computed (then written there). `wanted` is asked before
 * each forward pass with the key vectors so far: false stops the computation (cancelled).
 */
async function loadOrCompute(model: LoadedModel, corpus: string[], key: StatsKey, wanted: (count: number) => boolean, progress: (done: number, total: number) => void): Promise<KeyStats> {
  const { dMlp } = model.dims;
  const { layer } = key;
  const file = fileOf(key);
  const ready = (): KeyStats | undefined => {
    if (!fs.existsSync(file)) return undefined;
    const header = readSafetensorsHeader(file);
    const C = Float64Array.from(readTensorF32(header.tensors.get('C')!));
    return { layer, C, dim: dMlp, count: Number(header.metadata.count), corpus, file, cached: true };
  };
  // Several processes (a sweep's array tasks) may want the same statistics at once: one computes them, the others wait and read the file.
  return withCacheLock(file, ready, () => computeStats(model, corpus, key, file, wanted, progress), {
    wanted: () => wanted(0),
    onGiveUp: () => cancelled('Key statistics cancelled while another process computed them.'),
  });
}

async function computeStats(model: LoadedModel, corpus: string[], key: StatsKey, file: string, wanted: (count: number) => boolean, progress: (done: number, total: number) => void): Promise<KeyStats> {
  const { dMlp } = model.dims;
  const { layer, samples, seqLen, batch } = key;
  // Token stream of documents picked across the whole corpus (every file), cut into sequences.
  const ids: number[] = [];
  for (const doc of spreadDocuments(corpusDocuments(corpus))) {
    ids.push(...model.tokenizer.encodeDocument(doc));
    if (ids.length >= samples * 1.1 + seqLen) break;
  }
  if (ids.length === 0) throw badInput('The corpus has no text', { file: corpus[0] });
  const rows: number[][] = [];
  for (let i = 0; i < ids.length; i += seqLen) rows.push(ids.slice(i, i + seqLen));
  const sum = new Float64Array(dMlp * dMlp);
  let count = 0;
  for (let i = 0; i < rows.length && count < samples; i += batch) {
    if (!wanted(count)) throw cancelled(`Key statistics cancelled after ${count} key vectors.`);
    const group = rows.slice(i, i + batch);
    // The statistics belong to the checkpoint (cached by its fingerprint): the unedited model's keys.
    const out = await model.bare().run({ gram: layer, layers: layer + 1 }, model.makeBatch(group));
    const gram = out.gram.data as Float32Array;
    for (let j = 0; j < gram.length; j++) sum[j] += gram[j];
    count += Number((out.count.data as BigInt64Array)[0]);
    progress(Math.min(count, samples), samples);
  }
  for (let j = 0; j < sum.length; j++) sum[j] /= count;
  makeOutFolder(path.dirname(file));
  // The cache may be shared by a cluster's nodes: writeSafetensors writes a temp name unique across hosts, then renames.
  const stored = Float32Array.from(sum);
  writeSafetensors(file, [f32Tensor('C', [dMlp, dMlp], stored)], {
    count: String(count), layer: String(layer), corpus: corpus.map((f) => path.resolve(f)).join('\n'), model: key.fingerprint,
    seqLen: String(seqLen), batch: String(batch), sampling: key.sampling,
  });
  // The values the file holds (float32), so that a run that computed C and one that read it back agree bit for bit.
  return { layer, C: Float64Array.from(stored), dim: dMlp, count, corpus, file, cached: false };
}

/** Cholesky factors of C + ρ I, per loaded matrix (the KeyStats objects are copies sharing C). */
const factors = new WeakMap<Float64Array, Float64Array>();

/**
 * x = (C + ρ I)⁻¹ b, with a small ridge ρ = 1e-6 · trace(C) / d so that rare directions (C is
 * only positive semi-definite, of rank ≤ the sample count) do not blow up. The Cholesky factor
 * is computed on the first solve (d³/6 multiply-adds: milliseconds at d_mlp 512, about a minute
 * at GPT-2 XL's 6400) and kept with the matrix, so later solves (every ROME edit, MEMIT's keys,
 * each health report) are two triangular sweeps.
 */
export function solveC(stats: KeyStats, b: Float64Array): Float64Array {
  const n = stats.dim;
  let L = factors.get(stats.C);
  if (!L) {
    let trace = 0;
    for (let i = 0; i < n; i++) trace += stats.C[i * n + i];
    try {
      L = cholesky(stats.C, n, (1e-6 * trace) / n);
    } catch (e) {
      throw badInput(`The key statistics of layer ${stats.layer} cannot be inverted: ${(e as Error).message}`, { file: stats.file, hint: 'Delete this statistics file so that it is computed again, or compute it from another corpus.' });
    }
    factors.set(stats.C, L);
  }
  return choleskySolve(L, n, b);
}

/**
 * (λ C + M Mᵀ)⁻¹ for the m columns of M (each d_mlp long), by Woodbury with A = λ C:
 * x = A⁻¹b − A⁻¹M (I + Mᵀ A⁻¹ M)⁻¹ Mᵀ A⁻¹ b, A⁻¹ from solveC divided by λ. A⁻¹M and the m × m
 * system are formed once; `finish` takes A⁻¹b (and overwrites it) and does the rest.
 */
function woodbury(stats: KeyStats, lambda: number, columns: Float64Array[]) {
  const m = columns.length;
  const aInv = (v: Float64Array) => solveC(stats, v).map((x) => x / lambda);
  const aInvM = columns.map(aInv);
  const small = new Float64Array(m * m);
  for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) small[i * m + j] = dot(columns[i], aInvM[j]) + (i === j ? 1 : 0);
  const finish = (x: Float64Array): Float64Array => {
    if (m === 0) return x;
    const y = solveSmall(small, Float64Array.from(columns, (c) => dot(c, x)), m);
    for (let j = 0; j < m; j++) for (let i = 0; i < x.length; i++) x[i] -= aInvM[j][i] * y[j];
    return x;
  };
  return { aInv, aInvM, finish };
}

/**
 * b ↦ (λ C + M Mᵀ)⁻¹ b: each solve is two triangular sweeps and an m × m solve (never a d_mlp²
 * system). ROCR's covariance regulariser.
 */
export function covarianceSolver(stats: KeyStats, lambda: number, columns: Float64Array[]): (b: Float64Array) => Float64Array {
  const w = woodbury(stats, lambda, columns);
  return (b) => w.finish(w.aInv(b));
}

/** MEMIT's adjusted keys K̃ = (λ C + K Kᵀ)⁻¹ K: the columns through the same solve, reusing A⁻¹K. */
export function adjustedColumns(stats: KeyStats, lambda: number, columns: Float64Array[]): Float64Array[] {
  const w = woodbury(stats, lambda, columns);
  return w.aInvM.map((a) => w.finish(Float64Array.from(a)));
}
