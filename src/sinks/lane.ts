// One sink's lane of the DeliveryQueue: a FIFO in which an episode's queued update is replaced by a newer
// one (its opened and closed always stay), one delivery in flight (a batch of up to maxBatch payloads for a
// sink that takes batches), retries with backoff, and the sink's health counters.
import { errorMessage, isRetriable } from '../errors.js';
import type { AlertPayload } from './payload.js';
import { backoffDelay } from './backoff.js';
import type { DeliveryEvent, DeliveryOutcome, OverflowPolicy, SinkHealth } from './queue.js';
import { SinkError, type AlertSink } from './types.js';

export interface Settings {
  capacity: number;
  /** Payloads handed to a sink's deliverBatch at once (sinks without it take one at a time). */
  maxBatch: number;
  overflow: OverflowPolicy;
  initialBackoffMs: number;
  maxBackoffMs: number;
  unhealthyAfter: number;
  random: () => number;
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  now: () => number;
  emit: (e: DeliveryEvent) => void;
  changed: () => void;
  signal: AbortSignal;
}

/** Attempts after which a payload the sink keeps refusing lets the next episode's go first. */
export const PARK_AFTER = 3;

export class Lane {
  /** FIFO of payloads; `byEpisode` points at the newest queued payload of each episode. */
  private pending: AlertPayload[] = [];
  private readonly byEpisode = new Map<string, AlertPayload>();
  /** The delivery in flight, in queue order (empty when none). */
  private inFlight: AlertPayload[] = [];
  private wake: (() => void) | null = null;
  private stopped = false;
  private lastPermanent = false;
  /** Payloads still to be taken one at a time (isolate). */
  private single = 0;
  readonly done: Promise<void>;
  private readonly h = {
    delivered: 0,
    failed_permanent: 0,
    retrying: 0,
    retries: 0,
    dropped: 0,
    rejected: 0,
    superseded: 0,
    /** Payloads set aside behind the queue after PARK_AFTER failed attempts (park()). */
    parked: 0,
    consecutive_failures: 0,
    last_error: null as string | null,
    last_error_at: null as string | null,
    last_delivered_at: null as string | null,
  };

  constructor(
    private readonly sink: AlertSink,
    private readonly s: Settings,
  ) {
    this.done = this.run();
  }

  private emit(outcome: DeliveryOutcome, p: AlertPayload, attempt: number, extra: Partial<DeliveryEvent> = {}): void {
    this.s.emit({ sink: this.sink.name, outcome, episode_id: p.episode_id, version: p.version, attempt, ...extra });
  }

  get name(): string {
    return this.sink.name;
  }

  get idle(): boolean {
    return this.pending.length === 0 && this.inFlight.length === 0;
  }

  get backlog(): number {
    return this.pending.length + this.inFlight.length;
  }

  reject(p: AlertPayload): void {
    this.h.rejected++;
    this.emit('rejected', p, 0);
  }

  /** Returns false when the payload was refused (policy reject). */
  offer(p: AlertPayload): boolean {
    const queued = this.byEpisode.get(p.episode_id);
    // Coalesce growth updates only: an episode's `opened` and `closed` always reach the receiver.
    if (queued && queued.type === 'updated' && p.type === 'updated') {
      // Keep the newer version in the older one's place in line.
      const [older, newer] = queued.version < p.version ? [queued, p] : [p, queued];
      if (newer !== queued) {
        this.pending[this.pending.indexOf(queued)] = newer;
        this.byEpisode.set(p.episode_id, newer);
      }
      this.h.superseded++;
      this.emit('superseded', older, 0);
      return true;
    }
    if (this.inFlight.some((f) => f.episode_id === p.episode_id && f.version >= p.version)) {
      this.h.superseded++;
      this.emit('superseded', p, 0);
      return true;
    }
    if (this.pending.length >= this.s.capacity) {
      if (this.s.overflow === 'reject') {
        this.reject(p);
        return false;
      }
      const oldest = this.pending.shift()!;
      this.forget(oldest);
      this.h.dropped++;
      this.emit('dropped', oldest, 0);
    }
    this.pending.push(p);
    this.byEpisode.set(p.episode_id, p);
    this.wake?.();
    return true;
  }

  /** `p` leaves the queue: the episode's entry goes only if it is `p` (a later payload of it may still wait). */
  private forget(p: AlertPayload): void {
    if (this.byEpisode.get(p.episode_id) === p) this.byEpisode.delete(p.episode_id);
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      if (this.pending.length === 0) {
        this.s.changed();
        await new Promise<void>((r) => (this.wake = r));
        this.wake = null;
        continue;
      }
      // One at a time while a batch a payload of which the sink kept refusing is taken apart (isolate).
      const batch = this.pending.splice(0, this.sink.deliverBatch && this.single === 0 ? this.s.maxBatch : 1);
      if (this.single > 0) this.single--;
      for (const p of batch) this.forget(p);
      this.inFlight = batch;
      try {
        await this.attempt(batch);
      } finally {
        this.inFlight = [];
        this.h.retrying = 0;
      }
    }
    this.s.changed();
  }

  /** Delivers `batch` (in queue order), retrying the whole of it; an update a newer one superseded meanwhile is left out. */
  private async attempt(batch: AlertPayload[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        if (this.sink.deliverBatch) await this.sink.deliverBatch(batch);
        else await this.sink.deliver(batch[0]!);
        this.delivered(batch, attempt);
        return;
      } catch (err) {
        // The head of the batch the destination took before it failed is delivered, not sent again.
        const taken = err instanceof SinkError ? Math.min(err.delivered, batch.length) : 0;
        if (taken > 0) {
          // A delivery, as a whole batch's would be: the failures before it no longer run in a row.
          this.delivered(batch.slice(0, taken), attempt);
          batch = batch.slice(taken);
          this.inFlight = batch;
          if (batch.length === 0) return;
        }
        const message = errorMessage(err);
        this.h.consecutive_failures++;
        this.h.last_error = message;
        this.h.last_error_at = new Date(this.s.now()).toISOString();
        if (!isRetriable(err)) {
          this.h.failed_permanent += batch.length;
          this.lastPermanent = true;
          for (const p of batch) this.emit('failed_permanent', p, attempt, { error: message });
          return;
        }
        this.lastPermanent = false;
        if (this.stopped) return;
        const hint = err instanceof SinkError ? err.retryAfterMs : undefined;
        // The sink's failures in a row, not this payload's: a payload set aside (below) and the next one keep
        // backing off from a sink that is down, instead of starting again at the shortest wait.
        const delay = backoffDelay(this.h.consecutive_failures, this.s.initialBackoffMs, this.s.maxBackoffMs, this.s.random, hint);
        this.h.retries += batch.length;
        this.h.retrying = batch.length;
        for (const p of batch) this.emit('retry', p, attempt, { delay_ms: delay, error: message });
        await this.s.sleep(delay, this.s.signal).catch(() => undefined);
        if (this.stopped) return;
        batch = batch.filter((p) => {
          const newer = this.byEpisode.get(p.episode_id);
          if (p.type !== 'updated' || !newer || newer.version <= p.version) return true;
          this.h.superseded++;
          this.emit('superseded', p, attempt);
          return false;
        });
        this.inFlight = batch;
        this.h.retrying = batch.length;
        if (batch.length === 0) return;
        // One payload the destination keeps refusing (a receiver whose handler fails on it) held every alert
        // behind it for good. After PARK_AFTER attempts it goes to the back of the line, with what its episodes
        // have queued, and the next episode's payload is tried. A sink that is down fails them all: they take
        // turns, none is lost, and the wait keeps growing.
        if (attempt >= PARK_AFTER && (batch.length > 1 ? this.isolate(batch) : this.park(batch))) return;
      }
    }
  }

  /**
   * A batch the sink keeps refusing goes back to the head of the line and is sent one payload at a time: the one
   * refused is then set aside by itself, and the others in its request go (they were held with it for good).
   */
  private isolate(batch: AlertPayload[]): boolean {
    this.newestAgain(batch, this.pending);
    this.pending = [...batch, ...this.pending];
    this.single = batch.length;
    return true;
  }

  /**
   * `batch`, back in the queue with `after` queued behind it: the newest queued payload of each episode, as offer()
   * coalesces by it, is one queued behind, else the batch's own.
   */
  private newestAgain(batch: readonly AlertPayload[], after: readonly AlertPayload[]): void {
    const later = new Set(after.map((q) => q.episode_id));
    for (const p of batch) if (!later.has(p.episode_id)) this.byEpisode.set(p.episode_id, p);
  }

  /** Moves `batch` and its episodes' queued payloads, in order, behind the rest; false when nothing else waits. */
  private park(batch: AlertPayload[]): boolean {
    const episodes = new Set(batch.map((p) => p.episode_id));
    const behind = this.pending.filter((q) => episodes.has(q.episode_id));
    if (behind.length === this.pending.length) return false;
    this.pending = [...this.pending.filter((q) => !episodes.has(q.episode_id)), ...batch, ...behind];
    this.newestAgain(batch, behind);
    this.h.parked += batch.length;
    return true;
  }

  /** `ps` reached the sink: counted, reported one by one, and the sink's failures in a row end. */
  private delivered(ps: readonly AlertPayload[], attempt: number): void {
    this.h.delivered += ps.length;
    this.h.consecutive_failures = 0;
    this.lastPermanent = false;
    this.h.last_delivered_at = new Date(this.s.now()).toISOString();
    for (const p of ps) this.emit('delivered', p, attempt);
  }

  stop(): void {
    this.stopped = true;
    this.wake?.();
  }

  health(): SinkHealth {
    return {
      sink: this.sink.name,
      healthy: !this.lastPermanent && this.h.consecutive_failures < this.s.unhealthyAfter,
      ...this.h,
      pending: this.pending.length,
    };
  }
}

