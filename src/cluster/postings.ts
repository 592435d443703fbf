// Inverted index from term → clusters holding it among their top centroid terms, with the centroid weight
// at indexing time. Candidate lookup touches only the postings of a document's own terms, never every
// cluster; exact similarity is computed afterwards for the few best candidates.

export interface Posting {
  slots: number[];
  weights: number[];
}

export class PostingIndex {
  readonly map = new Map<number, Posting>();
  private acc: Float64Array;
  private touched: Int32Array;
  private mark: Uint8Array;
  private readonly best: number[] = [];

  /** Entries per term; a full list keeps the heaviest, so lookups stay bounded as clusters grow. */
  readonly maxPosting: number;

  constructor(capacity: number, maxPosting = 64) {
    this.maxPosting = Math.max(1, maxPosting);
    this.acc = new Float64Array(capacity);
    this.touched = new Int32Array(capacity);
    this.mark = new Uint8Array(capacity);
  }

  add(term: number, slot: number, weight: number): void {
    let p = this.map.get(term);
    if (p === undefined) this.map.set(term, (p = { slots: [], weights: [] }));
    if (p.slots.length < this.maxPosting) {
      p.slots.push(slot);
      p.weights.push(weight);
      return;
    }
    let min = 0;
    for (let k = 1; k < p.weights.length; k++) if (p.weights[k]! < p.weights[min]!) min = k;
    if (weight <= p.weights[min]!) return;
    p.slots[min] = slot;
    p.weights[min] = weight;
  }

  remove(term: number, slot: number): void {
    const p = this.map.get(term);
    if (p === undefined) return;
    const at = p.slots.indexOf(slot);
    if (at < 0) return;
    p.slots.splice(at, 1);
    p.weights.splice(at, 1);
    if (p.slots.length === 0) this.map.delete(term);
  }

  /**
   * Slots of the `limit` clusters with the highest approximate dot product with the query, best first
   * (ties: lower slot). `exclude` is skipped.
   */
  candidates(idx: ArrayLike<number>, val: ArrayLike<number>, limit: number, exclude = -1): readonly number[] {
    let count = 0;
    for (let t = 0; t < idx.length; t++) {
      const p = this.map.get(idx[t]!);
      if (p === undefined) continue;
      const q = val[t]!;
      const { slots, weights } = p;
      for (let k = 0; k < slots.length; k++) {
        const s = slots[k]!;
        if (this.mark[s] === 0) {
          this.mark[s] = 1;
          this.touched[count++] = s;
          this.acc[s] = 0;
        }
        this.acc[s] = this.acc[s]! + q * weights[k]!;
      }
    }
    // Reused between calls (callers read it before the next lookup): no allocation on the hot path.
    const best = this.best;
    best.length = 0;
    for (let c = 0; c < count; c++) {
      const s = this.touched[c]!;
      this.mark[s] = 0;
      if (s === exclude) continue;
      const a = this.acc[s]!;
      if (best.length === limit && !better(a, s, this.acc[best[limit - 1]!]!, best[limit - 1]!)) continue;
      let p = best.length < limit ? best.length : limit - 1;
      if (best.length < limit) best.push(s);
      while (p > 0 && better(a, s, this.acc[best[p - 1]!]!, best[p - 1]!)) {
        best[p] = best[p - 1]!;
        p--;
      }
      best[p] = s;
    }
    return best;
  }

  snapshot(): [number, number[], number[]][] {
    return [...this.map].map(([t, p]) => [t, [...p.slots], [...p.weights]]);
  }

  restore(entries: readonly [number, number[], number[]][]): void {
    this.map.clear();
    for (const [t, slots, weights] of entries) this.map.set(t, { slots: [...slots], weights: [...weights] });
  }
}

function better(a: number, sa: number, b: number, sb: number): boolean {
  return a > b || (a === b && sa < sb);
}
