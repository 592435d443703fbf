import { describe, expect, it } from 'vitest';
import { progressHealth } from './health.js';
import { Metrics } from './metrics.js';

describe('progressHealth', () => {
  it('is healthy while batches are stored, and when idle with nothing failing', () => {
    let t = 0;
    const m = new Metrics();
    const h = progressHealth(m, () => t, 60_000);
    t = 600_000; // idle for ten minutes: nothing to do is not a stall
    expect(h.healthy().ok).toBe(true);
  });

  it('is unhealthy when one write has been retried past the stall time, though other partitions store batches', () => {
    let t = 1_000_000;
    const m = new Metrics();
    const h = progressHealth(m, () => t, 60_000);
    m.set('store_retrying_since_ms', t); // a partition's write starts failing
    for (let s = 0; s < 59; s++) {
      t += 1000;
      h.noteBatch(); // another partition keeps storing
    }
    expect(h.healthy().ok).toBe(true);
    t += 2000;
    h.noteBatch();
    expect(h.healthy()).toMatchObject({ ok: false, detail: { ms_oldest_write_retrying: 61_000 } });
    m.set('store_retrying_since_ms', 0); // it went through
    expect(h.healthy().ok).toBe(true);
  });
});
