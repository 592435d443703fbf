import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, migrate, clusterStatuses, hourlyBucketCounts, saveTrendProgress, setClusterStatus, type Store } from '../../src/store/index.js';
import { insertIdempotent } from '../../src/store/writer.js';
import { TrendStage } from '../../src/pipeline/trends.js';
import { Metrics } from '../../src/pipeline/metrics.js';
import { episodeId, evaluateBucketClose, resolveTrendConfig, type ClusterTrendState, type TrendEvent } from '../../src/trends/index.js';
import { select } from '../../src/store/select.js';
import { silentLog, testConfig } from '../helpers/env.js';

// A restart rebuilds trend state from the last rebuildDays of stored counts: what it must not lose with the
// older history. A store of its own: a restart here closes what it finds open.
/** `day('MM-DD', h, m)` of a year, in ms (UTC). */
const dayIn = (year: number) => (d: string, h: number, m = 0) => Date.parse(`${year}-${d}T${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}:00Z`);

/** One case's assignment row as the pipeline stores it: its own customer, by chat, arrived a minute after it was written. */
const storedCase = (cluster: string, ms: number, id: string, offset: number) => ({
  event_id: id, case_id: id, customer_id: `u-${id}`, channel: 'chat', occurred_at: new Date(ms).toISOString(), ingested_at: new Date(ms + 60_000).toISOString(),
  cluster_id: cluster, similarity: 0.5, model_version: 1, source_topic: 't', source_partition: 0, source_offset: offset,
});

/** Two weeks of 8 cases an hour from `fromMs`, each its own customer's, ids `${prefix}-hour-i`. */
function steadyCases(cluster: string, fromMs: number, prefix: string): object[] {
  const rows: object[] = [];
  for (let h = 0; h < 14 * 24; h++) for (let i = 0; i < 8; i++) rows.push(storedCase(cluster, fromMs + h * 3_600_000 + i * 7 * 60_000, `${prefix}-${h}-${i}`, rows.length));
  return rows;
}

describe('trend stage restart (embedded chDB)', () => {
  let store: Store;
  const config = testConfig();
  const at = (hhmm: string) => Date.parse(`2026-11-03T${hhmm}:00Z`);

  beforeAll(async () => {
    store = await openStore(config.clickhouse);
    await migrate(store.client, { dedupWindow: config.clickhouse.dedupWindow });
  });

  afterAll(async () => store?.close());

  /** A trend stage on the store, started (its rebuild run), with the model's births and a pipeline's progress; and what it announces. */
  async function started(clock: () => number, birth?: (id: string) => number | undefined, pipeline?: string) {
    const stage = new TrendStage(config.trends, store.client, silentLog, new Metrics(), clock, birth, pipeline);
    const announced: TrendEvent[] = [];
    stage.onAlerts(async (events) => void announced.push(...events));
    await stage.init();
    return { stage, announced };
  }

  it('closes the episodes stored as open that the rebuilt state does not hold, and only those', async () => {
    // A young cluster's 6 cases from 6 customers at 10:00-10:25, and another cluster's event at 12:00: the
    // rebuild closes the 10:00 bucket, where c_new's `new` episode opens, and it is still open at 12:30.
    const rows = Array.from({ length: 7 }, (_, i) => ({
      event_id: `o${i}`, case_id: `o${i}`, customer_id: `ou${i}`, channel: 'chat',
      occurred_at: i < 6 ? `2026-11-03T10:${String(i * 5).padStart(2, '0')}:00.000Z` : '2026-11-03T12:00:00.000Z',
      cluster_id: i < 6 ? 'c_new' : 'c_other', similarity: 0.5, model_version: 1, source_topic: 't', source_partition: 0, source_offset: i,
    }));
    await insertIdempotent(store.client, 'assignments', rows, 'orphans');
    // As the stopped process stored them: c_new's episode, and a spike of a cluster with nothing left to rebuild from.
    const episode = (id: string, cluster: string, kind: string, start: string) => ({
      episode_id: id, cluster_id: cluster, kind, status: 'open', window_start: Math.floor(at(start) / 1000), window_end: Math.floor(at(start) / 1000) + 3600,
      observed: 6, expected: 1.5, score: 5, peak_score: 5, peak_observed: 6, customers: 6, buckets: 1,
      // The live process opened them at its clock's time, past the bucket's end.
      opened_at: '2026-11-03 11:00:07.250', updated_at: '2026-11-03 11:00:07.250', closed_at: null,
    });
    const held = episodeId('c_new', 'new', at('10:00'));
    const orphan = episodeId('c_gone', 'spike', at('08:00'));
    // And one whose last bucket the rebuild has not reached (a file run's end closed it): judged when it closes live.
    const pending = episodeId('c_other', 'new', at('12:00'));
    await insertIdempotent(store.client, 'trend_alerts', [episode(held, 'c_new', 'new', '10:00'), episode(orphan, 'c_gone', 'spike', '08:00'), episode(pending, 'c_other', 'new', '12:00')], 'orphans-alerts');

    let t = at('12:30');
    const { announced } = await started(() => (t += 1000));
    expect(announced.map((e) => [e.type, e.episode.id, e.episode.clusterId, e.episode.kind, e.episode.startBucket, e.episode.observed])).toEqual([
      ['closed', orphan, 'c_gone', 'spike', at('08:00'), 6],
    ]);
    const stored = await select<{ episode_id: string; status: string; window_end: string }>(store.client, 'SELECT episode_id, toString(status) AS status, toString(window_end) AS window_end FROM v_trend_episodes ORDER BY episode_id');
    expect(new Map(stored.map((r) => [r.episode_id, [r.status, r.window_end]]))).toEqual(
      new Map([[held, ['open', '2026-11-03 11:00:00']], [orphan, ['closed', '2026-11-03 09:00:00']], [pending, ['open', '2026-11-03 13:00:00']]]),
    );
    // Restarted again: nothing left to close.
    const { stage: stage2, announced: again } = await started(() => (t += 1000));
    expect(again).toEqual([]);
    // The held episode closes live when its cluster has been quiet: it keeps the time it was opened at (the
    // rebuild's replay stamped it with its bucket's end, and the closing version stored that).
    t = at('16:31');
    stage2.observe({ timeMs: at('16:30'), arrivedMs: at('16:31'), clusterId: 'c_other', caseId: 'o-late', customerId: 'ou-late' });
    await stage2.onBatchStored();
    expect(again.filter((e) => e.episode.id === held).map((e) => [e.type, e.episode.openedAt])).toEqual([['closed', Date.parse('2026-11-03T11:00:07.250Z')]]);
    const [row] = await select<{ opened_at: string }>(store.client, 'SELECT toString(opened_at) AS opened_at FROM trend_alerts FINAL WHERE episode_id = {id:String}', { id: held });
    expect(row!.opened_at).toBe('2026-11-03 11:00:07.250');
  });

  it('counts a case without a customer id as a customer of its own, live and in the rebuild (such cases never passed a gate)', async () => {
    const day = dayIn(2025);
    // Stored: 6 anonymous cases (web forms) and 2 of one customer in one hour.
    const rows = [0, 1, 2, 3, 4, 5].map((i) => ({ ...storedCase('c_anon_old', day('03-01', 10, i * 5), `an${i}`, i), customer_id: '' }));
    rows.push(storedCase('c_anon_old', day('03-01', 10, 40), 'an6', 6), { ...storedCase('c_anon_old', day('03-01', 10, 45), 'an7', 7), customer_id: 'u-an6' });
    await insertIdempotent(store.client, 'assignments', rows, 'anonymous');
    const [counted] = (await hourlyBucketCounts(store.client, day('03-01', 10), day('03-01', 11), 86_400_000)).get(day('03-01', 10))!;
    expect([counted!.cases, counted!.customers, counted!.customerIds.length]).toEqual([8, 7, 7]);
    // Live: a young cluster's first 6 cases, none with a customer id, make it a new problem.
    let t = day('03-10', 9);
    const { stage, announced } = await started(() => t, (id) => (id === 'c_anon' ? day('03-10', 10) : undefined));
    for (let i = 0; i < 6; i++) stage.observe({ timeMs: day('03-10', 10, i * 5), arrivedMs: day('03-10', 10, i * 5 + 1), clusterId: 'c_anon', caseId: `web-${i}`, customerId: '' });
    t = day('03-10', 11, 30);
    stage.observe({ timeMs: day('03-10', 11, 29), arrivedMs: day('03-10', 11, 30), clusterId: 'c_anon_other', caseId: 'w-x', customerId: 'u-x' });
    await stage.onBatchStored();
    expect(announced.filter((e) => e.episode.clusterId === 'c_anon').map((e) => [e.type, e.episode.kind, e.episode.customers])).toEqual([['opened', 'new', 6]]);
  });

  it('a restart continues an open episode the rebuilt state opened an hour apart under the id the owners have, and announces one never opened', async () => {
    const day = dayIn(2025);
    // Two weeks of 8 cases an hour, then 60 an hour for the last three hours of the data.
    const rows = steadyCases('c_adopt', day('08-01', 0), 'ad');
    const surge = day('08-15', 0);
    for (let h = 0; h < 3; h++) for (let i = 0; i < 60; i++) rows.push(storedCase('c_adopt', surge + h * 3_600_000 + i * 50_000, `ad-s-${h}-${i}`, rows.length));
    // Another cluster's surge, which the stopped process never opened (its state had seen more days).
    rows.push(...steadyCases('c_unseen', day('08-01', 0), 'un'));
    for (let h = 0; h < 3; h++) for (let i = 0; i < 60; i++) rows.push(storedCase('c_unseen', surge + h * 3_600_000 + i * 50_000, `un-s-${h}-${i}`, rows.length));
    // And one the stopped process opened and closed already, which the rebuilt state holds open.
    rows.push(...steadyCases('c_closed', day('08-01', 0), 'cl'));
    for (let h = 0; h < 3; h++) for (let i = 0; i < 60; i++) rows.push(storedCase('c_closed', surge + h * 3_600_000 + i * 50_000, `cl-s-${h}-${i}`, rows.length));
    rows.push(storedCase('c_tick', surge + 3 * 3_600_000 + 20 * 60_000, 'ad-tick', rows.length));
    await insertIdempotent(store.client, 'assignments', rows, 'adopt');
    await insertIdempotent(store.client, 'trend_alerts', [{
      episode_id: episodeId('c_closed', 'spike', surge), cluster_id: 'c_closed', kind: 'spike', status: 'closed', window_start: Math.floor(surge / 1000), window_end: Math.floor(surge / 1000) + 3 * 3600,
      observed: 180, expected: 24, score: 9, peak_score: 9, peak_observed: 60, customers: 180, buckets: 3,
      opened_at: '2025-08-15 01:00:30.000', updated_at: '2025-08-15 03:00:30.000', closed_at: '2025-08-15 03:00:30.000',
    }], 'adopt-closed');
    // The stopped process opened c_adopt's spike an hour before the rebuilt state will, and announced every bucket.
    const storedId = episodeId('c_adopt', 'spike', surge - 3_600_000);
    await insertIdempotent(store.client, 'trend_alerts', [{
      episode_id: storedId, cluster_id: 'c_adopt', kind: 'spike', status: 'open', window_start: Math.floor((surge - 3_600_000) / 1000), window_end: Math.floor(surge / 1000) + 3 * 3600,
      observed: 180, expected: 24, score: 9, peak_score: 9, peak_observed: 60, customers: 180, buckets: 4,
      opened_at: '2025-08-15 00:00:30.000', updated_at: '2025-08-15 03:00:30.000', closed_at: null,
    }], 'adopt-alerts');
    await saveTrendProgress(store.client, 'adopt', surge + 3 * 3_600_000, surge + 3 * 3_600_000);
    let t = surge + 3 * 3_600_000 + 30 * 60_000;
    const { stage, announced } = await started(() => (t += 1000), (id) => (id === 'c_tick' ? undefined : day('08-01', 0)), 'adopt');
    // Before: the stored spike was closed as an orphan while the surge went on, and c_unseen's was never announced.
    const mine = (e: TrendEvent) => ['c_adopt', 'c_unseen', 'c_closed'].includes(e.episode.clusterId);
    expect(announced.filter(mine).map((e) => [e.type, e.episode.clusterId, e.episode.kind])).toEqual([['opened', 'c_unseen', 'spike']]);
    // The surge grows: its update carries the stored id.
    for (let i = 0; i < 150; i++) stage.observe({ timeMs: surge + 3 * 3_600_000 + i * 20_000, arrivedMs: t, clusterId: 'c_adopt', caseId: `ad-live-${i}`, customerId: `ad-live-${i}` });
    t = surge + 4 * 3_600_000 + 16 * 60_000;
    stage.observe({ timeMs: surge + 4 * 3_600_000 + 15 * 60_000, arrivedMs: t, clusterId: 'c_tick', caseId: 'tick-2', customerId: 'tick-2' });
    await stage.onBatchStored();
    const live = announced.filter((e) => e.episode.clusterId === 'c_adopt');
    expect(live.length).toBeGreaterThan(0);
    expect(live.every((e) => e.episode.id === storedId && e.type !== 'opened')).toBe(true);
  });

  it('an episode the announcing part of the replay opens a bucket after the stored one continues it, as an update', async () => {
    const on = (hhmm: string) => Date.parse(`2025-09-03T${hhmm}:00Z`);
    // c_late: 6 cases from 6 customers at 10:00; another cluster's event at 12:00 moves event time on.
    const rows = Array.from({ length: 7 }, (_, i) => ({
      ...storedCase(i < 6 ? 'c_late' : 'c_late_other', i < 6 ? on(`10:${String(i * 5).padStart(2, '0')}`) : on('12:00'), `lt${i}`, i),
    }));
    await insertIdempotent(store.client, 'assignments', rows, 'adopt-late');
    // The stopped process opened the incident a bucket earlier (it had more history) and stopped after storing the
    // batch that closed 10:00, before announcing it (progress through 10:00).
    const storedId = episodeId('c_late', 'new', on('09:00'));
    await insertIdempotent(store.client, 'trend_alerts', [{
      episode_id: storedId, cluster_id: 'c_late', kind: 'new', status: 'open', window_start: Math.floor(on('09:00') / 1000), window_end: Math.floor(on('10:00') / 1000),
      observed: 6, expected: 0, score: 6, peak_score: 6, peak_observed: 6, customers: 6, buckets: 1,
      opened_at: '2025-09-03 10:00:07.250', updated_at: '2025-09-03 10:00:07.250', closed_at: null,
    }], 'adopt-late-alerts');
    await saveTrendProgress(store.client, 'adopt-late', on('10:00'), on('10:00'));
    let t = on('12:30');
    const { announced } = await started(() => (t += 1000), undefined, 'adopt-late');
    // Before: opened under a new id from 10:00, and the stored one closed as an orphan.
    expect(announced.filter((e) => e.episode.clusterId === 'c_late').map((e) => [e.type, e.episode.id, e.episode.startBucket])).toEqual([['updated', storedId, on('09:00')]]);
  });

  it('judges a regression after a fix older than the replay against the stored rate before the fix', async () => {
    // 8 cases an hour for two weeks, fixed on 1 October, then silent; from 20 November a straggler every 4 hours.
    const day = dayIn(2026);
    const rows = steadyCases('c_fixed', day('09-17', 0), 'pre');
    for (let h = 0; h < 3 * 24; h += 4) rows.push(storedCase('c_fixed', day('11-20', 0) + h * 3_600_000 + 5 * 60_000, `late-${h}`, rows.length));
    await insertIdempotent(store.client, 'assignments', rows, 'old-fix');
    await setClusterStatus(store.client, 'c_fixed', 'resolved', 'shipped', day('10-01', 0));
    // The stopped process had announced up to the 20th: the buckets after it are announced again.
    await saveTrendProgress(store.client, 'old-fix', day('11-20', 0), day('11-20', 0));
    let t = day('11-22', 23, 30);
    // Its birth, as the model knows it: no `new` problem.
    const { stage, announced } = await started(() => (t += 1000), (id) => (id === 'c_fixed' ? day('09-17', 0) : undefined), 'old-fix');
    // Its replay begins on 25 October, after the fix: the rate before it came from the stragglers, and they opened a regression.
    expect(announced.filter((e) => e.episode.clusterId === 'c_fixed').map((e) => `${e.type} ${e.episode.kind}`)).toEqual([]);

    // Reopened and fixed again on the 21st, it is watched against its rate since (the stragglers'), not the old
    // fix's: a case an hour from other customers on the 23rd is the problem back (against 8 an hour, it was not).
    await setClusterStatus(store.client, 'c_fixed', 'resolved', 'shipped again', day('11-21', 0));
    stage.statusesChanged();
    for (let h = 0; h < 24; h++) stage.observe({ timeMs: day('11-23', h, 10), arrivedMs: day('11-23', h, 11), clusterId: 'c_fixed', caseId: `back-${h}`, customerId: `back-${h}` });
    await stage.onBatchStored();
    // (Silent from 1 October until the stragglers, after the weeks the stage counted, its detector starts from that
    // silence and sees the return as a surge too.)
    expect(announced.filter((e) => e.episode.clusterId === 'c_fixed' && e.type === 'opened').map((e) => e.episode.kind)).toEqual(['regression', 'spike']);
  });

  it('replays days of stored counts read a day at a time exactly as the whole range read at once', async () => {
    // Nine days in February, more than 28 days after the rows above, so the rebuild replays these alone: a steady
    // cluster, a sparse one and one that surges on the last day, past the detector's week of warm-up; nine reads.
    const H = 3_600_000;
    const from = Date.parse('2027-02-01T00:00:00Z');
    const days = 9;
    const rows: object[] = [];
    let newest = 0;
    const add = (cluster: string, ms: number, customer: string) => {
      newest = Math.max(newest, ms);
      const id = `r${rows.length}`;
      rows.push({ event_id: id, case_id: id, customer_id: customer, channel: 'chat', occurred_at: new Date(ms).toISOString(), ingested_at: new Date(ms + 60_000).toISOString(),
        cluster_id: cluster, similarity: 0.5, model_version: 1, source_topic: 't', source_partition: 0, source_offset: rows.length });
    };
    for (let h = 0; h < days * 24; h++) {
      const t = from + h * H;
      for (let i = 0; i < 2 + ((h * 7) % 5); i++) add('r_steady', t + i * 9 * 60_000, `rs${(h * 13 + i) % 40}`);
      if (h % 3 === 0) add('r_sparse', t + 30 * 60_000, `rp${h % 7}`);
      const surge = h >= (days - 1) * 24 + 10 && h < (days - 1) * 24 + 13;
      for (let i = 0; i < (surge ? 25 : 2); i++) add('r_surge', t + i * 2 * 60_000, surge ? `rg-${h}-${i}` : `rq${(h + i) % 30}`);
    }
    // Another cluster's case a month before, so the store reaches back past the replay whatever else it holds.
    add('r_anchor', from - 30 * 86_400_000, 'ra');
    await insertIdempotent(store.client, 'assignments', rows, 'chunked-replay');
    // Announced up to the first hour, eight days behind: trends were off meanwhile, so the restart replays them
    // silently and announces what the last day's buckets open, update and close (what it does there rests on the
    // state the days before built).
    await saveTrendProgress(store.client, 'chunked', from, from);
    let t = from + days * 24 * H + 30 * 60_000;
    // Born long before (as the model knows them): not young, so `new` stays out of the way.
    const birth = (id: string) => (id.startsWith('r_') ? from - 60 * 86_400_000 : undefined);
    const { announced } = await started(() => (t += 1000), birth, 'chunked');

    // The pure engine over the same hours, every one of them read in one query.
    const cfg = resolveTrendConfig(config.trends);
    const lastClosed = from + (days * 24 - 2) * H; // the last hour ends past the watermark less the allowed lateness
    const counts = await hourlyBucketCounts(store.client, from, lastClosed + H, config.trends.maxFutureHours * H);
    const states = new Map<string, ClusterTrendState>();
    const expected: TrendEvent[] = [];
    for (let b = from; b <= lastClosed; b += H) {
      // The stage has counted since 28 days before the newest event: these clusters' first hours follow weeks of silence.
      const silentSince = Math.floor((newest - config.trends.rebuildDays * 86_400_000) / H) * H;
      const events = evaluateBucketClose(states, { bucket: b, now: b + H, counts: counts.get(b) ?? [], birth, forgetSilentBefore: b - config.trends.rebuildDays * 86_400_000, silentSince }, cfg);
      if (b > lastClosed - 24 * H) expected.push(...events);
    }
    const view = (e: TrendEvent) => [e.type, e.episode.clusterId, e.episode.kind, new Date(e.episode.startBucket).toISOString(), new Date(e.episode.lastBucket).toISOString(), e.episode.observed, e.episode.expected, e.episode.score];
    expect(expected.map((e) => e.episode.kind)).toEqual(expect.arrayContaining(['spike']));
    expect(announced.filter((e) => e.episode.clusterId.startsWith('r_')).map(view)).toEqual(expected.map(view));
  });

  it('a restart that announces the buckets after its progress keeps the opened_at of the episodes it updates', async () => {
    // Months after the rows above (the rebuild replays these alone). The stopped process announced the 10:00 bucket
    // at 11:00:07.250, where c_june's `new` episode opened, recorded progress through 11:00, and stopped after
    // storing 11:00-12:30's events, before announcing their buckets: the restart announces them, updating it.
    const on = (hhmm: string) => Date.parse(`2027-06-03T${hhmm}:00Z`);
    const times = ['10:00', '10:05', '10:10', '10:15', '10:20', '10:25', '11:00', '11:05', '11:10', '11:15', '12:30'];
    const rows = times.map((hm, i) => ({
      event_id: `j${i}`, case_id: `j${i}`, customer_id: `ju${i}`, channel: 'chat', occurred_at: new Date(on(hm)).toISOString(),
      cluster_id: i < 10 ? 'c_june' : 'c_june_other', similarity: 0.5, model_version: 1, source_topic: 't', source_partition: 0, source_offset: i,
    }));
    await insertIdempotent(store.client, 'assignments', rows, 'announce-opened');
    const id = episodeId('c_june', 'new', on('10:00'));
    await insertIdempotent(store.client, 'trend_alerts', [{
      episode_id: id, cluster_id: 'c_june', kind: 'new', status: 'open', window_start: Math.floor(on('10:00') / 1000), window_end: Math.floor(on('10:00') / 1000) + 3600,
      observed: 6, expected: 0, score: 6, peak_score: 6, peak_observed: 6, customers: 6, buckets: 1,
      opened_at: '2027-06-03 11:00:07.250', updated_at: '2027-06-03 11:00:07.250', closed_at: null,
    }], 'announce-opened-alerts');
    await saveTrendProgress(store.client, 'announce', on('11:00'), on('11:00') + 7250);
    let t = on('12:45');
    const { announced } = await started(() => (t += 1000), undefined, 'announce');
    const mine = announced.filter((e) => e.episode.id === id);
    expect(mine.map((e) => [e.type, e.episode.observed, e.episode.openedAt])).toEqual([['updated', 10, Date.parse('2027-06-03T11:00:07.250Z')]]);
    const [row] = await select<{ opened_at: string }>(store.client, 'SELECT toString(opened_at) AS opened_at FROM trend_alerts FINAL WHERE episode_id = {id:String}', { id });
    expect(row!.opened_at).toBe('2027-06-03 11:00:07.250');
  });

  it('watches a fix marked available and then resolved from when it was marked available', async () => {
    // 8 cases an hour for two weeks of June 2027 (more than 28 days after the rows above), a fix marked available on
    // the 15th, silence, `resolved` on the 18th; on the 18th, hours after it, the problem is back: 10 cases an hour (the
    // regression window's 24 hours need a quarter of the 8 an hour before the fix: 48).
    const day = dayIn(2027);
    const rows = steadyCases('c_confirmed', day('06-01', 0), 'cf');
    await insertIdempotent(store.client, 'assignments', rows, 'confirmed-fix');
    await setClusterStatus(store.client, 'c_confirmed', 'fix_available', 'patch 4.2', day('06-15', 0));
    await setClusterStatus(store.client, 'c_confirmed', 'resolved', 'confirmed by the customers', day('06-18', 9));
    expect((await clusterStatuses(store.client)).get('c_confirmed')).toMatchObject({ status: 'resolved', changed_at: day('06-18', 9), fixed_at: day('06-15', 0) });

    let t = day('06-18', 10, 30);
    const { stage, announced } = await started(() => (t += 1000), (id) => (id === 'c_confirmed' ? day('06-01', 0) : undefined), 'confirmed-fix');
    for (let h = 10; h < 16; h++) {
      for (let i = 0; i < 10; i++) stage.observe({ timeMs: day('06-18', h, 10 + i), arrivedMs: day('06-18', h, 11 + i), clusterId: 'c_confirmed', caseId: `back-${h}-${i}`, customerId: `back-${h}-${i}` });
      t = day('06-18', h + 1, 5);
      stage.observe({ timeMs: day('06-18', h + 1, 1), arrivedMs: day('06-18', h + 1, 2), clusterId: 'c_other_jun', caseId: `o-${h}`, customerId: `o-${h}` });
      await stage.onBatchStored();
    }
    // The watch began a day after the 15th's fix: the return is a regression, from the bucket the problem came back
    // in. Watched from `resolved`, it was in that change's day of grace, and seen only once the problem had been back a day.
    expect(announced.filter((e) => e.episode.clusterId === 'c_confirmed' && e.type === 'opened' && e.episode.kind === 'regression').map((e) => e.episode.startBucket)).toEqual([day('06-18', 10)]);

    // Marked resolved again, or fixed after being reopened, it is a new fix, watched from then.
    await setClusterStatus(store.client, 'c_confirmed', 'resolved', 'shipped again', day('06-20', 0));
    expect((await clusterStatuses(store.client)).get('c_confirmed')!.fixed_at).toBe(day('06-20', 0));
    await setClusterStatus(store.client, 'c_confirmed', 'open', 'back', day('06-21', 0));
    expect((await clusterStatuses(store.client)).get('c_confirmed')!.fixed_at).toBeNull();
    await setClusterStatus(store.client, 'c_confirmed', 'fix_available', 'patch 4.3', day('06-22', 0));
    await setClusterStatus(store.client, 'c_confirmed', 'resolved', 'confirmed', day('06-23', 0));
    expect((await clusterStatuses(store.client)).get('c_confirmed')!.fixed_at).toBe(day('06-22', 0));
  });
});
