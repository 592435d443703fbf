import { describe, expect, it } from 'vitest';
import { seasonalKey } from './bucket.js';
import { createDetectorState, defaultDetectorConfig, detectorConfigSchema, expectation, stepDetector, type DetectorConfig, type DetectorState } from './detector.js';
import { scoreSeries } from './score-series.js';
import { trendConfigSchema } from './config.js';
import { dailyMean, poisson, seeded } from './test-helpers.js';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 0, 5);

function warm(days: number, seed = 1): { st: DetectorState; u: () => number } {
  const u = seeded(seed);
  const st = createDetectorState();
  for (let t = 0; t < days * 24; t++) {
    const ts = T0 + t * HOUR;
    stepDetector(st, seasonalKey(ts).slot, poisson(u, dailyMean(10, t % 24)), defaultDetectorConfig);
  }
  return { st, u };
}

describe('detector', () => {
  it('learns the daily profile: expectation tracks the seasonal mean', () => {
    const { st } = warm(21);
    const night = stepDetector(structuredClone(st), seasonalKey(T0 + 21 * 24 * HOUR + 3 * HOUR).slot, 5, defaultDetectorConfig);
    const day = stepDetector(structuredClone(st), seasonalKey(T0 + 21 * 24 * HOUR + 14 * HOUR).slot, 19, defaultDetectorConfig);
    expect(night.expected).toBeGreaterThan(dailyMean(10, 3) * 0.75);
    expect(night.expected).toBeLessThan(dailyMean(10, 3) * 1.33);
    expect(day.expected).toBeGreaterThan(dailyMean(10, 14) * 0.75);
    expect(day.expected).toBeLessThan(dailyMean(10, 14) * 1.33);
  });

  it('scores a surge far above ordinary buckets', () => {
    const { st, u } = warm(21);
    let ordinaryMax = 0;
    for (let t = 21 * 24; t < 28 * 24; t++) {
      const s = stepDetector(st, seasonalKey(T0 + t * HOUR).slot, poisson(u, dailyMean(10, t % 24)), defaultDetectorConfig);
      ordinaryMax = Math.max(ordinaryMax, s.surprise);
    }
    const t = 28 * 24 + 14;
    const surge = stepDetector(st, seasonalKey(T0 + t * HOUR).slot, Math.round(dailyMean(10, 14) * 5), defaultDetectorConfig);
    expect(surge.surprise).toBeGreaterThan(ordinaryMax + 3);
    expect(surge.anomalyScore).toBeGreaterThan(0.5);
    expect(surge.anomalyScore).toBeLessThanOrEqual(1);
  });

  it('accumulates growth evidence for a sustained moderate rise with no extreme bucket', () => {
    const { st } = warm(21);
    // An empty bucket first: the CUSUM starts the rise from zero.
    let last = stepDetector(st, 0, 0, defaultDetectorConfig);
    let maxPoint = 0;
    for (let t = 21 * 24 + 10; t < 21 * 24 + 22; t++) {
      last = stepDetector(st, seasonalKey(T0 + t * HOUR).slot, Math.round(dailyMean(10, t % 24) * 1.6), defaultDetectorConfig);
      maxPoint = Math.max(maxPoint, last.pointSurprise);
    }
    // No bucket alone reaches the surprise that opens a spike (spike.openSurprise, 6)...
    expect(maxPoint).toBeLessThan(trendConfigSchema.parse({}).spike.openSurprise);
    // ...while the growth evidence passes the level that opens sustained_growth, over the whole run.
    expect(last.growth).toBeGreaterThan(trendConfigSchema.parse({}).growth.openEvidence);
    expect(last.growthRun).toBe(12);
  });

  it('scores the aggregated scale as the plain sum of the last three buckets', () => {
    const { st } = warm(21);
    const t = 21 * 24 + 10;
    const steps = [6, 9, 4, 11].map((x, i) => stepDetector(st, seasonalKey(T0 + (t + i) * HOUR).slot, x, defaultDetectorConfig));
    const last = steps[3]!;
    expect(last.aggBuckets).toBe(3);
    expect(last.aggExpected).toBeCloseTo(steps[1]!.expected + steps[2]!.expected + last.expected, 9);
    expect(last.aggRatio).toBeCloseTo((24 / 3 + defaultDetectorConfig.minExpected) / (last.aggExpected / 3 + defaultDetectorConfig.minExpected), 9);
  });

  it('accumulates surge evidence for a 3x rise faster than growth evidence', () => {
    const { st } = warm(21, 2);
    // An empty bucket first: both CUSUMs start the rise from zero.
    let last = stepDetector(st, 0, 0, defaultDetectorConfig);
    for (let t = 21 * 24 + 10; t < 21 * 24 + 14; t++) last = stepDetector(st, seasonalKey(T0 + t * HOUR).slot, Math.round(dailyMean(10, t % 24) * 3), defaultDetectorConfig);
    expect(last.surge).toBeGreaterThan(last.growth);
    expect(last.surgeRun).toBe(4);
  });

  it('handles a young, all-zero series without NaN', () => {
    const st = createDetectorState();
    for (let i = 0; i < 10; i++) {
      const s = stepDetector(st, i % 168, 0, defaultDetectorConfig);
      expect(Number.isFinite(s.anomalyScore)).toBe(true);
      expect(s.anomalyScore).toBeLessThan(0.2);
    }
    const first = stepDetector(st, 11, 3, defaultDetectorConfig);
    expect(Number.isFinite(first.surprise)).toBe(true);
  });

  it('state survives a JSON round trip mid-stream with identical results', () => {
    const { st } = warm(10, 7);
    const copy = JSON.parse(JSON.stringify(st)) as DetectorState;
    const u1 = seeded(99);
    const u2 = seeded(99);
    for (let t = 0; t < 100; t++) {
      const slot = seasonalKey(T0 + (240 + t) * HOUR).slot;
      const a = stepDetector(st, slot, poisson(u1, 12), defaultDetectorConfig);
      const b = stepDetector(copy, slot, poisson(u2, 12), defaultDetectorConfig);
      expect(b).toEqual(a);
    }
  });

  it("state stays the same size however long the series runs (one is held per live cluster)", () => {
    const after = (days: number) => JSON.stringify(warm(days, 7).st).length;
    const tenDays = after(10);
    expect(after(60)).toBeLessThanOrEqual(tenDays * 1.1);
    expect(after(120)).toBeLessThanOrEqual(tenDays * 1.1);
  });
});

describe('hour-of-week factors', () => {
  /** T0 is a Monday: hours 9-11 of every Monday at `mondayBoost` x the daily profile. */
  function series(weeks: number, mondayBoost: number, seed: number, cfg: DetectorConfig): DetectorState {
    const u = seeded(seed);
    const st = createDetectorState();
    for (let t = 0; t < weeks * 168; t++) {
      const h = t % 24;
      const monday = Math.floor(t / 24) % 7 === 0 && h >= 9 && h <= 11;
      stepDetector(st, seasonalKey(T0 + t * HOUR).slot, poisson(u, dailyMean(10, h) * (monday ? mondayBoost : 1)), cfg);
    }
    return st;
  }
  /** Largest departure, over Monday-Friday, of an hour's expectation from the same hour on Monday-Friday's average. */
  function weekdaySpread(st: DetectorState, cfg: DetectorConfig): number {
    let worst = 0;
    for (let h = 0; h < 24; h++) {
      const mus = [0, 1, 2, 3, 4].map((d) => expectation(st, d * 24 + h, cfg).mu);
      const mean = mus.reduce((a, b) => a + b, 0) / mus.length;
      for (const m of mus) worst = Math.max(worst, Math.abs(m / mean - 1));
    }
    return worst;
  }
  const strict = detectorConfigSchema.parse({ weekSignificance: 6 });

  it('stay near 1 when the hours of the week differ only by hour of day: their spread is noise', () => {
    const loose = detectorConfigSchema.parse({ weekSignificance: 0 });
    const spreads = [21, 22, 23].map((seed) => [weekdaySpread(series(8, 1, seed, loose), loose), weekdaySpread(series(8, 1, seed, strict), strict)] as const);
    for (const [unshrunk, shrunk] of spreads) {
      // Without the rule every cell's noise reaches the expectation (the old behaviour at 8 weeks).
      expect(unshrunk).toBeGreaterThan(0.1);
      expect(shrunk).toBeLessThan(unshrunk / 2);
    }
  });

  it('learn an hour of the week that really differs (a Monday-morning peak)', () => {
    for (const cfg of [defaultDetectorConfig, strict]) {
      const st = series(6, 3, 12, cfg);
      const monday = expectation(st, 10, cfg).mu;
      const tuesday = expectation(st, 24 + 10, cfg).mu;
      expect(monday / tuesday).toBeGreaterThan(1.6);
    }
  });
});

describe('scoreSeries', () => {
  const rows = Array.from({ length: 3000 }, (_, i) => ({
    timestamp: new Date(T0 + i * 300_000).toISOString().replace('T', ' ').slice(0, 19),
    value: i === 2500 ? 400 : 20 + ((i * 7919) % 11),
  }));

  it('returns one score in [0, 1] per row and flags the injected spike', () => {
    const s = scoreSeries(rows);
    expect(s).toHaveLength(rows.length);
    expect(s.every((x) => x >= 0 && x <= 1)).toBe(true);
    const max = Math.max(...s.slice(1000));
    expect(s[2500]).toBe(max);
  });

  it('reports a surge that climbs bucket by bucket only when its surprise grows by the alerts\' update step', () => {
    // Quiet noise, then a surge that rises by 4 a bucket for 24 buckets (2 hours of 5-minute rows).
    const climbing = rows.map((r, i) => ({ ...r, value: i >= 2500 && i < 2524 ? 60 + 4 * (i - 2500) : 20 + ((i * 7919) % 11) }));
    // Rows that report: their score is their own (a new peak of the surge), not the damped echo.
    const reports = (s: number[]): number[] => {
      const out: number[] = [];
      for (let i = 2500, top = 0; i < 2524; i++) {
        if (s[i]! > top) out.push(s[i]!);
        top = Math.max(top, s[i]!);
      }
      return out;
    };
    // The reporting rule alone: seenTailFactor would also cap the climb's later buckets, once its own
    // first ones are in the series' record. The climb is sized for a one-hour aggregate scale, whose
    // surprise grows past the update step more than once within it (over two hours it grows slower).
    const detector = { seenTailFactor: 0, aggregateHours: 1 };
    const stepwise = reports(scoreSeries(climbing, { minGrowth: 0, detector }));
    const grown = reports(scoreSeries(climbing, { detector }));
    // Without a growth step every small new peak reports: past a labelled window, each is a false positive.
    expect(stepwise.length).toBeGreaterThanOrEqual(8);
    expect(grown.length).toBeGreaterThanOrEqual(2);
    expect(grown.length).toBeLessThanOrEqual(stepwise.length / 2);
    // The surge opens with its full score, and each later report's surprise (score = s / (s + 4))
    // is at least 10% above the one before, as an open alert's update is.
    expect(grown[0]).toBe(stepwise[0]);
    expect(grown[0]!).toBeGreaterThan(0.5);
    const surprise = (score: number): number => (4 * score) / (1 - score);
    for (let j = 1; j < grown.length; j++) expect(surprise(grown[j]!)).toBeGreaterThan(1.1 * surprise(grown[j - 1]!));
    expect(() => scoreSeries(climbing, { minGrowth: -0.1 })).toThrow(RangeError);
    expect(() => scoreSeries(climbing, { minGrowth: Number.NaN })).toThrow(RangeError);
    expect(() => scoreSeries(climbing, { minGrowth: Number.POSITIVE_INFINITY })).toThrow(RangeError);
  });

  it('has no look-ahead: scores of a prefix equal the prefix of the scores', () => {
    const full = scoreSeries(rows);
    const prefix = scoreSeries(rows.slice(0, 2600));
    expect(prefix).toEqual(full.slice(0, 2600));
  });
});
