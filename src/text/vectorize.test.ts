import { describe, expect, it } from 'vitest';
import { fitTransform, hashPair, hashTerm, HashingVectorizer, sparseBuffer, sparseDot } from './vectorize.js';
import { i32FromBase64 } from '../bytes.js';

describe('HashingVectorizer', () => {
  it('produces sorted, L2-normalised sparse vectors with sublinear tf and smoothed idf', () => {
    const v = new HashingVectorizer({ dimensions: 1 << 16 });
    v.update(['card', 'lost']);
    v.update(['card', 'arriv']);
    const x = v.transform(['card', 'lost', 'lost']);
    expect(x.idx.length).toBe(2);
    expect(x.idx[0]!).toBeLessThan(x.idx[1]!);
    expect(sparseDot(x, x)).toBeCloseTo(1, 6);
    const card = v.idf(v.indexOf('card'));
    const lost = v.idf(v.indexOf('lost'));
    expect(card).toBeCloseTo(Math.log(3 / 3) + 1, 12);
    expect(lost).toBeCloseTo(Math.log(3 / 2) + 1, 12);
    const wCard = x.val[x.idx.indexOf(v.indexOf('card'))]!;
    const wLost = x.val[x.idx.indexOf(v.indexOf('lost'))]!;
    expect(wLost / wCard).toBeCloseTo(((1 + Math.log(2)) * lost) / card, 5);
  });

  it('keeps term strings under a bound lowered after the fact, from the next term on', () => {
    const v = new HashingVectorizer({ maxNames: 200 });
    for (let i = 0; i < 150; i++) v.update([`term${i}`]);
    expect(v.vocabularySize).toBe(150);
    v.setMaxNames(40);
    v.update(['another']);
    expect(v.vocabularySize).toBeLessThanOrEqual(40);
    expect(v.maxNames).toBe(40);
  });

  it('names a bucket two terms share by the one that fills it, not the first to arrive', () => {
    const v = new HashingVectorizer({ dimensions: 1 << 12 });
    const bucket = v.indexOf('refund');
    let other = '';
    for (let i = 0; other === ''; i++) if (v.indexOf(`zq${i}`) === bucket) other = `zq${i}`;
    // A one-off word, long ago, then a cluster's main term: the label showed the one-off word for good.
    v.update([other, 'weather']);
    expect(v.termName(bucket)).toBe(other);
    for (let i = 0; i < 20; i++) v.update(['refund', 'late', 'order']);
    expect(v.termName(bucket)).toBe('refund');
    expect(v.termName(v.indexOf('late'))).toBe('late');
  });

  it('weighs a long document (thousands of tokens) as a short one: sorted buckets, term frequencies, names', () => {
    const v = new HashingVectorizer({ dimensions: 1 << 16 });
    const words = Array.from({ length: 3000 }, (_, i) => `w${i % 1000}`);
    v.update(['w1', 'w2']);
    v.update(words);
    const x = v.transform([...words].reverse());
    expect(x.idx.length).toBe(1000);
    for (let i = 1; i < x.idx.length; i++) expect(x.idx[i]!).toBeGreaterThan(x.idx[i - 1]!);
    // Each word three times: (1 + ln 3) idf, normalised.
    const w = (t: string) => (1 + Math.log(3)) * v.idf(v.indexOf(t));
    const norm = Math.sqrt(Array.from({ length: 1000 }, (_, i) => w(`w${i}`) ** 2).reduce((a, b) => a + b, 0));
    for (const t of ['w0', 'w1', 'w999']) expect(x.val[x.idx.indexOf(v.indexOf(t))]!).toBeCloseTo(w(t) / norm, 6);
    expect(v.documentFrequency(v.indexOf('w1'))).toBe(2);
    expect(v.termName(v.indexOf('w999'))).toBe('w999');
  });

  it('weighs a term seen once with tf 1 exactly (no rounding from 1 + ln 1)', () => {
    const v = new HashingVectorizer({ dimensions: 1 << 12 });
    v.update(['a', 'b']);
    const x = v.transform(['a', 'b', 'b']);
    const a = x.val[x.idx.indexOf(v.indexOf('a'))]!;
    const b = x.val[x.idx.indexOf(v.indexOf('b'))]!;
    const [ia, ib] = [v.idf(v.indexOf('a')), v.idf(v.indexOf('b')) * (1 + Math.log(2))];
    const norm = Math.sqrt(ia * ia + ib * ib);
    expect(a).toBe(Math.fround(Math.fround(ia) * (1 / norm)));
    expect(b).toBe(Math.fround(Math.fround(ib) * (1 / norm)));
  });

  it('hashes a pair from the first term\'s hash exactly as the joined string', () => {
    for (const [a, b] of [['card', 'arriv'], ['', 'x'], ['ünï', 'δεη'], ['<CARD>', '😀'], ['a', '']]) {
      expect(hashPair(hashTerm(a!), b!)).toBe(hashTerm(`${a} ${b}`));
      expect(hashPair(hashTerm(a!) | 0, b!)).toBe(hashTerm(`${a} ${b}`)); // as an Int32Array holds it
    }
  });

  it('gives the same vectors from supplied hashes as from the strings', () => {
    const docs = [['card', 'arriv', 'card arriv'], ['card', 'card'], ['lost', 'stolen', 'card']];
    const a = new HashingVectorizer({ dimensions: 1 << 12 });
    const b = new HashingVectorizer({ dimensions: 1 << 12 });
    for (const d of docs) {
      const x = a.updateAndTransform(d);
      const y = b.updateAndTransform(d, d.map((t) => hashTerm(t) | 0));
      expect([Array.from(y.idx), Array.from(y.val)]).toEqual([Array.from(x.idx), Array.from(x.val)]);
    }
    expect(b.snapshot()).toEqual(a.snapshot());
    expect(() => b.update(['a', 'b'], [1])).toThrow(RangeError);
    const c = new HashingVectorizer({ dimensions: 1 << 12 });
    const longer = [hashTerm('card'), hashTerm('arriv'), 12345]; // entries past the tokens are ignored
    expect(Array.from(c.transform(['card', 'arriv'], longer).idx)).toEqual(Array.from(a.transform(['card', 'arriv']).idx));
  });

  it('writes the same vector into a reused buffer, growing it when a document needs more room', () => {
    const docs = [['card', 'arriv', 'card arriv'], ['card', 'card'], [], ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'a'], ['lost']];
    const a = new HashingVectorizer({ dimensions: 1 << 12 });
    const b = new HashingVectorizer({ dimensions: 1 << 12 });
    const buf = sparseBuffer(2);
    for (const d of docs) {
      const x = a.updateAndTransform(d);
      expect(b.updateAndTransformInto(d, undefined, buf)).toBe(buf);
      expect(buf.length).toBe(x.idx.length);
      expect([Array.from(buf.idx.subarray(0, buf.length)), Array.from(buf.val.subarray(0, buf.length))]).toEqual([Array.from(x.idx), Array.from(x.val)]);
    }
    expect(buf.idx.length).toBeGreaterThanOrEqual(8);
    expect(b.snapshot()).toEqual(a.snapshot());
  });

  it('returns an empty vector for no tokens', () => {
    const x = new HashingVectorizer().transform([]);
    expect(x.idx.length).toBe(0);
  });

  it('round-trips through a snapshot', () => {
    const { vectorizer } = fitTransform([['a', 'b'], ['b', 'c'], ['c', 'd', 'd']], { dimensions: 1 << 12 });
    const copy = HashingVectorizer.restore(JSON.parse(JSON.stringify(vectorizer.snapshot())));
    expect(copy.snapshot()).toEqual(vectorizer.snapshot());
    expect(Array.from(copy.transform(['b', 'd']).val)).toEqual(Array.from(vectorizer.transform(['b', 'd']).val));
  });

  it('never remembers more term names than maxNames and keeps frequent ones', () => {
    const v = new HashingVectorizer({ maxNames: 200 });
    for (let i = 0; i < 20_000; i++) {
      v.update(['common', `rare${i}`]);
      expect(v.vocabularySize).toBeLessThanOrEqual(200);
    }
    expect(v.termName(v.indexOf('common'))).toBe('common');
  });

  it('evicts the names a sort by (document frequency, age) puts first', () => {
    // The sort the eviction used to run, over the same history: the names left must be the same, in order.
    class SortEvicting {
      names = new Map<number, string>();
      df = new Map<number, number>();
      constructor(readonly max: number) {}
      update(terms: readonly string[], v: HashingVectorizer): void {
        // A bucket counts once per document, named by its first term; buckets are visited in index order.
        const first = new Map<number, string>();
        for (const t of terms) if (!first.has(v.indexOf(t))) first.set(v.indexOf(t), t);
        for (const [i, t] of [...first].sort((a, b) => a[0] - b[0])) {
          const df = (this.df.get(i) ?? 0) + 1;
          this.df.set(i, df);
          if ((df & (df - 1)) === 0 && !this.names.has(i)) {
            if (this.names.size >= this.max) {
              const e = [...this.names.keys()].map((k, order) => ({ k, order, df: this.df.get(k)! }));
              e.sort((a, b) => a.df - b.df || a.order - b.order);
              for (const x of e.slice(0, Math.max(1, Math.floor(this.max / 10)))) this.names.delete(x.k);
            }
            this.names.set(i, t);
          }
        }
      }
    }
    const v = new HashingVectorizer({ maxNames: 300, dimensions: 1 << 16 });
    const ref = new SortEvicting(300);
    let seed = 3;
    const next = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
    for (let d = 0; d < 5000; d++) {
      // Zipf-like terms: many ties in document frequency, frequent terms reach powers of two again.
      const doc = Array.from({ length: 6 }, () => `t${Math.floor(1 / (0.0005 + next()))}`);
      v.update(doc);
      ref.update(doc, v);
    }
    const snap = v.snapshot();
    const buckets = i32FromBase64(snap.nameBuckets);
    expect(snap.names.map((t, k) => [buckets[k], t])).toEqual([...ref.names]);
  });

  it('gives every vector its own memory: later documents never change earlier vectors', () => {
    const v = new HashingVectorizer({ dimensions: 1 << 12 });
    const docs = Array.from({ length: 3000 }, (_, i) => Array.from({ length: 1 + (i % 40) }, (_, k) => `t${(i * 7 + k * 13) % 500}`));
    const kept = docs.map((d) => v.updateAndTransform(d));
    const copies = kept.map((x) => ({ idx: Array.from(x.idx), val: Array.from(x.val) }));
    for (const d of docs) v.updateAndTransform(d);
    expect(kept.map((x) => ({ idx: Array.from(x.idx), val: Array.from(x.val) }))).toEqual(copies);
    expect(kept[39]!.idx.length).toBe(40);
  });

  it('rejects a dimension that is not a power of two', () => {
    expect(() => new HashingVectorizer({ dimensions: 1000 })).toThrow(RangeError);
  });
});
