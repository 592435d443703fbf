import { describe, expect, it } from 'vitest';
import { bucketStart, nextBucketStart, seasonalKey, tzOffsetMs } from './bucket.js';

const iso = (s: string): number => Date.parse(s);
const BERLIN = 'Europe/Berlin';

describe('bucketStart in UTC', () => {
  it('floors to hour, day, ISO week (Monday) and minute buckets', () => {
    const t = iso('2026-03-04T13:47:12.345Z'); // a Wednesday
    expect(bucketStart(t, 'hour')).toBe(iso('2026-03-04T13:00:00Z'));
    expect(bucketStart(t, 'day')).toBe(iso('2026-03-04T00:00:00Z'));
    expect(bucketStart(t, 'week')).toBe(iso('2026-03-02T00:00:00Z'));
    expect(bucketStart(t, { minutes: 15 })).toBe(iso('2026-03-04T13:45:00Z'));
    expect(bucketStart(iso('2026-03-08T23:59:59Z'), 'week')).toBe(iso('2026-03-02T00:00:00Z')); // Sunday
  });

  it('rejects non-finite times and bad sizes', () => {
    expect(() => bucketStart(Number.NaN, 'hour')).toThrow(RangeError);
    expect(() => bucketStart(0, { minutes: 0 })).toThrow(RangeError);
  });
});

describe('DST in Europe/Berlin', () => {
  it('knows the offsets either side of the transitions', () => {
    expect(tzOffsetMs(iso('2026-03-29T00:59:00Z'), BERLIN)).toBe(3_600_000);
    expect(tzOffsetMs(iso('2026-03-29T01:00:00Z'), BERLIN)).toBe(7_200_000);
    expect(tzOffsetMs(iso('2026-10-25T00:59:00Z'), BERLIN)).toBe(7_200_000);
    expect(tzOffsetMs(iso('2026-10-25T01:00:00Z'), BERLIN)).toBe(3_600_000);
  });

  it('spring forward (2026-03-29): a 23-hour local day with 23 hourly buckets', () => {
    const dayStart = bucketStart(iso('2026-03-29T12:00:00Z'), 'day', BERLIN);
    expect(dayStart).toBe(iso('2026-03-28T23:00:00Z')); // local midnight, CET
    const next = nextBucketStart(dayStart, 'day', BERLIN);
    expect(next).toBe(iso('2026-03-29T22:00:00Z')); // local midnight, CEST
    expect((next - dayStart) / 3_600_000).toBe(23);
    const hours = new Set<number>();
    for (let t = dayStart; t < next; t += 600_000) hours.add(bucketStart(t, 'hour', BERLIN));
    expect(hours.size).toBe(23);
    // 02:00–03:00 local does not exist: local hours jump from 1 to 3.
    const locals = [...hours].map((h) => seasonalKey(h, BERLIN).hourOfDay);
    expect(locals).not.toContain(2);
    expect(locals.slice(0, 4)).toEqual([0, 1, 3, 4]);
  });

  it('fall back (2026-10-25): a 25-hour local day; the repeated hour stays two buckets', () => {
    const dayStart = bucketStart(iso('2026-10-25T12:00:00Z'), 'day', BERLIN);
    expect(dayStart).toBe(iso('2026-10-24T22:00:00Z'));
    const next = nextBucketStart(dayStart, 'day', BERLIN);
    expect(next).toBe(iso('2026-10-25T23:00:00Z'));
    expect((next - dayStart) / 3_600_000).toBe(25);
    const first = bucketStart(iso('2026-10-25T00:30:00Z'), 'hour', BERLIN); // 02:30 CEST
    const second = bucketStart(iso('2026-10-25T01:30:00Z'), 'hour', BERLIN); // 02:30 CET
    expect(first).toBe(iso('2026-10-25T00:00:00Z'));
    expect(second).toBe(iso('2026-10-25T01:00:00Z'));
    expect(seasonalKey(first, BERLIN).hourOfDay).toBe(2);
    expect(seasonalKey(second, BERLIN).hourOfDay).toBe(2);
    const hours = new Set<number>();
    for (let t = dayStart; t < next; t += 600_000) hours.add(bucketStart(t, 'hour', BERLIN));
    expect(hours.size).toBe(25);
  });

  it('weeks start at local Monday midnight across a transition', () => {
    // Week of Monday 2026-03-23 contains the spring-forward Sunday.
    expect(bucketStart(iso('2026-03-29T20:00:00Z'), 'week', BERLIN)).toBe(iso('2026-03-22T23:00:00Z'));
    expect(nextBucketStart(iso('2026-03-22T23:00:00Z'), 'week', BERLIN)).toBe(iso('2026-03-29T22:00:00Z'));
  });
});

describe('seasonalKey', () => {
  it('gives hour-of-day and Monday-based day-of-week in the zone', () => {
    const t = iso('2026-03-01T23:30:00Z'); // Sunday 23:30 UTC = Monday 00:30 in Berlin
    expect(seasonalKey(t)).toEqual({ hourOfDay: 23, dayOfWeek: 6, slot: 6 * 24 + 23 });
    expect(seasonalKey(t, BERLIN)).toEqual({ hourOfDay: 0, dayOfWeek: 0, slot: 0 });
  });
});
