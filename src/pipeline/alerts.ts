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
  type DeliveryEvent,
  type SinkHealth,
} from '../sinks/index.js';
import type { MessageProducer } from '../sources/index.js';
import { clusterCosts, clusterExamples, ownerPins, recordDeliveries, registerSinks, undeliveredEpisodes, windowKey, windowTotals, type DeliveryRecord, type EpisodeWindow } from '../store/index.js';
import { nextBucketStart, type TrendEvent } from '../trends/index.js';
import { errorMessage } from '../errors.js';
import type { Metrics } from './metrics.js';

/** Episodes routed per batch: routing reads ClickHouse once per batch. */
const ROUTE_BATCH = 1000;
/** Events kept waiting for routing while it fails; older ones are left to the next start's redeliver. */
const MAX_PENDING = 50_000;

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
  /** Wait before routing again after a failed routing read (doubles to a minute, reset by a success). */
  private retryMs = 0;

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
    if (this.pending.length > MAX_PENDING) {
      // Routing has failed for a long while: the oldest updates go first (the next start's redeliver sends
      // each episode's latest state), then the oldest of the rest. An opened dropped while a later update of
      // it is sent would never reach the sink.
      const before = this.pending.length;
      let over = before - MAX_PENDING;
      this.pending = this.pending.filter((e) => !(over > 0 && e.type === 'updated' && over-- > 0));
      if (this.pending.length > MAX_PENDING) this.pending = this.pending.slice(this.pending.length - MAX_PENDING);
      this.log.warn({ events: before - this.pending.length }, 'alerts waiting for routing dropped from memory; the next start sends them again');
    }
    if (this.pending.length >= ROUTE_BATCH && this.retryMs === 0) void this.flush();
    else this.schedule(this.retryMs || 1000);
  }

  private schedule(ms: number): void {
    if (this.timer) return;
    this.timer = setTimeout(() => void this.flush(), ms);
    this.timer.unref();
  }

  /** Routes everything pending; resolves when it has been handed to the delivery queue (or put back to retry). */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const batch = this.pending;
    this.pending = [];
    this.flushing = this.flushing.then(async () => {
      if (batch.length === 0) return;
      let routed = 0;
      try {
        for (; routed < batch.length; routed += ROUTE_BATCH) await this.route(batch.slice(routed, routed + ROUTE_BATCH));
        this.retryMs = 0;
      } catch (err) {
        // Never stops ingestion. What was not routed waits and is routed again (the chunks before it were
        // handed to the sinks already); what a stop leaves waiting is in trend_alerts, for redeliver.
        this.retryMs = Math.min(60_000, Math.max(1000, this.retryMs * 2));
        const rest = batch.slice(routed);
        this.log.error({ err: errorMessage(err), events: rest.length, retry_in_ms: this.retryMs }, 'alert routing failed; will retry');
        this.pending = [...rest, ...this.pending];
        this.schedule(this.retryMs);
      }
    });
    return this.flushing;
  }

  /**
   * On start, before the trend stage's rebuild: re-sends to each sink the episodes whose latest version it
   * was never given (alert_deliveries) within `alerts.redeliverDays` — what a stopped process held in memory.
   * A sink configured for the first time gets nothing from before it. Returns the episodes re-sent, over sinks.
   */
  async redeliver(): Promise<number> {
    const names = this.queue.sinkNames();
    if (names.length === 0) return 0;
    const now = this.now();
    const since = await registerSinks(this.client, names, now);
    if (this.config.alerts.redeliverDays === 0) return 0;
    const horizon = now - this.config.alerts.redeliverDays * 86_400_000;
    let total = 0;
    for (const sink of names) {
      const missed = await undeliveredEpisodes(this.client, sink, Math.max(horizon, since.get(sink) ?? now), this.config.alerts.redeliverFailed);
      const events = missed.map((m): TrendEvent => ({ type: m.episode.status === 'closed' ? 'closed' : m.seenBefore ? 'updated' : 'opened', episode: m.episode }));
      const windowEnds = new Map(missed.map((m) => [m.episode.id, m.windowEndMs]));
      for (let i = 0; i < events.length; i += ROUTE_BATCH) await this.route(events.slice(i, i + ROUTE_BATCH), new Set([sink]), windowEnds);
      if (missed.length > 0) this.log.info({ sink, episodes: missed.length }, 'alerts the sink never got, sent again');
      total += missed.length;
    }
    return total;
  }

  /** Stops routing retries (a stop: what still waits is re-sent by the next start). */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private async route(events: TrendEvent[], only?: ReadonlySet<string>, windowEnds?: ReadonlyMap<string, number>): Promise<void> {
    const ids = [...new Set(events.map((e) => e.episode.clusterId))];
    const since = Math.min(...events.map((e) => e.episode.startBucket));
    const windowOf = (ep: TrendEvent['episode']): EpisodeWindow => ({
      clusterId: ep.clusterId,
      startMs: ep.startBucket,
      endMs: windowEnds?.get(ep.id) ?? nextBucketStart(ep.lastBucket, this.config.trends.bucket, this.config.trends.timeZone),
    });
    // What routes a cluster (its terms, products, status) over the batch's span; what the alert counts
    // (cases, customers, cost, channels) over each episode's own window.
    const [costs, totals, examples, pins] = await Promise.all([
      clusterCosts(this.client, this.config.owners.cost, since, ids, false, this.config.owners.rules),
      windowTotals(this.client, this.config.owners.cost, events.map((e) => windowOf(e.episode))),
      clusterExamples(this.client, ids),
      ownerPins(this.client),
    ]);
    const byId = new Map(costs.map((c) => [c.cluster_id, c]));
    const live = this.describe?.(ids) ?? new Map();
    for (const routedEvent of events) {
      const ep = routedEvent.episode;
      // An episode this process already sent (redeliver at start, then the rebuild announcing the same bucket
      // again) is not opened twice: the second is an update.
      // A redelivery to one sink (`only`) knows what that sink got, whatever other sinks were sent.
      const ev: TrendEvent = !only && routedEvent.type === 'opened' && this.versions.has(ep.id) ? { ...routedEvent, type: 'updated' } : routedEvent;
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
      const window = windowOf(ep);
      const t = totals.get(windowKey(window));
      const payload = buildAlertPayload(ev, {
        cluster: { label: cluster.label, topTerms: cluster.topTerms, examples: d?.examples ?? examples.get(ep.clusterId) ?? [], status: (c?.status ?? 'open') as never },
        totals: { cases: t?.cases ?? ep.observed, customers: t?.customers ?? ep.customers, channels: t?.channels ?? cluster.channels, cost: t?.cost ?? 0 },
        route,
        windowEndMs: window.endMs,
        sentAtMs: this.now(),
        version: only ? this.versions.of(ep.id, ep.updatedAt) : this.versions.next(ep.id, ep.updatedAt),
      });
      if (!this.queue.enqueue(payload, only)) this.log.warn({ episode_id: ep.id }, 'alert refused by a full sink queue');
    }
  }
}

/**
 * Records in alert_deliveries what each sink was given (delivered, or refused for good), written at most
 * every second off the delivery path. A record lost in a crash only means that episode is sent again.
 */
export class DeliveryLedger {
  private waiting: DeliveryRecord[] = [];
  private writing: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly client: ClickHouseClient,
    private readonly log: Logger,
    private readonly now: () => number,
  ) {}

  note(e: DeliveryEvent): void {
    if (e.outcome !== 'delivered' && e.outcome !== 'failed_permanent') return;
    this.waiting.push({ sink: e.sink, episodeId: e.episode_id, version: e.version, outcome: e.outcome, atMs: this.now() });
    if (!this.timer) {
      this.timer = setTimeout(() => void this.flush(), 1000);
      this.timer.unref();
    }
  }

  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const batch = this.waiting;
    this.waiting = [];
    this.writing = this.writing.then(async () => {
      if (batch.length === 0) return;
      await recordDeliveries(this.client, batch).catch((err: unknown) => {
        // Kept for the next write (bounded): unrecorded only means sent again after a restart.
        this.waiting = [...batch, ...this.waiting].slice(-100_000);
        this.log.warn({ err: errorMessage(err), records: batch.length }, 'alert deliveries not recorded yet; will retry');
      });
    });
    return this.writing;
  }
}

export function createAlertQueue(config: Config, log: Logger, metrics: Metrics, producer?: MessageProducer, ledger?: DeliveryLedger): DeliveryQueue {
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
      ledger?.note(e);
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
