import { describe, expect, it } from 'vitest';
import { SEEN_BINS, seenAtLeast } from './calibration.js';
import { resolveTrendConfig } from './config.js';
import { createDetectorState, detectorConfigSchema, stepDetector, type DetectorConfig } from './detector.js';
import { poisson, seeded } from './test-helpers.js';

describe('seenAtLeast', () => {
  const bins = new Array<number>(SEEN_BINS).fill(0);
  bins[0] = 0.08; // surprise 1-1.33x the level
  bins[8] = 0.01; // 10-13.3x
  bins[SEEN_BINS - 1] = 0.001; // 1000x and over

  it('sums the bins at and above a ratio, counting its own bin in proportion (log-linear)', () => {
    expect(seenAtLeast(bins, 1)).toBeCloseTo(0.091, 12);
    expect(seenAtLeast(bins, 2)).toBeCloseTo(0.011, 12);
    expect(seenAtLeast(bins, 10)).toBeCloseTo(0.011, 12);
    // Half way through bin 8 in log terms: half of it, and everything above.
    expect(seenAtLeast(bins, 10 ** (8.5 / 8))).toBeCloseTo(0.005 + 0.001, 12);
    expect(seenAtLeast(bins, 500)).toBeCloseTo(0.001, 12);
    expect(seenAtLeast(bins, 5000)).toBeCloseTo(0.001, 12);
  });
});

describe('seenTailFactor', () => {
  // Five-minute counts around 10 with a one-bucket burst of 15x every ~2.5 days (tweets' retweet storms).
  const rows = (() => {
    const u = seeded(11);
    return Array.from({ length: 288 * 40 }, (_, i) => (i % 700 === 350 ? 150 : poisson(u, 10)));
  })();
  const T0 = Date.UTC(2026, 0, 5);
  const run = (factor: number): number[] => {
    const cfg: DetectorConfig = detectorConfigSchema.parse({ bucketMinutes: 5, seenTailFactor: factor });
    const st = createDetectorState();
    return rows.map((x, i) => stepDetector(st, Math.floor(((T0 + i * 300_000) / 3_600_000) % 168), x, cfg).pointSurprise);
  };
  const off = run(0);
  const on = run(0.1);
  const bursts = rows.flatMap((x, i) => (x === 150 ? [i] : []));

  it('scores a burst the series keeps showing by how often it has shown it, not as once in years', () => {
    expect(bursts.length).toBeGreaterThanOrEqual(15);
    const late = bursts.slice(8);
    // The fitted exponential tail calls every one of them a one-in-millions bucket.
    for (const i of late) expect(off[i]!).toBeGreaterThan(8);
    // Seen every 700 buckets: frequency ~1/700, so at most ~-log10(1/700 x 0.1) ~ 3.85 (decay makes it rarer).
    for (const i of late) expect(on[i]!).toBeLessThan(4.5);
  });

  it('leaves the first burst, and a bigger one than any seen, to the fitted tail', () => {
    expect(on[bursts[0]!]).toBe(off[bursts[0]!]);
    const bigger = [...rows];
    bigger[bursts[12]!] = 1500;
    const cfg: DetectorConfig = detectorConfigSchema.parse({ bucketMinutes: 5, seenTailFactor: 0.1 });
    const st = createDetectorState();
    const s = bigger.map((x, i) => stepDetector(st, Math.floor(((T0 + i * 300_000) / 3_600_000) % 168), x, cfg).pointSurprise);
    expect(s[bursts[12]!]!).toBeGreaterThan(2 * on[bursts[12]!]!);
    expect(s[bursts[12]!]!).toBeGreaterThan(8);
  });

  it('changes nothing where no bucket was surprising before', () => {
    const n = bursts[0]!;
    expect(on.slice(0, n + 1)).toEqual(off.slice(0, n + 1));
  });

  it('is off in the pipeline: a burst that keeps coming back is what recur reports', () => {
    expect(resolveTrendConfig().detectorResolved.seenTailFactor).toBe(0);
    expect(detectorConfigSchema.parse({}).seenTailFactor).toBe(0.1);
  });
});
