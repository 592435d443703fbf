import { describe, expect, it } from 'vitest';
import { sortByKeyDesc } from './order.js';
import { Mulberry32 } from './prng.js';

describe('sortByKeyDesc', () => {
  it('orders like the comparator sort it replaces (key desc, tie asc), with many equal keys', () => {
    const rng = new Mulberry32(3);
    for (const n of [0, 1, 2, 5, 16, 17, 40, 385, 1000]) {
      const key = Float64Array.from({ length: n }, () => Math.floor(rng.next() * 8) / 8); // heavy ties
      const tie = Int32Array.from({ length: n }, (_, i) => i);
      for (let i = n - 1; i > 0; i--) {
        const j = Math.floor(rng.next() * (i + 1));
        [tie[i], tie[j]] = [tie[j]!, tie[i]!];
      }
      const order = Int32Array.from({ length: n }, (_, i) => i);
      sortByKeyDesc(order, n, key, tie);
      const expected = Array.from({ length: n }, (_, i) => i).sort((a, b) => key[b]! - key[a]! || tie[a]! - tie[b]!);
      expect(Array.from(order)).toEqual(expected);
    }
  });

  it('with a limit, puts the first `limit` positions of the full sort in order', () => {
    const rng = new Mulberry32(5);
    for (const [n, limit] of [[385, 128], [1000, 1], [40, 17], [17, 16], [300, 0], [200, 200]] as const) {
      const key = Float64Array.from({ length: n }, () => Math.floor(rng.next() * 16) / 16);
      const tie = Int32Array.from({ length: n }, () => Math.floor(rng.next() * 2 ** 30));
      const full = Int32Array.from({ length: n }, (_, i) => i);
      sortByKeyDesc(full, n, key, tie);
      const part = Int32Array.from({ length: n }, (_, i) => i);
      sortByKeyDesc(part, n, key, tie, limit);
      expect(Array.from(part.subarray(0, limit))).toEqual(Array.from(full.subarray(0, limit)));
      expect(Array.from(part).sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
    }
  });

  it('sorts only the first n positions and handles sorted and reversed input', () => {
    const key = Float64Array.from({ length: 100 }, (_, i) => i);
    const tie = Int32Array.from({ length: 100 }, (_, i) => i);
    const order = Int32Array.from({ length: 100 }, (_, i) => i);
    sortByKeyDesc(order, 100, key, tie);
    expect(order[0]).toBe(99);
    expect(order[99]).toBe(0);
    sortByKeyDesc(order, 100, key.map((k) => -k), tie);
    expect(Array.from(order.subarray(0, 3))).toEqual([0, 1, 2]);
    const part = Int32Array.from([3, 1, 2, 0]);
    sortByKeyDesc(part, 2, Float64Array.from([0, 1, 2, 3]), Int32Array.from([0, 1, 2, 3]));
    expect(Array.from(part)).toEqual([3, 1, 2, 0]);
  });
});
