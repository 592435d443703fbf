// The alert router on a real store (embedded chDB): a routing read that fails is retried, not dropped.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, migrate, type Store } from '../../src/store/index.js';
import { AlertRouter } from '../../src/pipeline/alerts.js';
import { DeliveryQueue, type AlertPayload, type AlertSink } from '../../src/sinks/index.js';
import { trendEvent } from '../../src/sinks/fixtures.test-util.js';
import { silentLog, testConfig, waitFor } from '../helpers/env.js';

describe('alert router (embedded chDB)', () => {
  let store: Store;
  const config = testConfig();

  beforeAll(async () => {
    store = await openStore(config.clickhouse);
    await migrate(store.client, { dedupWindow: config.clickhouse.dedupWindow });
  });
  afterAll(async () => store?.close());

  it('routes an episode again after its routing read failed, and delivers it once', async () => {
    const got: AlertPayload[] = [];
    const sink: AlertSink = { name: 'collect', deliver: async (p) => void got.push(p) };
    const queue = new DeliveryQueue([sink]);
    // The store answers for real; its first two reads (the first routing attempt's) fail, as in an outage.
    let failures = 2;
    const client = new Proxy(store.client, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (prop !== 'query') return typeof value === 'function' ? value.bind(target) : value;
        return async (...args: Parameters<typeof target.query>) => {
          if (failures > 0) {
            failures--;
            throw new Error('connect ECONNREFUSED (injected)');
          }
          return target.query(...args);
        };
      },
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
});
