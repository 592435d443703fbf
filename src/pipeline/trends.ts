import type { ClickHouseClient } from '@clickhouse/client';
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import {
  bucketStart,
  evaluateBucketClose,
  gateCustomer,
  laterThan,
  tzOffsetMs,
  nextBucketStart,
  resolveTrendConfig,
  type ClusterMeta,
  type ClusterStatus,
  type ClusterTrendState,
  type Episode,
  type ResolvedTrendConfig,
  type TrendEvent,
} from '../trends/index.js';
import { alertRow, bucketCounts, casesPerHourBefore, hourlyBucketCounts, bucketMembers, clusterStatuses, eventTimeRange, loadTrendProgress, openEpisodes, saveTrendProgress, storedEpisodeIds, writeAlerts, type BucketCounts } from '../store/index.js';
import type { ObservedEvent } from './ingest.js';
import type { Metrics } from './metrics.js';

export type AlertListener = (events: TrendEvent[]) => Promise<void>;

/** Hours of stored counts the rebuild on start reads per query. */
const PREFETCH_HOURS = 24;

/** The most event time a start announces the buckets of, after the stored progress: the last day. */
const MAX_UNANNOUNCED_MS = 86_400_000;

/**
 * Closes event-time buckets as the stream's event time passes them (plus the allowed lateness),
 * evaluates every cluster on each close with the pure trend engine, and records episodes in
 * `trend_alerts`. On start the engine's state is rebuilt from stored counts, silently up to the buckets
 * the stopped process announced (trend_progress) and announcing those after it, so a restart neither
 * forgets baselines nor opens an episode it announced before.
 */
export class TrendStage {
  private readonly cfg: ResolvedTrendConfig;
  private readonly latenessMs: number;
  private readonly maxFutureMs: number;
  private futureWarned = false;
  private readonly states = new Map<string, ClusterTrendState>();
  /** Start of the first bucket not yet evaluated. */
  private nextOpen: number | null = null;
  /** Since when every stored case has been counted here (the rebuild's start, or the first bucket seen). */
  private countedSince: number | null = null;
  /**
   * Event time: the newest event's time, but no further than its own arrival plus the allowed lateness. One
   * event dated hours ahead (local time sent as UTC) used to carry it along: the buckets up to there closed
   * nearly empty, and every correctly dated event for them was late, counted but kept out of detection.
   */
  private watermark = Number.NEGATIVE_INFINITY;
  private readonly listeners: AlertListener[] = [];
  /**
   * Distinct cases and customers per cluster for buckets not yet evaluated, kept as sets: a replayed
   * event adds nothing, so the in-memory counts stay exact under at-least-once delivery.
   */
  private readonly pending = new Map<number, Map<string, { cases: Set<string>; customers: Set<string> }>>();
  private lastBucket = { start: 0, end: 0 };

  constructor(
    private readonly config: Config['trends'],
    private readonly client: ClickHouseClient,
    private readonly log: Logger,
    private readonly metrics: Metrics,
    private readonly now: () => number,
    /** A cluster's first event time, as the model knows it (a cluster back after a long silence is not new). */
    private readonly birth?: (clusterId: string) => number | undefined,
    /** Records how far buckets were evaluated and announced (trend_progress), under this pipeline's name. */
    private readonly progressKey?: string,
  ) {
    this.cfg = resolveTrendConfig(config);
    this.latenessMs = config.allowedLatenessMinutes * 60_000;
    this.maxFutureMs = config.maxFutureHours * 3_600_000;
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
    // Stored events kept out of detection when they came (dated too far after their arrival) do not move event
    // time, nor do any dated beyond the clock's horizon now.
    const range = await eventTimeRange(this.client, { untilMs: this.now() + this.maxFutureMs, maxFutureMs: this.maxFutureMs, aheadMs: this.latenessMs });
    if (!range) return 0;
    this.watermark = range.watermark;
    const from = this.startOf(Math.max(range.min, range.max - this.config.rebuildDays * 86_400_000));
    this.nextOpen = from;
    this.countedSince = from;
    await this.readPreFixRates(from, range.max);
    const until = range.watermark - this.latenessMs;
    // Hour buckets in a zone with whole-hour offsets are UTC hours: read a day of them per query (storedCounts).
    const wholeHours = (t: number) => tzOffsetMs(t, this.cfg.timeZone) % 3_600_000 === 0;
    if (this.cfg.bucket === 'hour' && wholeHours(from) && wholeHours(until)) this.prefetched = { counts: new Map(), readTo: from, until, next: null };
    // Up to where the stopped process evaluated and announced buckets, silently; after it (it stopped between
    // storing a batch and writing that batch's alerts), announcing what those buckets open. Never recorded
    // (a store from before trend_progress): all silently, as before.
    const recorded = this.progressKey ? await loadTrendProgress(this.client, this.progressKey) : null;
    // A progress far behind the stored events is not a process stopped between storing and announcing (that
    // leaves a batch's buckets): trends were off (a backfill) or another stage stored them. Weeks of such buckets
    // were announced as new episodes on start, stamped now; only the last day of them is.
    const announced = recorded === null ? null : Math.max(recorded, until - MAX_UNANNOUNCED_MS);
    if (recorded !== null && announced !== recorded)
      this.log.warn({ progress: new Date(recorded).toISOString(), announcing_from: new Date(announced!).toISOString() }, 'trend progress is far behind the stored events (trends were off?): the buckets before the last day are replayed without announcing');
    let replayed = await this.closeUpTo(announced === null ? until : Math.min(until, announced), false);
    // Before anything is announced: the episodes replayed silently keep the ids and times their stored versions
    // have, and those the stopped process never opened are announced.
    await this.reconcile(await openEpisodes(this.client), announced !== null);
    if (announced !== null) replayed += await this.closeUpTo(until, true, true);
    this.adoptable = null;
    await this.progressSaving;
    this.prefetched = null;
    // Buckets still open: what was stored before the restart counts, and new events join it.
    for (let start = this.nextOpen; start <= range.max; start = this.endOf(start)) {
      for (const c of await bucketMembers(this.client, start, this.endOf(start), this.maxFutureMs)) {
        this.bucketOf(start, c.clusterId, c.caseIds, c.customerIds);
      }
    }
    this.log.info({ buckets: replayed, clusters: this.states.size }, 'trend state rebuilt from stored counts');
    await this.closeOrphans(this.nextOpen);
    return replayed;
  }

  /**
   * For fixes older than the replay (from `from` on), still watched at `newest` (a regression is looked for until
   * watchDays after one): the pre-fix rate from the stored counts before the fix, not from the replay's
   * post-fix buckets, which are all the rebuilt state sees.
   */
  private async readPreFixRates(from: number, newest: number): Promise<void> {
    const watched = newest - this.cfg.regression.watchDays * 86_400_000;
    for (const [id, s] of await this.statuses()) {
      if (s.fixed_at === null || !(s.fixed_at < from) || s.fixed_at < watched) continue;
      const perHour = await casesPerHourBefore(this.client, id, s.fixed_at, this.config.rebuildDays, this.maxFutureMs);
      if (perHour !== null) this.preFix.set(id, { fixedAt: s.fixed_at, rate: (perHour * this.cfg.bucketMs) / 3_600_000 });
    }
  }

  /** During the start's announcing replay: stored open episodes no rebuilt one took yet, by cluster and kind. */
  private adoptable: Map<string, { episode: Episode; windowEndMs: number }> | null = null;

  /** An episode the announcing replay opens that is a stored open one (reconcile's rule) continues it: an update. */
  private adopt(events: TrendEvent[]): TrendEvent[] {
    return events.map((e) => {
      const ep = this.states.get(e.episode.clusterId)?.episodes[e.episode.kind];
      const same = e.type === 'opened' && ep && ep.id === e.episode.id ? this.takeStored(ep, this.adoptable!) : undefined;
      if (!ep || !same) return e;
      ep.openedAt = same.openedAt;
      ep.updatedAt = laterThan(same.updatedAt, ep.updatedAt);
      return { type: 'updated', episode: { ...ep } };
    });
  }

  /**
   * Reconcile's rule: a rebuilt episode that a stored open one of its cluster and kind was active up to within the
   * quiet buckets of its start is that episode: it takes its id and start, and `stored` loses it. Returns that stored
   * version, or undefined when `stored` holds none such.
   */
  private takeStored(ep: Episode, stored: Map<string, { episode: Episode; windowEndMs: number }>): Episode | undefined {
    const key = kindKey(ep);
    const same = stored.get(key);
    if (!same || ep.startBucket > same.windowEndMs + this.cfg.episode.quietBuckets * this.cfg.bucketMs) return undefined;
    stored.delete(key);
    ep.id = same.episode.id;
    ep.startBucket = same.episode.startBucket;
    return same.episode;
  }

  /**
   * After the silent replay, the rebuilt episodes against those stored as open. The rebuilt state saw fewer days
   * than the live one had, so it may open the same incident a bucket earlier or later (another id), or one the
   * live process never opened: its first version to the sinks was an update or a close, and the stored one was
   * closed as an orphan while the incident went on, then opened again under a new id.
   * - A rebuilt open episode of a cluster and kind stored as open, active up to within the quiet buckets of where
   *   it starts, is that episode: it takes its id, start and open time.
   * - Any other rebuilt open episode with no stored version was never announced: it is, now (opened), when a
   *   stage recorded progress on these events (`announceNew`). One stored as closed (the live process opened
   *   and closed it) stays as it is and closes again when it subsides.
   * - The silent replay opened each at its bucket's end; one stored keeps when the live process opened it, and
   *   its next version comes after the stored one.
   */
  private async reconcile(stored: readonly { episode: Episode; windowEndMs: number }[], announceNew: boolean): Promise<void> {
    const was = new Map(stored.map((r) => [r.episode.id, r]));
    const held = new Set<string>();
    for (const st of this.states.values()) for (const ep of Object.values(st.episodes)) if (ep?.status === 'open' && was.has(ep.id)) held.add(ep.id);
    const byKind = new Map<string, { episode: Episode; windowEndMs: number }>();
    for (const r of stored) if (!held.has(r.episode.id)) byKind.set(kindKey(r.episode), r);
    let unannounced: Episode[] = [];
    for (const st of this.states.values()) {
      for (const ep of Object.values(st.episodes)) {
        if (!ep || ep.status !== 'open') continue;
        const before = was.get(ep.id)?.episode ?? this.takeStored(ep, byKind);
        if (!before) {
          unannounced.push(ep);
          continue;
        }
        ep.openedAt = before.openedAt;
        if (ep.updatedAt < before.updatedAt) ep.updatedAt = before.updatedAt;
      }
    }
    // The announcing replay that follows may open one of the rest a bucket or two later: it is adopted then.
    this.adoptable = byKind;
    // Without a recorded progress no trend stage ran on these events (a backfill with trends off): its episodes are
    // history, replayed silently, as they always were.
    if (unannounced.length === 0 || !announceNew) return;
    // One the live process opened and closed (stored, closed) is no new one: it closes again when it subsides.
    const known = await storedEpisodeIds(this.client, unannounced.map((ep) => ep.id));
    unannounced = unannounced.filter((ep) => !known.has(ep.id));
    if (unannounced.length === 0) return;
    const now = this.now();
    for (const ep of unannounced) ep.openedAt = ep.updatedAt = laterThan(ep.updatedAt, now);
    this.log.warn({ episodes: unannounced.length }, 'episodes the rebuilt trend state holds open that the stopped process never opened: announced');
    await this.emit(unannounced.map((ep): TrendEvent => ({ type: 'opened', episode: { ...ep } })), Math.min(...unannounced.map((ep) => ep.startBucket)));
  }

  /**
   * Closes the episodes stored as open that the rebuilt state does not hold: nothing would ever close them
   * (a cluster silent for longer than the rebuild replays comes back without its history, and its episodes
   * with it). Each gets a closing version, in trend_alerts and at the sinks, as a subsiding episode does.
   */
  private async closeOrphans(replayedTo: number): Promise<void> {
    const stored = await openEpisodes(this.client);
    const held = new Set<string>();
    for (const st of this.states.values()) for (const ep of Object.values(st.episodes)) if (ep?.status === 'open') held.add(ep.id);
    // One whose last bucket the replay has not reached yet (a file run's end closed its last, partial bucket)
    // is judged when that bucket closes again, live: closed now, it would open again then.
    const orphans = stored.filter((r) => !held.has(r.episode.id) && r.windowEndMs <= replayedTo);
    if (orphans.length === 0) return;
    const now = this.now();
    const events: TrendEvent[] = orphans.map(({ episode, windowEndMs }) => {
      const lastBucket = this.startOf(windowEndMs - 1);
      // Closed as a subsiding episode is, with its cooldown: the rebuilt state opened it again at once, under a new id.
      const st = this.states.get(episode.clusterId);
      if (st) st.cooldownUntil[episode.kind] = Math.max(st.cooldownUntil[episode.kind] ?? Number.NEGATIVE_INFINITY, lastBucket + this.cfg.episode.cooldownHours * 3_600_000);
      return { type: 'closed', episode: { ...episode, status: 'closed', lastBucket, peakBucket: lastBucket, updatedAt: laterThan(episode.updatedAt, now), closedAt: now } };
    });
    this.log.warn({ episodes: orphans.length }, 'episodes stored as open that the rebuilt trend state does not hold: closed');
    await this.emit(events, Math.min(...orphans.map((r) => r.episode.startBucket)));
  }

  /**
   * During the rebuild on start (hourly buckets): the stored counts of the hours ahead of the replay, read
   * PREFETCH_HOURS at a time up to `until`, each dropped once replayed, the next read begun while these are
   * replayed. One query per bucket took seconds for a month of hours; one query for the whole month held every
   * cluster-hour's ids at once (a worker over 1,000,000 events peaked at 1.4 GB while chDB aggregated them).
   */
  private prefetched: { counts: Map<number, BucketCounts[]>; readTo: number; until: number; next: { from: number; read: Promise<Map<number, BucketCounts[]>> } | null } | null = null;

  /** A replayed bucket's stored counts: from the prefetch while it covers the bucket, else a query of its own. */
  private async storedCounts(start: number, end: number): Promise<BucketCounts[]> {
    const p = this.prefetched;
    if (!p || end > p.until) return bucketCounts(this.client, start, end, this.maxFutureMs);
    if (start >= p.readTo) {
      const chunkEnd = (from: number) => Math.min(p.until, from + PREFETCH_HOURS * 3_600_000);
      const read = (from: number) => hourlyBucketCounts(this.client, from, chunkEnd(from), this.maxFutureMs);
      const ahead = p.next?.from === start ? p.next.read : read(start);
      p.next = null;
      p.counts = await ahead;
      p.readTo = chunkEnd(start);
      if (p.readTo < p.until) {
        p.next = { from: p.readTo, read: read(p.readTo) };
        // Awaited when its hours come; a failure surfaces there, not as an unhandled rejection now.
        p.next.read.catch(() => {});
      }
    }
    const counts = p.counts.get(start) ?? [];
    p.counts.delete(start);
    return counts;
  }

  /** Pre-fix cases per bucket of fixes older than the rebuild's replay (init), by cluster. */
  private readonly preFix = new Map<string, { fixedAt: number; rate: number }>();

  /** Called for every stored event: advances event time, adds it to its bucket, counts late arrivals. */
  observe(e: ObservedEvent): void {
    const t = e.timeMs;
    // Judged against its own arrival, as stored, so a restart's rebuild leaves out the same events.
    if (t > e.arrivedMs + this.maxFutureMs) {
      this.metrics.inc('future_events');
      if (!this.futureWarned) {
        this.futureWarned = true;
        this.log.warn({ occurred_at: new Date(t).toISOString(), max_future_hours: this.config.maxFutureHours }, 'event dated beyond its arrival: stored, kept out of trend detection (counted in future_events)');
      }
      return;
    }
    // Its time as the watermark takes it: at most its arrival plus the allowed lateness.
    const ahead = Math.min(t, e.arrivedMs + this.latenessMs);
    // The first event seen need not be the earliest: the ones within the allowed lateness before it are on time.
    // Taken as the watermark takes it: one dated hours ahead of its arrival would otherwise make every correctly
    // dated event before it late, and skip their hours.
    if (this.nextOpen === null) this.countedSince = this.nextOpen = this.startOf(ahead - this.latenessMs);
    if (ahead > this.watermark) this.watermark = ahead;
    if (t < this.nextOpen) {
      // Stored and counted in its own bucket in ClickHouse, but that bucket was already evaluated (counted
      // once: a replayed event was counted when it first came).
      if (!e.stored) this.metrics.inc('late_events', { beyond_lateness: String(this.watermark - t > this.latenessMs) });
      return;
    }
    if (e.clusterId === '') return;
    if (t < this.lastBucket.start || t >= this.lastBucket.end) {
      const start = this.startOf(t);
      this.lastBucket = { start, end: this.endOf(start) };
    }
    this.bucketOf(this.lastBucket.start, e.clusterId, [e.caseId], [gateCustomer(e.customerId, e.caseId)]);
  }

  private bucketOf(start: number, clusterId: string, cases: readonly string[], customers: readonly string[]): void {
    let b = this.pending.get(start);
    if (!b) this.pending.set(start, (b = new Map()));
    let c = b.get(clusterId);
    if (!c) b.set(clusterId, (c = { cases: new Set(), customers: new Set() }));
    for (const x of cases) c.cases.add(x);
    for (const x of customers) c.customers.add(x);
  }

  private takePending(start: number): BucketCounts[] {
    const b = this.pending.get(start);
    this.pending.delete(start);
    if (!b) return [];
    return [...b.entries()]
      .sort(([a], [z]) => (a < z ? -1 : a > z ? 1 : 0))
      .map(([clusterId, c]) => ({ clusterId, cases: c.cases.size, customers: c.customers.size, customerIds: [...c.customers].sort().slice(0, 256), caseIds: [...c.cases].sort().slice(0, 256) }));
  }

  /** After each stored batch: evaluate the buckets the stream's event time has left behind. */
  async onBatchStored(): Promise<void> {
    await this.serially(() => this.closeUpTo(this.watermark - this.latenessMs, true));
  }

  /**
   * End of a finite input (file, stdin): everything seen is final, close the watermark's bucket too. Not through
   * the newest event: one dated hours after its arrival (local time sent as UTC, kept within maxFutureHours) made
   * every bucket up to it close empty, and each episode still open at the end of the data was announced closed.
   */
  async flush(): Promise<void> {
    await this.serially(async () => (this.nextOpen === null ? 0 : this.closeUpTo(this.endOf(this.startOf(this.watermark)), true)));
    await this.progressSaving;
  }

  private progressSaving: Promise<void> = Promise.resolve();
  private progressSavedAt = Number.NEGATIVE_INFINITY;

  /**
   * Records how far buckets are evaluated and announced: after buckets that announced something, else at most
   * once a second, and off the batch's path (one insert per batch doubled the bucket-close stage's share of a
   * backfill's wall time). An older record only means a restart announces a few buckets again.
   */
  private recordProgress(announced: boolean): void {
    if (!this.progressKey) return;
    const at = this.now();
    if (!announced && at - this.progressSavedAt < 1000) return;
    this.progressSavedAt = at;
    const [key, through] = [this.progressKey, this.nextOpen!];
    this.progressSaving = this.progressSaving
      .then(() => saveTrendProgress(this.client, key, through, at))
      .catch((err: unknown) => this.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'trend progress not recorded; a restart announces more buckets again'));
  }

  /** Partitions finish batches concurrently; buckets close one at a time, in order, each once. */
  private closing: Promise<unknown> = Promise.resolve();
  private serially<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.closing.then(fn);
    this.closing = run.catch(() => {});
    return run;
  }

  /** Evaluates every bucket whose end is at or before `limit`, from the counts in memory or (a replay) in the store. */
  private async closeUpTo(limit: number, emit: boolean, fromStore = !emit): Promise<number> {
    let closed = 0;
    if (this.nextOpen === null) return 0;
    const first = this.nextOpen;
    const events: TrendEvent[] = [];
    while (this.endOf(this.nextOpen) <= limit) {
      const start = this.nextOpen;
      const end = this.endOf(start);
      // Closed from here on: an event for it stored while it is evaluated (another partition's batch) is
      // late, not the start of a new pending bucket that no close would ever take.
      this.nextOpen = end;
      const produced = await this.evaluate(start, end, emit, fromStore);
      if (emit) events.push(...(this.adoptable ? this.adopt(produced) : produced));
      closed++;
    }
    if (events.length > 0) await this.emit(events, first);
    if (emit && closed > 0) this.recordProgress(events.length > 0);
    return closed;
  }

  private statusCache: { at: number; value: Awaited<ReturnType<typeof clusterStatuses>> } | null = null;

  /** A status was set through this process (its API): the next bucket close reads them again. */
  statusesChanged(): void {
    this.statusGen++;
    this.statusCache = null;
  }

  /** Bumped by statusesChanged: a read begun before a change is used once, not cached. */
  private statusGen = 0;

  /** Owner statuses change by hand, rarely: read them at most every 30 s of wall time (at once after statusesChanged). */
  private async statuses(): Promise<Awaited<ReturnType<typeof clusterStatuses>>> {
    const t = this.now();
    if (this.statusCache && t - this.statusCache.at <= 30_000) return this.statusCache.value;
    const gen = this.statusGen;
    const value = await clusterStatuses(this.client);
    if (gen === this.statusGen) this.statusCache = { at: t, value };
    return value;
  }

  /**
   * One write for all buckets closed by a batch (a backfill closes hundreds at once); the table keeps
   * the latest state of each episode, so only the last event per episode is written.
   */
  private async emit(events: TrendEvent[], firstBucket: number): Promise<void> {
    const latest = new Map<string, TrendEvent>();
    for (const e of events) latest.set(e.episode.id, e);
    await writeAlerts(this.client, [...latest.values()].map((e) => alertRow(e.episode, this.endOf(e.episode.lastBucket))), firstBucket);
    for (const e of events) {
      this.metrics.inc('alerts', { kind: e.episode.kind, type: e.type });
      this.log.info({ episode_id: e.episode.id, cluster_id: e.episode.clusterId, kind: e.episode.kind, type: e.type, observed: e.episode.observed, expected: Math.round(e.episode.expected * 10) / 10 }, 'trend episode');
    }
    for (const l of this.listeners) await l(events);
  }

  private async evaluate(start: number, end: number, emit: boolean, fromStore: boolean): Promise<TrendEvent[]> {
    const t0 = performance.now();
    // Live buckets come from memory; during the rebuild on start they are read back from ClickHouse.
    const [counts, statuses] = await Promise.all([fromStore ? this.storedCounts(start, end) : this.takePending(start), this.statuses()]);
    const meta = (id: string): ClusterMeta | undefined => {
      const s = statuses.get(id);
      if (!s) return undefined;
      // The stored rate belongs to the fix it was read for: fixed again later, the state's own mean is the rate.
      const preFix = s.fixed_at !== null ? this.preFix.get(id) : undefined;
      return { status: s.status as ClusterStatus, fixedAt: s.fixed_at, ...(preFix !== undefined && preFix.fixedAt === s.fixed_at ? { preFixRate: preFix.rate } : {}) };
    };
    const input = {
      bucket: start,
      now: emit ? this.now() : end,
      counts,
      meta,
      forgetSilentBefore: start - this.config.rebuildDays * 86_400_000,
      ...(this.countedSince === null ? {} : { silentSince: this.countedSince }),
    };
    const events = evaluateBucketClose(this.states, this.birth ? { ...input, birth: this.birth } : input, this.cfg);
    this.metrics.observe('bucket_close_seconds', (performance.now() - t0) / 1000);
    this.metrics.set('trend_clusters', this.states.size);
    return events;
  }
}

/** An episode's cluster and kind, as one map key. */
function kindKey(ep: Episode): string {
  return `${ep.clusterId}\u0000${ep.kind}`;
}
