import { f64FromBase64, i32FromBase64, toBase64 } from '../bytes.js';

// Inverted index from term → clusters holding it among their top centroid terms, with the centroid weight
// at indexing time. Candidate lookup touches only the postings of a document's own terms, never every
// cluster; exact similarity is computed afterwards for the few best candidates.
//
// Layout: the hot path does a lookup per query term for every event, so the index is typed arrays, not a
// Map of per-term objects (measured: the Map's hashing, its rehashing under add/remove churn and the
// pointer chasing through posting objects were a seventh of the assignment time). Terms map to rows by open
// addressing with linear probing and backward-shift deletion (no tombstones, so no rehash churn); a row is
// a fixed block of `maxPosting` (slot, weight) pairs, and freed rows are reused.

const EMPTY = -1;

/** base64 arrays: terms in increasing order, each one's posting length, then all slots and weights in that order. */
export interface PackedPostings {
  terms: string;
  lens: string;
  slots: string;
  weights: string;
}

export class PostingIndex {
  /** Entries per term; a full list keeps the heaviest, so lookups stay bounded as clusters grow. */
  readonly maxPosting: number;
  // term → row (open addressing).
  private keys: Int32Array;
  private rowOf: Int32Array;
  private mask: number;
  private terms = 0;
  // Rows: `maxPosting` consecutive entries each, `lens[row]` of them in use.
  private slots: Int32Array;
  private weights: Float64Array;
  private lens: Int32Array;
  private rows = 0;
  private readonly freeRows: number[] = [];
  // Candidate scoring scratch, one entry per cluster slot (acc and mark are all zeros between calls).
  private acc: Float64Array;
  private touched: Int32Array;
  private mark: Uint8Array;
  /** Scores of the candidates being selected, beside `out`. */
  private bestScores = new Float64Array(4);

  constructor(capacity: number, maxPosting = 64) {
    this.maxPosting = Math.max(1, maxPosting);
    this.acc = new Float64Array(capacity);
    this.touched = new Int32Array(capacity + 1); // + 1: candidates() writes one past the last cluster kept
    this.mark = new Uint8Array(capacity);
    this.keys = new Int32Array(64).fill(EMPTY);
    this.rowOf = new Int32Array(64);
    this.mask = 63;
    this.slots = new Int32Array(32 * this.maxPosting);
    this.weights = new Float64Array(32 * this.maxPosting);
    this.lens = new Int32Array(32);
  }

  /** Terms with at least one posting. */
  get termCount(): number {
    return this.terms;
  }

  /** The postings of one term, in list order (a copy; for tests and snapshots). */
  postings(term: number): { slots: number[]; weights: number[] } {
    const r = this.rowFor(term);
    if (r < 0) return { slots: [], weights: [] };
    const base = r * this.maxPosting;
    const n = this.lens[r]!;
    return { slots: Array.from(this.slots.subarray(base, base + n)), weights: Array.from(this.weights.subarray(base, base + n)) };
  }

  add(term: number, slot: number, weight: number): void {
    if (!(term >= 0 && term <= 0x7fffffff && Number.isInteger(term))) throw new RangeError(`term must be a non-negative int32, got ${term}`);
    let h = this.home(term);
    while (this.keys[h] !== EMPTY && this.keys[h] !== term) h = (h + 1) & this.mask;
    let r: number;
    if (this.keys[h] === EMPTY) {
      r = this.newRow();
      this.keys[h] = term;
      this.rowOf[h] = r;
      this.terms++;
      if (this.terms * 2 > this.keys.length) this.growTerms();
    } else r = this.rowOf[h]!;
    const base = r * this.maxPosting;
    const n = this.lens[r]!;
    if (n < this.maxPosting) {
      this.slots[base + n] = slot;
      this.weights[base + n] = weight;
      this.lens[r] = n + 1;
      return;
    }
    // Full: replace the lightest entry (the first of equal ones) if the new one is heavier.
    let min = base;
    for (let k = base + 1; k < base + n; k++) if (this.weights[k]! < this.weights[min]!) min = k;
    if (weight <= this.weights[min]!) return;
    this.slots[min] = slot;
    this.weights[min] = weight;
  }

  remove(term: number, slot: number): void {
    const h = this.find(term);
    if (h < 0) return;
    const r = this.rowOf[h]!;
    const base = r * this.maxPosting;
    const n = this.lens[r]!;
    let at = base;
    while (at < base + n && this.slots[at] !== slot) at++;
    if (at === base + n) return;
    // Keep list order (it breaks ties when a full list replaces its lightest entry).
    this.slots.copyWithin(at, at + 1, base + n);
    this.weights.copyWithin(at, at + 1, base + n);
    this.lens[r] = n - 1;
    if (n === 1) {
      this.freeRows.push(r);
      this.deleteAt(h);
    }
  }

  /**
   * Writes the slots of the (at most out.length) clusters with the highest approximate dot product with the
   * query (its first `terms` entries) into `out`, best first (ties: lower slot), and returns how many.
   * `exclude` is skipped. The caller owns `out`, so the hot path allocates nothing.
   */
  candidates(idx: ArrayLike<number>, val: ArrayLike<number>, out: Int32Array, exclude = -1, terms = idx.length): number {
    const { acc, mark, touched, slots, weights, lens, keys, mask } = this;
    const P = this.maxPosting;
    const limit = out.length;
    let count = 0;
    for (let t = 0; t < terms; t++) {
      const term = idx[t]!;
      let h = this.home(term);
      let k = keys[h]!;
      while (k !== term && k !== EMPTY) {
        h = (h + 1) & mask;
        k = keys[h]!;
      }
      if (k === EMPTY) continue;
      const r = this.rowOf[h]!;
      const q = val[t]!;
      const end = r * P + lens[r]!;
      // Without a branch on first sight: most entries are a cluster's first (unpredictable), so the slot is
      // always written to `touched` and kept only when unmarked; acc is all zeros between calls.
      for (let e = r * P; e < end; e++) {
        const s = slots[e]!;
        touched[count] = s;
        count += 1 - mark[s]!;
        mark[s] = 1;
        acc[s] = acc[s]! + q * weights[e]!;
      }
    }
    // Best first by (score desc, slot asc); the scores of `out` are kept beside it, not re-read through acc.
    const best = this.bestScores.length >= limit ? this.bestScores : (this.bestScores = new Float64Array(limit));
    let n = 0;
    for (let c = 0; c < count; c++) {
      const s = touched[c]!;
      const a = acc[s]!;
      mark[s] = 0;
      acc[s] = 0;
      if (s === exclude) continue;
      if (n === limit && !better(a, s, best[limit - 1]!, out[limit - 1]!)) continue;
      let p = n < limit ? n++ : limit - 1;
      while (p > 0 && better(a, s, best[p - 1]!, out[p - 1]!)) {
        out[p] = out[p - 1]!;
        best[p] = best[p - 1]!;
        p--;
      }
      out[p] = s;
      best[p] = a;
    }
    return n;
  }

  /** [term, slots, weights] in increasing term order: the same content always serialises the same. */
  snapshot(): [number, number[], number[]][] {
    return Array.from(this.sortedTerms(), (t) => {
      const p = this.postings(t);
      return [t, p.slots, p.weights];
    });
  }

  /** The same content as snapshot() as four base64 arrays (snapshot format 2): no array per term. */
  pack(): PackedPostings {
    const order = this.sortedTerms();
    const lens = new Int32Array(order.length);
    let total = 0;
    for (let i = 0; i < order.length; i++) total += lens[i] = this.lens[this.rowFor(order[i]!)]!;
    const slots = new Int32Array(total);
    const weights = new Float64Array(total);
    let at = 0;
    for (let i = 0; i < order.length; i++) {
      const base = this.rowFor(order[i]!) * this.maxPosting;
      slots.set(this.slots.subarray(base, base + lens[i]!), at);
      weights.set(this.weights.subarray(base, base + lens[i]!), at);
      at += lens[i]!;
    }
    return { terms: toBase64(order), lens: toBase64(lens), slots: toBase64(slots), weights: toBase64(weights) };
  }

  /** Terms with postings, in increasing order (a typed array's sort is numeric). */
  private sortedTerms(): Int32Array {
    const terms = new Int32Array(this.terms);
    let n = 0;
    for (let h = 0; h < this.keys.length; h++) if (this.keys[h] !== EMPTY) terms[n++] = this.keys[h]!;
    return terms.sort();
  }

  restore(entries: readonly [number, number[], number[]][]): void {
    this.clear();
    for (const [t, slots, weights] of entries) this.load(t, slots, weights, 0, slots.length);
  }

  restorePacked(p: PackedPostings): void {
    const terms = i32FromBase64(p.terms);
    const lens = i32FromBase64(p.lens);
    const slots = i32FromBase64(p.slots);
    const weights = f64FromBase64(p.weights);
    const total = lens.reduce((a, b) => a + b, 0);
    if (lens.length !== terms.length || slots.length !== total || weights.length !== total) throw new RangeError('packed postings: lengths do not match');
    this.clear();
    let at = 0;
    for (let i = 0; i < terms.length; i++) {
      this.load(terms[i]!, slots, weights, at, lens[i]!);
      at += lens[i]!;
    }
  }

  private clear(): void {
    this.keys.fill(EMPTY);
    this.lens.fill(0);
    this.terms = 0;
    this.rows = 0;
    this.freeRows.length = 0;
  }

  private load(t: number, slots: ArrayLike<number>, weights: ArrayLike<number>, from: number, n: number): void {
    if (n > this.maxPosting) throw new RangeError(`posting of term ${t} holds ${n} entries, more than maxPosting ${this.maxPosting}`);
    for (let k = from; k < from + n; k++) this.add(t, slots[k]!, weights[k]!);
  }

  private home(term: number): number {
    const h = Math.imul(term, 0x9e3779b1);
    return (h ^ (h >>> 16)) & this.mask;
  }

  private find(term: number): number {
    let h = this.home(term);
    for (;;) {
      const k = this.keys[h]!;
      if (k === term) return h;
      if (k === EMPTY) return -1;
      h = (h + 1) & this.mask;
    }
  }

  private rowFor(term: number): number {
    const h = this.find(term);
    return h < 0 ? -1 : this.rowOf[h]!;
  }

  private newRow(): number {
    if (this.freeRows.length > 0) return this.freeRows.pop()!;
    if (this.rows === this.lens.length) {
      const cap = this.lens.length * 2;
      const slots = new Int32Array(cap * this.maxPosting);
      slots.set(this.slots);
      const weights = new Float64Array(cap * this.maxPosting);
      weights.set(this.weights);
      const lens = new Int32Array(cap);
      lens.set(this.lens);
      this.slots = slots;
      this.weights = weights;
      this.lens = lens;
    }
    return this.rows++;
  }

  /** Empties slot h and shifts later entries of the probe run back, so lookups never need tombstones. */
  private deleteAt(h: number): void {
    const { keys, rowOf, mask } = this;
    let hole = h;
    let j = h;
    for (;;) {
      j = (j + 1) & mask;
      const k = keys[j]!;
      if (k === EMPTY) break;
      const want = this.home(k);
      // The entry at j may move into the hole unless its home lies cyclically in (hole, j].
      const stays = hole <= j ? want > hole && want <= j : want > hole || want <= j;
      if (stays) continue;
      keys[hole] = k;
      rowOf[hole] = rowOf[j]!;
      hole = j;
    }
    keys[hole] = EMPTY;
    this.terms--;
  }

  private growTerms(): void {
    const { keys, rowOf } = this;
    const cap = keys.length * 2;
    this.keys = new Int32Array(cap).fill(EMPTY);
    this.rowOf = new Int32Array(cap);
    this.mask = cap - 1;
    for (let h = 0; h < keys.length; h++) {
      const k = keys[h]!;
      if (k === EMPTY) continue;
      let g = this.home(k);
      while (this.keys[g] !== EMPTY) g = (g + 1) & this.mask;
      this.keys[g] = k;
      this.rowOf[g] = rowOf[h]!;
    }
  }
}

function better(a: number, sa: number, b: number, sb: number): boolean {
  return a > b || (a === b && sa < sb);
}
