import type { Logger } from 'pino';
import { errorMessage } from '../errors.js';
import type { Config } from '../config/index.js';
import { pipelinesSharingIds, type Store } from '../store/index.js';
import { createAssigner, type ClusterAssigner } from './assigner.js';
import type { DeadLetterPublisher } from './ingest.js';
import { Metrics } from './metrics.js';
import { runPipeline, type RunSummary } from './run.js';
import { TrendStage } from './trends.js';
import { createMasker } from './wire.js';
import { progressHealth } from './health.js';
import { AlertRouter, createAlertQueue, DeliveryLedger, sinkHealthMetrics } from './alerts.js';
import type { DeliveryQueue, SinkHealth } from '../sinks/index.js';
import type { MessageProducer, Source } from '../sources/index.js';

export interface JobOptions {
  config: Config;
  log: Logger;
  store: Store;
  source: Source;
  /** File and stdin inputs end: their last bucket is closed and the model checkpointed at the end. */
  finite: boolean;
  deadLetters?: DeadLetterPublisher;
  /** Kafka producer for the alerts topic (absent for file and stdin input). */
  producer?: MessageProducer;
  metrics?: Metrics;
  now?: () => number;
  /** Lets the caller attach alert sinks and a server before the stream starts. */
  onReady?: (parts: { assigner: ClusterAssigner; trends: TrendStage | null; metrics: Metrics; health: ReturnType<typeof progressHealth>; alerts: DeliveryQueue }) => void | Promise<void>;
}

export interface JobResult extends RunSummary {
  clusters: number;
  sinks: SinkHealth[];
}

/** The whole job: decode → mask → cluster → store → count → detect, with checkpoints. */
export async function runJob(o: JobOptions): Promise<JobResult> {
  const now = o.now ?? Date.now;
  const metrics = o.metrics ?? new Metrics();
  const assigner = await createAssigner(o.config, o.store.client, o.log, now);
  // The tables that count and describe clusters do not know pipelines: another pipeline that numbers ids as this
  // model does (both created before ids carried their pipeline's name) may give one id to two problems.
  const sharing = await pipelinesSharingIds(o.store.client, o.config.cluster.pipeline, assigner.idPrefix);
  if (sharing.length > 0) {
    o.log.warn(
      { pipeline: o.config.cluster.pipeline, id_prefix: assigner.idPrefix, others: sharing },
      `other cluster pipelines on this store gave cluster ids of this model's kind (${assigner.idPrefix}0, ${assigner.idPrefix}1…) too, so one id may name two problems in the counts: give each its own store (a model created by this version for a pipeline other than the default puts the pipeline's name in its ids)`,
    );
  }
  const trends = o.config.trends.enabled
    ? new TrendStage(o.config.trends, o.store.client, o.log, metrics, now, (id) => assigner.firstSeen(id), o.config.cluster.pipeline)
    : null;
  const health = progressHealth(metrics, now);
  const ledger = new DeliveryLedger(o.store.client, o.log, now);
  const alerts = createAlertQueue(o.config, o.log, metrics, o.producer, ledger);
  const router = new AlertRouter(o.config, o.store.client, alerts, o.log, now, (ids) => assigner.describe(ids));
  // Before the rebuild announces anything: what the stopped process never handed to a sink goes first (an
  // episode the rebuild announces again then goes out as an update). A failure here must not keep
  // ingestion from starting: those episodes stay undelivered until a later start.
  await router.redeliver().catch((err: unknown) => o.log.error({ err: errorMessage(err) }, 'alerts the sinks never got could not be sent again'));
  trends?.onAlerts(async (events) => router.enqueue(events));
  // After the router listens: the rebuild announces episodes of buckets the stopped process never announced.
  await trends?.init();
  await o.onReady?.({ assigner, trends, metrics, health, alerts });
  let checkpoint: Promise<void> = Promise.resolve();
  // A checkpoint's state is captured between batches; its writes then run while the next batches are processed
  // (a checkpoint not yet written only means a longer replay). One at a time: a call while one is being written
  // returns at once.
  const saveIfDue = (): void => {
    const saving = assigner.maybeSnapshot(false).catch((err: unknown) => {
      o.log.warn({ err: errorMessage(err) }, 'model snapshot not saved; the previous one stands');
    });
    checkpoint = Promise.all([checkpoint, saving]).then(() => {});
  };
  // A quiet stream has no batch to checkpoint after: the time rule (ingest.snapshotMaxIntervalMs) is checked here too.
  const quiet = setInterval(saveIfDue, Math.min(5_000, o.config.ingest.snapshotMaxIntervalMs));
  quiet.unref();
  const summary = await runPipeline({
    config: o.config,
    log: o.log,
    store: o.store,
    source: o.source,
    mask: createMasker(o.config),
    metrics,
    now,
    assigner,
    ...(trends ? { observer: trends } : {}),
    ...(o.deadLetters ? { deadLetters: o.deadLetters } : {}),
    afterBatch: async () => {
      health.noteBatch();
      metrics.set('clusters', assigner.clusterCount());
      sinkHealthMetrics(metrics, alerts.health());
      let t = performance.now();
      saveIfDue();
      metrics.observe('stage_seconds', (performance.now() - t) / 1000, { stage: 'snapshot' });
      t = performance.now();
      await trends?.onBatchStored();
      metrics.observe('stage_seconds', (performance.now() - t) / 1000, { stage: 'detect' });
    },
  }).finally(() => clearInterval(quiet));
  await checkpoint;
  await assigner.maybeSnapshot(true);
  if (o.finite) await trends?.flush();
  await router.flush();
  const drained = await alerts.drain(o.finite ? 10_000 : 5_000);
  router.stop();
  await ledger.flush();
  if (!drained.complete) o.log.warn({ undelivered: drained.undelivered }, 'alerts left undelivered at shutdown; the next start sends them again');
  sinkHealthMetrics(metrics, alerts.health());
  return { ...summary, clusters: assigner.clusterCount(), sinks: alerts.health() };
}
