// Per-cluster term statistics in an open-addressing hash table over typed arrays (linear probing): the
// hot path (similarity, member updates) does a few dozen lookups per event, several times cheaper than a
// Map of objects and without per-term allocations. Iteration is in slot order, which is deterministic for
// a given history; snapshots keep slot positions so a restored table iterates identically.

const EMPTY = -1;

export class TermTable {
  keys: Int32Array;
  w: Float64Array;
  c: Int32Array;
  size = 0;
  private mask: number;

  constructor(capacity = 16) {
    let cap = 16;
    while (cap < capacity) cap *= 2;
    this.keys = new Int32Array(cap).fill(EMPTY);
    this.w = new Float64Array(cap);
    this.c = new Int32Array(cap);
    this.mask = cap - 1;
  }

  get capacity(): number {
    return this.keys.length;
  }

  private slotOf(term: number): number {
    const h = Math.imul(term, 0x9e3779b1);
    let s = (h ^ (h >>> 16)) & this.mask;
    for (;;) {
      const k = this.keys[s]!;
      if (k === term || k === EMPTY) return s;
      s = (s + 1) & this.mask;
    }
  }

  /** Summed weight of the term (0 when absent). */
  weight(term: number): number {
    const s = this.slotOf(term);
    return this.keys[s] === term ? this.w[s]! : 0;
  }

  count(term: number): number {
    const s = this.slotOf(term);
    return this.keys[s] === term ? this.c[s]! : 0;
  }

  /** Adds weight and member count to a term, inserting it if new. */
  add(term: number, w: number, c: number): void {
    if ((this.size + 1) * 2 > this.keys.length) this.grow();
    const s = this.slotOf(term);
    if (this.keys[s] === EMPTY) {
      this.keys[s] = term;
      this.size++;
    }
    this.w[s] = this.w[s]! + w;
    this.c[s] = this.c[s]! + c;
  }

  forEach(fn: (term: number, w: number, c: number) => void): void {
    const { keys, w, c } = this;
    for (let s = 0; s < keys.length; s++) if (keys[s] !== EMPTY) fn(keys[s]!, w[s]!, c[s]!);
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
    for (let s = 0; s < this.keys.length; s++) if (this.keys[s] !== EMPTY) slots.push([s, this.keys[s]!, this.w[s]!, this.c[s]!]);
    return { capacity: this.keys.length, slots };
  }

  static fromJSON(j: { capacity: number; slots: [number, number, number, number][] }): TermTable {
    const t = new TermTable(j.capacity);
    for (const [s, term, w, c] of j.slots) {
      t.keys[s] = term;
      t.w[s] = w;
      t.c[s] = c;
    }
    t.size = j.slots.length;
    return t;
  }

  private grow(): void {
    const { keys, w, c } = this;
    const cap = keys.length * 2;
    this.keys = new Int32Array(cap).fill(EMPTY);
    this.w = new Float64Array(cap);
    this.c = new Int32Array(cap);
    this.mask = cap - 1;
    this.size = 0;
    for (let s = 0; s < keys.length; s++) if (keys[s] !== EMPTY) this.add(keys[s]!, w[s]!, c[s]!);
  }
}
