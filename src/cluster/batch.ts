import type { SparseVector } from '../text/vectorize.js';
import { adjacency, knnGraph, louvain, smoothRows } from './graph.js';
import { sphericalKMeans } from './kmeans.js';
import { lsa } from './lsa.js';
import { matchClusters, type ExistingCluster, type LineageRecord } from './identity.js';
import { mulberry32 } from './prng.js';

// Batch re-fit: TF-IDF → LSA → kNN neighbourhood smoothing → spherical k-means (k-means++, seeded
// restarts). With k = 'auto' the number of clusters is the number of Louvain modularity communities of the
// kNN graph (groups of at least two documents), an estimate made without any labels.

export interface BatchOptions {
  k: number | 'auto';
  seed?: number;
  /** LSA dimensions. Default 100. */
  dimensions?: number;
  /** k-means restarts; the best objective wins. Default 4. */
  restarts?: number;
  /** Neighbours per document in the kNN graph. Default 10. */
  neighbours?: number;
  /** Weight of the neighbourhood in smoothing (0 disables). Default 0.5. */
  smoothing?: number;
  /** Above this many documents the O(n²) kNN graph is built on a seeded sample only (for auto K). Default 20,000. */
  maxGraphDocs?: number;
  /** Terms kept per sparse centroid. Default 200. */
  centroidTerms?: number;
}

export interface BatchResult {
  /** Cluster index (0..k-1) per input vector. */
  labels: Int32Array;
  k: number;
  sizes: number[];
  /** Unit mean TF-IDF vector per cluster, truncated to its heaviest terms (comparable with online centroids). */
  centroids: SparseVector[];
  objective: number;
}

export function clusterBatch(vectors: readonly SparseVector[], opts: BatchOptions): BatchResult {
  const n = vectors.length;
  if (n === 0) return { labels: new Int32Array(0), k: 0, sizes: [], centroids: [], objective: 0 };
  const seed = opts.seed ?? 1;
  const { embedding, dims } = lsa(vectors, { dimensions: opts.dimensions ?? 100, seed });
  const m = Math.min(opts.neighbours ?? 10, n - 1);
  const useGraph = m > 0 && n <= (opts.maxGraphDocs ?? 20_000);
  const graph = useGraph ? knnGraph(embedding, dims, m) : undefined;
  const alpha = opts.smoothing ?? 0.5;
  const x = graph && alpha > 0 ? smoothRows(embedding, dims, graph, alpha) : embedding;
  let k: number;
  if (opts.k === 'auto') k = estimateK(embedding, dims, m, graph, opts.maxGraphDocs ?? 20_000, seed);
  else k = opts.k;
  k = Math.max(1, Math.min(Math.floor(k), n));
  const km = sphericalKMeans(x, dims, { k, seed, restarts: opts.restarts ?? 4 });
  const sizes = new Array<number>(k).fill(0);
  for (const l of km.labels) sizes[l]!++;
  return { labels: km.labels, k, sizes, centroids: sparseCentroids(vectors, km.labels, k, opts.centroidTerms ?? 200), objective: km.objective };
}

/** Number of Louvain communities with at least two members in the kNN graph (of a seeded sample if large). */
export function estimateK(x: Float32Array, d: number, m: number, graph: ReturnType<typeof knnGraph> | undefined, maxDocs: number, seed: number): number {
  const n = x.length / d;
  if (m <= 0) return Math.max(1, Math.round(Math.sqrt(n / 2)));
  let g = graph;
  let size = n;
  if (g === undefined) {
    const rand = mulberry32(seed ^ 0x9e3779b9);
    const pick = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [pick[i], pick[j]] = [pick[j]!, pick[i]!];
    }
    size = Math.min(n, maxDocs);
    const sample = new Float32Array(size * d);
    for (let i = 0; i < size; i++) sample.set(x.subarray(pick[i]! * d, pick[i]! * d + d), i * d);
    g = knnGraph(sample, d, m);
  }
  const membership = louvain(adjacency(g, size));
  const counts = new Map<number, number>();
  for (const c of membership) counts.set(c, (counts.get(c) ?? 0) + 1);
  let k = 0;
  for (const c of counts.values()) if (c >= 2) k++;
  return Math.max(1, k);
}

/** Mean of member vectors per cluster, cut to the heaviest `terms` entries and L2-normalised. */
export function sparseCentroids(vectors: readonly SparseVector[], labels: Int32Array, k: number, terms: number): SparseVector[] {
  const sums: Map<number, number>[] = Array.from({ length: k }, () => new Map<number, number>());
  vectors.forEach((v, i) => {
    const s = sums[labels[i]!]!;
    for (let t = 0; t < v.idx.length; t++) s.set(v.idx[t]!, (s.get(v.idx[t]!) ?? 0) + v.val[t]!);
  });
  return sums.map((s) => toUnitSparse(s, terms));
}

/** Sparse unit vector from a term → weight map, keeping the `limit` heaviest terms (ties: lower index). */
export function toUnitSparse(weights: ReadonlyMap<number, number>, limit: number): SparseVector {
  const top = [...weights].filter(([, w]) => w > 0).sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, limit);
  top.sort((a, b) => a[0] - b[0]);
  let norm = 0;
  for (const [, w] of top) norm += w * w;
  const inv = norm > 0 ? 1 / Math.sqrt(norm) : 0;
  return { idx: Int32Array.from(top, ([i]) => i), val: Float32Array.from(top, ([, w]) => w * inv) };
}

export interface RefitOptions extends BatchOptions {
  /** Clusters of the model being replaced (online or an earlier re-fit). */
  existing: readonly ExistingCluster[];
  /** Next sequence number for fresh ids. */
  nextSeq: number;
  idPrefix?: string;
  /** Minimum centroid cosine for keeping an id or recording a split/merge. Default 0.5. */
  floor?: number;
}

export interface RefitResult {
  /** Cluster id per input vector. */
  assignments: string[];
  clusters: { id: string; size: number; centroid: SparseVector }[];
  lineage: LineageRecord[];
  nextSeq: number;
  k: number;
}

/** Batch re-fit, then identity matching so ids survive: unmatched clusters get fresh ids and lineage. */
export function refitBatch(vectors: readonly SparseVector[], opts: RefitOptions): RefitResult {
  const fit = clusterBatch(vectors, opts);
  const made = nonEmpty(fit.centroids, fit.sizes);
  const match = matchClusters(opts.existing, made.map((i) => fit.centroids[i]!), {
    nextSeq: opts.nextSeq,
    ...(opts.idPrefix === undefined ? {} : { idPrefix: opts.idPrefix }),
    ...(opts.floor === undefined ? {} : { floor: opts.floor }),
  });
  const idOf = new Map(made.map((i, j) => [i, match.ids[j]!]));
  return {
    assignments: Array.from(fit.labels, (l) => idOf.get(l)!),
    clusters: made.map((i, j) => ({ id: match.ids[j]!, size: fit.sizes[i]!, centroid: fit.centroids[i]! })),
    lineage: match.lineage,
    nextSeq: match.nextSeq,
    k: made.length,
  };
}

/**
 * Indexes of the clusters that hold a member. k-means leaves a cluster empty when k exceeds the distinct
 * inputs: it describes nothing, so it gets no id, no lineage and no row.
 */
export function nonEmpty(centroids: readonly unknown[], sizes: readonly number[]): number[] {
  return centroids.map((_, i) => i).filter((i) => sizes[i]! > 0);
}
