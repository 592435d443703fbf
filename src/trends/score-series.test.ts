import { describe, expect, it } from 'vitest';
import { MAX_SERIES_VALUE, scoreSeries, type SeriesRow } from './score-series.js';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 10, 2);
const at = (h: number) => new Date(T0 + h * HOUR).toISOString();

/** Three weeks of hourly counts with a daily cycle and one burst, some hours empty. */
function series(): SeriesRow[] {
  return Array.from({ length: 21 * 24 }, (_, h) => ({ timestamp: at(h), value: h === 20 * 24 + 14 ? 60 : h % 24 >= 1 && h % 24 < 6 ? 0 : 5 + (h % 7) }));
}

describe('scoreSeries', () => {
  it('reads a bucket without a row as an empty one: the same scores as the series with its zeros written out', () => {
    const full = series();
    // Exported without its empty buckets (as counts per cluster-hour are): each night from 01:00 to 05:00.
    const sparse = full.filter((r) => r.value !== 0);
    expect(sparse.length).toBeLessThan(full.length - 100);
    const scores = scoreSeries(full);
    const byTime = new Map(full.map((r, i) => [r.timestamp, scores[i]!]));
    const sparseScores = scoreSeries(sparse);
    sparse.forEach((r, i) => expect(sparseScores[i], r.timestamp).toBeCloseTo(byTime.get(r.timestamp)!, 12));
    expect(Math.max(...sparseScores)).toBe(sparseScores[sparse.findIndex((r) => r.value === 60)]);
  });

  it('refuses a step that is not a whole number of buckets, a repeated or earlier timestamp, and a gap too long to step, naming the row', () => {
    const rows = (hours: number[]) => hours.map((h) => ({ timestamp: at(h), value: 3 }));
    expect(() => scoreSeries(rows([0, 1, 2, 3.5]))).toThrow(/data row 4: 90 minutes after the row before it, not a whole number of the series' bucket \(60 minutes/);
    // Before, a repeated row made the smallest step 0 and the series was read as hourly, whatever its bucket.
    expect(() => scoreSeries(rows([0, 1 / 12, 1 / 12, 3 / 12]))).toThrow(/data row 3: timestamp .* is not after the row before it/);
    expect(() => scoreSeries([{ timestamp: at(0), value: 1 }, { timestamp: 'soon', value: 1 }])).toThrow(/data row 2: unparseable timestamp: "soon"/);
    expect(() => scoreSeries(rows([0, 1 / 60, 24 * 365]))).toThrow(/data row 3: 525598 buckets without a row before it/);
  });

  it('refuses a value past MAX_SERIES_VALUE, naming the row (1e200 made every score after it NaN)', () => {
    const series = (big: number) => Array.from({ length: 48 }, (_, h) => ({ timestamp: at(h), value: h === 30 ? big : 10 + (h % 7) }));
    expect(() => scoreSeries(series(1e200))).toThrow(/data row 31: value 1e\+200 is beyond 1000000000000000/);
    const ok = scoreSeries(series(MAX_SERIES_VALUE));
    expect(ok.every((x) => Number.isFinite(x) && x >= 0 && x <= 1)).toBe(true);
  });
});
