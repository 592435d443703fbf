import { describe, expect, it } from 'vitest';
import { Mulberry32 } from './prng.js';
import { PostingIndex } from './postings.js';

// A plain Map-of-arrays index with the semantics the typed-array one must keep (the previous implementation).
class ReferenceIndex {
  readonly map = new Map<number, { slots: number[]; weights: number[] }>();
  constructor(readonly maxPosting: number) {}
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
    const at = p?.slots.indexOf(slot) ?? -1;
    if (p === undefined || at < 0) return;
    p.slots.splice(at, 1);
    p.weights.splice(at, 1);
    if (p.slots.length === 0) this.map.delete(term);
  }
  candidates(idx: number[], val: number[], limit: number, exclude = -1): number[] {
    const acc = new Map<number, number>();
    idx.forEach((t, i) => {
      const p = this.map.get(t);
      p?.slots.forEach((s, k) => acc.set(s, (acc.get(s) ?? 0) + val[i]! * p.weights[k]!));
    });
    return [...acc].filter(([s]) => s !== exclude).sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, limit).map(([s]) => s);
  }
}

const lookup = (ix: PostingIndex, idx: number[], val: number[], limit: number, exclude = -1): number[] => {
  const out = new Int32Array(limit);
  return Array.from(out.subarray(0, ix.candidates(idx, val, out, exclude)));
};

describe('PostingIndex', () => {
  it('ranks clusters by the dot product over shared terms, best first, ties to the lower slot', () => {
    const ix = new PostingIndex(10, 4);
    ix.add(7, 1, 0.5); // cluster 1: term 7
    ix.add(7, 2, 0.5); // cluster 2: terms 7 and 9
    ix.add(9, 2, 0.25);
    ix.add(9, 3, 0.9); // cluster 3: term 9
    expect(lookup(ix, [7, 9], [1, 1], 3)).toEqual([3, 2, 1]); // 0.9, 0.75, 0.5
    expect(lookup(ix, [7], [1], 3)).toEqual([1, 2]); // equal scores: lower slot first
    expect(lookup(ix, [7, 9], [1, 1], 2, 3)).toEqual([2, 1]);
    expect(lookup(ix, [42], [1], 3)).toEqual([]);
  });

  it('keeps the heaviest entries of a full posting, replacing the first lightest', () => {
    const ix = new PostingIndex(10, 2);
    ix.add(5, 1, 0.3);
    ix.add(5, 2, 0.1);
    ix.add(5, 3, 0.05); // lighter than both: dropped
    expect(ix.postings(5)).toEqual({ slots: [1, 2], weights: [0.3, 0.1] });
    ix.add(5, 4, 0.2); // replaces slot 2
    expect(ix.postings(5)).toEqual({ slots: [1, 4], weights: [0.3, 0.2] });
  });

  it('removes entries in place and forgets emptied terms', () => {
    const ix = new PostingIndex(10, 4);
    ix.add(5, 1, 0.3);
    ix.add(5, 2, 0.2);
    ix.add(5, 3, 0.1);
    ix.remove(5, 2);
    expect(ix.postings(5)).toEqual({ slots: [1, 3], weights: [0.3, 0.1] });
    ix.remove(5, 9); // not there: no-op
    ix.remove(6, 1);
    ix.remove(5, 1);
    ix.remove(5, 3);
    expect(ix.termCount).toBe(0);
    expect(ix.snapshot()).toEqual([]);
  });

  it('rejects terms outside the non-negative int32 range', () => {
    const ix = new PostingIndex(4);
    expect(() => ix.add(-1, 0, 1)).toThrow(RangeError);
    expect(() => ix.add(1.5, 0, 1)).toThrow(RangeError);
  });

  it('matches the reference index under heavy add/remove churn (probe runs, deletions, row reuse)', () => {
    const rng = new Mulberry32(11);
    const ix = new PostingIndex(64, 3);
    const ref = new ReferenceIndex(3);
    const posted: [number, number][] = [];
    for (let step = 0; step < 20_000; step++) {
      if (posted.length > 0 && rng.next() < 0.45) {
        const [t, s] = posted.splice(Math.floor(rng.next() * posted.length), 1)[0]!;
        ix.remove(t, s);
        ref.remove(t, s);
      } else {
        // Terms spread over a wide range with clustered values, so probe runs wrap and collide.
        const t = rng.next() < 0.5 ? Math.floor(rng.next() * 300) : Math.floor(rng.next() * 2 ** 20);
        const s = Math.floor(rng.next() * 64);
        const w = Math.round(rng.next() * 100) / 100;
        ix.add(t, s, w);
        ref.add(t, s, w);
        posted.push([t, s]);
      }
      if (step % 500 === 0) {
        const q = Array.from({ length: 12 }, () => [...ref.map.keys()][Math.floor(rng.next() * ref.map.size)] ?? 0);
        const v = q.map(() => rng.next());
        expect(lookup(ix, q, v, 5)).toEqual(ref.candidates(q, v, 5));
      }
    }
    expect(ix.termCount).toBe(ref.map.size);
    for (const [t, p] of ref.map) expect(ix.postings(t)).toEqual(p);
  });

  it('snapshots in term order and restores to the same index, also from an unordered snapshot', () => {
    const ix = new PostingIndex(10, 4);
    ix.add(900, 1, 0.5);
    ix.add(3, 2, 0.25);
    ix.add(900, 3, 0.75);
    const snap = ix.snapshot();
    expect(snap).toEqual([[3, [2], [0.25]], [900, [1, 3], [0.5, 0.75]]]);
    const back = new PostingIndex(10, 4);
    back.restore([[900, [1, 3], [0.5, 0.75]], [3, [2], [0.25]]]); // insertion-ordered, as the Map-based index wrote
    expect(back.snapshot()).toEqual(snap);
    expect(lookup(back, [900, 3], [1, 1], 3)).toEqual(lookup(ix, [900, 3], [1, 1], 3));
    expect(() => new PostingIndex(10, 1).restore(snap)).toThrow(/maxPosting/);
  });
});
