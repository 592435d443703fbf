// Deterministic count generators for the trends tests (seeded; no clocks, no I/O).

export { mulberry32 as seeded } from '../cluster/prng.js';

/** Poisson sample by inversion (fine for the small means used in tests). */
export function poisson(u: () => number, mu: number): number {
  const l = Math.exp(-mu);
  let k = 0;
  let p = 1;
  do {
    k++;
    p *= u();
  } while (p > l);
  return k - 1;
}

/** A daily-seasonal mean: quiet nights, busy afternoons, averaging `rate` per hour. */
export function dailyMean(rate: number, hourOfDay: number): number {
  return rate * (0.5 + Math.exp(-(((hourOfDay - 14) / 4) ** 2)) * 1.4);
}
