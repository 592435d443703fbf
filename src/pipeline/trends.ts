import type { ClickHouseClient } from '@clickhouse/client';
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import {
  bucketStart,
  evaluateBucketClose,
  nextBucketStart,
  resolveTrendConfig,
  type ClusterMeta,
  type ClusterStatus,
  type ClusterTrendState,
  type ResolvedTrendConfig,
  type TrendEvent,
} from '../trends/index.js';
import { alertRow, bucketCounts, clusterStatuses, eventTimeRange, writeAlerts } from '../store/index.js';
import type { Metrics } from './metrics.js';

export type AlertListener = (events: TrendEvent[]) => Promise<void>;

/**
 * Closes event-time buckets as the stream's event time passes them (plus the allowed lateness),
 * evaluates every cluster on each close with the pure trend engine, and records episodes in
 * `trend_alerts`. On start the engine's state is rebuilt from stored counts (no alerts re-sent), so a
 * restart neither forgets baselines nor fires an episode twice.
 */
export class TrendStage {
  private readonly cfg: ResolvedTrendConfig;
  private readonly latenessMs: number;
  private readonly states = new Map<string, ClusterTrendState>();
  /** Start of the first bucket not yet evaluated. */
  private nextOpen: number | null = null;
  private watermark = Number.NEGATIVE_INFINITY;
  private readonly listeners: AlertListener[] = [];

  constructor(
    private readonly config: Config['trends'],
    private readonly client: ClickHouseClient,
    private readonly log: Logger,
    private readonly metrics: Metrics,
    private readonly now: () => number,
  ) {
    this.cfg = resolveTrendConfig(config);
    this.latenessMs = config.allowedLatenessMinutes * 60_000;
  }

  onAlerts(listener: AlertListener): void {
    this.listeners.push(listener);
  }

  private startOf(ts: number): number {
    return bucketStart(ts, this.cfg.bucket, this.cfg.timeZone);
  }

  private endOf(start: number): number {
    return nextBucketStart(start, this.cfg.bucket, this.cfg.timeZone);
  }

  /** Rebuilds detector and episode state from what is stored; returns the buckets replayed. */
  async init(): Promise<number> {
    const range = await eventTimeRange(this.client);
    if (!range) return 0;
    this.watermark = range.max;
    const from = this.startOf(Math.max(range.min, range.max - this.config.rebuildDays * 86_400_000));
    this.nextOpen = from;
    const replayed = await this.closeUpTo(range.max - this.latenessMs, false);
    this.log.info({ buckets: replayed, clusters: this.states.size }, 'trend state rebuilt from stored counts');
    return replayed;
  }

  /** Called for every stored event: advances event time and counts late arrivals. */
  observe(eventTimeMs: number): void {
    if (this.nextOpen === null) this.nextOpen = this.startOf(eventTimeMs);
    if (eventTimeMs < this.nextOpen) {
      // Stored and counted in its own bucket in ClickHouse, but that bucket was already evaluated.
      this.metrics.inc('late_events', { beyond_lateness: String(eventTimeMs < this.nextOpen - this.latenessMs) });
    }
    if (eventTimeMs > this.watermark) this.watermark = eventTimeMs;
  }

  /** After each stored batch: evaluate the buckets the stream's event time has left behind. */
  async onBatchStored(): Promise<void> {
    await this.closeUpTo(this.watermark - this.latenessMs, true);
  }

  /** End of a finite input (file, stdin): everything seen is final, close the last bucket too. */
  async flush(): Promise<void> {
    if (this.nextOpen === null) return;
    await this.closeUpTo(this.endOf(this.startOf(this.watermark)), true);
  }

  /** Evaluates every bucket whose end is at or before `limit`. */
  private async closeUpTo(limit: number, emit: boolean): Promise<number> {
    let closed = 0;
    if (this.nextOpen === null) return 0;
    while (this.endOf(this.nextOpen) <= limit) {
      const start = this.nextOpen;
      const end = this.endOf(start);
      await this.evaluate(start, end, emit);
      this.nextOpen = end;
      closed++;
    }
    return closed;
  }

  private async evaluate(start: number, end: number, emit: boolean): Promise<void> {
    const t0 = performance.now();
    const [counts, statuses] = await Promise.all([bucketCounts(this.client, start, end), clusterStatuses(this.client)]);
    const meta = (id: string): ClusterMeta | undefined => {
      const s = statuses.get(id);
      if (!s) return undefined;
      const fixed = s.status === 'fix_available' || s.status === 'resolved';
      return { status: s.status as ClusterStatus, fixedAt: fixed ? s.changed_at : null };
    };
    const events = evaluateBucketClose(this.states, { bucket: start, now: emit ? this.now() : end, counts, meta }, this.cfg);
    this.metrics.observe('bucket_close_seconds', (performance.now() - t0) / 1000);
    this.metrics.set('trend_clusters', this.states.size);
    if (!emit || events.length === 0) return;
    await writeAlerts(this.client, events.map((e) => alertRow(e.episode, this.cfg.bucketMs)), start);
    for (const e of events) {
      this.metrics.inc('alerts', { kind: e.episode.kind, type: e.type });
      this.log.info({ episode_id: e.episode.id, cluster_id: e.episode.clusterId, kind: e.episode.kind, type: e.type, observed: e.episode.observed, expected: Math.round(e.episode.expected * 10) / 10 }, 'trend episode');
    }
    for (const l of this.listeners) await l(events);
  }
}
