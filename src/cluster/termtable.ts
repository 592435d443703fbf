import { i32FromBase64, toBase64 } from '../bytes.js';

// Per-cluster term statistics in an open-addressing hash table over typed arrays (linear probing): the
// hot path (similarity, member updates) does a few dozen lookups per event, several times cheaper than a
// Map of objects and without per-term allocations. Iteration is in slot order, which is deterministic for
// a given history; snapshots keep slot positions so a restored table iterates identically.
//
// An entry's key, count and weight share 16 bytes of one buffer ([key:int32, count:int32, weight:float64])
// so a lookup costs one cache miss, not one per field: similarity probes tables of clusters that were not
// touched for a while, and those misses dominated the assignment time (measured with --cpu-prof).

const EMPTY = -1;

export interface PackedTermTable {
  capacity: number;
  /** base64 Int32Array: the slot of each entry. */
  slots: string;
  /** base64 Int32Array: four int32s per entry, its bytes in memory ([key, count, weight as float64]). */
  entries: string;
}

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

  /**
   * The occupied entries' 16 bytes as they lie in memory, their slots and the capacity, as base64: restores
   * the exact layout (snapshot format 2; a tenth of the time and garbage of one JSON tuple per entry).
   */
  pack(): PackedTermTable {
    const cap = this.capacity;
    const slots = new Int32Array(this.size);
    const entries = new Int32Array(4 * this.size);
    const keys = this.keys;
    let n = 0;
    for (let s = 0; s < cap; s++) {
      if (keys[4 * s] === EMPTY) continue;
      slots[n] = s;
      for (let k = 0; k < 4; k++) entries[4 * n + k] = keys[4 * s + k]!;
      n++;
    }
    return { capacity: cap, slots: toBase64(slots), entries: toBase64(entries) };
  }

  static unpack(p: PackedTermTable): TermTable {
    const t = new TermTable(p.capacity);
    const slots = i32FromBase64(p.slots);
    const entries = i32FromBase64(p.entries);
    if (t.capacity !== p.capacity || entries.length !== 4 * slots.length) throw new RangeError('packed term table: capacity or entry count does not match');
    for (let n = 0; n < slots.length; n++) {
      const s = slots[n]!;
      if (!(s >= 0 && s < p.capacity) || t.keys[4 * s] !== EMPTY || entries[4 * n] === EMPTY) throw new RangeError(`packed term table: bad slot ${s}`);
      for (let k = 0; k < 4; k++) t.keys[4 * s + k] = entries[4 * n + k]!;
    }
    t.size = slots.length;
    return t;
  }

  /** [slot, term, w, c] rows plus the capacity, the layout of snapshot format 1 (read by fromJSON; readable in tests). */
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
