import type { SparseVector } from '../text/vectorize.js';
import { sortByKeyDesc } from './order.js';
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
  /** Lowest `sim` among the examples (derived from them, not serialised): the per-join example check. */
  exampleFloor: number;
  /** Terms currently posted in the inverted index. */
  indexed: number[];
  /** Size at which the postings are refreshed next. */
  nextRefresh: number;
  /** New or re-indexed since the last maintenance pass: only these look for merge partners. */
  dirty: boolean;
}

/** Cosine between a unit document vector (its first n terms) and the cluster's summed vector. */
export function similarity(c: ClusterState, v: SparseVector, n = v.idx.length): number {
  if (c.norm2 <= 0) return 0;
  return c.terms.dot(v.idx, v.val, n) / Math.sqrt(c.norm2);
}

/** Cosine between two clusters' summed vectors. */
export function clusterSimilarity(a: ClusterState, b: ClusterState): number {
  if (a.norm2 <= 0 || b.norm2 <= 0) return 0;
  const [small, large] = a.terms.size <= b.terms.size ? [a, b] : [b, a];
  return small.terms.dotTable(large.terms) / Math.sqrt(a.norm2 * b.norm2);
}

/**
 * Adds a member (the first n terms of v); `dot` is its dot product with the sum before the update (keeps
 * norm2 exact). Reads v only, so v may be the caller's reused buffer.
 */
export function addMember(c: ClusterState, v: SparseVector, dot: number, time: number, n = v.idx.length): void {
  let vv = 0;
  for (let t = 0; t < n; t++) {
    const x = v.val[t]!;
    vv += x * x;
    c.terms.add(v.idx[t]!, x, 1);
  }
  c.norm2 += 2 * dot + vv;
  c.size++;
  if (time > c.lastSeen) c.lastSeen = time;
  if (time < c.firstSeen) c.firstSeen = time;
}

// Scratch for pruneTerms and topTermsInto (grown as needed): both run on the assignment path.
let pruneT = new Int32Array(512);
let pruneW = new Float64Array(512);
let pruneC = new Int32Array(512);
let pruneOrder = new Int32Array(512);

function growPruneScratch(n: number): void {
  pruneT = new Int32Array(2 * n);
  pruneW = new Float64Array(2 * n);
  pruneC = new Int32Array(2 * n);
  pruneOrder = new Int32Array(2 * n);
}

/** Keeps the `keep` heaviest terms (ties: lower index) once the map holds more than three times that. */
export function pruneTerms(c: ClusterState, keep: number): boolean {
  const n = c.terms.size;
  if (n <= 3 * keep) return false;
  if (pruneT.length < n) growPruneScratch(n);
  const [t, w, cnt, order] = [pruneT, pruneW, pruneC, pruneOrder];
  c.terms.entries(t, w, cnt);
  for (let i = 0; i < n; i++) order[i] = i;
  sortByKeyDesc(order, n, w, t, keep);
  const table = new TermTable(keep * 2);
  let norm2 = 0;
  for (let k = 0; k < keep; k++) {
    const i = order[k]!;
    table.add(t[i]!, w[i]!, cnt[i]!);
    norm2 += w[i]! * w[i]!;
  }
  c.terms = table;
  c.norm2 = norm2;
  return true;
}

/**
 * The `n` heaviest terms with their weight in the unit centroid (ties: lower index), into the caller's
 * arrays (room for n), heaviest first; returns how many. Re-indexing a cluster runs on the assignment
 * path, where a tuple per term was a measurable share of the allocation.
 */
export function topTermsInto(c: ClusterState, n: number, terms: Int32Array, weights: Float64Array): number {
  const inv = c.norm2 > 0 ? 1 / Math.sqrt(c.norm2) : 0;
  const size = c.terms.size;
  if (pruneT.length < size) growPruneScratch(size);
  c.terms.entries(pruneT, pruneW, pruneC);
  // Insertion into a bounded sorted list of positions: no tuple per candidate, only for the result.
  const best = pruneOrder;
  let m = 0;
  for (let i = 0; i < size; i++) {
    const t = pruneT[i]!;
    const w = pruneW[i]! * inv;
    pruneW[i] = w;
    if (m === n && (w < pruneW[best[n - 1]!]! || (w === pruneW[best[n - 1]!]! && t > pruneT[best[n - 1]!]!))) continue;
    let p = m < n ? m++ : n - 1;
    while (p > 0 && (pruneW[best[p - 1]!]! < w || (pruneW[best[p - 1]!]! === w && pruneT[best[p - 1]!]! > t))) {
      best[p] = best[p - 1]!;
      p--;
    }
    best[p] = i;
  }
  for (let k = 0; k < m; k++) {
    terms[k] = pruneT[best[k]!]!;
    weights[k] = pruneW[best[k]!]!;
  }
  return m;
}

/** Cheap pre-check for offerExample: would an example this central be kept? */
export function wantsExample(c: ClusterState, sim: number, max: number): boolean {
  if (c.examples.length < max) return max > 0;
  return c.exampleFloor < sim;
}

/** The lowest example similarity (Infinity without examples). */
export function exampleFloor(examples: readonly Example[]): number {
  let min = Infinity;
  for (const e of examples) if (e.sim < min) min = e.sim;
  return min;
}

/**
 * The longest example a cluster keeps, in UTF-16 units. A description may be 16,000 characters; three of them
 * per cluster were held in memory and in every checkpoint (up to ~100 MB at 2,000 clusters), to show a reader
 * what the problem looks like. The event itself keeps the whole text (case_events, by its id).
 */
export const EXAMPLE_CHARS = 1_000;

/** A description as an example keeps it: at most EXAMPLE_CHARS, cut on a character boundary and marked with "…". */
export function exampleText(text: string): string {
  if (text.length <= EXAMPLE_CHARS) return text;
  let end = EXAMPLE_CHARS - 1;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--; // never half of a surrogate pair
  // Copied, not sliced: V8 keeps a slice's whole parent string alive.
  return Buffer.from(`${text.slice(0, end)}…`, 'utf8').toString('utf8');
}

/** Offers an example: kept if the pool has room or it is more central than the least central one. */
export function offerExample(c: ClusterState, offered: Example, max: number): void {
  if (max <= 0) return;
  const ex = offered.text.length > EXAMPLE_CHARS ? { ...offered, text: exampleText(offered.text) } : offered;
  if (c.examples.some((e) => e.text === ex.text)) return;
  if (c.examples.length < max) {
    c.examples.push(ex);
    c.exampleFloor = Math.min(c.exampleFloor, ex.sim);
    return;
  }
  let worst = 0;
  for (let i = 1; i < c.examples.length; i++) if (c.examples[i]!.sim < c.examples[worst]!.sim) worst = i;
  if (ex.sim > c.examples[worst]!.sim) {
    c.examples[worst] = ex;
    c.exampleFloor = exampleFloor(c.examples);
  }
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
