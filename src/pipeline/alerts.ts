import type { ClickHouseClient } from '@clickhouse/client';
import type { Logger } from 'pino';
import { readSecret, type Config } from '../config/index.js';
import { routeOwner } from '../owners/index.js';
import {
  buildAlertPayload,
  DeliveryQueue,
  EpisodeVersions,
  KafkaAlertSink,
  LogSink,
  WebhookSink,
  type AlertSink,
  type SinkHealth,
} from '../sinks/index.js';
import type { MessageProducer } from '../sources/index.js';
import { clusterCosts, clusterExamples, ownerPins } from '../store/index.js';
import { nextBucketStart, type TrendEvent } from '../trends/index.js';
import type { Metrics } from './metrics.js';

/**
 * Turns trend events into alert payloads — owner routed, with label, examples, totals and cost — and
 * hands them to the delivery queue. Never blocks ingestion: enqueue returns at once and each sink
 * retries on its own lane.
 */
export class AlertRouter {
  private readonly versions = new EpisodeVersions();

  constructor(
    private readonly config: Config,
    private readonly client: ClickHouseClient,
    private readonly queue: DeliveryQueue,
    private readonly log: Logger,
    private readonly now: () => number,
    /** Live cluster descriptions from the model, preferred over the stored (snapshot-time) ones. */
    private readonly describe?: (ids: string[]) => Map<string, { label: string; topTerms: string[]; examples: string[] }>,
  ) {}

  private pending: TrendEvent[] = [];
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();

  /**
   * Takes trend events without waiting: routing reads ClickHouse, so it runs in the background, in
   * batches at most a second apart. A newer `updated` replaces an older one of the same episode still
   * waiting; `opened` and `closed` are always kept. During a backfill that turns thousands of bucket
   * closes into a few routing queries.
   */
  enqueue(events: readonly TrendEvent[]): void {
    for (const e of events) {
      if (e.type === 'updated') {
        const i = this.pending.findIndex((p) => p.type === 'updated' && p.episode.id === e.episode.id);
        if (i >= 0) this.pending.splice(i, 1);
      }
      this.pending.push(e);
    }
    if (this.pending.length >= 1000) void this.flush();
    else if (!this.timer) this.timer = setTimeout(() => void this.flush(), 1000);
  }

  /** Routes everything pending; resolves when it has been handed to the delivery queue. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const batch = this.pending;
    this.pending = [];
    this.flushing = this.flushing.then(async () => {
      if (batch.length === 0) return;
      // A failure here must not stop ingestion; the episodes stay in trend_alerts.
      await this.route(batch).catch((err: unknown) => this.log.error({ err: (err as Error).message, events: batch.length }, 'alert routing failed'));
    });
    return this.flushing;
  }

  async route(events: TrendEvent[]): Promise<void> {
    const ids = [...new Set(events.map((e) => e.episode.clusterId))];
    const since = Math.min(...events.map((e) => e.episode.startBucket));
    const [costs, examples, pins] = await Promise.all([
      clusterCosts(this.client, this.config.owners.cost, since, ids),
      clusterExamples(this.client, ids),
      ownerPins(this.client),
    ]);
    const byId = new Map(costs.map((c) => [c.cluster_id, c]));
    const live = this.describe?.(ids) ?? new Map();
    for (const ev of events) {
      const ep = ev.episode;
      const c = byId.get(ep.clusterId);
      const d = live.get(ep.clusterId);
      const cluster = {
        clusterId: ep.clusterId,
        label: d?.label || c?.label || '',
        topTerms: d?.topTerms ?? c?.top_terms ?? [],
        products: c?.products ?? [],
        categories: c?.categories ?? [],
        channels: c?.channels ?? [],
      };
      const route = routeOwner(cluster, this.config.owners, pins);
      const payload = buildAlertPayload(ev, {
        cluster: { label: cluster.label, topTerms: cluster.topTerms, examples: d?.examples ?? examples.get(ep.clusterId) ?? [], status: (c?.status ?? 'open') as never },
        totals: { cases: c?.cases ?? ep.observed, customers: c?.customers ?? ep.customers, channels: cluster.channels, cost: c?.cost ?? 0 },
        route,
        windowEndMs: nextBucketStart(ep.lastBucket, this.config.trends.bucket, this.config.trends.timeZone),
        sentAtMs: this.now(),
        version: this.versions.next(ep.id, ep.updatedAt),
      });
      if (!this.queue.enqueue(payload)) this.log.warn({ episode_id: ep.id }, 'alert refused by a full sink queue');
    }
  }
}

export function createAlertQueue(config: Config, log: Logger, metrics: Metrics, producer?: MessageProducer): DeliveryQueue {
  const sinks: AlertSink[] = [];
  if (config.alerts.log) sinks.push(new LogSink(log));
  if (config.alerts.kafka && producer) sinks.push(new KafkaAlertSink(producer, config.kafka.alertsTopic));
  for (const w of config.alerts.webhooks) {
    const secret = readSecret(w.secret, w.secretFile);
    if (!secret) throw new Error(`alerts.webhooks ${new URL(w.url).host}: a secret or secretFile is required`);
    sinks.push(new WebhookSink({ url: w.url, secret, timeoutMs: w.timeoutMs }));
  }
  return new DeliveryQueue(sinks, {
    onEvent: (e) => {
      metrics.inc('alert_deliveries', { sink: e.sink, outcome: e.outcome });
      if (e.outcome === 'failed_permanent') log.error({ sink: e.sink, episode_id: e.episode_id, error: e.error }, 'alert delivery failed permanently');
    },
  });
}

export function sinkHealthMetrics(metrics: Metrics, health: SinkHealth[]): void {
  for (const h of health) {
    metrics.set('sink_healthy', h.healthy ? 1 : 0, { sink: h.sink });
    metrics.set('sink_pending', h.pending, { sink: h.sink });
    metrics.set('sink_consecutive_failures', h.consecutive_failures, { sink: h.sink });
  }
}
