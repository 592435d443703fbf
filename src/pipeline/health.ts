import type { Health } from '../serve/index.js';
import type { Metrics } from './metrics.js';

/**
 * Health reflects progress: unhealthy when writes have been failing (retries climbing) with no batch
 * stored for `stallMs`, not merely when the process is alive.
 */
export function progressHealth(metrics: Metrics, now: () => number, stallMs = 60_000): Health & { noteBatch(): void } {
  let lastBatchAt = now();
  let retriesAtLastBatch = 0;
  const retries = () => Object.entries(metrics.snapshot()).reduce((s, [k, v]) => (k.startsWith('recur_store_retries_total') ? s + v : s), 0);
  return {
    noteBatch() {
      lastBatchAt = now();
      retriesAtLastBatch = retries();
    },
    healthy() {
      const sinceBatch = now() - lastBatchAt;
      const failing = retries() - retriesAtLastBatch;
      // One write retried for longer than stallMs is a stall even while other partitions store batches.
      const since = metrics.snapshot()['recur_store_retrying_since_ms'] ?? 0;
      const retryingMs = since > 0 ? now() - since : 0;
      const ok = !(failing > 0 && sinceBatch > stallMs) && retryingMs <= stallMs;
      return { ok, detail: { ms_since_last_batch: sinceBatch, failed_writes_since_last_batch: failing, ms_oldest_write_retrying: retryingMs } };
    },
  };
}
