import { knnGraph, smoothRows } from './graph.js';
import { sphericalKMeans } from './kmeans.js';
import { estimateK } from './batch.js';
import { clusterOnline } from '../text/embed/index.js';

// Clustering by meaning: sentence embeddings (dense, unit rows) instead of TF-IDF. Batch: each text
// pulled toward its nearest neighbours, then spherical k-means (K given, or the number of Louvain
// communities of the neighbour graph). Online: the dense single-pass clusterer.

export interface SemanticOptions {
  k: number | 'auto';
  seed?: number;
  neighbours?: number;
  restarts?: number;
  /**
   * Above this many texts the exact neighbour graph (quadratic: 50 s at 16,000 texts of 384 dimensions, about two
   * days at 1,000,000) is not built: no smoothing, and K ('auto') from the graph of a seeded sample of this size,
   * as the lexical re-fit does. Default 20,000.
   */
  maxGraphDocs?: number;
}

function flatten(rows: readonly Float32Array[]): { x: Float32Array; d: number } {
  const d = rows[0]?.length ?? 0;
  const x = new Float32Array(rows.length * d);
  rows.forEach((r, i) => x.set(r, i * d));
  return { x, d };
}

export function semanticBatch(rows: readonly Float32Array[], opts: SemanticOptions): { labels: Int32Array; k: number } {
  const n = rows.length;
  if (n === 0) return { labels: new Int32Array(0), k: 0 };
  const { x, d } = flatten(rows);
  const m = Math.min(opts.neighbours ?? 10, n - 1);
  const maxGraphDocs = opts.maxGraphDocs ?? 20_000;
  const graph = m > 0 && n <= maxGraphDocs ? knnGraph(x, d, m) : undefined;
  const smooth = graph ? smoothRows(x, d, graph, 1) : x;
  let k: number;
  // 'auto': Louvain communities of two or more in the graph, or in a sample's graph past maxGraphDocs; no
  // neighbours (one text), one community.
  if (opts.k === 'auto') k = m > 0 ? estimateK(x, d, m, graph, maxGraphDocs, opts.seed ?? 1) : 1;
  else k = Math.max(1, Math.min(opts.k, n));
  const km = sphericalKMeans(smooth, d, { k, seed: opts.seed ?? 1, restarts: opts.restarts ?? 8 });
  return { labels: km.labels, k };
}

export function semanticOnline(rows: readonly Float32Array[], seed = 1): Int32Array {
  return clusterOnline(rows, { seed }).labels;
}
