import { describe, expect, it } from 'vitest';
import { calcScoreByThreshold, calcSweepScore, scaledSigmoid, scoreCorpus, STANDARD_PROFILE, type NabFile } from './nab-scorer.js';

const STEP = 300_000;

function file(name: string, n: number, windows: Array<[number, number]>, fire: (i: number) => number): NabFile {
  const timestamps = Array.from({ length: n }, (_, i) => i * STEP);
  return {
    name,
    timestamps,
    anomalyScores: timestamps.map((_, i) => fire(i)),
    windows: windows.map(([a, b]) => [a * STEP, b * STEP]),
  };
}

const layout: Array<[string, number, Array<[number, number]>]> = [
  ['a.csv', 4000, [[1000, 1200], [2500, 2700]]],
  ['b.csv', 5000, [[3000, 3300]]],
];

describe('NAB scorer port', () => {
  it('scaled sigmoid has the documented anchor values', () => {
    expect(scaledSigmoid(-1)).toBeCloseTo(0.98661, 5);
    expect(scaledSigmoid(-0.5)).toBeCloseTo(0.84828, 5);
    expect(scaledSigmoid(0)).toBeCloseTo(0, 10);
    expect(scaledSigmoid(3)).toBe(-1);
  });

  it('a null detector scores 0', () => {
    const files = layout.map(([n, len, w]) => file(n, len, w, () => 0));
    const r = scoreCorpus(files, STANDARD_PROFILE);
    expect(r.normalized).toBeCloseTo(0, 10);
    expect(r.rawScore).toBe(-3);
  });

  it('a perfect detector (fires at the start of each window) scores 100', () => {
    const files = layout.map(([n, len, w]) => file(n, len, w, (i) => (w.some(([a]) => a === i) ? 1 : 0)));
    const r = scoreCorpus(files, STANDARD_PROFILE);
    expect(r.normalized).toBeCloseTo(100, 8);
    expect(r.files.map((f) => f.normalized.toFixed(6))).toEqual(['100.000000', '100.000000']);
  });

  it('late detections earn less, false positives cost 0.11 each far from windows', () => {
    const mid = layout.map(([n, len, w]) => file(n, len, w, (i) => (w.some(([a, b]) => i === Math.round((a + b) / 2)) ? 1 : 0)));
    const midScore = scoreCorpus(mid).normalized;
    expect(midScore).toBeGreaterThan(80);
    expect(midScore).toBeLessThan(100);
    // One FP before any window (position 3.0 -> -1 * 0.11), outside probation (750 rows).
    const fp = [file('c.csv', 4000, [[1000, 1200]], (i) => (i === 1000 || i === 800 ? 1 : 0))];
    const r = scoreCorpus(fp);
    expect(r.rawScore).toBeCloseTo(1 - 0.11, 10);
  });

  it('ignores the probationary period and keeps only the earliest detection per window', () => {
    const f = file('d.csv', 4000, [[1000, 1200]], (i) => (i === 10 || i === 1100 || i === 1001 ? 1 : 0));
    const list = calcSweepScore(f, STANDARD_PROFILE);
    expect(list[10]!.windowName).toBe('probationary');
    const byThreshold = calcScoreByThreshold(list, STANDARD_PROFILE);
    const atOne = byThreshold.find((t) => t.threshold === 1)!;
    expect(atOne.score).toBeCloseTo(scaledSigmoid(-(1200 - 1001 + 1) / 201) / scaledSigmoid(-1), 10);
  });
});
