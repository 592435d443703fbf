import type { SparseVector } from '../text/vectorize.js';
import { TermTable } from './termtable.js';

// One online cluster's state: the sum of its members' unit TF-IDF vectors (its direction), per-term member
// counts (for class-based TF-IDF labels), a bounded pool of central examples and its posting entries.

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
  /** Per term: summed member weight (w) and members holding it (c). */
  terms: TermTable;
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
  for (let t = 0; t < v.idx.length; t++) dot += c.terms.weight(v.idx[t]!) * v.val[t]!;
  return dot / Math.sqrt(c.norm2);
}

/** Cosine between two clusters' summed vectors. */
export function clusterSimilarity(a: ClusterState, b: ClusterState): number {
  if (a.norm2 <= 0 || b.norm2 <= 0) return 0;
  const [small, large] = a.terms.size <= b.terms.size ? [a, b] : [b, a];
  let dot = 0;
  small.terms.forEach((t, w) => {
    dot += w * large.terms.weight(t);
  });
  return dot / Math.sqrt(a.norm2 * b.norm2);
}

/** Adds a member; `dot` is the member's dot product with the sum before the update (keeps norm2 exact). */
export function addMember(c: ClusterState, v: SparseVector, dot: number, time: number): void {
  let vv = 0;
  for (let t = 0; t < v.idx.length; t++) {
    const x = v.val[t]!;
    vv += x * x;
    c.terms.add(v.idx[t]!, x, 1);
  }
  c.norm2 += 2 * dot + vv;
  c.size++;
  if (time > c.lastSeen) c.lastSeen = time;
  if (time < c.firstSeen) c.firstSeen = time;
}

/** Keeps the `keep` heaviest terms (ties: lower index) once the map holds more than three times that. */
export function pruneTerms(c: ClusterState, keep: number): boolean {
  if (c.terms.size <= 3 * keep) return false;
  const all: [number, number, number][] = [];
  c.terms.forEach((t, w, n) => all.push([t, w, n]));
  const kept = all.sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, keep);
  c.terms = TermTable.from(kept);
  c.norm2 = 0;
  for (const [, w] of kept) c.norm2 += w * w;
  return true;
}

/** The `n` heaviest terms with their weight in the unit centroid (ties: lower index). */
export function topTerms(c: ClusterState, n: number): [number, number][] {
  const inv = c.norm2 > 0 ? 1 / Math.sqrt(c.norm2) : 0;
  const out: [number, number][] = [];
  c.terms.forEach((t, sw) => {
    const w = sw * inv;
    if (out.length === n && (w < out[n - 1]![1] || (w === out[n - 1]![1] && t > out[n - 1]![0]))) return;
    let p = out.length < n ? out.length : n - 1;
    if (out.length < n) out.push([t, w]);
    while (p > 0 && (out[p - 1]![1] < w || (out[p - 1]![1] === w && out[p - 1]![0] > t))) {
      out[p] = out[p - 1]!;
      p--;
    }
    out[p] = [t, w];
  });
  return out;
}

/** Cheap pre-check for offerExample: would an example this central be kept? */
export function wantsExample(c: ClusterState, sim: number, max: number): boolean {
  if (c.examples.length < max) return max > 0;
  for (const e of c.examples) if (e.sim < sim) return true;
  return false;
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
  from.terms.forEach((t, w, n) => into.terms.add(t, w, n));
  into.norm2 = 0;
  into.terms.forEach((_, w) => {
    into.norm2 += w * w;
  });
  into.size += from.size;
  into.dirty = true;
  into.firstSeen = Math.min(into.firstSeen, from.firstSeen);
  into.lastSeen = Math.max(into.lastSeen, from.lastSeen);
  for (const ex of from.examples) offerExample(into, ex, maxExamples);
}
