import { describe, expect, it } from 'vitest';
import { gaussian, mulberry32 } from '../../cluster/prng.js';
import { clusterOnline, DenseOnlineClusterer } from './dense-online.js';

// Synthetic embeddings shaped like a sentence encoder's: a strong shared direction (random pairs are far
// from orthogonal), a topic direction per group, and per-text noise.
function topics(groups: number, perGroup: number, d: number, seed: number): { rows: Float32Array[]; truth: number[] } {
  const rand = mulberry32(seed);
  const randVec = (): Float32Array => Float32Array.from({ length: d }, () => gaussian(rand));
  const common = unit(randVec());
  const dirs = Array.from({ length: groups }, () => unit(randVec()));
  const rows: Float32Array[] = [];
  const truth: number[] = [];
  for (let i = 0; i < groups * perGroup; i++) {
    const g = Math.floor(rand() * groups);
    const noise = unit(randVec());
    rows.push(unit(common.map((c, j) => 2 * c + 1.2 * dirs[g]![j]! + 0.8 * noise[j]!)));
    truth.push(g);
  }
  return { rows, truth };
}

function unit(v: Float32Array): Float32Array {
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

/** Fraction of pairs on which two labelings agree (same/different cluster): 1 is identical partitions. */
function randIndex(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let agree = 0;
  let pairs = 0;
  for (let i = 0; i < a.length; i++) {
    for (let j = i + 1; j < a.length; j++) {
      pairs++;
      if ((a[i] === a[j]) === (b[i] === b[j])) agree++;
    }
  }
  return agree / pairs;
}

describe('clusterOnline', () => {
  it('recovers well-separated topics despite the shared direction', () => {
    const { rows, truth } = topics(20, 30, 32, 3);
    const res = clusterOnline(rows, { warmup: 64, mergeEvery: 100 });
    expect(res.chanceMean).toBeLessThan(0.3); // centred: the shared direction is gone
    expect(res.clusters).toBeGreaterThanOrEqual(20);
    expect(res.clusters).toBeLessThanOrEqual(24);
    expect(randIndex(res.labels, truth)).toBeGreaterThan(0.98);
  });

  it('is deterministic for a seed', () => {
    const { rows } = topics(4, 50, 16, 9);
    expect(Array.from(clusterOnline(rows, { warmup: 32 }).labels)).toEqual(Array.from(clusterOnline(rows, { warmup: 32 }).labels));
  });
});

describe('DenseOnlineClusterer', () => {
  it('reports created then updated', () => {
    const { rows } = topics(2, 60, 16, 5);
    const c = new DenseOnlineClusterer(16, { warmup: 20, mergeEvery: 1_000_000 });
    c.warmUp(rows.slice(0, 20));
    const first = c.add(rows[0]!);
    expect(first.change).toBe('cluster_created');
    const changes = rows.slice(1).map((r) => c.add(r).change);
    expect(changes).toContain('cluster_updated');
  });

  it('a merge pass joins near-duplicate clusters, and merged ids resolve to the survivor', () => {
    const { rows } = topics(2, 60, 16, 5);
    // A strict joining threshold (each row its own cluster, nearly) and a loose merge threshold.
    const c = new DenseOnlineClusterer(16, { warmup: 20, z: 4, mergeZ: 1, mergeEvery: 1_000_000 });
    c.warmUp(rows.slice(0, 20));
    const ids = rows.map((r) => c.add(r).clusterId);
    const before = c.liveClusters;
    const merges = c.mergePass();
    expect(merges.length).toBeGreaterThan(0);
    expect(c.liveClusters).toBe(before - merges.length);
    for (const m of merges) {
      expect(m.keep).not.toBe(m.drop);
      expect(c.resolve(m.drop)).toBe(m.keep);
      expect(c.resolve(m.keep)).toBe(m.keep);
    }
    // Every id ever handed out still answers, with one of the live clusters.
    const live = new Set(ids.map((id) => c.resolve(id)));
    expect(live.size).toBe(c.liveClusters);
  });

  it('a reserved id is taken by the vector that names it; new clusters take ids past the reservation, also after a restore', () => {
    const { rows } = topics(2, 60, 16, 5);
    // Each row its own cluster, nearly: every add creates one.
    const c = new DenseOnlineClusterer(16, { warmup: 20, z: 6, mergeZ: 1, mergeEvery: 1_000_000 });
    c.warmUp(rows.slice(0, 20));
    expect(c.add(rows[0]!).clusterId).toBe(0);
    c.reserve(5);
    expect(c.nextClusterId).toBe(5);
    expect(c.add(rows[30]!, 3)).toMatchObject({ clusterId: 3, change: 'cluster_created' });
    expect(c.add(rows[40]!).clusterId).toBe(5);
    // Not reserved (at or past the next id): the next id.
    expect(c.add(rows[50]!, 9).clusterId).toBe(6);
    // Reserved ids never born resolve to themselves; merged ones to their survivor.
    expect([1, 2, 4].map((id) => c.resolve(id))).toEqual([1, 2, 4]);
    for (const m of c.mergePass()) expect(c.resolve(m.drop)).toBe(m.keep);
    const back = DenseOnlineClusterer.restore(c.snapshot());
    expect(back.nextClusterId).toBe(7);
    expect(back.add(rows[59]!, 4).clusterId).toBe(4);
  });
});
