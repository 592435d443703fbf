import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, migrate, type Store } from '../../src/store/index.js';
import { insertIdempotent } from '../../src/store/writer.js';
import { TrendStage } from '../../src/pipeline/trends.js';
import { Metrics } from '../../src/pipeline/metrics.js';
import { episodeId, type TrendEvent } from '../../src/trends/index.js';
import { select } from '../../src/store/select.js';
import { silentLog, testConfig } from '../helpers/env.js';

// An episode stored as open that a restart's rebuilt state does not hold (a cluster silent for longer than
// the rebuild replays comes back without its history) was never closed: open for good, in trend_alerts and
// at the sinks. A store of its own: this file's restart closes what it finds open.
describe('trend stage restart and episodes left open (embedded chDB)', () => {
  let store: Store;
  const config = testConfig();
  const at = (hhmm: string) => Date.parse(`2026-11-03T${hhmm}:00Z`);

  beforeAll(async () => {
    store = await openStore(config.clickhouse);
    await migrate(store.client, { dedupWindow: config.clickhouse.dedupWindow });
  });

  afterAll(async () => store?.close());

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
      opened_at: '2026-11-03 11:00:00.000', updated_at: '2026-11-03 11:00:00.000', closed_at: null,
    });
    const held = episodeId('c_new', 'new', at('10:00'));
    const orphan = episodeId('c_gone', 'spike', at('08:00'));
    await insertIdempotent(store.client, 'trend_alerts', [episode(held, 'c_new', 'new', '10:00'), episode(orphan, 'c_gone', 'spike', '08:00')], 'orphans-alerts');

    let t = at('12:30');
    const stage = new TrendStage(config.trends, store.client, silentLog, new Metrics(), () => (t += 1000));
    const announced: TrendEvent[] = [];
    stage.onAlerts(async (events) => void announced.push(...events));
    await stage.init();
    expect(announced.map((e) => [e.type, e.episode.id, e.episode.clusterId, e.episode.kind, e.episode.startBucket, e.episode.observed])).toEqual([
      ['closed', orphan, 'c_gone', 'spike', at('08:00'), 6],
    ]);
    const stored = await select<{ episode_id: string; status: string; window_end: string }>(store.client, 'SELECT episode_id, toString(status) AS status, toString(window_end) AS window_end FROM v_trend_episodes ORDER BY episode_id');
    expect(new Map(stored.map((r) => [r.episode_id, [r.status, r.window_end]]))).toEqual(new Map([[held, ['open', '2026-11-03 11:00:00']], [orphan, ['closed', '2026-11-03 09:00:00']]]));
    // Restarted again: nothing left to close.
    const again: TrendEvent[] = [];
    const stage2 = new TrendStage(config.trends, store.client, silentLog, new Metrics(), () => (t += 1000));
    stage2.onAlerts(async (events) => void again.push(...events));
    await stage2.init();
    expect(again).toEqual([]);
  });
});
