import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, migrate, bucketCounts, hourlyBucketCounts, listEpisodes, type Store } from '../../src/store/index.js';
import { insertIdempotent } from '../../src/store/writer.js';
import { tempDir } from '../helpers/env.js';

describe('trend reads from the store (embedded chDB)', () => {
  let store: Store;
  const t0 = Date.UTC(2026, 10, 1, 0);
  const HOUR = 3_600_000;

  beforeAll(async () => {
    store = await openStore({ dataDir: tempDir() } as never);
    await migrate(store.client, { dedupWindow: 100 });
    const rows = Array.from({ length: 3000 }, (_, i) => ({
      event_id: `e${i}`,
      case_id: `case${i % 1700}`,
      customer_id: i % 7 === 0 ? '' : `u${(i * 13) % 400}`,
      channel: 'chat',
      occurred_at: new Date(t0 + ((i * 7919) % 50) * HOUR + ((i * 37) % 3600) * 1000).toISOString(),
      cluster_id: `c_${i % 9}`,
      similarity: 0.5,
      model_version: 1,
      source_topic: 't',
      source_partition: 0,
      source_offset: i,
    }));
    await insertIdempotent(store.client, 'assignments', rows, 'seed');
  });

  afterAll(async () => store?.close());

  it('reads every hour of a range in one query exactly as bucket by bucket', async () => {
    const all = await hourlyBucketCounts(store.client, t0, t0 + 48 * HOUR, 24 * HOUR);
    expect(all.size).toBe(48);
    for (let h = t0; h < t0 + 48 * HOUR; h += HOUR) {
      expect(all.get(h) ?? []).toEqual(await bucketCounts(store.client, h, h + HOUR, 24 * HOUR));
    }
  });

  it('lists an open regression first: its score, a ratio to the volume before the fix, sorted it below every spike', async () => {
    const episode = (id: string, kind: string, score: number, observed: number) => ({
      episode_id: id, cluster_id: `c_${id}`, kind, status: 'open', window_start: '2026-11-03 10:00:00', window_end: '2026-11-03 12:00:00',
      observed, expected: 1, score, peak_score: score, peak_observed: observed, customers: observed, buckets: 2,
      opened_at: '2026-11-03 11:00:00.000', updated_at: '2026-11-03 12:00:00.000', closed_at: null,
    });
    await insertIdempotent(store.client, 'trend_alerts', [episode('sp', 'spike', 6.4, 9), episode('gr', 'sustained_growth', 4.2, 40), episode('rg', 'regression', 0.99, 190), episode('nw', 'new', 5, 5)], 'sort');
    expect((await listEpisodes(store.client, 0)).map((e) => e.kind)).toEqual(['regression', 'spike', 'sustained_growth', 'new']);
  });
});
