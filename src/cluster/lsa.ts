import type { SparseVector } from '../text/vectorize.js';
import { normalizeRows } from './kmeans.js';
import { gaussian, mulberry32 } from './prng.js';

// LSA: a truncated SVD of the TF-IDF matrix by randomized range finding (Halko, Martinsson & Tropp 2011,
// https://arxiv.org/abs/0909.4061) with power iterations, then a small symmetric eigenproblem solved by
// cyclic Jacobi. Returns unit-length document rows U·Σ, as scikit-learn's TruncatedSVD + Normalizer.

export interface LsaOptions {
  dimensions?: number;
  seed?: number;
  powerIterations?: number;
}

export interface LsaResult {
  /** n × dims row-major, unit rows. */
  embedding: Float32Array;
  dims: number;
  singularValues: Float64Array;
}

interface Csr {
  n: number;
  cols: number;
  ptr: Int32Array;
  col: Int32Array;
  val: Float64Array;
}

function toCsr(vectors: readonly SparseVector[]): Csr {
  const colOf = new Map<number, number>();
  let nnz = 0;
  for (const v of vectors) nnz += v.idx.length;
  const ptr = new Int32Array(vectors.length + 1);
  const col = new Int32Array(nnz);
  const val = new Float64Array(nnz);
  let p = 0;
  vectors.forEach((v, r) => {
    for (let i = 0; i < v.idx.length; i++) {
      let c = colOf.get(v.idx[i]!);
      if (c === undefined) colOf.set(v.idx[i]!, (c = colOf.size));
      col[p] = c;
      val[p++] = v.val[i]!;
    }
    ptr[r + 1] = p;
  });
  return { n: vectors.length, cols: colOf.size, ptr, col, val };
}

/** Y (n × l, column blocks as row-major n×l) = X · W (cols × l row-major). */
function mulX(a: Csr, w: Float64Array, l: number): Float64Array {
  const y = new Float64Array(a.n * l);
  for (let r = 0; r < a.n; r++) {
    for (let p = a.ptr[r]!; p < a.ptr[r + 1]!; p++) {
      const v = a.val[p]!;
      const wo = a.col[p]! * l;
      const yo = r * l;
      for (let j = 0; j < l; j++) y[yo + j] = y[yo + j]! + v * w[wo + j]!;
    }
  }
  return y;
}

/** Z (cols × l) = Xᵀ · Q (n × l). */
function mulXt(a: Csr, q: Float64Array, l: number): Float64Array {
  const z = new Float64Array(a.cols * l);
  for (let r = 0; r < a.n; r++) {
    const qo = r * l;
    for (let p = a.ptr[r]!; p < a.ptr[r + 1]!; p++) {
      const v = a.val[p]!;
      const zo = a.col[p]! * l;
      for (let j = 0; j < l; j++) z[zo + j] = z[zo + j]! + v * q[qo + j]!;
    }
  }
  return z;
}

/**
 * Orthonormalises the l columns of a rows × l row-major matrix in place by Cholesky QR, twice (CholeskyQR2,
 * Fukaya et al. 2014): Gram matrix, Cholesky factor, triangular solve — row-friendly and far cheaper than
 * Gram-Schmidt on a row-major layout. A tiny diagonal shift keeps rank-deficient inputs factorisable.
 */
function orthonormalize(m: Float64Array, rows: number, l: number): void {
  for (let pass = 0; pass < 2; pass++) {
    const g = new Float64Array(l * l);
    for (let r = 0; r < rows; r++) {
      const o = r * l;
      for (let i = 0; i < l; i++) {
        const v = m[o + i]!;
        if (v === 0) continue;
        const go = i * l;
        for (let j = i; j < l; j++) g[go + j] = g[go + j]! + v * m[o + j]!;
      }
    }
    let trace = 0;
    for (let i = 0; i < l; i++) trace += g[i * l + i]!;
    const shift = 1e-12 * (trace / l || 1);
    // Upper-triangular R with Rᵀ R = G.
    const rr = new Float64Array(l * l);
    for (let i = 0; i < l; i++) {
      let d = g[i * l + i]! + shift;
      for (let k = 0; k < i; k++) d -= rr[k * l + i]! ** 2;
      const rii = Math.sqrt(Math.max(d, shift));
      rr[i * l + i] = rii;
      for (let j = i + 1; j < l; j++) {
        let v = g[i * l + j]!;
        for (let k = 0; k < i; k++) v -= rr[k * l + i]! * rr[k * l + j]!;
        rr[i * l + j] = v / rii;
      }
    }
    // Each row q solves q R = m_row (forward substitution over columns).
    for (let r = 0; r < rows; r++) {
      const o = r * l;
      for (let j = 0; j < l; j++) {
        let v = m[o + j]!;
        for (let k = 0; k < j; k++) v -= m[o + k]! * rr[k * l + j]!;
        m[o + j] = v / rr[j * l + j]!;
      }
    }
  }
}

/** Eigen-decomposition of a symmetric l × l matrix (cyclic Jacobi). Returns values and column vectors. */
export function symmetricEigen(a: Float64Array, l: number): { values: Float64Array; vectors: Float64Array } {
  const m = Float64Array.from(a);
  const v = new Float64Array(l * l);
  for (let i = 0; i < l; i++) v[i * l + i] = 1;
  for (let sweep = 0; sweep < 60; sweep++) {
    let off = 0;
    for (let p = 0; p < l; p++) for (let q = p + 1; q < l; q++) off += m[p * l + q]! ** 2;
    if (off < 1e-22) break;
    for (let p = 0; p < l; p++) {
      for (let q = p + 1; q < l; q++) {
        const apq = m[p * l + q]!;
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (m[q * l + q]! - m[p * l + p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < l; k++) {
          const mkp = m[k * l + p]!;
          const mkq = m[k * l + q]!;
          m[k * l + p] = c * mkp - s * mkq;
          m[k * l + q] = s * mkp + c * mkq;
        }
        for (let k = 0; k < l; k++) {
          const mpk = m[p * l + k]!;
          const mqk = m[q * l + k]!;
          m[p * l + k] = c * mpk - s * mqk;
          m[q * l + k] = s * mpk + c * mqk;
        }
        for (let k = 0; k < l; k++) {
          const vkp = v[k * l + p]!;
          const vkq = v[k * l + q]!;
          v[k * l + p] = c * vkp - s * vkq;
          v[k * l + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const values = new Float64Array(l);
  for (let i = 0; i < l; i++) values[i] = m[i * l + i]!;
  return { values, vectors: v };
}

export function lsa(vectors: readonly SparseVector[], opts: LsaOptions = {}): LsaResult {
  const a = toCsr(vectors);
  const dims = Math.max(1, Math.min(opts.dimensions ?? 100, a.n - 1, a.cols - 1));
  const l = Math.min(dims + 10, a.n, a.cols);
  const rand = mulberry32(opts.seed ?? 42);
  const omega = new Float64Array(a.cols * l);
  for (let i = 0; i < omega.length; i++) omega[i] = gaussian(rand);
  let q = mulX(a, omega, l);
  orthonormalize(q, a.n, l);
  for (let it = 0; it < (opts.powerIterations ?? 3); it++) {
    // Only Q is re-orthonormalised: enough for a few power iterations and much cheaper than Z (cols × l).
    q = mulX(a, mulXt(a, q, l), l);
    orthonormalize(q, a.n, l);
  }
  // B = Qᵀ X, so B Bᵀ = Zᵀ Z with Z = Xᵀ Q; its eigenvectors rotate Q into the left singular vectors.
  const z = mulXt(a, q, l);
  const bbt = new Float64Array(l * l);
  for (let r = 0; r < a.cols; r++) {
    for (let i = 0; i < l; i++) {
      const zi = z[r * l + i]!;
      if (zi === 0) continue;
      for (let j = i; j < l; j++) bbt[i * l + j] = bbt[i * l + j]! + zi * z[r * l + j]!;
    }
  }
  for (let i = 0; i < l; i++) for (let j = 0; j < i; j++) bbt[i * l + j] = bbt[j * l + i]!;
  const { values, vectors: ev } = symmetricEigen(bbt, l);
  const order = Array.from({ length: l }, (_, i) => i).sort((x, y) => values[y]! - values[x]!).slice(0, dims);
  const sv = Float64Array.from(order, (i) => Math.sqrt(Math.max(0, values[i]!)));
  const emb = new Float32Array(a.n * dims);
  for (let r = 0; r < a.n; r++) {
    for (let k = 0; k < dims; k++) {
      const col = order[k]!;
      let s = 0;
      for (let j = 0; j < l; j++) s += q[r * l + j]! * ev[j * l + col]!;
      emb[r * dims + k] = s * sv[k]!;
    }
  }
  normalizeRows(emb, dims);
  return { embedding: emb, dims, singularValues: sv };
}
