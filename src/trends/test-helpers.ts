// Deterministic count generators for the trends tests (seeded; no clocks, no I/O).

export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

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
