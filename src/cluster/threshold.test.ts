import { describe, expect, it } from 'vitest';
import type { SparseVector } from '../text/vectorize.js';
import { Mulberry32 } from './prng.js';
import { ThresholdTracker } from './threshold.js';

/** Unit vectors of 1-30 terms over 200 buckets, frequent buckets repeating across documents (seeded). */
function stream(count: number, seed = 11): SparseVector[] {
  const rng = new Mulberry32(seed);
  const out: SparseVector[] = [];
  for (let d = 0; d < count; d++) {
    const terms = new Set<number>();
    const len = 1 + Math.floor(rng.next() * 30);
    while (terms.size < len) terms.add(Math.floor(rng.next() ** 2 * 200));
    const idx = Int32Array.from(terms).sort();
    const val = Float32Array.from(idx, () => 0.1 + rng.next());
    let norm = 0;
    for (const x of val) norm += x * x;
    for (let k = 0; k < val.length; k++) val[k] = val[k]! / Math.sqrt(norm);
    out.push({ idx, val });
  }
  return out;
}

const thresholds = (t: ThresholdTracker, observe: (v: SparseVector) => void, docs: SparseVector[]): number[] => {
  const seen = [t.threshold()];
  for (const v of docs) {
    observe(v);
    if (seen.at(-1) !== t.threshold()) seen.push(t.threshold());
  }
  return seen;
};

describe('ThresholdTracker', () => {
  it('estimates chance similarity to the bit (golden values: random bags must not change)', () => {
    const t = new ThresholdTracker({ threshold: 'auto', reservoir: 32 });
    expect(thresholds(t, (v) => t.observe(v), stream(3000))).toEqual([
      0.5, 0.5289805798158573, 0.43544062052760446, 0.3234275478367132, 0.2911364809088677, 0.29562618772174915,
    ]);
  });

  it('reads only the first n terms of a longer buffer and keeps a copy', () => {
    const docs = stream(800, 12);
    const a = new ThresholdTracker({ threshold: 'auto', reservoir: 16 });
    const b = new ThresholdTracker({ threshold: 'auto', reservoir: 16 });
    const buf = { idx: new Int32Array(64), val: new Float32Array(64) };
    const viaBuffer = (v: SparseVector): void => {
      buf.idx.fill(7).set(v.idx);
      buf.val.fill(0.5).set(v.val);
      b.observe(buf, v.idx.length);
    };
    expect(thresholds(b, viaBuffer, docs)).toEqual(thresholds(a, (v) => a.observe(v), docs));
    expect(b.toJSON()).toEqual(a.toJSON());
  });

  it('keeps a fixed threshold as given', () => {
    const t = new ThresholdTracker({ threshold: 0.3 });
    for (const v of stream(100)) t.observe(v);
    expect(t.threshold()).toBe(0.3);
    expect(() => new ThresholdTracker({ threshold: 1.5 })).toThrow(RangeError);
  });
});
