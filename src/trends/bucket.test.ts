import { describe, expect, it } from 'vitest';
import { bucketStart, nextBucketStart, seasonalKey, tzOffsetMs, type BucketSpec } from './bucket.js';

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

/** Walks nextBucketStart over [start, to) and names bucketStart every 10 minutes, checking each instant is in its bucket. */
const span = (bucket: BucketSpec, tz: string, start: number, to: number) => {
  const from = bucketStart(start, bucket, tz);
  const walked: number[] = [];
  for (let b = from; b < to; b = nextBucketStart(b, bucket, tz)) walked.push(b);
  const named = new Set<number>();
  for (let t = from; t < to; t += 600_000) {
    const b = bucketStart(t, bucket, tz);
    expect(b).toBeLessThanOrEqual(t);
    expect(nextBucketStart(b, bucket, tz)).toBeGreaterThan(t);
    named.add(b);
  }
  return { walked, named };
};

describe('sub-day buckets that a clock change does not divide', () => {
  // Every instant, every 10 minutes, of the weeks around 2026's clock changes (March/April, October/November,
  // both hemispheres): its bucket contains it, and walking nextBucketStart from the first bucket visits exactly
  // the buckets bucketStart names, in order (no overlap, no gap, nothing skipped).
  const aroundChanges = (bucket: BucketSpec, tz: string) => {
    const walked: number[] = [];
    const named = new Set<number>();
    for (const [a, z] of [['2026-03-05', '2026-04-10'], ['2026-09-30', '2026-11-05']] as const) {
      const part = span(bucket, tz, iso(`${a}T00:00:00Z`), iso(`${z}T00:00:00Z`));
      walked.push(...part.walked);
      for (const b of part.named) named.add(b);
    }
    return { walked, named: [...named].sort((x, y) => x - y) };
  };

  it.each([
    [{ minutes: 120 }, BERLIN],
    [{ minutes: 90 }, 'America/New_York'],
    ['hour', 'Australia/Lord_Howe'],
    ['hour', BERLIN],
    [{ minutes: 15 }, 'Asia/Kolkata'],
  ] as [BucketSpec, string][])('%j in %s', (bucket, tz) => {
    const { walked, named } = aroundChanges(bucket, tz);
    expect(walked).toEqual(named);
  });

  it('2-hour buckets in Berlin: spring forward starts a bucket at the change, fall back too', () => {
    // 2026-03-29 01:00Z: local 02:00 CET becomes 03:00 CEST.
    expect(bucketStart(iso('2026-03-29T00:30:00Z'), { minutes: 120 }, BERLIN)).toBe(iso('2026-03-28T23:00:00Z')); // 00:00-02:00 CET
    expect(bucketStart(iso('2026-03-29T01:30:00Z'), { minutes: 120 }, BERLIN)).toBe(iso('2026-03-29T01:00:00Z')); // from the change to 04:00 CEST
    expect(nextBucketStart(iso('2026-03-29T01:00:00Z'), { minutes: 120 }, BERLIN)).toBe(iso('2026-03-29T02:00:00Z'));
    // 2026-10-25 01:00Z: local 03:00 CEST becomes 02:00 CET.
    expect(bucketStart(iso('2026-10-25T00:30:00Z'), { minutes: 120 }, BERLIN)).toBe(iso('2026-10-25T00:00:00Z')); // 02:00 CEST
    expect(nextBucketStart(iso('2026-10-25T00:00:00Z'), { minutes: 120 }, BERLIN)).toBe(iso('2026-10-25T01:00:00Z'));
    expect(bucketStart(iso('2026-10-25T01:30:00Z'), { minutes: 120 }, BERLIN)).toBe(iso('2026-10-25T01:00:00Z')); // 02:00 CET
  });
});

describe('a zone that springs forward at midnight (America/Santiago, 2026-09-06: 00:00 becomes 01:00)', () => {
  const SCL = 'America/Santiago';
  it('the day begins at the change, and the day before ends there', () => {
    const day = bucketStart(iso('2026-09-06T12:00:00Z'), 'day', SCL);
    expect(day).toBe(iso('2026-09-06T04:00:00Z')); // 01:00 -03, the first local instant of the day
    const before = bucketStart(iso('2026-09-05T12:00:00Z'), 'day', SCL);
    expect(before).toBe(iso('2026-09-05T04:00:00Z')); // 00:00 -04
    expect(nextBucketStart(before, 'day', SCL)).toBe(day);
    // 23:30 on the 5th (-04) belongs to the 5th, whose bucket contains it.
    expect(bucketStart(iso('2026-09-06T03:30:00Z'), 'day', SCL)).toBe(before);
  });

  it.each(['day', 'week'] as BucketSpec[])('%s buckets walk the change without gap or overlap', (bucket) => {
    const { walked, named } = span(bucket, SCL, iso('2026-08-20T00:00:00Z'), iso('2026-09-25T00:00:00Z'));
    expect(walked).toEqual([...named].sort((a, b) => a - b));
  });
});

describe('seasonalKey', () => {
  it('gives hour-of-day and Monday-based day-of-week in the zone', () => {
    const t = iso('2026-03-01T23:30:00Z'); // Sunday 23:30 UTC = Monday 00:30 in Berlin
    expect(seasonalKey(t)).toEqual({ hourOfDay: 23, dayOfWeek: 6, slot: 6 * 24 + 23 });
    expect(seasonalKey(t, BERLIN)).toEqual({ hourOfDay: 0, dayOfWeek: 0, slot: 0 });
  });
});
