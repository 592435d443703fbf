import { dotRows, normalizeRows } from './kmeans.js';

// k-nearest-neighbour graph over unit rows, neighbourhood smoothing, and Louvain modularity communities
// (Blondel et al. 2008, https://arxiv.org/abs/0803.0476) used to estimate the number of clusters.

export interface Knn {
  m: number;
  /** n × m neighbour indices (-1 when fewer exist), most similar first. */
  nb: Int32Array;
  sim: Float32Array;
}

/** Exact cosine kNN by brute force: O(n²·d), each pair computed once; meant for up to a few 10k rows. */
export function knnGraph(x: Float32Array, d: number, m: number): Knn {
  const n = x.length / d;
  const nb = new Int32Array(n * m).fill(-1);
  const sim = new Float32Array(n * m).fill(-Infinity);
  const insert = (i: number, j: number, s: number): void => {
    const o = i * m;
    if (s <= sim[o + m - 1]!) return;
    let p = m - 1;
    while (p > 0 && sim[o + p - 1]! < s) {
      sim[o + p] = sim[o + p - 1]!;
      nb[o + p] = nb[o + p - 1]!;
      p--;
    }
    sim[o + p] = s;
    nb[o + p] = j;
  };
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const s = dotRows(x, i, x, j, d);
      insert(i, j, s);
      insert(j, i, s);
    }
  }
  return { m, nb, sim };
}

/** x_i + alpha·Σ sim_ij·x_j over the kNN, re-normalised: pulls each short text toward its neighbourhood. */
export function smoothRows(x: Float32Array, d: number, g: Knn, alpha: number): Float32Array {
  const n = x.length / d;
  const y = Float32Array.from(x);
  for (let i = 0; i < n; i++) {
    for (let t = 0; t < g.m; t++) {
      const j = g.nb[i * g.m + t]!;
      const w = alpha * Math.max(0, g.sim[i * g.m + t]!);
      if (j < 0 || w === 0) continue;
      for (let k = 0; k < d; k++) y[i * d + k] = y[i * d + k]! + w * x[j * d + k]!;
    }
  }
  normalizeRows(y, d);
  return y;
}

/** Symmetrised weighted adjacency lists of a kNN graph. */
export function adjacency(g: Knn, n: number): Map<number, number>[] {
  const adj: Map<number, number>[] = Array.from({ length: n }, () => new Map<number, number>());
  for (let i = 0; i < n; i++) {
    for (let t = 0; t < g.m; t++) {
      const j = g.nb[i * g.m + t]!;
      const w = Math.max(0, g.sim[i * g.m + t]!);
      if (j < 0 || w <= 0) continue;
      adj[i]!.set(j, (adj[i]!.get(j) ?? 0) + w);
      adj[j]!.set(i, (adj[j]!.get(i) ?? 0) + w);
    }
  }
  return adj;
}

/** Louvain: local moves in node order (deterministic), then aggregation, until nothing moves. */
export function louvain(adj: readonly Map<number, number>[]): Int32Array {
  let graph = adj;
  let membership = Int32Array.from({ length: adj.length }, (_, i) => i);
  for (let level = 0; level < 32; level++) {
    const size = graph.length;
    const deg = new Float64Array(size);
    let m2 = 0;
    for (let i = 0; i < size; i++) {
      for (const w of graph[i]!.values()) deg[i] = deg[i]! + w;
      m2 += deg[i]!;
    }
    if (m2 === 0) break;
    const c = Int32Array.from({ length: size }, (_, i) => i);
    const tot = Float64Array.from(deg);
    let anyMove = false;
    for (let pass = 0, moved = true; moved && pass < 64; pass++) {
      moved = false;
      for (let i = 0; i < size; i++) {
        const ci = c[i]!;
        const links = new Map<number, number>();
        for (const [j, w] of graph[i]!) if (j !== i) links.set(c[j]!, (links.get(c[j]!) ?? 0) + w);
        tot[ci] = tot[ci]! - deg[i]!;
        let best = ci;
        let bestGain = (links.get(ci) ?? 0) - (tot[ci]! * deg[i]!) / m2;
        for (const [cc, w] of links) {
          const gain = w - (tot[cc]! * deg[i]!) / m2;
          if (gain > bestGain + 1e-12) {
            bestGain = gain;
            best = cc;
          }
        }
        tot[best] = tot[best]! + deg[i]!;
        if (best !== ci) {
          c[i] = best;
          moved = true;
          anyMove = true;
        }
      }
    }
    const renumber = new Map<number, number>();
    for (let i = 0; i < size; i++) if (!renumber.has(c[i]!)) renumber.set(c[i]!, renumber.size);
    membership = membership.map((s) => renumber.get(c[s]!)!);
    if (!anyMove || renumber.size === size) break;
    const next: Map<number, number>[] = Array.from({ length: renumber.size }, () => new Map<number, number>());
    for (let i = 0; i < size; i++) {
      const a = renumber.get(c[i]!)!;
      for (const [j, w] of graph[i]!) {
        const b = renumber.get(c[j]!)!;
        next[a]!.set(b, (next[a]!.get(b) ?? 0) + w);
      }
    }
    graph = next;
  }
  return membership;
}
