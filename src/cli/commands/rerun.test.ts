import { describe, expect, it } from 'vitest';
import { parseTime } from './rerun.js';

describe('recur rerun --from/--to', () => {
  it('reads a date as UTC midnight and an ISO time by its own zone', () => {
    expect(parseTime('2026-11-01', 'from')).toBe(Date.UTC(2026, 10, 1));
    expect(parseTime('2026-11-01T06:00Z', 'from')).toBe(Date.UTC(2026, 10, 1, 6));
    expect(parseTime('2026-11-01T07:00:00.000+01:00', 'from')).toBe(Date.UTC(2026, 10, 1, 6));
  });

  it('refuses what the machine zone would decide, and days that are not in the calendar', () => {
    // Date.parse reads these in the local zone (or rolls them over): a cron host in Berlin would re-run other hours.
    for (const v of ['2026-11-01T06:00', 'Nov 1 2026', '12', '2026-02-30', '2026-11-01T24:00Z', '2026-11-01 06:00Z']) {
      expect(() => parseTime(v, 'from'), v).toThrow(/--from/);
    }
  });

  it('still asks for whole hours', () => {
    expect(() => parseTime('2026-11-01T06:30Z', 'to')).toThrow(/whole hour/);
  });
});
