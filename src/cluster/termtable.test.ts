import { describe, expect, it } from 'vitest';
import { Mulberry32 } from './prng.js';
import { TermTable } from './termtable.js';

describe('TermTable', () => {
  it('sums weights and counts per term across growth, and round-trips its exact layout', () => {
    const rng = new Mulberry32(5);
    const t = new TermTable();
    const ref = new Map<number, [number, number]>();
    for (let i = 0; i < 3000; i++) {
      const term = Math.floor(rng.next() * 700) * 1499;
      const w = rng.next();
      t.add(term, w, 1);
      const r = ref.get(term) ?? [0, 0];
      ref.set(term, [r[0] + w, r[1] + 1]);
    }
    expect(t.size).toBe(ref.size);
    for (const [term, [w, c]] of ref) {
      expect(t.weight(term)).toBeCloseTo(w, 12);
      expect(t.count(term)).toBe(c);
    }
    expect(t.weight(1)).toBe(0);
    const back = TermTable.fromJSON(JSON.parse(JSON.stringify(t.toJSON())));
    expect(back.toJSON()).toEqual(t.toJSON());
  });

  it('copies entries out in the order forEach visits them', () => {
    const t = new TermTable();
    for (const term of [40, 7, 1_000_003, 12, 99]) t.add(term, term / 10, 2);
    const seen: [number, number, number][] = [];
    t.forEach((term, w, c) => seen.push([term, w, c]));
    const terms = new Int32Array(t.size);
    const weights = new Float64Array(t.size);
    const counts = new Int32Array(t.size);
    expect(t.entries(terms, weights, counts)).toBe(5);
    expect(seen).toEqual(Array.from(terms, (term, i) => [term, weights[i], counts[i]]));
  });

  it('dot equals the per-term weight sum in the same order, bit for bit', () => {
    const rng = new Mulberry32(11);
    const t = new TermTable();
    for (let i = 0; i < 500; i++) t.add(Math.floor(rng.next() * 400) * 7919, rng.next(), 1);
    for (let q = 0; q < 50; q++) {
      const idx = Int32Array.from({ length: 1 + (q % 30) }, () => Math.floor(rng.next() * 800) * 7919);
      const val = Float32Array.from(idx, () => rng.next());
      let ref = 0;
      for (let k = 0; k < idx.length; k++) ref += t.weight(idx[k]!) * val[k]!;
      expect(t.dot(idx, val)).toBe(ref);
      const n = Math.min(3, idx.length);
      expect(t.dot(idx, val, n)).toBe(t.dot(idx.subarray(0, n), val.subarray(0, n)));
    }
  });

  it('dotTable sums weight products in forEach order, bit for bit', () => {
    const rng = new Mulberry32(12);
    const [a, b] = [new TermTable(), new TermTable()];
    for (let i = 0; i < 300; i++) a.add(Math.floor(rng.next() * 500) * 7919, rng.next(), 1);
    for (let i = 0; i < 200; i++) b.add(Math.floor(rng.next() * 500) * 7919, rng.next(), 1);
    let ref = 0;
    a.forEach((term, w) => {
      ref += w * b.weight(term);
    });
    expect(a.dotTable(b)).toBe(ref);
  });
});
