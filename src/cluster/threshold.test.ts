import { describe, expect, it } from 'vitest';
import type { SparseVector } from '../text/vectorize.js';
import { Mulberry32 } from './prng.js';
import { MAX_AUTO_THRESHOLD, ThresholdTracker } from './threshold.js';

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

/**
 * The estimator written the plain way, as the module describes it: a reservoir (algorithm R), and at 10
 * changes then at each power of two from 16, mean + z·sd of the similarity of 2,000 sampled descriptions
 * to random bags, each bag a Map of summed term weights (sorted by term, unit length, stored as float32
 * as the model stores vectors). Same seeded generator, drawn in the same order: the thresholds must match
 * to the bit, so a checkpoint replays the same clusters on any version.
 */
class ReferenceThreshold {
  private readonly rng = new Mulberry32(0x5eed);
  private readonly sample: SparseVector[] = [];
  private seen = 0;
  private changes = 0;
  current = 0.5;
  constructor(
    private readonly size: number,
    private readonly z = 1.645,
  ) {}
  observe(v: SparseVector): void {
    this.seen++;
    const slot = this.sample.length < this.size ? this.sample.length : Math.floor(this.rng.next() * this.seen);
    if (slot >= this.size) return;
    this.sample[slot] = { idx: v.idx.slice(), val: v.val.slice() };
    const c = ++this.changes;
    if (c === 10 || (c >= 16 && Number.isInteger(Math.log2(c)))) this.estimate();
  }
  private pick(): SparseVector {
    return this.sample[Math.floor(this.rng.next() * this.sample.length)]!;
  }
  private estimate(): void {
    const sims: number[] = [];
    for (let p = 0; p < 2000; p++) {
      const real = this.pick();
      const length = this.pick().idx.length;
      const bag = new Map<number, number>();
      for (let t = 0; t < length; t++) {
        const src = this.pick();
        const k = Math.floor(this.rng.next() * src.idx.length);
        bag.set(src.idx[k]!, (bag.get(src.idx[k]!) ?? 0) + src.val[k]!);
      }
      const terms = [...bag.entries()].sort((a, b) => a[0] - b[0]).map(([i, w]) => [i, Math.fround(w)] as const);
      const norm = Math.sqrt(terms.reduce((acc, [, w]) => acc + w * w, 0));
      const weight = new Map(terms.map(([i, w]) => [i, Math.fround(w * (1 / norm))]));
      let s = 0;
      for (let i = 0; i < real.idx.length; i++) s += real.val[i]! * (weight.get(real.idx[i]!) ?? 0);
      sims.push(s);
    }
    const mean = sims.reduce((a, b) => a + b, 0) / sims.length;
    const sd = Math.sqrt(Math.max(0, sims.reduce((a, b) => a + b * b, 0) / sims.length - mean * mean));
    this.current = Math.min(1, mean + this.z * sd);
  }
}

describe('ThresholdTracker', () => {
  it('estimates chance similarity as the plain estimator does, to the bit', () => {
    const t = new ThresholdTracker({ threshold: 'auto', reservoir: 32 });
    const ref = new ReferenceThreshold(32);
    const docs = stream(3000);
    const got = thresholds(t, (v) => t.observe(v), docs);
    const want = [ref.current];
    for (const v of docs) {
      ref.observe(v);
      if (want.at(-1) !== ref.current) want.push(ref.current);
    }
    expect(got).toEqual(want);
    // It moved off the warm-up value and settled on a chance level below it.
    expect(got.length).toBeGreaterThan(3);
    expect(got.at(-1)!).toBeGreaterThan(0.1);
    expect(got.at(-1)!).toBeLessThan(0.5);
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

  it('caps an automatic threshold restored from a checkpoint made before the cap', () => {
    const a = new ThresholdTracker({ threshold: 'auto' });
    const restored = ThresholdTracker.fromJSON({ ...a.toJSON(), current: 1 });
    expect(restored.threshold()).toBe(MAX_AUTO_THRESHOLD);
    expect(ThresholdTracker.fromJSON({ ...new ThresholdTracker({ threshold: 0.95 }).toJSON() }).threshold()).toBe(0.95);
  });

  it('keeps a fixed threshold as given', () => {
    const t = new ThresholdTracker({ threshold: 0.3 });
    for (const v of stream(100)) t.observe(v);
    expect(t.threshold()).toBe(0.3);
    expect(() => new ThresholdTracker({ threshold: 1.5 })).toThrow(RangeError);
  });
});
