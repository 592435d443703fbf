import { sparseDot, type SparseVector } from '../text/vectorize.js';
import { maxWeightMatching } from './hungarian.js';

// Identity across a re-fit: new clusters take the ids of the existing clusters they match one-to-one
// (Hungarian on centroid cosine, pairs below a floor do not count); what is left over is explained as
// splits, merges, new clusters and retired ones, so ids survive and lineage says what changed.

export interface ExistingCluster {
  id: string;
  centroid: SparseVector;
}

export type LineageKind = 'split' | 'merge' | 'new' | 'retired';

export interface LineageRecord {
  kind: LineageKind;
  from: string[];
  to: string[];
}

export interface MatchOptions {
  /** Minimum centroid cosine for two clusters to be the same, or parent and child. Default 0.5. */
  floor?: number;
  /** Next sequence number for fresh ids (`idPrefix` + seq). */
  nextSeq: number;
  idPrefix?: string;
}

export interface MatchResult {
  /** Id per new cluster, in input order. */
  ids: string[];
  lineage: LineageRecord[];
  nextSeq: number;
}

export function matchClusters(existing: readonly ExistingCluster[], next: readonly SparseVector[], opts: MatchOptions): MatchResult {
  const floor = opts.floor ?? 0.5;
  const prefix = opts.idPrefix ?? 'c_';
  let seq = opts.nextSeq;
  // Only pairs at or above the floor count (for the matching, a parent, a child): found through the terms they share,
  // never as a dense existing × next matrix (10,000 × 10,000: 62 s and 2.4 GB of heap).
  const pairs = similarPairs(existing, next, floor);
  const byOld = new Map<number, { j: number; s: number }[]>();
  const byNew = new Map<number, { i: number; s: number }[]>();
  for (const p of pairs) {
    (byOld.get(p.i) ?? byOld.set(p.i, []).get(p.i)!).push({ j: p.j, s: p.s });
    (byNew.get(p.j) ?? byNew.set(p.j, []).get(p.j)!).push({ i: p.i, s: p.s });
  }
  const matched = matchComponents(pairs, existing.length, next.length);
  const ids = new Array<string | undefined>(next.length).fill(undefined);
  const oldMatched = new Array<boolean>(existing.length).fill(false);
  matched.forEach((j, i) => {
    if (j >= 0) {
      ids[j] = existing[i]!.id;
      oldMatched[i] = true;
    }
  });
  const lineage: LineageRecord[] = [];
  const splits = new Map<number, string[]>();
  for (let j = 0; j < next.length; j++) {
    if (ids[j] !== undefined) continue;
    const id = `${prefix}${seq++}`;
    ids[j] = id;
    const parent = best(byNew.get(j)?.map((x) => [x.i, x.s] as const));
    if (parent >= 0) splits.set(parent, [...(splits.get(parent) ?? []), id]);
    else lineage.push({ kind: 'new', from: [], to: [id] });
  }
  for (const [parent, children] of [...splits].sort((a, b) => a[0] - b[0])) {
    const keep = oldMatched[parent] ? [existing[parent]!.id] : [];
    lineage.push({ kind: 'split', from: [existing[parent]!.id], to: [...keep, ...children] });
  }
  const merges = new Map<number, string[]>();
  existing.forEach((e, i) => {
    if (oldMatched[i]) return;
    if (splits.has(i)) return;
    const child = best(byOld.get(i)?.map((x) => [x.j, x.s] as const));
    if (child >= 0) merges.set(child, [...(merges.get(child) ?? []), e.id]);
    else lineage.push({ kind: 'retired', from: [e.id], to: [] });
  });
  const existingIds = new Set(existing.map((e) => e.id));
  for (const [child, parents] of [...merges].sort((a, b) => a[0] - b[0])) {
    const survivor = ids[child]!;
    const from = existingIds.has(survivor) ? [survivor, ...parents] : parents;
    lineage.push({ kind: 'merge', from, to: [survivor] });
  }
  return { ids: ids as string[], lineage, nextSeq: seq };
}

interface Pair {
  /** Existing cluster (index). */
  i: number;
  /** New cluster (index). */
  j: number;
  /** Centroid cosine, at least the floor. */
  s: number;
}

/** Every (existing, next) pair whose centroid cosine reaches the floor, by an inverted index over next's terms. */
function similarPairs(existing: readonly ExistingCluster[], next: readonly SparseVector[], floor: number): Pair[] {
  const postings = new Map<number, number[]>();
  next.forEach((c, j) => {
    for (const t of c.idx) (postings.get(t) ?? postings.set(t, []).get(t)!).push(j);
  });
  const pairs: Pair[] = [];
  const seen = new Int32Array(next.length).fill(-1);
  existing.forEach((e, i) => {
    const candidates: number[] = [];
    for (const t of e.centroid.idx) {
      for (const j of postings.get(t) ?? []) {
        if (seen[j] === i) continue;
        seen[j] = i;
        candidates.push(j);
      }
    }
    candidates.sort((a, b) => a - b);
    for (const j of candidates) {
      const s = sparseDot(e.centroid, next[j]!);
      if (s >= floor) pairs.push({ i, j, s });
    }
  });
  return pairs;
}

/**
 * The maximum-weight one-to-one matching over the pairs, per connected component of the graph they make (a
 * component's own small matrix for the Hungarian algorithm): existing index → next index, or -1.
 */
function matchComponents(pairs: readonly Pair[], nOld: number, nNew: number): number[] {
  const out = new Array<number>(nOld).fill(-1);
  // Union-find over existing (0..nOld-1) and next (nOld..) nodes.
  const parent = Int32Array.from({ length: nOld + nNew }, (_, k) => k);
  const find = (k: number): number => {
    while (parent[k] !== k) k = parent[k] = parent[parent[k]!]!;
    return k;
  };
  for (const p of pairs) {
    const a = find(p.i);
    const b = find(nOld + p.j);
    if (a !== b) parent[Math.max(a, b)] = Math.min(a, b);
  }
  const components = new Map<number, Pair[]>();
  for (const p of pairs) {
    const root = find(p.i);
    (components.get(root) ?? components.set(root, []).get(root)!).push(p);
  }
  for (const group of components.values()) {
    const olds = [...new Set(group.map((p) => p.i))].sort((a, b) => a - b);
    const news = [...new Set(group.map((p) => p.j))].sort((a, b) => a - b);
    const row = new Map(olds.map((i, r) => [i, r]));
    const col = new Map(news.map((j, c) => [j, c]));
    const weight = olds.map(() => new Array<number>(news.length).fill(0));
    for (const p of group) weight[row.get(p.i)!]![col.get(p.j)!] = p.s;
    maxWeightMatching(weight).forEach((c, r) => {
      // A row the matching paired at weight 0 (no pair between them) is not matched.
      if (c >= 0 && weight[r]![c]! > 0) out[olds[r]!] = news[c]!;
    });
  }
  return out;
}

/** The index with the highest score (the lowest index on a tie), or -1 for none. */
function best(xs: readonly (readonly [number, number])[] | undefined): number {
  let bestIndex = -1;
  let bestScore = -Infinity;
  for (const [k, s] of xs ?? []) {
    if (s > bestScore || (s === bestScore && k < bestIndex)) {
      bestIndex = k;
      bestScore = s;
    }
  }
  return bestIndex;
}
