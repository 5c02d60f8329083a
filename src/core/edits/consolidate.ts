// Consolidation of the edits on one module: many stacked low-rank updates folded into one, so that
// thousands of edits do not make every run pay for their summed rank.
//
// A module's edits are parts ΔW = Σ α Uᵀ V (U [r, d_out], V [r, d_in], row-major). Fed as is they
// cost the graph r·(d_in + d_out) per token, and are exact. Two foldings:
//   dense   ΔW formed in float64 as a d_out × d_in matrix and fed as factors of rank
//           min(d_out, d_in) (the identity on the smaller side): exact up to float32 rounding of
//           the feed; smaller than the stack only when r > min(d_out, d_in).
//   svd     the best rank-k approximation ΔŴ (truncated SVD) with k the smallest rank whose
//           dropped part has ‖ΔW − ΔŴ‖_F / ‖ΔW‖_F ≤ tolerance; that relative error is reported.
//           Tolerance 0 keeps every direction above float32 resolution (lossless where the
//           summed rank exceeds ΔW's true rank).
// The SVD never factorises a d × d matrix when r is small: the smaller side's row space gets an
// orthonormal basis Q [m, p] (QR of the factors by Gram–Schmidt, m ≤ r; the identity for a dense
// ΔW), B = Q ΔW [m, q], and the symmetric m × m core B Bᵀ is diagonalised (Jacobi). With
// eigenvectors E: ΔŴ = Qᵀ E_k E_kᵀ B, an orthogonal projection of ΔW, so the error is exact from
// the dropped eigenvalues.

import type { EditTensors } from '../runtime/model';
import { dot, symmetricEigen } from './linalg';

/** One edit's update of the module, with its strength. */
export interface FactorPart {
  rank: number;
  /** [rank · d_out] */
  U: Float32Array;
  /** [rank · d_in] */
  V: Float32Array;
  alpha: number;
}

/** How a stack folds a module's edits once their summed rank exceeds `above`. */
export type ConsolidationPolicy =
  | { mode: 'off' }
  | { mode: 'exact'; above?: number }
  | { mode: 'svd'; tolerance: number; above?: number };

/** What was fed for one module: its summed rank, the rank fed, how, and the relative error. */
export interface ModuleConsolidation {
  summedRank: number;
  rank: number;
  kind: 'stacked' | 'dense' | 'svd';
  /** ‖ΔW − ΔŴ‖_F / ‖ΔW‖_F of what is fed (0 for stacked and dense: exact up to float32). */
  error: number;
}

/** The parts concatenated: U = [α₁U₁; α₂U₂; …], V = [V₁; V₂; …] (exact). */
export function stackParts(parts: FactorPart[]): EditTensors {
  const rank = parts.reduce((a, p) => a + p.rank, 0);
  const U = new Float32Array(parts.reduce((a, p) => a + p.U.length, 0));
  const V = new Float32Array(parts.reduce((a, p) => a + p.V.length, 0));
  let u = 0;
  let v = 0;
  for (const p of parts) {
    if (p.alpha === 1) U.set(p.U, u);
    else for (let i = 0; i < p.U.length; i++) U[u + i] = p.alpha * p.U[i];
    V.set(p.V, v);
    u += p.U.length;
    v += p.V.length;
  }
  return { rank, U, V };
}

/** Adds Σ α Uᵀ V of `parts` into the row-major [dOut, dIn] float64 matrix `D` (in place). */
export function addDense(D: Float64Array, parts: FactorPart[], dOut: number, dIn: number): Float64Array {
  for (const p of parts) {
    for (let r = 0; r < p.rank; r++) {
      const v = p.V.subarray(r * dIn, (r + 1) * dIn);
      for (let o = 0; o < dOut; o++) {
        const a = p.alpha * p.U[r * dOut + o];
        if (a === 0) continue;
        const row = o * dIn;
        for (let i = 0; i < dIn; i++) D[row + i] += a * v[i];
      }
    }
  }
  return D;
}

/** A dense ΔW [dOut, dIn] as factors of rank min(dOut, dIn): the identity on the smaller side. */
export function denseFactors(D: Float64Array, dOut: number, dIn: number): EditTensors {
  if (dOut <= dIn) {
    const U = new Float32Array(dOut * dOut);
    for (let o = 0; o < dOut; o++) U[o * dOut + o] = 1;
    return { rank: dOut, U, V: Float32Array.from(D) };
  }
  const U = new Float32Array(dIn * dOut);
  for (let o = 0; o < dOut; o++) for (let i = 0; i < dIn; i++) U[i * dOut + o] = D[o * dIn + i];
  const V = new Float32Array(dIn * dIn);
  for (let i = 0; i < dIn; i++) V[i * dIn + i] = 1;
  return { rank: dIn, U, V };
}

/** Eigenvalues below this share of the largest count as zero (singular values < 3e-7 σ_max: below float32). */
const ZERO = 1e-13;

/**
 * Truncated SVD of ΔW, given dense ([dOut, dIn] row-major) or as parts (use parts only when their
 * summed rank is ≤ min(dOut, dIn); above that, dense is cheaper). Returns factors of the kept
 * rank (the smaller side's rows orthonormal, the singular values in the other side's) and the relative
 * Frobenius error of the dropped part. Cost: O(r²·p + r·m·q) for parts, O(p²·q) dense, plus a Jacobi
 * eigensolve of the m × m core (m ≤ p = min(dOut, dIn); fine at p ≈ 128–768, slow at 1600).
 */
export function truncatedSvd(delta: { dense: Float64Array } | { parts: FactorPart[] }, dOut: number, dIn: number, tolerance: number): { tensors: EditTensors; error: number; singularValues: Float64Array } {
  if (!(tolerance >= 0 && tolerance < 1)) throw new Error(`the SVD tolerance must be in [0, 1), got ${tolerance}`);
  // Work on X = ΔW or ΔWᵀ, whichever has fewer rows (p ≤ q); swap the factors back at the end.
  const flip = dIn < dOut;
  const p = flip ? dIn : dOut;
  const q = flip ? dOut : dIn;
  let Q: Float64Array[] | null; // orthonormal rows of length p; null = the identity (m = p)
  let B: Float64Array; // [m, q] = Q X
  if ('dense' in delta) {
    Q = null;
    B = flip ? transpose(delta.dense, dOut, dIn) : Float64Array.from(delta.dense);
  } else {
    // X = Aᵀ C with A [r, p], C [r, q] the factors on X's sides (α folded into A).
    const A: Float64Array[] = [];
    const C: Float32Array[] = [];
    for (const part of delta.parts) {
      const [a, c] = flip ? [part.V, part.U] : [part.U, part.V];
      for (let r = 0; r < part.rank; r++) {
        A.push(Float64Array.from(a.subarray(r * p, (r + 1) * p), (x) => part.alpha * x));
        C.push(c.subarray(r * q, (r + 1) * q));
      }
    }
    Q = orthonormalRows(A);
    B = new Float64Array(Q.length * q);
    Q.forEach((qj, j) => {
      const out = B.subarray(j * q, (j + 1) * q);
      A.forEach((a, k) => {
        const c = dot(qj, a);
        if (c !== 0) for (let i = 0; i < q; i++) out[i] += c * C[k][i];
      });
    });
  }
  const m = B.length / q;
  const S = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j <= i; j++) {
      const s = dot(B.subarray(i * q, (i + 1) * q), B.subarray(j * q, (j + 1) * q));
      S[i * m + j] = s;
      S[j * m + i] = s;
    }
  }
  const { values, vectors } = m > 0 ? symmetricEigen(S, m) : { values: new Float64Array(0), vectors: new Float64Array(0) };
  const order = Array.from(values.keys()).sort((a, b) => values[b] - values[a]);
  const lambda = order.map((i) => Math.max(values[i], 0));
  // Keep the fewest leading directions whose dropped energy is within tolerance² of the total
  // (tolerance 0: every direction above float32 resolution).
  const total = lambda.reduce((a, x) => a + x, 0);
  let k = 0;
  if (tolerance > 0) {
    for (let dropped = total; k < lambda.length && dropped > tolerance * tolerance * total; k++) dropped -= lambda[k];
  } else {
    while (k < lambda.length && lambda[k] > (lambda[0] ?? 0) * ZERO) k++;
  }
  const dropped = lambda.slice(k).reduce((a, x) => a + x, 0);
  const left = new Float32Array(k * p);
  const right = new Float32Array(k * q);
  for (let r = 0; r < k; r++) {
    const col = order[r];
    const e = Float64Array.from({ length: m }, (_, j) => vectors[j * m + col]);
    const l = new Float64Array(p);
    if (Q) Q.forEach((qj, j) => { for (let i = 0; i < p; i++) l[i] += e[j] * qj[i]; });
    else l.set(e);
    const rr = new Float64Array(q);
    for (let j = 0; j < m; j++) if (e[j] !== 0) for (let i = 0; i < q; i++) rr[i] += e[j] * B[j * q + i];
    left.set(l, r * p);
    right.set(rr, r * q);
  }
  const error = total > 0 ? Math.sqrt(Math.max(dropped, 0) / total) : 0;
  const tensors = flip ? { rank: k, U: right, V: left } : { rank: k, U: left, V: right };
  return { tensors, error, singularValues: Float64Array.from(lambda, Math.sqrt) };
}

/** Orthonormal basis of the span of `rows` by Gram–Schmidt, twice per vector; near-dependent rows are dropped. */
function orthonormalRows(rows: Float64Array[]): Float64Array[] {
  const scale = Math.max(0, ...rows.map((r) => Math.sqrt(dot(r, r))));
  const basis: Float64Array[] = [];
  for (const row of rows) {
    const v = Float64Array.from(row);
    for (let pass = 0; pass < 2; pass++) {
      for (const b of basis) {
        const c = dot(b, v);
        for (let i = 0; i < v.length; i++) v[i] -= c * b[i];
      }
    }
    const n = Math.sqrt(dot(v, v));
    if (n <= scale * 1e-10 || n === 0) continue;
    for (let i = 0; i < v.length; i++) v[i] /= n;
    basis.push(v);
    if (basis.length === row.length) break; // the whole space is spanned
  }
  return basis;
}

function transpose(D: Float64Array, rows: number, cols: number): Float64Array {
  const T = new Float64Array(D.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) T[c * rows + r] = D[r * cols + c];
  return T;
}
