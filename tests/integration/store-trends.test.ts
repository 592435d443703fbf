import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, migrate, bucketCounts, hourlyBucketCounts, type Store } from '../../src/store/index.js';
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
});
