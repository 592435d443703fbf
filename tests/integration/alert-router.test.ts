// The alert router on a real store (embedded chDB): a routing read that fails is retried, not dropped.
import { describe, expect, it } from 'vitest';
import { AlertRouter } from '../../src/pipeline/alerts.js';
import { DeliveryQueue, type AlertPayload, type AlertSink } from '../../src/sinks/index.js';
import { trendEvent, T0 } from '../../src/sinks/fixtures.test-util.js';
import { insertIdempotent } from '../../src/store/writer.js';
import { alertRow, writeAlerts } from '../../src/store/index.js';
import { contactCost } from '../../src/owners/index.js';
import { interceptQueries, silentLog, testConfig, waitFor, embeddedStore } from '../helpers/env.js';

describe('alert router (embedded chDB)', () => {
  const config = testConfig();
  const db = embeddedStore(config);

  it("counts each alert's cases, customers, cost and channels over its own episode's window", async () => {
    const DAY = 86_400_000;
    const row = (id: string, cluster: string, t: number, channel: string) => ({
      event_id: id, case_id: id, customer_id: `u-${id}`, channel, occurred_at: new Date(t).toISOString(), cluster_id: cluster,
      similarity: 0.5, model_version: 1, source_topic: 'window-test', source_partition: 0, source_offset: 0,
    });
    // c_wa: 5 cases by email 19 days before its episode, 3 by chat inside it. c_wb: an episode from 20 days back.
    await insertIdempotent(db.store.client, 'assignments', [
      ...[0, 1, 2, 3, 4].map((i) => row(`old${i}`, 'c_wa', T0 - 19 * DAY + i * 60_000, 'email')),
      ...[0, 1, 2].map((i) => row(`new${i}`, 'c_wa', T0 + i * 60_000, 'chat')),
      ...[0, 1].map((i) => row(`b${i}`, 'c_wb', T0 - 20 * DAY + i * 60_000, 'phone')),
    ], 'window-test');
    const got: AlertPayload[] = [];
    const queue = new DeliveryQueue([{ name: 'collect', deliver: async (p) => void got.push(p) }]);
    const router = new AlertRouter(config, db.store.client, queue, silentLog, Date.now);
    const spike = trendEvent('c_wa'); // one hour from T0
    const regression = trendEvent('c_wb');
    regression.episode.startBucket = T0 - 20 * DAY;
    router.enqueue([spike, regression]);
    await router.flush();
    await queue.settled(5000);
    const a = got.find((p) => p.cluster_id === 'c_wa')!;
    expect([a.cases, a.customers, a.channels]).toEqual([3, 11, ['chat']]); // customers: the episode's own count (11) is higher
    expect(a.cost_so_far).toBeCloseTo(3 * contactCost({ channel: 'chat' }, config.owners.cost), 2);
    const b = got.find((p) => p.cluster_id === 'c_wb')!;
    expect([b.cases, b.channels]).toEqual([2, ['phone']]);
    router.stop();
    await queue.drain(1000);
  });

  it('after a failed chunk of a large batch, routes only what was not routed: each episode once', async () => {
    const got: AlertPayload[] = [];
    const queue = new DeliveryQueue([{ name: 'collect', deliver: async (p) => void got.push(p) }]);
    // A backfill's 1,500 episodes route in two chunks; the second chunk's reads (calls 5–8) fail once.
    const client = interceptQueries(db.store.client, (call) => {
      if (call >= 5 && call <= 8) throw new Error('read timed out (injected)');
    });
    const router = new AlertRouter(config, client, queue, silentLog, Date.now);
    const events = Array.from({ length: 1500 }, (_, i) => trendEvent(`c_m${i}`));
    router.enqueue(events);
    await router.flush();
    await waitFor('the second chunk, retried', async () => got.length >= 1500, 15_000);
    await queue.settled(5000);
    expect(got).toHaveLength(1500);
    expect(new Set(got.map((p) => p.episode_id)).size).toBe(1500);
    router.stop();
    await queue.drain(1000);
  });

  it('sends an episode it already sent in this process as an update, not as a second opened', async () => {
    const got: AlertPayload[] = [];
    const queue = new DeliveryQueue([{ name: 'collect', deliver: async (p) => void got.push(p) }]);
    const router = new AlertRouter(config, db.store.client, queue, silentLog, Date.now);
    // Redelivered at start, then announced again by the rebuild of the same bucket.
    router.enqueue([trendEvent('c_twice', 'opened', T0 + 3_600_000)]);
    await router.flush();
    router.enqueue([trendEvent('c_twice', 'opened', T0 + 7_200_000)]);
    await router.flush();
    await queue.settled(5000);
    expect(got.map((p) => [p.type, p.version])).toEqual([['opened', T0 + 3_600_000], ['updated', T0 + 7_200_000]]);
    router.stop();
    await queue.drain(1000);
  });

  it('redelivers an open episode that two sinks never got as opened to each of them', async () => {
    const a: AlertPayload[] = [];
    const b: AlertPayload[] = [];
    const queue = new DeliveryQueue([
      { name: 'first', deliver: async (p) => void a.push(p) },
      { name: 'second', deliver: async (p) => void b.push(p) },
    ]);
    let now = Date.now();
    const router = new AlertRouter(config, db.store.client, queue, silentLog, () => now);
    expect(await router.redeliver()).toBe(0); // the sinks are recorded as configured from now on
    // An episode opened after that, stored, handed to neither sink (the process stopped first).
    now += 1000;
    const e = trendEvent('c_two_sinks', 'opened', now);
    await writeAlerts(db.store.client, [alertRow(e.episode, e.episode.startBucket + 3_600_000)], e.episode.startBucket);
    now += 1000;
    expect(await router.redeliver()).toBe(2);
    await queue.settled(5000);
    expect([...a, ...b].map((p) => [p.episode_id, p.type])).toEqual([[e.episode.id, 'opened'], [e.episode.id, 'opened']]);
    router.stop();
    await queue.drain(1000);
  });

  it('routes an episode again after its routing read failed, and delivers it once', async () => {
    const got: AlertPayload[] = [];
    const sink: AlertSink = { name: 'collect', deliver: async (p) => void got.push(p) };
    const queue = new DeliveryQueue([sink]);
    // The store answers for real; its first two reads (the first routing attempt's) fail, as in an outage.
    const client = interceptQueries(db.store.client, (call) => {
      if (call <= 2) throw new Error('connect ECONNREFUSED (injected)');
    });
    const router = new AlertRouter(config, client, queue, silentLog, Date.now);
    router.enqueue([trendEvent('c_r1')]);
    await router.flush();
    expect(got).toHaveLength(0);
    await waitFor('the retried delivery', async () => got.length > 0, 10_000);
    expect(got.map((p) => [p.episode_id, p.type, p.cluster_id])).toEqual([[trendEvent('c_r1').episode.id, 'opened', 'c_r1']]);
    router.stop();
    await queue.drain(1000);
  });

  it('stores episodes of any event time the contract accepts, the first hours of 1970 included', async () => {
    // Epoch-0 dates (a producer's null date) are valid events. Their windows were written as bare Unix seconds,
    // which ClickHouse reads as something else under 9 digits: the write failed for good, and every restart with it.
    const starts = [Date.UTC(1970, 0, 1, 0), Date.UTC(1970, 0, 1, 5), Date.UTC(1972, 0, 1), Date.UTC(2026, 0, 1)];
    const episodes = starts.map((s, i) => {
      const e = trendEvent(`c_epoch${i}`).episode;
      return { ...e, id: `epoch-${i}`, startBucket: s, lastBucket: s };
    });
    for (const e of episodes) await writeAlerts(db.store.client, [alertRow(e, e.startBucket + 3_600_000)], e.startBucket);
    const rs = await db.store.client.query({
      query: "SELECT episode_id, toString(window_start) AS ws, toString(window_end) AS we FROM trend_alerts WHERE startsWith(episode_id, 'epoch-') ORDER BY episode_id",
      format: 'JSONEachRow',
    });
    expect(await rs.json()).toEqual([
      { episode_id: 'epoch-0', ws: '1970-01-01 00:00:00', we: '1970-01-01 01:00:00' },
      { episode_id: 'epoch-1', ws: '1970-01-01 05:00:00', we: '1970-01-01 06:00:00' },
      { episode_id: 'epoch-2', ws: '1972-01-01 00:00:00', we: '1972-01-01 01:00:00' },
      { episode_id: 'epoch-3', ws: '2026-01-01 00:00:00', we: '2026-01-01 01:00:00' },
    ]);
  });
});
