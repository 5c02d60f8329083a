// Small dense linear algebra in float64 for the closed-form edits. Matrices are row-major
// Float64Arrays with explicit sizes. The solves the edits need are low-rank updates of λI, done
// with the Woodbury identity so that d_mlp-sized systems never get factorised.

/** Solves the m×m system A x = b (A row-major) by Gaussian elimination with partial pivoting. */
export function solveSmall(A: Float64Array, b: Float64Array, m: number): Float64Array {
  const a = Float64Array.from(A);
  const x = Float64Array.from(b);
  for (let c = 0; c < m; c++) {
    let p = c;
    for (let r = c + 1; r < m; r++) if (Math.abs(a[r * m + c]) > Math.abs(a[p * m + c])) p = r;
    if (Math.abs(a[p * m + c]) < 1e-300) throw new Error('singular system');
    if (p !== c) {
      for (let k = 0; k < m; k++) [a[c * m + k], a[p * m + k]] = [a[p * m + k], a[c * m + k]];
      [x[c], x[p]] = [x[p], x[c]];
    }
    for (let r = c + 1; r < m; r++) {
      const f = a[r * m + c] / a[c * m + c];
      if (f === 0) continue;
      for (let k = c; k < m; k++) a[r * m + k] -= f * a[c * m + k];
      x[r] -= f * x[c];
    }
  }
  for (let c = m - 1; c >= 0; c--) {
    let s = x[c];
    for (let k = c + 1; k < m; k++) s -= a[c * m + k] * x[k];
    x[c] = s / a[c * m + c];
  }
  return x;
}

/**
 * x = (λ I + P M Mᵀ)⁻¹ b for M [n × m] given as m columns (each length n), and an optional
 * projection P (applied as a function). Woodbury: x = (b − PM (λ I_m + Mᵀ P M)⁻¹ Mᵀ b) / λ.
 */
export function solveLowRank(columns: Float64Array[], lambda: number, b: Float64Array, project: (v: Float64Array) => Float64Array = (v) => v): Float64Array {
  const m = columns.length;
  const n = b.length;
  const pm = columns.map(project);
  const small = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < m; j++) small[i * m + j] = dot(columns[i], pm[j]) + (i === j ? lambda : 0);
  }
  const mtb = Float64Array.from(columns, (c) => dot(c, b));
  const y = solveSmall(small, mtb, m);
  const x = Float64Array.from(b);
  for (let j = 0; j < m; j++) for (let i = 0; i < n; i++) x[i] -= pm[j][i] * y[j];
  for (let i = 0; i < n; i++) x[i] /= lambda;
  return x;
}

/** y = A x for A [rows, cols] row-major (added into y when given). */
export function matVec(A: ArrayLike<number>, rows: number, cols: number, x: ArrayLike<number>, y: Float64Array = new Float64Array(rows)): Float64Array {
  for (let i = 0; i < rows; i++) {
    let s = 0;
    const o = i * cols;
    for (let j = 0; j < cols; j++) s += A[o + j] * x[j];
    y[i] += s;
  }
  return y;
}

/** y = Aᵀ x for A [rows, cols] (added into y when given). */
export function matTVec(A: ArrayLike<number>, rows: number, cols: number, x: ArrayLike<number>, y: Float64Array = new Float64Array(cols)): Float64Array {
  for (let i = 0; i < rows; i++) {
    const xi = x[i];
    if (xi === 0) continue;
    const o = i * cols;
    for (let j = 0; j < cols; j++) y[j] += A[o + j] * xi;
  }
  return y;
}

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

export function norm(a: ArrayLike<number>): number {
  return Math.sqrt(dot(a, a));
}

/**
 * Eigen-decomposition of a symmetric n×n matrix (row-major) by cyclic Jacobi rotations, for the
 * modest sizes where a projection onto C's null space is built in JS (d_mlp ≤ 2048).
 * Returns eigenvalues and the eigenvectors as the columns of a row-major n×n matrix.
 */
export function symmetricEigen(S: Float64Array, n: number, sweeps = 30): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(S);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < sweeps; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q] ** 2;
    if (off < 1e-22) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p];
          const akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k];
          const aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p];
          const vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  return { values: Float64Array.from({ length: n }, (_, i) => a[i * n + i]), vectors: v };
}

/**
 * AlphaEdit's null-space projection P = U_s U_sᵀ from the eigenvectors of C whose eigenvalues
 * are below `threshold`, as a function v ↦ P v (P is never formed).
 */
export function nullSpaceProjector(C: Float64Array, n: number, threshold: number): { project: (v: Float64Array) => Float64Array; dimension: number } {
  const { values, vectors } = symmetricEigen(C, n);
  const keep: number[] = [];
  for (let i = 0; i < n; i++) if (values[i] < threshold) keep.push(i);
  const basis = keep.map((j) => Float64Array.from({ length: n }, (_, k) => vectors[k * n + j]));
  return {
    dimension: keep.length,
    project: (v) => {
      const out = new Float64Array(n);
      for (const u of basis) {
        const c = dot(u, v);
        for (let k = 0; k < n; k++) out[k] += c * u[k];
      }
      return out;
    },
  };
}

/**
 * Lower-triangular L with A + ρ I = L Lᵀ (A symmetric, row-major [n, n]; only its lower
 * triangle is read). Row-wise Cholesky–Crout in blocks of 16 rows: each earlier row j is read
 * once per block while it is in cache (the unblocked loop re-reads the whole triangle for every
 * row and is memory-bound). A pivot ≤ 0 (A + ρ I not positive definite in float64) retries with
 * 10 × ρ, up to 8 times; a non-finite entry or a matrix still not positive definite throws.
 */
export function cholesky(A: Float64Array, n: number, ridge: number, retries = 8): Float64Array {
  const L = new Float64Array(n * n);
  const block = 16;
  for (let i0 = 0; i0 < n; i0 += block) {
    const i1 = Math.min(n, i0 + block);
    for (let j = 0; j < i1; j++) {
      const rj = j * n;
      for (let i = Math.max(i0, j); i < i1; i++) {
        const ri = i * n;
        let s = A[ri + j];
        for (let k = 0; k < j; k++) s -= L[ri + k] * L[rj + k];
        if (j < i) {
          L[ri + j] = s / L[rj + j];
        } else {
          s += ridge;
          if (!Number.isFinite(s)) throw new Error(`the matrix has a non-finite entry (row ${i})`);
          if (!(s > 0)) {
            if (retries === 0) throw new Error(`the matrix is not positive definite even with a ridge of ${ridge}`);
            return cholesky(A, n, Math.max(ridge * 10, Number.MIN_VALUE), retries - 1);
          }
          L[ri + i] = Math.sqrt(s);
        }
      }
    }
  }
  return L;
}

/** x with L Lᵀ x = b (L from cholesky()): forward substitution by rows, back substitution by rows of L. */
export function choleskySolve(L: Float64Array, n: number, b: ArrayLike<number>): Float64Array {
  const y = Float64Array.from(b);
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    let s = y[i];
    for (let k = 0; k < i; k++) s -= L[ri + k] * y[k];
    y[i] = s / L[ri + i];
  }
  for (let i = n - 1; i >= 0; i--) {
    const ri = i * n;
    y[i] /= L[ri + i];
    const xi = y[i];
    for (let k = 0; k < i; k++) y[k] -= L[ri + k] * xi;
  }
  return y;
}

/**
 * The eigenvalues of a symmetric n×n matrix (row-major), ascending, without eigenvectors:
 * Householder reduction to tridiagonal form (about 2n³/3 multiply-adds), then implicit QL with
 * Wilkinson shifts on the tridiagonal matrix. For d_mlp in the thousands where Jacobi is too slow.
 */
export function symmetricEigenvalues(S: ArrayLike<number>, n: number): Float64Array {
  const a = Float64Array.from(S);
  const v = new Float64Array(n);
  const p = new Float64Array(n);
  for (let k = 0; k < n - 2; k++) {
    let x2 = 0;
    for (let i = k + 1; i < n; i++) x2 += a[i * n + k] ** 2;
    const alpha = -(a[(k + 1) * n + k] >= 0 ? 1 : -1) * Math.sqrt(x2);
    v.fill(0);
    for (let i = k + 1; i < n; i++) v[i] = a[i * n + k];
    v[k + 1] -= alpha;
    let v2 = 0;
    for (let i = k + 1; i < n; i++) v2 += v[i] * v[i];
    if (v2 < 1e-300) continue;
    // A ← H A H with H = I − β v vᵀ: p = β A v, q = p − (β vᵀp / 2) v, A ← A − v qᵀ − q vᵀ.
    const beta = 2 / v2;
    let vp = 0;
    for (let i = k; i < n; i++) {
      let s = 0;
      for (let j = k + 1; j < n; j++) s += a[i * n + j] * v[j];
      p[i] = beta * s;
      vp += v[i] * p[i];
    }
    const K = (beta * vp) / 2;
    for (let i = k; i < n; i++) p[i] -= K * v[i];
    for (let i = k; i < n; i++) {
      const row = i * n;
      for (let j = k; j < n; j++) a[row + j] -= v[i] * p[j] + p[i] * v[j];
    }
  }
  const d = Float64Array.from({ length: n }, (_, i) => a[i * n + i]);
  const e = Float64Array.from({ length: n }, (_, i) => (i < n - 1 ? a[(i + 1) * n + i] : 0));
  tridiagonalQl(d, e, n);
  return d.sort();
}

/** Implicit QL with shifts: `d` (diagonal) becomes the eigenvalues; `e[i]` is the entry below d[i] (e[n − 1] = 0), destroyed. */
function tridiagonalQl(d: Float64Array, e: Float64Array, n: number): void {
  for (let l = 0; l < n; l++) {
    for (let iter = 0; iter < 60; iter++) {
      let m = l;
      for (; m < n - 1; m++) if (Math.abs(e[m]) <= Number.EPSILON * (Math.abs(d[m]) + Math.abs(d[m + 1]))) break;
      if (m === l) break;
      let g = (d[l + 1] - d[l]) / (2 * e[l]);
      let r = Math.hypot(g, 1);
      g = d[m] - d[l] + e[l] / (g + (g >= 0 ? r : -r));
      let s = 1;
      let c = 1;
      let pp = 0;
      let i = m - 1;
      for (; i >= l; i--) {
        const f = s * e[i];
        const b = c * e[i];
        r = Math.hypot(f, g);
        e[i + 1] = r;
        if (r === 0) {
          d[i + 1] -= pp;
          e[m] = 0;
          break;
        }
        s = f / r;
        c = g / r;
        g = d[i + 1] - pp;
        r = (d[i] - g) * s + 2 * c * b;
        pp = s * r;
        d[i + 1] = g + pp;
        g = c * r - b;
      }
      if (r === 0 && i >= l) continue;
      d[l] -= pp;
      e[l] = g;
      e[m] = 0;
    }
  }
}
