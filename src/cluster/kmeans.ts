import { mulberry32 } from './prng.js';

// Spherical k-means on dense unit rows (row-major Float32Array): cosine similarity, k-means++ seeding with
// a seeded PRNG, several restarts keeping the best objective. Deterministic for a given seed.

export interface KMeansOptions {
  k: number;
  seed?: number;
  /** Independent seeded restarts; the run with the highest total similarity wins. Default 8. */
  restarts?: number;
  maxIterations?: number;
}

export interface KMeansResult {
  labels: Int32Array;
  /** k × d row-major unit centroids. */
  centroids: Float32Array;
  /** Sum over points of the cosine similarity to their centroid (higher is better). */
  objective: number;
  iterations: number;
}

export function dotRows(a: Float32Array, ai: number, b: Float32Array, bi: number, d: number): number {
  const ao = ai * d;
  const bo = bi * d;
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let j = 0;
  for (; j + 3 < d; j += 4) {
    s0 += a[ao + j]! * b[bo + j]!;
    s1 += a[ao + j + 1]! * b[bo + j + 1]!;
    s2 += a[ao + j + 2]! * b[bo + j + 2]!;
    s3 += a[ao + j + 3]! * b[bo + j + 3]!;
  }
  for (; j < d; j++) s0 += a[ao + j]! * b[bo + j]!;
  return s0 + s1 + s2 + s3;
}

/** Scales each row of a row-major matrix to unit length (zero rows stay zero). */
export function normalizeRows(x: Float32Array, d: number): void {
  const n = x.length / d;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += x[i * d + j]! ** 2;
    if (s === 0) continue;
    const inv = 1 / Math.sqrt(s);
    for (let j = 0; j < d; j++) x[i * d + j] = x[i * d + j]! * inv;
  }
}

export function sphericalKMeans(x: Float32Array, d: number, opts: KMeansOptions): KMeansResult {
  const restarts = Math.max(1, opts.restarts ?? 8);
  let best: KMeansResult | undefined;
  for (let r = 0; r < restarts; r++) {
    const res = runOnce(x, d, opts.k, (opts.seed ?? 1) * 7919 + r, opts.maxIterations ?? 50);
    if (best === undefined || res.objective > best.objective) best = res;
  }
  return best!;
}

/** k-means++ seeding on cosine distance: each next centre drawn with probability ∝ (1 - max similarity). */
function seedCentroids(x: Float32Array, d: number, k: number, rand: () => number): Float32Array {
  const n = x.length / d;
  const c = new Float32Array(k * d);
  const dist = new Float64Array(n).fill(Infinity);
  let pick = Math.floor(rand() * n);
  for (let m = 0; m < k; m++) {
    c.set(x.subarray(pick * d, pick * d + d), m * d);
    let total = 0;
    for (let i = 0; i < n; i++) {
      const di = Math.max(0, 1 - dotRows(x, i, c, m, d));
      if (di < dist[i]!) dist[i] = di;
      total += dist[i]!;
    }
    if (total <= 0) {
      pick = Math.floor(rand() * n);
      continue;
    }
    let u = rand() * total;
    pick = n - 1;
    for (let i = 0; i < n; i++) {
      u -= dist[i]!;
      if (u <= 0) {
        pick = i;
        break;
      }
    }
  }
  return c;
}

function runOnce(x: Float32Array, d: number, k: number, seed: number, maxIter: number): KMeansResult {
  const n = x.length / d;
  const rand = mulberry32(seed);
  const c = seedCentroids(x, d, k, rand);
  const labels = new Int32Array(n).fill(-1);
  const sims = new Float64Array(n);
  let iterations = 0;
  let objective = 0;
  for (; iterations < maxIter; iterations++) {
    let changed = 0;
    objective = 0;
    for (let i = 0; i < n; i++) {
      let bj = 0;
      let bs = -Infinity;
      for (let m = 0; m < k; m++) {
        const s = dotRows(x, i, c, m, d);
        if (s > bs) {
          bs = s;
          bj = m;
        }
      }
      if (labels[i] !== bj) changed++;
      labels[i] = bj;
      sims[i] = bs;
      objective += bs;
    }
    if (changed === 0) break;
    recompute(x, d, k, labels, sims, c);
  }
  return { labels, centroids: c, objective, iterations };
}

/** Mean direction per cluster; an empty cluster takes the point worst served by its own centroid. */
function recompute(x: Float32Array, d: number, k: number, labels: Int32Array, sims: Float64Array, c: Float32Array): void {
  const n = labels.length;
  c.fill(0);
  const size = new Int32Array(k);
  for (let i = 0; i < n; i++) {
    const m = labels[i]!;
    size[m]!++;
    const co = m * d;
    const xo = i * d;
    for (let j = 0; j < d; j++) c[co + j] = c[co + j]! + x[xo + j]!;
  }
  for (let m = 0; m < k; m++) {
    if (size[m] !== 0) continue;
    let worst = 0;
    for (let i = 1; i < n; i++) if (sims[i]! < sims[worst]!) worst = i;
    sims[worst] = Infinity;
    c.set(x.subarray(worst * d, worst * d + d), m * d);
  }
  normalizeRows(c, d);
}
