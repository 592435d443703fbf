import { describe, expect, it } from 'vitest';
import { SEEN_BINS, seenAtLeast } from './calibration.js';
import { resolveTrendConfig } from './config.js';
import { createDetectorState, detectorConfigSchema, stepDetector, type DetectorConfig } from './detector.js';
import { poisson, seeded } from './test-helpers.js';

describe('seenAtLeast', () => {
  const bins = new Array<number>(SEEN_BINS).fill(0);
  bins[0] = 0.08; // surprise 1-1.15x the level
  bins[16] = 0.01; // 10-11.5x
  bins[SEEN_BINS - 1] = 0.001; // the open bin, from 10^(39/16) ~ 275x

  it('sums the bin below its own, its own and every bin above it', () => {
    expect(seenAtLeast(bins, 1)).toBeCloseTo(0.091, 12);
    expect(seenAtLeast(bins, 1.2)).toBeCloseTo(0.091, 12);
    expect(seenAtLeast(bins, 1.4)).toBeCloseTo(0.011, 12);
    // In bin 16 or the one above: all of bin 16, so a burst that returns at the same surprise, or up to
    // 15-32% more of it, counts in full.
    expect(seenAtLeast(bins, 10)).toBeCloseTo(0.011, 12);
    expect(seenAtLeast(bins, 11.4)).toBeCloseTo(0.011, 12);
    expect(seenAtLeast(bins, 12)).toBeCloseTo(0.011, 12);
    expect(seenAtLeast(bins, 13.5)).toBeCloseTo(0.001, 12);
    expect(seenAtLeast(bins, 280)).toBeCloseTo(0.001, 12);
    expect(seenAtLeast(bins, 5000)).toBeCloseTo(0.001, 12);
    // Below the level (not an exceedance) reads from the first bin.
    expect(seenAtLeast(bins, 0.5)).toBeCloseTo(0.091, 12);
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
    // And so is the second, though the baseline has drifted and its surprise is a fifth above the first's.
    expect(on[bursts[1]!]!).toBeLessThan(4.5);
  });

  it('leaves the first burst, and one bigger than any seen, to the fitted tail', () => {
    expect(on[bursts[0]!]).toBe(off[bursts[0]!]);
    const withBurst = (x: number): number[] => {
      const bigger = [...rows];
      bigger[bursts[12]!] = x;
      const cfg: DetectorConfig = detectorConfigSchema.parse({ bucketMinutes: 5, seenTailFactor: 0.1 });
      const st = createDetectorState();
      return bigger.map((v, i) => stepDetector(st, Math.floor(((T0 + i * 300_000) / 3_600_000) % 168), v, cfg).pointSurprise);
    };
    // A decade bigger, and a third bigger (its surprise a third beyond every burst's before it).
    for (const x of [1500, 200]) {
      const s = withBurst(x);
      expect(s[bursts[12]!]!).toBeGreaterThan(2 * on[bursts[12]!]!);
      expect(s[bursts[12]!]!).toBeGreaterThan(8);
    }
  });

  it('never caps a burst in the open last bin: one at surprisal\'s ceiling cannot be told from a bigger one', () => {
    const giants = rows.map((x) => (x === 150 ? 15_000 : x));
    const score = (factor: number): number[] => {
      const cfg: DetectorConfig = detectorConfigSchema.parse({ bucketMinutes: 5, seenTailFactor: factor });
      const st = createDetectorState();
      return giants.map((v, i) => stepDetector(st, Math.floor(((T0 + i * 300_000) / 3_600_000) % 168), v, cfg).pointSurprise);
    };
    const [capped, uncapped] = [score(0.1), score(0)];
    for (const i of bursts) expect(capped[i]).toBe(uncapped[i]);
  });

  it('records and reads surprise in the same units at another calibrationLevel', () => {
    const cfg: DetectorConfig = detectorConfigSchema.parse({ bucketMinutes: 5, seenTailFactor: 0.1, calibrationLevel: 2 });
    const st = createDetectorState();
    const s = rows.map((v, i) => stepDetector(st, Math.floor(((T0 + i * 300_000) / 3_600_000) % 168), v, cfg).pointSurprise);
    expect(s[bursts[0]!]!).toBeGreaterThan(8);
    for (const i of bursts.slice(1)) expect(s[i]!).toBeLessThan(4.5);
  });

  it('drops its record when turned off, so an old one never passes for current', () => {
    const on: DetectorConfig = detectorConfigSchema.parse({ bucketMinutes: 5, seenTailFactor: 0.1 });
    const st = createDetectorState();
    rows.slice(0, 2000).forEach((v, i) => stepDetector(st, i % 168, v, on));
    expect(st.seen).toBeDefined();
    stepDetector(st, 0, 10, { ...on, seenTailFactor: 0 });
    expect(st.seen).toBeUndefined();
  });

  it('never caps ordinary noise: scores equal until the first burst', () => {
    const n = bursts[0]!;
    expect(on.slice(0, n + 1)).toEqual(off.slice(0, n + 1));
  });

  it('is off in the pipeline: a burst that keeps coming back is what recur reports', () => {
    expect(resolveTrendConfig().detectorResolved.seenTailFactor).toBe(0);
    expect(detectorConfigSchema.parse({}).seenTailFactor).toBe(0.1);
  });
});
