import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { alertPayloadJsonSchema, alertPayloadSchema, buildAlertPayload, drillDownSql, EpisodeVersions } from './payload.js';
import { HOUR, T0, samplePayload, trendEvent } from './fixtures.test-util.js';

describe('trend-alert payload', () => {
  it('schemas/trend-alert.schema.json is generated from the zod schema (run `npx tsx scripts/gen-alert-schema.ts`)', () => {
    const checkedIn = JSON.parse(readFileSync(new URL('../../schemas/trend-alert.schema.json', import.meta.url), 'utf8'));
    expect(checkedIn).toEqual(alertPayloadJsonSchema());
  });

  it('builds a valid payload from a trend event', () => {
    const p = samplePayload();
    expect(p).toMatchObject({
      type: 'opened',
      kind: 'spike',
      status: 'open',
      cluster_id: 'c-42',
      window: { start: '2024-05-06T09:00:00.000Z', end: '2024-05-06T10:00:00.000Z' },
      cases: 14,
      customers: 12,
      channels: ['chat', 'email', 'phone'],
      owner: 'finance',
      owner_reason: 'rule',
      version: T0 + HOUR,
      sent_at: new Date(T0 + HOUR + 250).toISOString(),
      drill_down: { cli: 'recur show c-42' },
    });
    expect(p.episode_id).toMatch(/^[0-9a-f]{16}$/);
  });

  it("customers: the store's totals, or the episode's own count when the totals lag behind it", () => {
    const ctx = (customers: number) => ({
      cluster: { label: 'charged twice', topTerms: ['charg', 'twice'], examples: [], status: 'open' as const },
      totals: { cases: 14, customers, channels: ['chat'], cost: 1 },
      route: { owner: 'finance', reason: 'rule' as const, rule: 0 },
      windowEndMs: T0 + HOUR,
      sentAtMs: T0 + HOUR,
    });
    // The episode counted 11 distinct customers (fixtures' trendEvent).
    expect(buildAlertPayload(trendEvent('c-42'), ctx(9)).customers).toBe(11);
    expect(buildAlertPayload(trendEvent('c-42'), ctx(12)).customers).toBe(12);
  });

  it('drill-down SQL names the cluster and window, and refuses ids it cannot quote safely', () => {
    expect(drillDownSql('c-42')).toBe(
      "SELECT bucket, contacts, cases, customers, channels, cost, csat_avg, nps, effort_avg FROM v_cluster_trends WHERE cluster_id = 'c-42' ORDER BY bucket",
    );
    expect(drillDownSql('m3:c_7.a-b', { startMs: T0, endMs: T0 + HOUR })).toContain(
      "WHERE cluster_id = 'm3:c_7.a-b' AND bucket >= toDateTime('2024-04-29 09:00:00', 'UTC') AND bucket < toDateTime('2024-05-06 10:00:00', 'UTC')",
    );
    for (const bad of ["x' OR 1=1 --", 'a\\b', 'a b', '', 'é']) expect(() => drillDownSql(bad)).toThrow(RangeError);
  });

  it('rejects a payload whose cluster id is unsafe', () => {
    expect(alertPayloadSchema.safeParse({ ...samplePayload(), cluster_id: "c'1" }).success).toBe(false);
  });
});

describe('EpisodeVersions', () => {
  it('is updated_at, bumped to stay strictly increasing per episode', () => {
    const v = new EpisodeVersions();
    expect(v.next('e1', 1000)).toBe(1000);
    expect(v.next('e1', 1000)).toBe(1001); // update and close in the same millisecond
    expect(v.next('e1', 5000)).toBe(5000);
    expect(v.next('e2', 1000)).toBe(1000);
  });

  it("gives a stored state one version however many sinks it is sent again to, and a new event of it a new one", () => {
    const v = new EpisodeVersions();
    expect([v.of('e1', 1000), v.of('e1', 1000), v.of('e1', 1000)]).toEqual([1000, 1000, 1000]);
    // The rebuild announces the same bucket again after the redelivery: an update, a version of its own.
    expect(v.next('e1', 1000)).toBe(1001);
    expect(v.of('e1', 1000)).toBe(1001);
    expect(v.of('e1', 7000)).toBe(7000);
  });
});
