import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, migrate, loadTrendProgress, saveTrendProgress, type Store } from '../../src/store/index.js';
import { insertIdempotent } from '../../src/store/writer.js';
import { TrendStage } from '../../src/pipeline/trends.js';
import { Metrics } from '../../src/pipeline/metrics.js';
import type { TrendEvent } from '../../src/trends/index.js';
import { interceptQueries, silentLog, testConfig } from '../helpers/env.js';

// The trend stage on a store with nothing in it yet (a first start): events arrive out of order, as
// partitions and channels deliver them, and the first one seen is not the earliest. An event within the
// allowed lateness (10 minutes) of the newest must land in its own bucket and count, not be dropped as late.
describe('trend stage on a first start (embedded chDB)', () => {
  let store: Store;
  const config = testConfig();
  const at = (hhmm: string) => Date.parse(`2026-11-02T${hhmm}:00Z`);

  beforeAll(async () => {
    store = await openStore(config.clickhouse);
    await migrate(store.client, { dedupWindow: config.clickhouse.dedupWindow });
  });

  afterAll(async () => store?.close());

  it('counts events older than the first one seen, within the allowed lateness, in their own bucket', async () => {
    const metrics = new Metrics();
    let t = at('12:00');
    const stage = new TrendStage(config.trends, store.client, silentLog, metrics, () => (t += 1000));
    expect(await stage.init()).toBe(0);
    const episodes: TrendEvent[] = [];
    stage.onAlerts(async (events) => void episodes.push(...events));
    const event = (hhmm: string, i: number) => ({ timeMs: at(hhmm), arrivedMs: at('12:00'), clusterId: 'c_1', caseId: `case-${i}`, customerId: `cust-${i}` });
    // First seen: 10:05. Then four from 09:56-09:59, within 10 minutes of it.
    stage.observe(event('10:05', 0));
    for (const [i, hhmm] of ['09:56', '09:57', '09:58', '09:59'].entries()) stage.observe(event(hhmm, i + 1));
    // Event time moves on: 09:00 and 10:00 close.
    stage.observe(event('11:30', 5));
    await stage.onBatchStored();
    expect(metrics.get('late_events', { beyond_lateness: 'true' }) + metrics.get('late_events', { beyond_lateness: 'false' })).toBe(0);
    // The young cluster reaches 5 cases (its score) from 5 customers: its `new` episode runs from its birth,
    // the 09:00 bucket the earlier events landed in.
    const opened = episodes.filter((e) => e.type === 'opened' && e.episode.kind === 'new');
    expect(opened).toHaveLength(1);
    expect(opened[0]!.episode).toMatchObject({ startBucket: at('09:00'), score: 5, customers: 5 });
    // One well past the lateness is counted as late, and said to be so.
    stage.observe(event('09:30', 6));
    expect(metrics.get('late_events', { beyond_lateness: 'true' })).toBe(1);
  });

  it('the end of a file closes through event time, not through an event dated hours after its arrival', async () => {
    let t = at('12:00');
    const stage = new TrendStage(config.trends, store.client, silentLog, new Metrics(), () => (t += 1000), (id) => (id === 'c_end' ? at('09:00') : undefined));
    const episodes: TrendEvent[] = [];
    stage.onAlerts(async (events) => void episodes.push(...events));
    let n = 0;
    // A new problem, still coming in every few minutes when the file ends at 11:55.
    for (let m = 9 * 60; m < 12 * 60; m += 5) {
      const ms = Date.parse('2026-11-02T00:00:00Z') + m * 60_000;
      stage.observe({ timeMs: ms, arrivedMs: ms + 30_000, clusterId: 'c_end', caseId: `end-${n}`, customerId: `end-u${n++}` });
    }
    // Local time sent as UTC: dated 10 hours after it arrived (kept: within maxFutureHours).
    stage.observe({ timeMs: at('21:50'), arrivedMs: at('11:50'), clusterId: 'c_end_other', caseId: 'x', customerId: 'ux' });
    await stage.onBatchStored();
    await stage.flush();
    // Before, the buckets through 22:00 closed empty, and the problem was announced closed at 15:00.
    expect(episodes.filter((e) => e.episode.clusterId === 'c_end').map((e) => `${e.type} ${e.episode.kind}`)).toEqual(['opened new', 'updated new', 'updated new']);
  });

  it('an event dated years ahead does not carry event time with it: later events are on time', async () => {
    const metrics = new Metrics();
    let t = at('12:00');
    const stage = new TrendStage(config.trends, store.client, silentLog, metrics, () => (t += 1000));
    const event = (ms: number, i: number) => ({ timeMs: ms, arrivedMs: at('12:00'), clusterId: 'c_3', caseId: `case-${i}`, customerId: `cust-${i}` });
    stage.observe(event(at('09:10'), 0));
    stage.observe(event(Date.parse('2099-01-01T00:00:00Z'), 1)); // a mistyped year
    stage.observe(event(at('10:30'), 2));
    await stage.onBatchStored(); // closes 09:00 only: event time is 10:30, not 2099
    stage.observe(event(at('10:40'), 3));
    expect(metrics.get('future_events')).toBe(1);
    expect(metrics.get('late_events', { beyond_lateness: 'true' }) + metrics.get('late_events', { beyond_lateness: 'false' })).toBe(0);
  });

  it('an event dated hours ahead of its arrival does not carry event time with it: the hours before it are on time', async () => {
    // A live stream on the 5th, each event arriving a minute after it happened; one producer sends local time
    // as UTC, 9 hours ahead (within maxFutureHours, so it is counted). Event time used to jump 9 hours with it:
    // the hours in between closed nearly empty and every event of them after it was late.
    const on5th = (hhmm: string) => Date.parse(`2026-11-05T${hhmm}:00Z`);
    const metrics = new Metrics();
    let t = on5th('12:00');
    const stage = new TrendStage(config.trends, store.client, silentLog, metrics, () => (t += 1000));
    const live = (hhmm: string, i: number) => ({ timeMs: on5th(hhmm), arrivedMs: on5th(hhmm) + 60_000, clusterId: 'c_9', caseId: `s-${i}`, customerId: `s-${i}` });
    stage.observe(live('10:00', 0));
    stage.observe({ timeMs: on5th('19:10'), arrivedMs: on5th('10:11'), clusterId: 'c_9', caseId: 's-skewed', customerId: 's-skewed' });
    await stage.onBatchStored();
    for (const [i, hhmm] of ['10:15', '10:40', '11:05', '11:30'].entries()) {
      stage.observe(live(hhmm, i + 1));
      await stage.onBatchStored();
    }
    expect(metrics.get('late_events', { beyond_lateness: 'true' }) + metrics.get('late_events', { beyond_lateness: 'false' })).toBe(0);
    expect(metrics.get('future_events')).toBe(0);

    // The same stored, then a restart: its rebuild takes event time the same way.
    const on6th = (hhmm: string) => `2026-11-06T${hhmm}:00.000Z`;
    const row = (id: string, occurred: string, ingested: string) => ({
      event_id: id, case_id: id, customer_id: id, channel: 'chat', occurred_at: occurred, ingested_at: ingested, cluster_id: 'c_10',
      similarity: 0.5, model_version: 1, source_topic: 't', source_partition: 0, source_offset: 0,
    });
    const stored = [row('k0', on6th('10:00'), on6th('10:01')), row('k1', on6th('11:30'), on6th('11:31')), row('k-skewed', on6th('19:10'), on6th('10:11'))];
    await insertIdempotent(store.client, 'assignments', stored, 'skewed-restart');
    const after = new Metrics();
    let t2 = Date.parse(on6th('11:45'));
    const restarted = new TrendStage(config.trends, store.client, silentLog, after, () => (t2 += 1000));
    await restarted.init();
    restarted.observe({ timeMs: Date.parse(on6th('11:35')), arrivedMs: Date.parse(on6th('11:36')), clusterId: 'c_10', caseId: 'k2', customerId: 'k2' });
    expect(after.get('late_events', { beyond_lateness: 'true' }) + after.get('late_events', { beyond_lateness: 'false' })).toBe(0);
  });

  it('the first event seen, dated hours ahead of its arrival, does not make the correctly dated ones before it late', async () => {
    // As above, but the skewed event is the very first one the stage sees: the first bucket to close was taken
    // from its date, and the nine live events of the hours before it were all late.
    const on8th = (hhmm: string) => Date.parse(`2026-11-08T${hhmm}:00Z`);
    const metrics = new Metrics();
    let t = on8th('10:01');
    const stage = new TrendStage(config.trends, store.client, silentLog, metrics, () => (t += 1000));
    stage.observe({ timeMs: on8th('19:00'), arrivedMs: on8th('10:01'), clusterId: 'c_11', caseId: 'f-skewed', customerId: 'f-skewed' });
    for (const [i, hhmm] of ['10:00', '10:05', '10:20', '10:40', '11:00', '11:30', '12:00', '12:30', '13:00'].entries()) {
      stage.observe({ timeMs: on8th(hhmm), arrivedMs: on8th(hhmm) + 60_000, clusterId: 'c_11', caseId: `f-${i}`, customerId: `f-${i}` });
      await stage.onBatchStored();
    }
    expect(metrics.get('late_events', { beyond_lateness: 'true' }) + metrics.get('late_events', { beyond_lateness: 'false' })).toBe(0);
  });

  it('a restart after an event dated years ahead was stored rebuilds event time from the others', async () => {
    const row = (id: string, iso: string) => ({
      event_id: id,
      case_id: id,
      customer_id: 'u1',
      channel: 'chat',
      occurred_at: iso,
      cluster_id: 'c_4',
      similarity: 0.5,
      model_version: 1,
      source_topic: 't',
      source_partition: 0,
      source_offset: 0,
    });
    await insertIdempotent(store.client, 'assignments', [row('f1', '2026-11-02T10:00:00.000Z'), row('f2', '2099-01-01T00:00:00.000Z')], 'future-restart');
    const metrics = new Metrics();
    let t = at('12:00');
    const stage = new TrendStage(config.trends, store.client, silentLog, metrics, () => (t += 1000));
    await stage.init();
    // Event time is 10:00 (the newest stored event within the horizon), not 2099 nor the horizon itself.
    stage.observe({ timeMs: at('11:50'), arrivedMs: at('12:00'), clusterId: 'c_4', caseId: 'live-1', customerId: 'u2' });
    stage.observe({ timeMs: at('10:05'), arrivedMs: at('12:00'), clusterId: 'c_4', caseId: 'live-2', customerId: 'u3' });
    expect(metrics.get('late_events', { beyond_lateness: 'true' }) + metrics.get('late_events', { beyond_lateness: 'false' })).toBe(0);
  });

  it('a restart announces the episodes of buckets the stopped process closed nowhere, and only those', async () => {
    // A young cluster's 6 cases from 6 customers at 10:00-10:30 on the 3rd, stored; then the process stopped.
    const rows = Array.from({ length: 7 }, (_, i) => ({
      event_id: `p${i}`,
      case_id: `p${i}`,
      customer_id: `pu${i}`,
      channel: 'chat',
      occurred_at: i < 6 ? `2026-11-03T10:${String(i * 5).padStart(2, '0')}:00.000Z` : '2026-11-03T12:00:00.000Z',
      cluster_id: i < 6 ? 'c_5' : 'c_6',
      similarity: 0.5,
      model_version: 1,
      source_topic: 't',
      source_partition: 0,
      source_offset: i,
    }));
    await insertIdempotent(store.client, 'assignments', rows, 'progress-restart');
    const on3rd = (hhmm: string) => Date.parse(`2026-11-03T${hhmm}:00Z`);
    const restart = async (key: string) => {
      let t = on3rd('12:30');
      const stage = new TrendStage(config.trends, store.client, silentLog, new Metrics(), () => (t += 1000), undefined, key);
      const announced: TrendEvent[] = [];
      stage.onAlerts(async (events) => void announced.push(...events));
      await stage.init();
      return announced.filter((e) => e.episode.clusterId === 'c_5').map((e) => `${e.type} ${e.episode.kind} ${new Date(e.episode.startBucket).toISOString()}`);
    };
    // The stopped process had announced everything before 10:00 on the 3rd: the 10:00 bucket is announced now.
    await saveTrendProgress(store.client, 'progress-a', on3rd('10:00'), on3rd('11:00'));
    expect(await restart('progress-a')).toEqual(['opened new 2026-11-03T10:00:00.000Z']);
    // ...and recorded: the next restart announces nothing again.
    expect(await loadTrendProgress(store.client, 'progress-a')).toBe(on3rd('11:00'));
    expect(await restart('progress-a')).toEqual([]);
    // It had announced the 10:00 bucket already; or it never recorded progress (a store from before it): nothing.
    await saveTrendProgress(store.client, 'progress-b', on3rd('11:00'), on3rd('11:00'));
    expect(await restart('progress-b')).toEqual([]);
    expect(await restart('progress-never')).toEqual([]);
  });

  it('a progress far behind the stored events (trends were off for a backfill) announces the last day of buckets only', async () => {
    // A new problem on the 1st, two days before the newest stored events; another on the 3rd, and an event at noon.
    const row = (i: number, cluster: string, at: string) => ({
      event_id: `st${i}`, case_id: `st${i}`, customer_id: `stu${i}`, channel: 'chat', occurred_at: at,
      cluster_id: cluster, similarity: 0.5, model_version: 1, source_topic: 't', source_partition: 0, source_offset: 100 + i,
    });
    const rows = [0, 1, 2, 3, 4, 5].flatMap((i) => [
      row(i, 'c_stale', `2026-11-01T10:${String(i * 5).padStart(2, '0')}:00.000Z`),
      row(10 + i, 'c_fresh', `2026-11-03T10:${String(i * 5).padStart(2, '0')}:00.000Z`),
    ]);
    rows.push(row(20, 'c_tick', '2026-11-03T12:00:00.000Z'));
    await insertIdempotent(store.client, 'assignments', rows, 'progress-stale');
    await saveTrendProgress(store.client, 'progress-stale', Date.parse('2026-10-20T00:00:00Z'), Date.parse('2026-10-20T00:00:00Z'));
    let t = Date.parse('2026-11-03T12:30:00Z');
    const stage = new TrendStage(config.trends, store.client, silentLog, new Metrics(), () => (t += 1000), undefined, 'progress-stale');
    const announced: TrendEvent[] = [];
    stage.onAlerts(async (events) => void announced.push(...events));
    await stage.init();
    // Before, the 1st's episode went to the sinks as opened and closed, stamped now.
    const of = (cluster: string) => announced.filter((e) => e.episode.clusterId === cluster).map((e) => `${e.type} ${e.episode.kind}`);
    expect(of('c_stale')).toEqual([]);
    // The last day's buckets are announced: the 3rd's new problem.
    expect(of('c_fresh')).toEqual(['opened new']);
  });

  it('without a recorded progress (trends never ran on these events) the rebuild announces nothing, open episodes included', async () => {
    const row = (i: number, cluster: string, at: string) => ({
      event_id: `nv${i}`, case_id: `nv${i}`, customer_id: `nvu${i}`, channel: 'chat', occurred_at: at,
      cluster_id: cluster, similarity: 0.5, model_version: 1, source_topic: 't', source_partition: 0, source_offset: 300 + i,
    });
    const rows = [0, 1, 2, 3, 4, 5].map((i) => row(i, 'c_never', `2026-11-07T10:${String(i * 5).padStart(2, '0')}:00.000Z`));
    rows.push(row(9, 'c_never_tick', '2026-11-07T12:00:00.000Z'));
    await insertIdempotent(store.client, 'assignments', rows, 'progress-none');
    let t = Date.parse('2026-11-07T12:30:00Z');
    const stage = new TrendStage(config.trends, store.client, silentLog, new Metrics(), () => (t += 1000), undefined, 'progress-none');
    const announced: TrendEvent[] = [];
    stage.onAlerts(async (events) => void announced.push(...events));
    await stage.init();
    // Its new problem is still open at the end of the replay: history of a backfill, not news (it was announced, stamped now).
    expect(announced.filter((e) => e.episode.clusterId === 'c_never')).toEqual([]);
  });

  it('an event for a bucket stored while that bucket is being evaluated is late, not left in a bucket no close takes', async () => {
    const metrics = new Metrics();
    // The store's answers are real; the test only decides when the status read (made on each close) returns.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let reads = 0;
    const client = interceptQueries(store.client, async () => {
      reads++;
      await held;
    });
    let t = at('12:00');
    const stage = new TrendStage(config.trends, client, silentLog, metrics, () => (t += 1000));
    const event = (hhmm: string, i: number) => ({ timeMs: at(hhmm), arrivedMs: at('12:00'), clusterId: 'c_2', caseId: `case-${i}`, customerId: `cust-${i}` });
    stage.observe(event('09:20', 0));
    stage.observe(event('10:30', 1));
    const closing = stage.onBatchStored(); // closes 09:00, and waits on its status read
    while (reads === 0) await new Promise((r) => setImmediate(r));
    // Another partition's batch stores an event of the 09:00 bucket now.
    stage.observe(event('09:40', 2));
    release();
    await closing;
    expect(metrics.get('late_events', { beyond_lateness: 'true' })).toBe(1);
  });

  it('an event dated beyond its arrival stays out of detection after a restart too, once the clock has passed its date', async () => {
    const on5th = (hhmm: string) => Date.parse(`2026-11-05T${hhmm}:00Z`);
    // A young cluster: 4 cases from 4 customers at 10:00-10:15 on the 5th, on time. A fifth, dated 10:25 on
    // the 5th, arrived on the 3rd (a clock 46 hours ahead): kept out of detection when it came. With it, the
    // cluster would reach the 5 cases of a `new` episode.
    const arrival = [on5th('10:20'), on5th('10:20'), on5th('10:20'), on5th('10:20'), Date.parse('2026-11-03T12:00:00Z'), on5th('12:00')];
    const dated = ['10:00', '10:05', '10:10', '10:15', '10:25', '12:00'].map(on5th);
    const rows = dated.map((ms, i) => ({
      event_id: `fu${i}`,
      case_id: `fu${i}`,
      customer_id: `fuu${i}`,
      channel: 'chat',
      occurred_at: new Date(ms).toISOString(),
      cluster_id: i < 5 ? 'c_7' : 'c_8',
      similarity: 0.5,
      model_version: 1,
      source_topic: 't',
      source_partition: 1,
      source_offset: i,
      ingested_at: new Date(arrival[i]!).toISOString(),
    }));
    await insertIdempotent(store.client, 'assignments', rows, 'future-arrival');
    const newOf = (events: TrendEvent[]) => events.filter((e) => e.episode.clusterId === 'c_7' && e.episode.kind === 'new');
    // Live: the early-dated event is counted in future_events, and the cluster stays at 4 cases.
    const metrics = new Metrics();
    let t = on5th('12:00');
    const live = new TrendStage(config.trends, store.client, silentLog, metrics, () => (t += 1000));
    const liveEvents: TrendEvent[] = [];
    live.onAlerts(async (events) => void liveEvents.push(...events));
    for (const [i, ms] of dated.entries()) live.observe({ timeMs: ms, arrivedMs: arrival[i]!, clusterId: rows[i]!.cluster_id, caseId: `fu${i}`, customerId: `fuu${i}` });
    await live.onBatchStored();
    expect(metrics.get('future_events')).toBe(1);
    expect(newOf(liveEvents)).toEqual([]);
    // A restart at 12:30 on the 5th, that announces what follows 10:00 (recorded progress): the same, not a `new`
    // episode from the event the live stage left out.
    await saveTrendProgress(store.client, 'future-a', on5th('10:00'), on5th('10:30'));
    t = on5th('12:30');
    const restarted = new TrendStage(config.trends, store.client, silentLog, new Metrics(), () => (t += 1000), undefined, 'future-a');
    const announced: TrendEvent[] = [];
    restarted.onAlerts(async (events) => void announced.push(...events));
    await restarted.init();
    expect(newOf(announced)).toEqual([]);
    // The row is stored and counted for analysts all the same.
    const [stored] = await (await store.client.query({ query: "SELECT count() AS n FROM assignments WHERE cluster_id = 'c_7'", format: 'JSONEachRow' })).json<{ n: string }>();
    expect(Number(stored!.n)).toBe(5);
  });
});
