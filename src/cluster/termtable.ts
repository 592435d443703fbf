// Per-cluster term statistics in an open-addressing hash table over typed arrays (linear probing): the
// hot path (similarity, member updates) does a few dozen lookups per event, several times cheaper than a
// Map of objects and without per-term allocations. Iteration is in slot order, which is deterministic for
// a given history; snapshots keep slot positions so a restored table iterates identically.
//
// An entry's key, count and weight share 16 bytes of one buffer ([key:int32, count:int32, weight:float64])
// so a lookup costs one cache miss, not one per field: similarity probes tables of clusters that were not
// touched for a while, and those misses dominated the assignment time (measured with --cpu-prof).

const EMPTY = -1;

export class TermTable {
  /** keys[4s] = term, keys[4s + 1] = member count (an Int32 view of `buf`). */
  private keys: Int32Array;
  /** w[2s + 1] = summed weight (a Float64 view of the same buffer). */
  private w: Float64Array;
  size = 0;
  private mask: number;

  constructor(capacity = 16) {
    let cap = 16;
    while (cap < capacity) cap *= 2;
    [this.keys, this.w, this.mask] = emptySlots(cap);
  }

  get capacity(): number {
    return this.mask + 1;
  }

  private slotOf(term: number): number {
    const h = Math.imul(term, 0x9e3779b1);
    let s = (h ^ (h >>> 16)) & this.mask;
    for (;;) {
      const k = this.keys[4 * s]!;
      if (k === term || k === EMPTY) return s;
      s = (s + 1) & this.mask;
    }
  }

  /** Summed weight of the term (0 when absent). */
  weight(term: number): number {
    const s = this.slotOf(term);
    return this.keys[4 * s] === term ? this.w[2 * s + 1]! : 0;
  }

  /**
   * Σ weight(idx[t]) · val[t] over t in order: the same sum as calling weight() per term (an absent term
   * adds nothing), with the table's fields read once instead of per lookup. similarity()'s inner loop.
   * `n`: only the first n terms (a SparseBuffer's length).
   */
  dot(idx: Int32Array, val: Float32Array, n = idx.length): number {
    const { keys, w, mask } = this;
    let dot = 0;
    for (let t = 0; t < n; t++) {
      const term = idx[t]!;
      const h = Math.imul(term, 0x9e3779b1);
      let s = (h ^ (h >>> 16)) & mask;
      let k = keys[4 * s]!;
      while (k !== term && k !== EMPTY) {
        s = (s + 1) & mask;
        k = keys[4 * s]!;
      }
      if (k === term) dot += w[2 * s + 1]! * val[t]!;
    }
    return dot;
  }

  /**
   * Σ weight · other.weight(term) over this table's terms in slot order (the order forEach visits):
   * clusterSimilarity's sum, without copying the entries out first.
   */
  dotTable(other: TermTable): number {
    const { keys, w } = this;
    const cap = this.capacity;
    let dot = 0;
    for (let s = 0; s < cap; s++) {
      const term = keys[4 * s]!;
      if (term !== EMPTY) dot += w[2 * s + 1]! * other.weight(term);
    }
    return dot;
  }

  count(term: number): number {
    const s = this.slotOf(term);
    return this.keys[4 * s] === term ? this.keys[4 * s + 1]! : 0;
  }

  /** Adds weight and member count to a term, inserting it if new. */
  add(term: number, w: number, c: number): void {
    if ((this.size + 1) * 2 > this.capacity) this.grow();
    const s = this.slotOf(term);
    if (this.keys[4 * s] === EMPTY) {
      this.keys[4 * s] = term;
      this.size++;
    }
    this.w[2 * s + 1] = this.w[2 * s + 1]! + w;
    this.keys[4 * s + 1] = this.keys[4 * s + 1]! + c;
  }

  forEach(fn: (term: number, w: number, c: number) => void): void {
    const { keys, w } = this;
    const cap = this.capacity;
    for (let s = 0; s < cap; s++) if (keys[4 * s] !== EMPTY) fn(keys[4 * s]!, w[2 * s + 1]!, keys[4 * s + 1]!);
  }

  /**
   * Copies the entries out in slot order (the order forEach visits) into the given arrays, which must hold
   * `size` entries; returns `size`. For callers that sort or select without a closure per entry.
   */
  entries(terms: Int32Array, weights: Float64Array, counts: Int32Array): number {
    const { keys, w } = this;
    const cap = this.capacity;
    let n = 0;
    for (let s = 0; s < cap; s++) {
      if (keys[4 * s] === EMPTY) continue;
      terms[n] = keys[4 * s]!;
      counts[n] = keys[4 * s + 1]!;
      weights[n] = w[2 * s + 1]!;
      n++;
    }
    return n;
  }

  /** Rebuilds with only the given entries, in order. */
  static from(entries: readonly (readonly [number, number, number])[]): TermTable {
    const t = new TermTable(entries.length * 2);
    for (const [term, w, c] of entries) t.add(term, w, c);
    return t;
  }

  /** [slot, term, w, c] rows plus the capacity: restores the exact layout. */
  toJSON(): { capacity: number; slots: [number, number, number, number][] } {
    const slots: [number, number, number, number][] = [];
    const cap = this.capacity;
    for (let s = 0; s < cap; s++) {
      if (this.keys[4 * s] !== EMPTY) slots.push([s, this.keys[4 * s]!, this.w[2 * s + 1]!, this.keys[4 * s + 1]!]);
    }
    return { capacity: cap, slots };
  }

  static fromJSON(j: { capacity: number; slots: [number, number, number, number][] }): TermTable {
    const t = new TermTable(j.capacity);
    for (const [s, term, w, c] of j.slots) {
      t.keys[4 * s] = term;
      t.w[2 * s + 1] = w;
      t.keys[4 * s + 1] = c;
    }
    t.size = j.slots.length;
    return t;
  }

  private grow(): void {
    const { keys, w } = this;
    const old = this.capacity;
    [this.keys, this.w, this.mask] = emptySlots(old * 2);
    this.size = 0;
    for (let s = 0; s < old; s++) if (keys[4 * s] !== EMPTY) this.add(keys[4 * s]!, w[2 * s + 1]!, keys[4 * s + 1]!);
  }
}

/** `cap` empty 16-byte slots (key, count | weight) over one buffer, and the index mask. */
function emptySlots(cap: number): [Int32Array, Float64Array, number] {
  const buf = new ArrayBuffer(cap * 16);
  const keys = new Int32Array(buf);
  for (let s = 0; s < cap; s++) keys[4 * s] = EMPTY;
  return [keys, new Float64Array(buf), cap - 1];
}
