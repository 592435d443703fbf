import { describe, expect, it } from 'vitest';
import { hungarian, maxWeightMatching } from '../cluster/hungarian.js';
import { ari, hungarianAccuracy, nmi } from './metrics.js';

describe('nmi', () => {
  it('is 1 for identical labelings, whatever the label names', () => {
    expect(nmi([0, 0, 1, 1, 2], [0, 0, 1, 1, 2])).toBe(1);
    expect(nmi(['a', 'a', 'b', 'b', 'c'], [7, 7, 3, 3, 9])).toBeCloseTo(1, 12);
  });

  it('matches hand-computed values (arithmetic normalisation)', () => {
    // pred refines truth: MI = H(truth) = ln 2, H(pred) = 1.5 ln 2, NMI = ln2 / (1.25 ln2) = 0.8.
    expect(nmi([0, 0, 1, 1], [0, 0, 1, 2])).toBeCloseTo(0.8, 12);
    // scikit-learn doc examples.
    expect(nmi([0, 0, 0, 0], [0, 1, 2, 3])).toBe(0);
  });

  it('is about 0 for independent labelings', () => {
    const truth: number[] = [];
    const pred: number[] = [];
    for (let i = 0; i < 10_000; i++) {
      truth.push(i % 7);
      pred.push(Math.floor(i / 7) % 5);
    }
    expect(nmi(truth, pred)).toBeLessThan(0.01);
  });
});

describe('ari', () => {
  it('matches scikit-learn documentation values', () => {
    expect(ari([0, 0, 1, 1], [0, 0, 1, 1])).toBe(1);
    expect(ari([0, 0, 1, 1], [1, 1, 0, 0])).toBe(1);
    expect(ari([0, 0, 1, 1], [0, 0, 1, 2])).toBeCloseTo(0.5714285714285715, 12);
    expect(ari([0, 0, 0, 0], [0, 1, 2, 3])).toBe(0);
    expect(ari([0, 0, 1, 1], [0, 1, 0, 1])).toBeCloseTo(-0.5, 12);
  });
});

describe('hungarianAccuracy', () => {
  it('maps clusters to labels one to one', () => {
    expect(hungarianAccuracy([0, 0, 1, 1], [1, 1, 0, 0])).toBe(1);
    expect(hungarianAccuracy([0, 0, 1, 1], [0, 0, 1, 2])).toBe(0.75);
    // More clusters than labels: only one cluster per label counts.
    expect(hungarianAccuracy(['a', 'a', 'a', 'b'], [1, 2, 3, 4])).toBe(0.5);
  });
});

function bruteForceMin(cost: number[][]): number {
  const rows = cost.length;
  const cols = cost[0]!.length;
  const n = Math.min(rows, cols);
  let best = Infinity;
  const used = new Array<boolean>(Math.max(rows, cols)).fill(false);
  const transpose = rows > cols;
  const get = (i: number, j: number): number => (transpose ? cost[j]![i]! : cost[i]![j]!);
  const wide = transpose ? rows : cols;
  const go = (i: number, acc: number): void => {
    if (i === n) {
      best = Math.min(best, acc);
      return;
    }
    for (let j = 0; j < wide; j++) {
      if (used[j]) continue;
      used[j] = true;
      go(i + 1, acc + get(i, j));
      used[j] = false;
    }
  };
  go(0, 0);
  return best;
}

describe('hungarian', () => {
  it('solves a square case', () => {
    const cost = [[4, 1, 3], [2, 0, 5], [3, 2, 2]];
    const a = hungarian(cost);
    expect(a.reduce((s, j, i) => s + cost[i]![j]!, 0)).toBe(5);
    expect(new Set(a).size).toBe(3);
  });

  it('matches brute force on random rectangular matrices, both orientations', () => {
    let seed = 12345;
    const rand = (): number => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    for (let trial = 0; trial < 60; trial++) {
      const rows = 1 + Math.floor(rand() * 5);
      const cols = 1 + Math.floor(rand() * 5);
      const cost = Array.from({ length: rows }, () => Array.from({ length: cols }, () => Math.floor(rand() * 20)));
      const a = hungarian(cost);
      expect(a).toHaveLength(rows);
      const assigned = a.filter((j) => j >= 0);
      expect(assigned).toHaveLength(Math.min(rows, cols));
      expect(new Set(assigned).size).toBe(assigned.length);
      const total = a.reduce((s, j, i) => (j >= 0 ? s + cost[i]![j]! : s), 0);
      expect(total).toBe(bruteForceMin(cost));
    }
  });

  it('maximises weight with maxWeightMatching', () => {
    expect(maxWeightMatching([[1, 9, 0], [8, 7, 0]])).toEqual([1, 0]);
    expect(maxWeightMatching([[5], [9], [1]])).toEqual([-1, 0, -1]);
    expect(hungarian([])).toEqual([]);
  });
});
