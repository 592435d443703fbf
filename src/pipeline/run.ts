import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import type { Source } from '../sources/index.js';
import type { Store } from '../store/index.js';
import { Ingestor, type Assigner, type DeadLetterPublisher, type EventObserver } from './ingest.js';
import { Metrics } from './metrics.js';
import { createFaultHooks } from './faults.js';
import type { Masker } from './rows.js';

export interface RunOptions {
  config: Config;
  log: Logger;
  store: Store;
  source: Source;
  mask: Masker;
  assigner?: Assigner;
  observer?: EventObserver;
  deadLetters?: DeadLetterPublisher;
  metrics?: Metrics;
  now?: () => number;
  /** Called after every stored batch: snapshots, trend evaluation. */
  afterBatch?: (info: { storedThrough: bigint | null; topic: string; partition: number }) => Promise<void>;
  beforeInsert?: (table: string) => void;
}

export interface RunSummary {
  events_stored: number;
  events_dead_lettered: number;
  batches: number;
  seconds: number;
}

/** Wires a source to the ingestor; resolves when the source ends or is stopped. */
export async function runPipeline(o: RunOptions): Promise<RunSummary> {
  const metrics = o.metrics ?? new Metrics();
  const faults = createFaultHooks(o.config.testing);
  const beforeInsert = faults || o.beforeInsert ? (table: string) => (faults?.beforeInsert(table), o.beforeInsert?.(table)) : undefined;
  const started = performance.now();
  const ingestor = new Ingestor({
    client: o.store.client,
    mask: o.mask,
    maxMessageBytes: o.config.ingest.maxMessageBytes,
    log: o.log,
    metrics,
    now: o.now ?? Date.now,
    ...(o.assigner ? { assigner: o.assigner } : {}),
    ...(o.observer ? { observer: o.observer } : {}),
    ...(o.deadLetters ? { deadLetters: o.deadLetters } : {}),
    ...(beforeInsert ? { beforeInsert } : {}),
    dedup: !o.config.testing.disableDedup,
    chunkRows: o.config.ingest.maxBatchRows,
  });
  await o.source.run(async (batch, ctx) => {
    const t0 = performance.now();
    const outcome = await ingestor.handle(batch, ctx);
    faults?.afterBatchStored();
    metrics.observe('batch_seconds', (performance.now() - t0) / 1000);
    // null: nothing newly acknowledged (a batch whose one chunk is still being written); the gauge holds.
    if (outcome.storedThrough !== null) metrics.set('last_stored_offset', Number(outcome.storedThrough), { topic: batch.topic, partition: String(batch.partition) });
    if (o.afterBatch) await o.afterBatch({ storedThrough: outcome.storedThrough, topic: batch.topic, partition: batch.partition });
    return outcome;
  }, {
    resumeFrom: (topic, partition) => {
      const covered = o.assigner?.coveredThrough(topic, partition) ?? -1n;
      return covered >= 0n ? covered + 1n : null;
    },
  });
  // A batch that had a backlog behind it may have left its last write in flight.
  await ingestor.settle();
  const snap = metrics.snapshot();
  let dead = 0;
  for (const [k, v] of Object.entries(snap)) if (k.startsWith('recur_events_dead_lettered_total')) dead += v;
  return {
    events_stored: snap['recur_events_stored_total'] ?? 0,
    events_dead_lettered: dead,
    batches: snap['recur_batches_total'] ?? 0,
    seconds: Math.round((performance.now() - started) / 10) / 100,
  };
}
