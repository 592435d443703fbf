import { describe, expect, it, vi } from 'vitest';
import { mulberry32 } from './prng.js';
import { semanticBatch } from './semantic.js';

// How many rows each neighbour graph was built over: the graph is the quadratic part.
const graphRows: number[] = [];
vi.mock('./graph.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('./graph.js')>();
  return {
    ...actual,
    knnGraph: (x: Float32Array, d: number, m: number) => {
      graphRows.push(x.length / d);
      return actual.knnGraph(x, d, m);
    },
  };
});

/** `perTopic` unit rows around each of `topics` orthogonal directions in 16 dimensions, with noise. */
function rows(topics: number, perTopic: number): { rows: Float32Array[]; topic: number[] } {
  const rand = mulberry32(7);
  const out: Float32Array[] = [];
  const topic: number[] = [];
  for (let i = 0; i < topics * perTopic; i++) {
    const t = i % topics;
    const r = Float32Array.from({ length: 16 }, (_, j) => (j === t ? 1 : 0) + 0.15 * (rand() - 0.5));
    const norm = Math.hypot(...r);
    out.push(r.map((v) => v / norm));
    topic.push(t);
  }
  return { rows: out, topic };
}

describe('semanticBatch', () => {
  it('past maxGraphDocs, estimates K from a sample and clusters by meaning without the quadratic neighbour graph', () => {
    const { rows: x, topic } = rows(3, 100);
    const whole = semanticBatch(x, { k: 'auto', seed: 1 });
    expect(graphRows).toEqual([300]);
    // 300 texts over a cap of 60: the graph of a 60-text sample gives K (the whole graph took 50 s at 16,000 texts).
    const sampled = semanticBatch(x, { k: 'auto', seed: 1, maxGraphDocs: 60 });
    expect(graphRows).toEqual([300, 60]);
    semanticBatch(x, { k: 3, seed: 1, maxGraphDocs: 60 });
    expect(graphRows).toEqual([300, 60]);
    for (const r of [whole, sampled]) {
      expect(r.k).toBe(3);
      // Each topic in one cluster, and no two topics together.
      const of = new Map<number, Set<number>>();
      topic.forEach((t, i) => of.set(t, (of.get(t) ?? new Set()).add(r.labels[i]!)));
      expect([...of.values()].map((s) => s.size)).toEqual([1, 1, 1]);
      expect(new Set([...of.values()].map((s) => [...s][0])).size).toBe(3);
    }
  });
});
