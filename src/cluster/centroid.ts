import type { SparseVector } from '../text/vectorize.js';

// One online cluster's state: the sum of its members' unit TF-IDF vectors (its direction), per-term member
// counts (for class-based TF-IDF labels), a bounded pool of central examples and its posting entries.

export interface TermStat {
  /** Sum of member weights for the term. */
  w: number;
  /** Members containing the term. */
  c: number;
}

export interface Example {
  text: string;
  eventId: string;
  /** Cosine to the centroid when the example was taken. */
  sim: number;
}

export interface ClusterState {
  id: string;
  seq: number;
  slot: number;
  size: number;
  /** Squared norm of the summed vector. */
  norm2: number;
  terms: Map<number, TermStat>;
  firstSeen: number;
  lastSeen: number;
  examples: Example[];
  /** Terms currently posted in the inverted index. */
  indexed: number[];
  /** Size at which the postings are refreshed next. */
  nextRefresh: number;
  /** New or re-indexed since the last maintenance pass: only these look for merge partners. */
  dirty: boolean;
}

/** Cosine between a unit document vector and the cluster's summed vector. */
export function similarity(c: ClusterState, v: SparseVector): number {
  if (c.norm2 <= 0) return 0;
  let dot = 0;
  for (let t = 0; t < v.idx.length; t++) {
    const s = c.terms.get(v.idx[t]!);
    if (s !== undefined) dot += s.w * v.val[t]!;
  }
  return dot / Math.sqrt(c.norm2);
}

/** Cosine between two clusters' summed vectors. */
export function clusterSimilarity(a: ClusterState, b: ClusterState): number {
  if (a.norm2 <= 0 || b.norm2 <= 0) return 0;
  const [small, large] = a.terms.size <= b.terms.size ? [a, b] : [b, a];
  let dot = 0;
  for (const [t, s] of small.terms) {
    const o = large.terms.get(t);
    if (o !== undefined) dot += s.w * o.w;
  }
  return dot / Math.sqrt(a.norm2 * b.norm2);
}

/** Adds a member; `dot` is the member's dot product with the sum before the update (keeps norm2 exact). */
export function addMember(c: ClusterState, v: SparseVector, dot: number, time: number): void {
  let vv = 0;
  for (let t = 0; t < v.idx.length; t++) {
    const x = v.val[t]!;
    vv += x * x;
    const s = c.terms.get(v.idx[t]!);
    if (s === undefined) c.terms.set(v.idx[t]!, { w: x, c: 1 });
    else {
      s.w += x;
      s.c++;
    }
  }
  c.norm2 += 2 * dot + vv;
  c.size++;
  if (time > c.lastSeen) c.lastSeen = time;
  if (time < c.firstSeen) c.firstSeen = time;
}

/** Keeps the `keep` heaviest terms (ties: lower index) once the map holds more than twice that. */
export function pruneTerms(c: ClusterState, keep: number): boolean {
  if (c.terms.size <= 2 * keep) return false;
  const kept = [...c.terms].sort((a, b) => b[1].w - a[1].w || a[0] - b[0]).slice(0, keep);
  c.terms = new Map(kept);
  c.norm2 = 0;
  for (const [, s] of kept) c.norm2 += s.w * s.w;
  return true;
}

/** The `n` heaviest terms with their weight in the unit centroid (ties: lower index). */
export function topTerms(c: ClusterState, n: number): [number, number][] {
  const inv = c.norm2 > 0 ? 1 / Math.sqrt(c.norm2) : 0;
  const out: [number, number][] = [];
  for (const [t, s] of c.terms) {
    const w = s.w * inv;
    if (out.length === n && (w < out[n - 1]![1] || (w === out[n - 1]![1] && t > out[n - 1]![0]))) continue;
    let p = out.length < n ? out.length : n - 1;
    if (out.length < n) out.push([t, w]);
    while (p > 0 && (out[p - 1]![1] < w || (out[p - 1]![1] === w && out[p - 1]![0] > t))) {
      out[p] = out[p - 1]!;
      p--;
    }
    out[p] = [t, w];
  }
  return out;
}

/** Offers an example: kept if the pool has room or it is more central than the least central one. */
export function offerExample(c: ClusterState, ex: Example, max: number): void {
  if (max <= 0 || c.examples.some((e) => e.text === ex.text)) return;
  if (c.examples.length < max) {
    c.examples.push(ex);
    return;
  }
  let worst = 0;
  for (let i = 1; i < c.examples.length; i++) if (c.examples[i]!.sim < c.examples[worst]!.sim) worst = i;
  if (ex.sim > c.examples[worst]!.sim) c.examples[worst] = ex;
}

/** Folds `from` into `into` (sums, counts, seen times, examples). */
export function absorb(into: ClusterState, from: ClusterState, maxExamples: number): void {
  for (const [t, s] of from.terms) {
    const o = into.terms.get(t);
    if (o === undefined) into.terms.set(t, { w: s.w, c: s.c });
    else {
      o.w += s.w;
      o.c += s.c;
    }
  }
  into.norm2 = 0;
  for (const s of into.terms.values()) into.norm2 += s.w * s.w;
  into.size += from.size;
  into.dirty = true;
  into.firstSeen = Math.min(into.firstSeen, from.firstSeen);
  into.lastSeen = Math.max(into.lastSeen, from.lastSeen);
  for (const ex of from.examples) offerExample(into, ex, maxExamples);
}
