// Event-time buckets and seasonal keys. UTC unless an IANA zone is given; in a zone,
// days and weeks start at local midnight, so DST days have 23 or 25 hourly buckets.

export type BucketSpec = 'hour' | 'day' | 'week' | { minutes: number };

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

const formatters = new Map<string, Intl.DateTimeFormat>();
const offsetCache = new Map<string, number>();

function formatterFor(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(tz, f);
  }
  return f;
}

/** Offset of `tz` from UTC at instant `ts`, in ms (local = ts + offset). Throws RangeError on an unknown zone. */
export function tzOffsetMs(ts: number, tz: string | undefined): number {
  if (!tz || tz === 'UTC' || tz === 'Etc/UTC') return 0;
  // Zone offsets change on whole minutes at most, so a per-minute cache key is exact.
  const key = `${tz}|${Math.floor(ts / MINUTE)}`;
  const hit = offsetCache.get(key);
  if (hit !== undefined) return hit;
  const parts = formatterFor(tz).formatToParts(ts);
  const get = (t: string): number => Number(parts.find((p) => p.type === t)?.value ?? 0);
  const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  const off = asUtc - Math.floor(ts / 1000) * 1000;
  if (offsetCache.size > 50_000) offsetCache.clear();
  offsetCache.set(key, off);
  return off;
}

/**
 * UTC instant of a local wall-clock time (ms since epoch as if local were UTC). A time the clocks skip (a
 * zone that springs forward at midnight: America/Santiago, America/Havana) gives the instant of the change,
 * where the local day then begins.
 */
export function localToUtc(localMs: number, tz: string | undefined): number {
  const first = localMs - tzOffsetMs(localMs, tz);
  const second = localMs - tzOffsetMs(first, tz);
  if (!tz || second + tzOffsetMs(second, tz) === localMs) return second;
  if (first + tzOffsetMs(first, tz) === localMs) return first;
  return lastChangeBefore(Math.min(first, second), Math.max(first, second), tz);
}

/** Monday-based day of week (0 = Monday … 6 = Sunday) of a day number since the epoch. */
function mondayIndex(dayNumber: number): number {
  return (((dayNumber + 3) % 7) + 7) % 7;
}

/** Start (UTC ms) of the bucket that contains `ts`. */
export function bucketStart(ts: number, bucket: BucketSpec, tz?: string): number {
  if (!Number.isFinite(ts)) throw new RangeError(`bucketStart: ts must be finite, got ${ts}`);
  const off = tzOffsetMs(ts, tz);
  const local = ts + off;
  if (bucket === 'hour' || typeof bucket === 'object') {
    const size = bucket === 'hour' ? HOUR : bucket.minutes * MINUTE;
    if (!(size > 0) || !Number.isInteger(size)) throw new RangeError(`bucketStart: bad bucket size ${JSON.stringify(bucket)}`);
    // Floor in local time with the offset in force at ts: the repeated hour of a
    // fall-back night stays two buckets, the skipped hour of spring-forward none.
    const start = Math.floor(local / size) * size - off;
    // A clock change inside that span (one that is not a whole number of buckets: 2-hour buckets across
    // a 1-hour change, hours in a half-hour zone) starts a bucket itself, so buckets never overlap.
    return tz && tzOffsetMs(start, tz) !== off ? lastChangeBefore(start, ts, tz) : start;
  }
  const day = Math.floor(local / DAY);
  const startDay = bucket === 'day' ? day : day - mondayIndex(day);
  return localToUtc(startDay * DAY, tz);
}

/** The instant (on a whole minute) in (from, to] at which the offset of `tz` became the one in force at `to`. */
function lastChangeBefore(from: number, to: number, tz: string): number {
  const off = tzOffsetMs(to, tz);
  let lo = Math.floor(from / MINUTE); // offset differs here
  let hi = Math.floor(to / MINUTE); // offset is `off` from here
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (tzOffsetMs(mid * MINUTE, tz) === off) hi = mid;
    else lo = mid;
  }
  return hi * MINUTE;
}

/** Start of the bucket after the one starting at `start` (handles 23/25-hour days). */
export function nextBucketStart(start: number, bucket: BucketSpec, tz?: string): number {
  if (bucket === 'hour' || typeof bucket === 'object') {
    const size = nominalBucketMs(bucket);
    // The next local boundary, or the clock change before it (bucketStart starts a bucket there).
    const off = tzOffsetMs(start, tz);
    const end = Math.floor((start + off) / size) * size + size - off;
    return tz && tzOffsetMs(end - MINUTE, tz) !== off ? lastChangeBefore(start, end - MINUTE, tz) : end;
  }
  const days = bucket === 'day' ? 1 : 7;
  // Jump well past the boundary and floor back, so a 25-hour day is not skipped.
  return bucketStart(start + days * DAY + 3 * HOUR, bucket, tz);
}

export interface SeasonalKey {
  hourOfDay: number;
  /** 0 = Monday … 6 = Sunday. */
  dayOfWeek: number;
  /** dayOfWeek * 24 + hourOfDay, 0…167. */
  slot: number;
}

/** Hour-of-day and day-of-week of `ts` in local time of `tz` (UTC by default). */
export function seasonalKey(ts: number, tz?: string): SeasonalKey {
  const local = ts + tzOffsetMs(ts, tz);
  const day = Math.floor(local / DAY);
  const hourOfDay = Math.floor((local - day * DAY) / HOUR);
  const dayOfWeek = mondayIndex(day);
  return { hourOfDay, dayOfWeek, slot: dayOfWeek * 24 + hourOfDay };
}

/** Length in ms of a bucket spec's nominal size (a 'day' is 24 h here). */
export function nominalBucketMs(bucket: BucketSpec): number {
  if (bucket === 'hour') return HOUR;
  if (bucket === 'day') return DAY;
  if (bucket === 'week') return 7 * DAY;
  return bucket.minutes * MINUTE;
}
