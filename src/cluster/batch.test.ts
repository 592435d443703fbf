import { describe, expect, it } from 'vitest';
import { nmi } from '../eval/metrics.js';
import { fitTransform, HashingVectorizer, type SparseVector } from '../text/vectorize.js';
import { clusterBatch, refitBatch } from './batch.js';
import { syntheticDocs } from './fixtures.test-util.js';
import { matchClusters } from './identity.js';
import { sphericalKMeans } from './kmeans.js';
import { symmetricEigen } from './lsa.js';
import { Mulberry32 } from './prng.js';

function shuffled<T>(xs: readonly T[], seed: number): T[] {
  const out = [...xs];
  const rng = new Mulberry32(seed);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const vec = (v: HashingVectorizer, tokens: string[]): SparseVector => v.transform(tokens);

describe('clusterBatch', () => {
  const docs = syntheticDocs(1200, 11);
  const { vectors } = fitTransform(docs.map((d) => d.tokens));

  it('recovers the topics with a given k, deterministically', () => {
    const a = clusterBatch(vectors, { k: 8, seed: 3 });
    const b = clusterBatch(vectors, { k: 8, seed: 3 });
    expect(Array.from(a.labels)).toEqual(Array.from(b.labels));
    expect(a.sizes.reduce((s, x) => s + x, 0)).toBe(1200);
    expect(nmi(docs.map((d) => d.topic), Array.from(a.labels))).toBeGreaterThan(0.8);
  });

  it('chooses k within a factor of two of the truth with k = auto', () => {
    const res = clusterBatch(vectors, { k: 'auto' });
    expect(res.k).toBeGreaterThanOrEqual(4);
    expect(res.k).toBeLessThanOrEqual(16);
  });

  it('handles empty and tiny batches', () => {
    expect(clusterBatch([], { k: 3 }).k).toBe(0);
    const tiny = fitTransform([['card', 'lost'], ['card', 'stolen'], ['refund', 'late']]).vectors;
    expect(clusterBatch(tiny.slice(0, 1), { k: 5 }).k).toBe(1);
    const two = clusterBatch(tiny, { k: 2 });
    expect(two.labels[0]).toBe(two.labels[1]);
    expect(two.labels[2]).not.toBe(two.labels[0]);
    expect(clusterBatch(tiny, { k: 'auto' }).k).toBeGreaterThanOrEqual(1);
  });
});

describe('refitBatch identity matching', () => {
  it('keeps ids across a re-fit of shuffled data', () => {
    const docs = syntheticDocs(1200, 12);
    const v = new HashingVectorizer();
    for (const d of docs) v.update(d.tokens);
    const first = refitBatch(docs.map((d) => vec(v, d.tokens)), { k: 8, existing: [], nextSeq: 0 });
    expect(first.lineage.filter((l) => l.kind === 'new')).toHaveLength(8);
    const idOfTopic = new Map<number, string>();
    docs.forEach((d, i) => idOfTopic.set(d.topic, first.assignments[i]!));

    const mixed = shuffled(docs, 99);
    const second = refitBatch(mixed.map((d) => vec(v, d.tokens)), {
      k: 8, seed: 77, existing: first.clusters.map((c) => ({ id: c.id, centroid: c.centroid })), nextSeq: first.nextSeq,
    });
    expect(second.lineage).toEqual([]);
    expect(second.nextSeq).toBe(first.nextSeq);
    let agree = 0;
    mixed.forEach((d, i) => {
      if (second.assignments[i] === idOfTopic.get(d.topic)) agree++;
    });
    expect(agree / mixed.length).toBeGreaterThan(0.9);
  });
});

describe('matchClusters lineage', () => {
  const v = new HashingVectorizer({ dimensions: 1 << 12 });
  for (const t of [['a', 'b'], ['c', 'd'], ['e', 'f'], ['g', 'h']]) v.update(t);
  const ab = vec(v, ['a', 'b']);
  const a = vec(v, ['a', 'a', 'a', 'b']);
  const b = vec(v, ['a', 'b', 'b', 'b']);
  const cd = vec(v, ['c', 'd']);
  const ef = vec(v, ['e', 'f']);
  const gh = vec(v, ['g', 'h']);

  it('matches ten thousand clusters to their re-fitted selves one to one, through the terms they share', () => {
    // Each cluster's three own terms and one shared at random: no dense 10,000 × 10,000 matrix (62 s, 2.4 GB of heap).
    const unit = (terms: number[]) => {
      const idx = [...new Set(terms)].sort((a, b) => a - b);
      return { idx: Int32Array.from(idx), val: new Float32Array(idx.length).fill(1 / Math.sqrt(idx.length)) };
    };
    const n = 10_000;
    const existing = Array.from({ length: n }, (_, i) => ({ id: `c_${i}`, centroid: unit([3 * i, 3 * i + 1, 3 * i + 2, 30_000 + ((i * 7) % 500)]) }));
    const next = Array.from({ length: n }, (_, i) => unit([3 * i, 3 * i + 1, 3 * i + 2, 30_000 + ((i * 11) % 500)]));
    const r = matchClusters(existing, next, { nextSeq: 0, floor: 0.5 });
    expect(r.ids).toEqual(existing.map((e) => e.id));
    expect(r.lineage).toEqual([]);
  });

  it('reports splits, merges, new and retired clusters', () => {
    const split = matchClusters([{ id: 'x', centroid: ab }], [a, b], { nextSeq: 5, floor: 0.5 });
    expect(split.ids).toEqual(['x', 'c_5']);
    expect(split.lineage).toEqual([{ kind: 'split', from: ['x'], to: ['x', 'c_5'] }]);

    const merge = matchClusters([{ id: 'p', centroid: a }, { id: 'q', centroid: b }], [ab], { nextSeq: 0, floor: 0.5 });
    expect(merge.ids).toHaveLength(1);
    expect(merge.lineage).toEqual([{ kind: 'merge', from: [merge.ids[0]!, merge.ids[0] === 'p' ? 'q' : 'p'], to: [merge.ids[0]!] }]);

    const churn = matchClusters([{ id: 'old', centroid: cd }, { id: 'keep', centroid: gh }], [ef, gh], { nextSeq: 9, idPrefix: 'k' });
    expect(churn.ids).toEqual(['k9', 'keep']);
    expect(churn.lineage).toEqual([{ kind: 'new', from: [], to: ['k9'] }, { kind: 'retired', from: ['old'], to: [] }]);
  });
});

describe('numerics', () => {
  it('spherical k-means separates two obvious directions', () => {
    const x = new Float32Array([1, 0, 0.99, 0.14, 0, 1, 0.14, 0.99]);
    const res = sphericalKMeans(x, 2, { k: 2, seed: 1 });
    expect(res.labels[0]).toBe(res.labels[1]);
    expect(res.labels[2]).toBe(res.labels[3]);
    expect(res.labels[0]).not.toBe(res.labels[2]);
  });

  it('Jacobi eigen-decomposition reproduces a symmetric matrix', () => {
    const a = new Float64Array([4, 1, 2, 1, 3, 0, 2, 0, 5]);
    const { values, vectors } = symmetricEigen(a, 3);
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) {
        let s = 0;
        for (let k = 0; k < 3; k++) s += vectors[i * 3 + k]! * values[k]! * vectors[j * 3 + k]!;
        expect(s).toBeCloseTo(a[i * 3 + j]!, 9);
      }
    }
  });
});
