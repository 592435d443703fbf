import { describe, expect, it } from 'vitest';
import { lgamma, negBinUpperTail, poissonUpperTail } from './stats.js';

function poissonTailBySum(k: number, mu: number): number {
  let p = Math.exp(-mu);
  let cdf = 0;
  for (let i = 0; i < k; i++) {
    cdf += p;
    p *= mu / (i + 1);
  }
  return 1 - cdf;
}

function nbTailBySum(k: number, mu: number, phi: number): number {
  const r = 1 / phi;
  let cdf = 0;
  for (let i = 0; i < k; i++) {
    cdf += Math.exp(lgamma(i + r) - lgamma(r) - lgamma(i + 1) + r * Math.log(r / (r + mu)) + i * Math.log(mu / (r + mu)));
  }
  return 1 - cdf;
}

describe('count tails', () => {
  it('lgamma matches factorials', () => {
    expect(lgamma(1)).toBeCloseTo(0, 10);
    expect(lgamma(11)).toBeCloseTo(Math.log(3628800), 9);
    expect(lgamma(0.5)).toBeCloseTo(Math.log(Math.sqrt(Math.PI)), 9);
  });

  it('Poisson upper tail matches a direct sum', () => {
    for (const [k, mu] of [[1, 0.3], [5, 2], [20, 10], [40, 12.5]] as const) {
      expect(poissonUpperTail(k, mu)).toBeCloseTo(poissonTailBySum(k, mu), 10);
    }
    expect(poissonUpperTail(0, 3)).toBe(1);
  });

  it('negative-binomial upper tail matches a direct sum and tends to Poisson', () => {
    for (const [k, mu, phi] of [[3, 2, 0.5], [21, 4.7, 0.3], [60, 20, 0.1]] as const) {
      expect(negBinUpperTail(k, mu, phi)).toBeCloseTo(nbTailBySum(k, mu, phi), 9);
    }
    expect(negBinUpperTail(15, 5, 1e-9)).toBeCloseTo(poissonUpperTail(15, 5), 12);
    // Overdispersion makes the same excess less surprising.
    expect(negBinUpperTail(30, 10, 0.2)).toBeGreaterThan(poissonUpperTail(30, 10));
  });

  it('stays finite far in the tail', () => {
    const p = negBinUpperTail(3000, 600, 0.05);
    expect(p).toBeGreaterThan(0);
    expect(p).toBeLessThan(1e-15);
  });
});
