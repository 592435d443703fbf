import { describe, expect, it } from 'vitest';
import { createClusterState, evaluateCluster, type ClusterMeta, type ClusterTrendState } from './alerts.js';
import { resolveTrendConfig } from './config.js';
import { evaluateBucketClose } from './engine.js';
import { episodeId, type TrendEvent } from './episodes.js';
import { bucketStart, nextBucketStart, seasonalKey } from './bucket.js';
import { expectation, growthLlr } from './detector.js';
import { dailyMean, poisson, seeded } from './test-helpers.js';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 0, 5); // Monday
const cfg = resolveTrendConfig({});
const bucketAt = (t: number): number => T0 + t * HOUR;
/** Injected clock: each bucket is evaluated one minute after it closes. */
const clockAt = (t: number): number => bucketAt(t + 1) + 60_000;

interface Sim {
  st: ClusterTrendState;
  u: () => number;
  events: TrendEvent[];
  t: number;
}

function feed(sim: Sim, cases: number, meta: ClusterMeta = {}, ids?: string[]): TrendEvent[] {
  const customerIds = ids ?? Array.from({ length: cases }, (_, i) => `cust-${sim.t}-${i}`);
  const ev = evaluateCluster(
    sim.st,
    { clusterId: sim.st.clusterId, cases, customers: new Set(customerIds).size, customerIds },
    meta,
    bucketAt(sim.t),
    clockAt(sim.t),
    cfg,
  );
  sim.events.push(...ev);
  sim.t += 1;
  return ev;
}

/** An established cluster with `days` of ordinary daily-seasonal traffic at `rate` cases/hour. */
function established(days: number, rate = 8, seed = 3): Sim {
  const sim: Sim = { st: createClusterState('cl-1', T0 - 90 * 86_400_000), u: seeded(seed), events: [], t: 0 };
  for (let i = 0; i < days * 24; i++) feed(sim, poisson(sim.u, dailyMean(rate, sim.t % 24)));
  return sim;
}

const ordinary = (sim: Sim, rate = 8): number => poisson(sim.u, dailyMean(rate, sim.t % 24));

describe('alert kinds', () => {
  it('new: a young cluster reaching 5 cases from 3 customers opens once', () => {
    const sim: Sim = { st: createClusterState('young', T0), u: seeded(1), events: [], t: 0 };
    feed(sim, 2);
    expect(sim.events).toEqual([]);
    feed(sim, 2);
    const ev = feed(sim, 2);
    expect(ev.map((e) => [e.type, e.episode.kind])).toEqual([['opened', 'new']]);
    expect(ev[0]!.episode.id).toBe(episodeId('young', 'new', T0));
    expect(ev[0]!.episode.openedAt).toBe(clockAt(2));
    // It starts at the cluster's birth, so it counts every case and customer since then, not the last bucket's.
    expect(ev[0]!.episode).toMatchObject({ startBucket: T0, observed: 6, expected: 0, customers: 6 });
    for (let i = 0; i < 5; i++) feed(sim, 0);
    expect(sim.events.filter((e) => e.episode.kind === 'new').map((e) => e.type)).toEqual(['opened', 'closed']);
    for (let i = 0; i < 5; i++) feed(sim, 3);
    expect(sim.events.filter((e) => e.type === 'opened' && e.episode.kind === 'new')).toHaveLength(1);
  });

  it('new: counts every customer since birth while young, however spread over its first days', () => {
    // Two cases from alice at birth, two from bob a day later, one from carol at 60 h: 5 cases from 3
    // customers within the 72 young hours. The customer window kept two days, so alice was gone by then.
    const sim: Sim = { st: createClusterState('slow', T0), u: seeded(1), events: [], t: 0 };
    const plan = new Map<number, string[]>([[0, ['alice', 'alice']], [24, ['bob', 'bob']], [60, ['carol']]]);
    while (sim.t < 72) {
      const ids = plan.get(sim.t) ?? [];
      feed(sim, ids.length, {}, ids);
    }
    expect(sim.events.filter((e) => e.type === 'opened').map((e) => [e.episode.kind, e.episode.startBucket, e.episode.customers])).toEqual([['new', T0, 3]]);
  });

  it('new: a case whose messages fall in two hours counts once toward its cases', () => {
    // Three customers open a case each, and each writes again the next hour on the same case: 3 cases, not 6.
    const sim: Sim = { st: createClusterState('follow-ups', T0), u: seeded(1), events: [], t: 0 };
    const step = (cases: string[], customers: string[]) => {
      sim.events.push(...evaluateCluster(sim.st, { clusterId: 'follow-ups', cases: cases.length, customers: customers.length, customerIds: customers, caseIds: cases }, {}, bucketAt(sim.t), clockAt(sim.t), cfg));
      sim.t += 1;
    };
    step(['k1', 'k2', 'k3'], ['a', 'b', 'c']);
    step(['k1', 'k2', 'k3'], ['a', 'b', 'c']);
    step([], []);
    expect(sim.events).toEqual([]);
    // Two more cases, one with a follow-up: 5 cases from 3 customers, and it opens with 5.
    step(['k4'], ['a']);
    step(['k4', 'k5'], ['a', 'b']);
    expect(sim.events.map((e) => [e.type, e.episode.kind, e.episode.observed, e.episode.customers])).toEqual([['opened', 'new', 5, 3]]);
  });

  it('new: once open, the same cases writing again every hour neither add to it nor send updates', () => {
    const sim: Sim = { st: createClusterState('chatty', T0), u: seeded(1), events: [], t: 0 };
    const cases = ['k1', 'k2', 'k3', 'k4', 'k5'];
    const customers = ['a', 'b', 'c', 'd', 'e'];
    const step = (ks: string[], cs: string[]) => {
      sim.events.push(...evaluateCluster(sim.st, { clusterId: 'chatty', cases: ks.length, customers: cs.length, customerIds: cs, caseIds: ks }, {}, bucketAt(sim.t), clockAt(sim.t), cfg));
      sim.t += 1;
    };
    for (let h = 0; h < 6; h++) step(cases, customers);
    // Opened with its 5 cases; six hours of follow-ups on them are not 30 cases, nor five updates.
    expect(sim.events.map((e) => [e.type, e.episode.kind, e.episode.observed])).toEqual([['opened', 'new', 5]]);
    // Two new cases are: the episode grows by them, and says so.
    step(['k1', 'k6', 'k7'], ['a', 'f', 'g']);
    expect(sim.events.slice(1).map((e) => [e.type, e.episode.kind, e.episode.observed])).toEqual([['updated', 'new', 7]]);
  });

  it('new: a large new problem (more cases than it keeps ids of, or than a bucket samples) is not re-counted every hour', () => {
    for (const [n, sampled] of [[200, 200], [300, 256]] as const) {
      const sim: Sim = { st: createClusterState(`big-${n}`, T0), u: seeded(1), events: [], t: 0 };
      const ids = Array.from({ length: n }, (_, i) => `k${i}`);
      for (let h = 0; h < 6; h++) {
        sim.events.push(...evaluateCluster(sim.st, { clusterId: `big-${n}`, cases: n, customers: n, customerIds: ids.slice(0, sampled), caseIds: ids.slice(0, sampled) }, {}, bucketAt(sim.t), clockAt(sim.t), cfg));
        sim.t += 1;
      }
      expect(sim.events.map((e) => [e.type, e.episode.kind, e.episode.observed]), `${n} cases`).toEqual([['opened', 'new', n]]);
    }
  });

  it('new: one customer writing many cases is not a new problem', () => {
    const sim: Sim = { st: createClusterState('one-customer', T0), u: seeded(1), events: [], t: 0 };
    for (let i = 0; i < 5; i++) feed(sim, 4, {}, ['same', 'same', 'same', 'same']);
    expect(sim.events).toEqual([]);
  });

  it('spike: a 5x bucket from many customers opens, updates while growing, closes when quiet', () => {
    const sim = established(21);
    expect(sim.events.filter((e) => e.type === 'opened')).toEqual([]);
    while (sim.t % 24 !== 13) feed(sim, ordinary(sim));
    const start = sim.t;
    const opened = feed(sim, Math.round(dailyMean(8, 13) * 5));
    expect(opened.map((e) => [e.type, e.episode.kind])).toEqual([['opened', 'spike']]);
    expect(opened[0]!.episode.id).toBe(episodeId('cl-1', 'spike', bucketAt(start)));
    const updated = feed(sim, Math.round(dailyMean(8, 14) * 8));
    expect(updated.map((e) => e.type)).toEqual(['updated']);
    // Cases and distinct customers over the episode's buckets (each case here is its own customer), not the peak bucket's.
    const both = Math.round(dailyMean(8, 13) * 5) + Math.round(dailyMean(8, 14) * 8);
    expect(updated[0]!.episode).toMatchObject({ observed: both, customers: both });
    expect(updated[0]!.episode.peakObserved).toBeGreaterThan(opened[0]!.episode.peakObserved);
    expect(updated[0]!.episode.id).toBe(opened[0]!.episode.id);
    let closedAtBucket = -1;
    for (let i = 0; i < 8 && closedAtBucket < 0; i++) {
      if (feed(sim, ordinary(sim)).some((e) => e.type === 'closed')) closedAtBucket = sim.t - 1;
    }
    const c = sim.events.find((e) => e.type === 'closed')!;
    expect(c.episode.kind).toBe('spike');
    expect(c.episode.status).toBe('closed');
    expect(c.episode.closedAt).toBe(clockAt(closedAtBucket));
    expect(c.episode.quietBuckets).toBe(cfg.episode.quietBuckets);
  });

  it('spike: evaluated in one millisecond (a backfill), each event of the episode carries a later version than the one before', () => {
    const sim = established(21);
    while (sim.t % 24 !== 13) feed(sim, ordinary(sim));
    const now = clockAt(sim.t);
    const at = (cases: number) => {
      const ids = Array.from({ length: cases }, (_, i) => `b-${sim.t}-${i}`);
      const ev = evaluateCluster(sim.st, { clusterId: 'cl-1', cases, customers: cases, customerIds: ids }, {}, bucketAt(sim.t), now, cfg);
      sim.t += 1;
      return ev;
    };
    const events = [...at(Math.round(dailyMean(8, 13) * 5)), ...at(Math.round(dailyMean(8, 14) * 8))];
    for (let i = 0; i < 8 && !events.some((e) => e.type === 'closed'); i++) events.push(...at(ordinary(sim)));
    expect(events.map((e) => e.type)).toEqual(['opened', 'updated', 'closed']);
    // trend_alerts keeps the last one's updated_at, and a restart re-sends a sink any episode whose stored
    // updated_at is past the version it got: an opening and a close in one millisecond had the same.
    expect(events.map((e) => e.episode.updatedAt)).toEqual([now, now + 1, now + 2]);
    expect(events.map((e) => e.episode.closedAt)).toEqual([null, null, now]);
  });

  it("spike: the same customers back every hour are counted once, however many (past the customer window's size)", () => {
    const sim = established(21);
    while (sim.t % 24 !== 13) feed(sim, ordinary(sim));
    const regulars = Array.from({ length: 200 }, (_, i) => `regular-${i}`);
    const ev = [...feed(sim, 200, {}, regulars), ...feed(sim, 200, {}, regulars), ...feed(sim, 200, {}, regulars), ...feed(sim, 200, {}, regulars)];
    expect(ev.map((e) => e.type)).toContain('opened');
    const spike = sim.st.episodes.spike!;
    expect(spike.observed).toBe(800);
    // 200 distinct: more than the window holds, so evicted ones coming back would have counted again (796 before).
    expect(spike.customers).toBe(200);
  });

  it('customer gate: one customer writing twenty times in an hour is not a spike', () => {
    const sim = established(21);
    while (sim.t % 24 !== 13) feed(sim, ordinary(sim));
    const n = ordinary(sim);
    const ids = [...Array.from({ length: n }, (_, i) => `c${i}`), ...Array.from({ length: 20 }, () => 'angry')];
    const ev = feed(sim, n + 20, {}, ids);
    expect(ev).toEqual([]);
  });

  it('cooldown: a second spike soon after the first closes does not re-fire; later it does', () => {
    const sim = established(21);
    while (sim.t % 24 !== 13) feed(sim, ordinary(sim));
    feed(sim, 80);
    while (!sim.events.some((e) => e.type === 'closed')) feed(sim, ordinary(sim));
    const before = sim.events.length;
    feed(sim, 80); // within the 24 h cooldown
    expect(sim.events.slice(before).filter((e) => e.type === 'opened')).toEqual([]);
    for (let i = 0; i < 30; i++) feed(sim, ordinary(sim));
    while (sim.t % 24 !== 13) feed(sim, ordinary(sim));
    const again = feed(sim, 90);
    expect(again.filter((e) => e.type === 'opened' && e.episode.kind === 'spike')).toHaveLength(1);
    const opens = sim.events.filter((e) => e.type === 'opened');
    // Nor does the blocked spike leak out as sustained growth.
    expect(opens.map((e) => e.episode.kind)).toEqual(['spike', 'spike']);
    expect(new Set(opens.map((e) => e.episode.id)).size).toBe(2);
  });

  it('the tail of a surge a spike reported does not alert again as growth when the cooldown ends', () => {
    const sim = established(21);
    while (sim.t % 24 !== 13) feed(sim, ordinary(sim));
    feed(sim, Math.round(dailyMean(8, 13) * 5));
    while (!sim.events.some((e) => e.type === 'closed')) feed(sim, ordinary(sim));
    // A rise through the spike's cooldown, easing off as the cooldown ends.
    const cooldownEnd = sim.t + cfg.episode.cooldownHours;
    while (sim.t < cooldownEnd - 1) feed(sim, Math.round(dailyMean(8, sim.t % 24) * 1.8));
    for (let i = 0; i < 4; i++) feed(sim, Math.round(dailyMean(8, sim.t % 24) * 1.6));
    expect(sim.events.filter((e) => e.type === 'opened').map((e) => e.episode.kind)).toEqual(['spike']);
  });

  it('sustained_growth: a steady rise to 1.6x, no bucket extreme, opens growth and no spike', () => {
    const sim = established(21);
    while (sim.t % 24 !== 9) feed(sim, ordinary(sim));
    const ev: TrendEvent[] = [];
    for (let i = 0; i < 16; i++) ev.push(...feed(sim, Math.round(dailyMean(8, sim.t % 24) * 1.6)));
    expect(ev.filter((e) => e.type === 'opened').map((e) => e.episode.kind)).toEqual(['sustained_growth']);
    const g = ev.find((e) => e.type === 'opened')!.episode;
    expect(g.customers).toBeGreaterThanOrEqual(3);
    expect(g.observed).toBeGreaterThan(g.expected);
  });

  it('customer gate: growth one customer drives over ordinary background traffic is not sustained_growth', () => {
    const sim = established(21);
    while (sim.t % 24 !== 9) feed(sim, ordinary(sim));
    const ev: TrendEvent[] = [];
    // The same 1.6x rise as above, but the excess is one customer's cases on top of background
    // traffic from ordinary (distinct) customers: dozens of customers in the window, one behind the rise.
    for (let i = 0; i < 16; i++) {
      const n = ordinary(sim);
      const extra = Math.round(dailyMean(8, sim.t % 24) * 0.6);
      const ids = [...Array.from({ length: n }, (_, k) => `bg-${sim.t}-${k}`), ...Array.from({ length: extra }, () => 'heavy')];
      ev.push(...feed(sim, n + extra, {}, ids));
    }
    expect(ev.filter((e) => e.type === 'opened')).toEqual([]);
  });

  it("customer gate: one customer's burst does not carry the growth evidence of the day after it", () => {
    /** 21 days at 8/h, then from 09:00 36 hours at `rise` x; the first of them brings `burst` more cases from `senders` customers. */
    const day = (rise: number, burst: number, senders: number): string[] => {
      const sim: Sim = { st: createClusterState('cl-1', T0 - 90 * 86_400_000), u: seeded(16), events: [], t: 0 };
      while (sim.t < 21 * 24 || sim.t % 24 !== 9) feed(sim, ordinary(sim));
      const ev: TrendEvent[] = [];
      for (let i = 0; i < 36; i++) {
        const n = poisson(sim.u, dailyMean(8, sim.t % 24) * rise);
        const extra = i === 0 ? burst : 0;
        const ids = [...Array.from({ length: n }, (_, k) => `bg-${sim.t}-${k}`), ...Array.from({ length: extra }, (_, k) => `burst-${k % senders}`)];
        ev.push(...feed(sim, n + extra, {}, ids));
      }
      return ev.filter((e) => e.type === 'opened').map((e) => e.episode.kind);
    };
    // Neither the burst alone nor a mild 1.35x rise alone is worth an alert...
    expect(day(1, 60, 1)).toEqual([]);
    expect(day(1.35, 0, 1)).toEqual([]);
    // ...nor are they together: the burst's 60 cases are one customer's (its case evidence used to carry
    // the rise over the threshold as sustained_growth).
    expect(day(1.35, 60, 1)).toEqual([]);
    // The same 60 cases from 60 customers, and it alerts.
    expect(day(1.35, 60, 60).length).toBeGreaterThan(0);
  });

  it('spike: a 3x surge on a sparse cluster that no bucket or short window shows opens on surge evidence; one customer does not', () => {
    /** 21 days of about 1 case/h, then 8 hours at 3x: the extra cases from many customers, or from one. */
    const fed = new Map<number, string[]>();
    const surge = (c: typeof cfg, heavy: boolean): TrendEvent[] => {
      const sim: Sim = { st: createClusterState('sparse', T0 - 90 * 86_400_000), u: seeded(5), events: [], t: 0 };
      const at = (): number => dailyMean(1, sim.t % 24);
      const step = (extra: string[]): void => {
        const ids = [...Array.from({ length: poisson(sim.u, at()) }, (_, k) => `bg-${sim.t}-${k}`), ...extra];
        fed.set(bucketAt(sim.t), ids);
        sim.events.push(...evaluateCluster(sim.st, { clusterId: 'sparse', cases: ids.length, customers: new Set(ids).size, customerIds: ids }, {}, bucketAt(sim.t), clockAt(sim.t), c));
        sim.t += 1;
      };
      while (sim.t < 21 * 24 || sim.t % 24 !== 10) step([]);
      const before = sim.events.length;
      for (let i = 0; i < 8; i++) step(Array.from({ length: Math.round(at() * 2) }, (_, k) => (heavy ? 'heavy' : `new-${sim.t}-${k}`)));
      return sim.events.slice(before);
    };
    const opened = surge(cfg, false).filter((e) => e.type === 'opened');
    expect(opened.map((e) => e.episode.kind)).toEqual(['spike']);
    // The episode starts where the surge evidence began, before the bucket that opened it, and counts the
    // cases and distinct customers of all its buckets.
    const ep = opened[0]!.episode;
    expect(ep.startBucket).toBeLessThan(ep.lastBucket);
    const inEpisode = [...fed].filter(([b]) => b >= ep.startBucket && b <= ep.lastBucket).map(([, ids]) => ids);
    expect(ep.observed).toBe(inEpisode.reduce((n, ids) => n + ids.length, 0));
    expect(ep.customers).toBe(new Set(inEpisode.flat()).size);
    // Without the surge CUSUM the same surge goes unreported.
    expect(surge(resolveTrendConfig({ detector: { surgeShift: null } }), false).filter((e) => e.type === 'opened')).toEqual([]);
    expect(surge(cfg, true).filter((e) => e.type === 'opened')).toEqual([]);
  });

  it('spike: the warm-up is a week in any bucket size: day buckets alert after a week, not after 168 days', () => {
    const spikesAfter = (days: number, input: Parameters<typeof resolveTrendConfig>[0]) => {
      const cfg = resolveTrendConfig(input);
      const u = seeded(5);
      let b = bucketStart(Date.UTC(2026, 0, 5, 12), 'day', 'Europe/Berlin');
      const st = createClusterState('c1', b - 365 * 86_400_000);
      const opened: number[] = [];
      for (let d = 0; d <= days; d++) {
        const cases = d === days ? 300 : poisson(u, 40);
        const ids = Array.from({ length: cases }, (_, i) => `cu-${d}-${i}`);
        for (const e of evaluateCluster(st, { clusterId: 'c1', cases, customers: cases, customerIds: ids }, {}, b, b + 86_400_000 + 60_000, cfg)) {
          if (e.type === 'opened' && e.episode.kind === 'spike') opened.push(d);
        }
        b = nextBucketStart(b, 'day', 'Europe/Berlin');
      }
      return opened;
    };
    // 28 days is what a restart rebuilds (rebuildDays); 7.5x a day's cases is a spike after them.
    expect(resolveTrendConfig({ bucket: 'day' }).warmupBucketsResolved).toBe(7);
    expect(resolveTrendConfig({ bucket: { minutes: 5 } }).warmupBucketsResolved).toBe(2016);
    expect(spikesAfter(28, { bucket: 'day', timeZone: 'Europe/Berlin' })).toEqual([28]);
    // Still in its warm-up at 6 days; an explicit count of buckets wins over the hours.
    expect(spikesAfter(6, { bucket: 'day', timeZone: 'Europe/Berlin' })).toEqual([]);
    expect(spikesAfter(28, { bucket: 'day', timeZone: 'Europe/Berlin', warmupBuckets: 100 })).toEqual([]);
  });

  it('spike: a new problem that takes off in its first week, after its `new` episode closed, opens one; its own daily cycle does not', () => {
    // 6 cases at birth, then a case every 5 hours; on day 2, 150 an hour for 10 hours.
    const sim: Sim = { st: createClusterState('takeoff', T0), u: seeded(11), events: [], t: 0 };
    feed(sim, 6);
    while (sim.t < 34) feed(sim, sim.t % 5 === 0 ? 1 : 0);
    for (let i = 0; i < 10; i++) feed(sim, 150);
    const kinds = sim.events.filter((e) => e.type === 'opened').map((e) => `${e.episode.kind}@${e.episode.startBucket === bucketAt(34) ? 'takeoff' : 'birth'}`);
    // Before: only `new`, closed three hours after birth; the 1,500 cases raised nothing.
    expect(kinds).toEqual(['new@birth', 'spike@takeoff']);
    // A young cluster with its daily cycle (a day peak near 4 times its night) opens nothing but `new` in its first week.
    const daily: Sim = { st: createClusterState('cycle', T0), u: seeded(12), events: [], t: 0 };
    for (let i = 0; i < 7 * 24; i++) feed(daily, poisson(daily.u, dailyMean(2, daily.t % 24)));
    expect(daily.events.filter((e) => e.type === 'opened').map((e) => e.episode.kind)).toEqual(['new']);
  });

  it('regression: volume returns after the cluster was marked fixed', () => {
    const sim = established(14);
    const fixedAt = bucketAt(sim.t);
    const meta: ClusterMeta = { status: 'fix_available', fixedAt };
    const quiet: TrendEvent[] = [];
    for (let i = 0; i < 72; i++) quiet.push(...feed(sim, i < 30 && i % 6 === 0 ? 1 : 0, meta));
    expect(quiet.filter((e) => e.episode.kind === 'regression')).toEqual([]);
    const back: TrendEvent[] = [];
    for (let i = 0; i < 24; i++) back.push(...feed(sim, ordinary(sim), meta));
    const opened = back.filter((e) => e.type === 'opened');
    expect(opened.map((e) => e.episode.kind)).toContain('regression');
    // Without the fixed status the same return is not a regression.
    const other = established(14);
    for (let i = 0; i < 72; i++) feed(other, 0);
    for (let i = 0; i < 24; i++) feed(other, ordinary(other));
    expect(other.events.filter((e) => e.episode.kind === 'regression')).toEqual([]);
  });

  it('regression: opens with its evidence, the cases since the problem came back and from the bucket it came back in', () => {
    // A quiet cluster (~0.3 an hour), fixed; two days later a case an hour comes back, each from its own customer.
    const sim: Sim = { st: createClusterState('quiet', T0 - 90 * 86_400_000), u: seeded(5), events: [], t: 0 };
    for (let i = 0; i < 14 * 24; i++) feed(sim, i % 3 === 0 ? 1 : 0);
    const meta: ClusterMeta = { status: 'fix_available', fixedAt: bucketAt(sim.t) };
    for (let i = 0; i < 48; i++) feed(sim, 0, meta);
    const firstBack = bucketAt(sim.t);
    const back: TrendEvent[] = [];
    for (let i = 0; i < 6; i++) back.push(...feed(sim, 1, meta));
    const opened = back.find((e) => e.type === 'opened' && e.episode.kind === 'regression')!;
    // It said 1 case, from the third bucket, beside 3 customers.
    expect(opened.episode).toMatchObject({ startBucket: firstBack, observed: 3, customers: 3 });
    expect(opened.episode.expected).toBeLessThan(opened.episode.observed);
  });
});

describe('episodes across a run and a replay', () => {
  it('a growth episode that subsided does not reopen under the same id when its cooldown ends', () => {
    const sim = established(14, 10);
    const dc = cfg.detectorResolved;
    // The count that brings the growth CUSUM nearest `target` nats this bucket.
    const steer = (target: number): number => {
      const d = sim.st.detector;
      const { mu, phi } = expectation(d, seasonalKey(bucketAt(sim.t), cfg.timeZone).slot, dc);
      let best = 0;
      for (let x = 1; x < 400; x++) if (Math.abs(Math.max(0, d.cusum + growthLlr(x, mu, phi, dc.cusumShift)) - target) < Math.abs(Math.max(0, d.cusum + growthLlr(best, mu, phi, dc.cusumShift)) - target)) best = x;
      return best;
    };
    const growth = () => sim.events.filter((e) => e.episode.kind === 'sustained_growth');
    // Evidence builds ~1.2 nats a bucket until growth opens, then hovers under closeEvidence but above zero
    // (the episode closes, the run goes on) until the cooldown is over, then builds again.
    let phase: 'build' | 'hover' | 'rebuild' = 'build';
    for (let i = 0; i < 24 * 6 && growth().filter((e) => e.type === 'opened').length < 2; i++) {
      feed(sim, steer(phase === 'hover' ? 0.6 : sim.st.detector.cusum + 1.2));
      if (phase === 'build' && sim.st.episodes.sustained_growth) phase = 'hover';
      if (phase === 'hover' && !sim.st.episodes.sustained_growth && bucketAt(sim.t) >= (sim.st.cooldownUntil.sustained_growth ?? Infinity)) phase = 'rebuild';
    }
    expect(sim.events.filter((e) => e.episode.kind === 'spike')).toEqual([]);
    const opened = growth().filter((e) => e.type === 'opened');
    expect(opened).toHaveLength(2);
    expect(growth().map((e) => e.type).slice(0, 1)).toEqual(['opened']);
    expect(growth().some((e) => e.type === 'closed' && e.episode.id === opened[0]!.episode.id)).toBe(true);
    // A new episode: a closed one is never opened again (trend_alerts keeps one row per id).
    expect(opened[1]!.episode.id).not.toBe(opened[0]!.episode.id);
  });

  it('a customer back late in a growth run longer than two days is not new to the run', () => {
    const sim = established(14, 1, 4);
    const seen: { bucket: number; ids: string[] }[] = [];
    for (let i = 0; i < 62; i++) {
      const n = Math.max(1, Math.round(dailyMean(1, sim.t % 24) * 1.6));
      const ids = Array.from({ length: n }, (_, k) => `run-${sim.t}-${k}`);
      // Seen early in the run, then again more than two days later.
      if (i === 5 || i === 60) ids[0] = 'comes-back';
      seen.push({ bucket: bucketAt(sim.t), ids });
      feed(sim, n, {}, ids);
    }
    const run = sim.st.growthRun;
    expect(run.start).toBeLessThanOrEqual(seen[5]!.bucket);
    expect(sim.st.detector.cusumRun).toBeGreaterThan(56);
    // Everyone fed since the run began, each once (the window holds them all: fewer than its cap of 128).
    const distinct = new Set(seen.filter((b) => b.bucket >= run.start).flatMap((b) => b.ids));
    expect(distinct.size).toBeLessThan(128);
    expect(run.customers).toBe(distinct.size);
  });

  it("regression: a replay that reads today's fixed status from its first bucket judges as the live run did", () => {
    const fixedAt = bucketAt(40 * 24);
    const run = (replay: boolean): Sim => {
      const sim: Sim = { st: createClusterState('cl-fix', T0 - 90 * 86_400_000), u: seeded(5), events: [], t: 0 };
      for (let t = 0; t < 45 * 24; t++) {
        const after = bucketAt(t) >= fixedAt;
        const cases = after ? (bucketAt(t) >= fixedAt + 30 * HOUR ? 1 : 0) : t % 24 < 6 ? 1 : 10;
        feed(sim, cases, replay || after ? { status: 'resolved', fixedAt } : { status: 'open', fixedAt: null });
      }
      return sim;
    };
    const live = run(false);
    const replay = run(true);
    expect(replay.st.preFixRate).toBe(live.st.preFixRate);
    const regressions = (sim: Sim) => sim.events.filter((e) => e.episode.kind === 'regression');
    expect(regressions(replay)).toEqual(regressions(live));
    // One case an hour after a fix of a cluster that had ~8 an hour is not the problem coming back.
    expect(regressions(live)).toEqual([]);
  });

  it('regression: a state rebuilt only from after an old fix judges against the pre-fix rate it is given', () => {
    // A restart replays the last 28 days; the fix was 40 days ago, when the cluster had ~7 cases an hour.
    // Its state then sees only post-fix buckets: their mean (the first straggler's) was taken as the pre-fix
    // rate, and a straggler every 4 hours opened a regression.
    const fixedAt = T0 - 40 * 86_400_000;
    const stragglers = (meta: ClusterMeta): Sim => {
      const sim: Sim = { st: createClusterState('cl-old-fix', T0 - 90 * 86_400_000), u: seeded(5), events: [], t: 0 };
      for (let t = 0; t < 3 * 24; t++) feed(sim, t % 4 === 0 ? 1 : 0, meta);
      return sim;
    };
    const opened = (sim: Sim) => sim.events.filter((e) => e.type === 'opened' && e.episode.kind === 'regression');
    expect(opened(stragglers({ status: 'resolved', fixedAt, preFixRate: 7.2 }))).toEqual([]);
    expect(stragglers({ status: 'resolved', fixedAt, preFixRate: 7.2 }).st.preFixRate).toBe(7.2);
    expect(opened(stragglers({ status: 'resolved', fixedAt }))).not.toEqual([]);
    // And the problem truly back (as many cases as before the fix, from many customers) still is one.
    const back: Sim = { st: createClusterState('cl-old-fix', T0 - 90 * 86_400_000), u: seeded(5), events: [], t: 0 };
    for (let t = 0; t < 24; t++) feed(back, 7, { status: 'resolved', fixedAt, preFixRate: 7.2 });
    expect(opened(back)).toHaveLength(1);
  });
});

describe('replay and bucket close', () => {
  it('re-evaluating an already-seen bucket is a no-op', () => {
    const sim = established(2);
    const before = JSON.stringify(sim.st);
    const ev = evaluateCluster(sim.st, { clusterId: 'cl-1', cases: 500, customers: 500 }, {}, bucketAt(sim.t - 1), clockAt(sim.t), cfg);
    expect(ev).toEqual([]);
    expect(JSON.stringify(sim.st)).toBe(before);
  });

  it('evaluateBucketClose steps silent clusters with zero and creates new ones', () => {
    const states = new Map<string, ClusterTrendState>();
    evaluateBucketClose(states, { bucket: bucketAt(0), now: clockAt(0), counts: [{ clusterId: 'a', cases: 1, customers: 1 }] }, cfg);
    evaluateBucketClose(states, { bucket: bucketAt(1), now: clockAt(1), counts: [{ clusterId: 'b', cases: 2, customers: 2 }] }, cfg);
    expect([...states.keys()].sort()).toEqual(['a', 'b']);
    expect(states.get('a')!.detector.n).toBe(2);
    expect(states.get('a')!.lastBucket).toBe(bucketAt(1));
    expect(() =>
      evaluateBucketClose(states, { bucket: bucketAt(2), now: clockAt(2), counts: [{ clusterId: 'a', cases: 1, customers: 1 }, { clusterId: 'a', cases: 1, customers: 1 }] }, cfg),
    ).toThrow(RangeError);
  });

  it('a cluster back after a silence longer than the state kept is not new when its birth is known', () => {
    const counts = [{ clusterId: 'old', cases: 6, customers: 6, customerIds: ['a', 'b', 'c', 'd', 'e', 'f'] }];
    const opened = (birth?: (id: string) => number | undefined) => {
      const states = new Map<string, ClusterTrendState>();
      const events = evaluateBucketClose(states, { bucket: bucketAt(0), now: clockAt(0), counts, ...(birth ? { birth } : {}) }, cfg);
      return events.filter((e) => e.type === 'opened').map((e) => e.episode.kind);
    };
    // Its birth, 60 days back: 6 cases from 6 customers is not a young cluster reaching its threshold.
    expect(opened((id) => (id === 'old' ? bucketAt(-60 * 24) : undefined))).toEqual([]);
    // Unknown birth (a cluster the model has not seen): born now, and new.
    expect(opened(() => undefined)).toEqual(['new']);
    expect(opened()).toEqual(['new']);
    // Born 10 minutes into the bucket before: young, and its episode starts on this bucket as without a
    // known birth, so a replay gives it the same id.
    const states = new Map<string, ClusterTrendState>();
    const [ev] = evaluateBucketClose(states, { bucket: bucketAt(0), now: clockAt(0), counts, birth: () => bucketAt(-1) + 600_000 }, cfg);
    expect(ev!.episode).toMatchObject({ kind: 'new', startBucket: bucketAt(0), id: episodeId('old', 'new', bucketAt(0)) });
  });

  it('a cluster back after a silence longer than the warm-up, counted by the caller, is judged against that silence at once', () => {
    // Born 60 days back, silent for the 35 days the caller has counted; back with 30 cases an hour from 30 customers.
    const back = (silentSince: number | undefined) => {
      const states = new Map<string, ClusterTrendState>();
      const kinds: string[] = [];
      for (let t = 0; t < 6; t++) {
        const ids = Array.from({ length: 30 }, (_, i) => `back-${t}-${i}`);
        const input = { bucket: bucketAt(t), now: clockAt(t), counts: [{ clusterId: 'monthly', cases: 30, customers: 30, customerIds: ids }], birth: () => bucketAt(-60 * 24) };
        for (const e of evaluateBucketClose(states, silentSince === undefined ? input : { ...input, silentSince }, cfg)) kinds.push(`${e.type} ${e.episode.kind}`);
      }
      return kinds;
    };
    // Before: a fresh state waited out a week's warm-up, and the problem's return raised nothing.
    expect(back(undefined)).toEqual([]);
    expect(back(bucketAt(-35 * 24))[0]).toBe('opened spike');
    // Counted for less than the warm-up (a replay that began 3 days ago): its history before is unknown, no prime.
    expect(back(bucketAt(-3 * 24))).toEqual([]);
  });

  it('forgets a cluster silent for longer than asked, unless a fix is still watched or something is open', () => {
    const states = new Map<string, ClusterTrendState>();
    const DAY = 24;
    const fixedAt = bucketAt(1);
    // 'later' was marked fixed after the buckets evaluated here (a backfill of older data): still to be watched.
    const meta = (id: string): ClusterMeta | undefined =>
      id === 'fixed' ? { status: 'resolved', fixedAt } : id === 'later' ? { status: 'fix_available', fixedAt: bucketAt(60 * DAY) } : undefined;
    const kept: string[][] = [];
    for (let t = 0; t <= 30 * DAY; t++) {
      const counts = [
        ...(t === 0 ? ['quiet', 'fixed', 'later'].map((clusterId) => ({ clusterId, cases: 1, customers: 1 })) : []),
        ...(t % DAY === 0 ? [{ clusterId: 'daily', cases: 1, customers: 1 }] : []),
      ];
      evaluateBucketClose(states, { bucket: bucketAt(t), now: clockAt(t), counts, meta, forgetSilentBefore: bucketAt(t - 28 * DAY) }, cfg);
      if (t === 28 * DAY || t === 28 * DAY + 1) kept.push([...states.keys()].sort());
    }
    // 'quiet' had its one case 28 days before bucket 28 x 24: kept through it, gone the bucket after.
    expect(kept).toEqual([
      ['daily', 'fixed', 'later', 'quiet'],
      ['daily', 'fixed', 'later'],
    ]);
    expect([...states.keys()].sort()).toEqual(['daily', 'fixed', 'later']);
  });

  it('fills skipped buckets with zeros', () => {
    const sim = established(2);
    const n = sim.st.detector.n;
    evaluateCluster(sim.st, { clusterId: 'cl-1', cases: 3, customers: 3 }, {}, bucketAt(sim.t + 5), clockAt(sim.t + 5), cfg);
    expect(sim.st.detector.n).toBe(n + 6);
  });
});
