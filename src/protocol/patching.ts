// Activation patching, attribution patching and attention patterns: results shared by the core
// (src/core/analysis/patching.ts, attribution.ts, heads.ts), the CLI's --json, the engine and the
// Causal Tracing panel's Patching tab and Attention view.

import { decodeRows, encodeRows, type WireTensor } from './tensor';

export type PatchNodeKind = 'resid' | 'mlp' | 'attn' | 'heads';
export const PATCH_NODE_KINDS: readonly PatchNodeKind[] = ['resid', 'mlp', 'attn', 'heads'];
export type PatchMetric = 'logit-diff' | 'prob';
export const PATCH_METRICS: readonly PatchMetric[] = ['logit-diff', 'prob'];
/** exact: activation patching; atp: attribution patching (first order); atp-ig: integrated gradients. */
export type PatchMethod = 'exact' | 'atp' | 'atp-ig';

/** A patching request (the engine's model/patch, the Patching tab's). */
export interface PatchParams {
  clean: string;
  corrupt: string;
  answer: string;
  wrong?: string;
  metric?: PatchMetric;
  nodes?: PatchNodeKind[];
  method: PatchMethod;
  /** Integrated-gradients steps (atp-ig; default 16). */
  igSteps?: number;
}

export interface AttentionParams {
  prompt: string;
  layer: number;
  head?: number;
}

export interface PatchToken {
  id: number;
  text: string;
}

/**
 * One kind of node: rows × positions of the corrupted prompt. Rows are layers ("L3"), or for
 * heads layer × head ("L3.H1", layer-major). Node (row r, position t) is the tap
 * blocks.{l}.resid_post | mlp_out | attn_out | attn.head.{h} at token t.
 */
export interface PatchGrid {
  kind: PatchNodeKind;
  rows: string[];
  /** The metric with this node patched (exact), or its first-order estimate corrupt + attribution. */
  raw: number[][];
  /** (raw − corrupt) / (clean − corrupt); null where clean = corrupt. */
  normalized: (number | null)[][];
}

export interface PatchingResult {
  method: PatchMethod;
  /** Integrated-gradients steps (atp-ig). */
  igSteps?: number;
  metric: PatchMetric;
  tokens: PatchToken[];
  corruptTokens: PatchToken[];
  answer: PatchToken;
  /** The wrong answer of logit-diff (given, or the corrupted run's top token). */
  wrong?: PatchToken;
  /** The metric on the clean and on the corrupted prompt. */
  clean: number;
  corrupt: number;
  grids: PatchGrid[];
  /** Wall time of the computation (after opening the model). */
  ms: number;
  /** Forward rows run (exact) or forward + backward rows (attribution). */
  rowsRun: number;
}

export interface AttentionResult {
  layer: number;
  /** The heads shown: one when a head was asked for, else all. */
  heads: number[];
  tokens: PatchToken[];
  /** patterns[i][q][k]: head heads[i]'s attention of query q on key k (0 above the diagonal). */
  patterns: number[][][];
  /** The mean over the model's heads. */
  mean: number[][];
}

// ---- On the wire (engine → extension → webview): grids and patterns as float32 tensors, never as
// JSON arrays of numbers. A grid crosses as its effects (raw − corrupt), which keeps small effects
// exact to float32; raw and normalized are rebuilt from them.

export interface PatchGridWire {
  kind: PatchNodeKind;
  rows: string[];
  /** [rows, positions] float32: raw − corrupt. */
  effects: WireTensor;
}
export type PatchingWire = Omit<PatchingResult, 'grids'> & { grids: PatchGridWire[] };
export type AttentionWire = Omit<AttentionResult, 'patterns' | 'mean'> & { patterns: WireTensor[]; mean: WireTensor };

export function encodePatching(r: PatchingResult): PatchingWire {
  return { ...r, grids: r.grids.map((g) => ({ kind: g.kind, rows: g.rows, effects: encodeRows(g.raw.map((row) => row.map((v) => v - r.corrupt))) })) };
}

export function decodePatching(w: PatchingWire): PatchingResult {
  const span = w.clean - w.corrupt;
  return {
    ...w,
    grids: w.grids.map((g) => {
      const effects = decodeRows(g.effects);
      return { kind: g.kind, rows: g.rows, raw: effects.map((row) => row.map((e) => w.corrupt + e)), normalized: effects.map((row) => row.map((e) => (span === 0 ? null : e / span))) };
    }),
  };
}

export function encodeAttention(r: AttentionResult): AttentionWire {
  return { ...r, patterns: r.patterns.map((m) => encodeRows(m)), mean: encodeRows(r.mean) };
}

export function decodeAttention(w: AttentionWire): AttentionResult {
  return { ...w, patterns: w.patterns.map((m) => decodeRows(m)), mean: decodeRows(w.mean) };
}
