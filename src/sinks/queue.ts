// Fans each alert out to every sink independently: one lane per sink, one delivery in flight per lane
// (so versions of an episode reach a sink in order; a batch of them for a sink that takes batches), capped exponential backoff with full jitter for
// retriable failures, a bounded queue that never blocks the caller, and per-sink health.
import type { AlertPayload } from './payload.js';
import type { AlertSink } from './types.js';
import { abortableSleep } from './backoff.js';
import { Lane, type Settings } from './lane.js';

export type OverflowPolicy = 'drop_oldest' | 'reject';

export type DeliveryOutcome = 'delivered' | 'retry' | 'failed_permanent' | 'dropped' | 'rejected' | 'superseded';

/** One per delivery step, for metrics and logs (snake_case: it leaves the module as telemetry). */
export interface DeliveryEvent {
  sink: string;
  outcome: DeliveryOutcome;
  episode_id: string;
  version: number;
  attempt: number;
  delay_ms?: number;
  error?: string;
}

export interface SinkHealth {
  sink: string;
  /** False after a permanent failure or `unhealthyAfter` failed attempts in a row; a delivery resets it. */
  healthy: boolean;
  delivered: number;
  failed_permanent: number;
  /** Payloads currently waiting for a retry (those of the one delivery in flight per sink). */
  retrying: number;
  /** Retries scheduled so far, per payload (a batch's retry counts each of its payloads). */
  retries: number;
  /** Payloads queued, not yet attempted. */
  pending: number;
  /** Oldest queued payloads dropped on overflow (policy drop_oldest). */
  dropped: number;
  /** Payloads refused on overflow (policy reject) or after drain. */
  rejected: number;
  /** Older versions not sent because a newer version of the same episode was queued. */
  superseded: number;
  /** Payloads set behind the queue after failing several attempts in a row, so the next episode's went first. */
  parked: number;
  consecutive_failures: number;
  last_error: string | null;
  last_error_at: string | null;
  last_delivered_at: string | null;
}

export interface DeliveryQueueOptions {
  /** Queued payloads per sink (at most one per episode, thanks to coalescing). Default 10,000. */
  capacity?: number;
  /** Payloads per delivery to a sink that takes batches (Kafka). Default 500. */
  maxBatch?: number;
  /** On a full lane: drop its oldest queued payload (default) or refuse the new one. */
  overflow?: OverflowPolicy;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  unhealthyAfter?: number;
  random?: () => number;
  /** Backoff wait; must reject or resolve early when `signal` aborts. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  now?: () => number;
  onEvent?: (e: DeliveryEvent) => void;
}


export class DeliveryQueue {
  private readonly lanes: Lane[];
  private readonly abort = new AbortController();
  private readonly watchers = new Set<() => void>();
  private closed = false;

  constructor(sinks: readonly AlertSink[], o: DeliveryQueueOptions = {}) {
    const names = new Set(sinks.map((s) => s.name));
    if (names.size !== sinks.length) throw new TypeError('sink names must be unique (they key health and metrics)');
    const onEvent = o.onEvent;
    const settings: Settings = {
      capacity: o.capacity ?? 10_000,
      maxBatch: o.maxBatch ?? 500,
      overflow: o.overflow ?? 'drop_oldest',
      initialBackoffMs: o.initialBackoffMs ?? 500,
      maxBackoffMs: o.maxBackoffMs ?? 60_000,
      unhealthyAfter: o.unhealthyAfter ?? 3,
      random: o.random ?? Math.random,
      sleep: o.sleep ?? abortableSleep,
      now: o.now ?? Date.now,
      emit: (e) => {
        try {
          onEvent?.(e);
        } catch {
          // telemetry must not break delivery
        }
      },
      changed: () => {
        for (const w of [...this.watchers]) w();
      },
      signal: this.abort.signal,
    };
    if (!(settings.capacity >= 1)) throw new RangeError('capacity must be at least 1');
    if (!(settings.maxBatch >= 1)) throw new RangeError('maxBatch must be at least 1');
    this.lanes = sinks.map((s) => new Lane(s, settings));
  }

  /**
   * Queues `p` for every sink (or those named in `only`) and returns at once. False when any sink refused it (overflow policy
   * reject, or the queue is draining); refusals and drops are counted in health().
   */
  enqueue(p: AlertPayload, only?: ReadonlySet<string>): boolean {
    const lanes = only ? this.lanes.filter((l) => only.has(l.name)) : this.lanes;
    if (this.closed) {
      for (const l of lanes) l.reject(p);
      return false;
    }
    let all = true;
    for (const l of lanes) all = l.offer(p) && all;
    return all;
  }

  /** The sinks' names, in the order they were given. */
  sinkNames(): string[] {
    return this.lanes.map((l) => l.name);
  }

  health(): SinkHealth[] {
    return this.lanes.map((l) => l.health());
  }

  /** Payloads not yet delivered or given up, over all sinks. */
  backlog(): number {
    return this.lanes.reduce((n, l) => n + l.backlog, 0);
  }

  /** Resolves true once every sink's lane is empty and idle, false after `timeoutMs`. Does not close. */
  settled(timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const check = () => {
        if (this.lanes.every((l) => l.idle)) finish(true);
      };
      const finish = (v: boolean) => {
        clearTimeout(timer);
        this.watchers.delete(check);
        resolve(v);
      };
      const timer = setTimeout(() => finish(false), timeoutMs);
      this.watchers.add(check);
      check();
    });
  }

  /**
   * Shutdown: refuses new payloads, keeps delivering (and retrying) for up to `timeoutMs`, then stops
   * every lane. Returns how many payloads were left undelivered.
   */
  async drain(timeoutMs: number): Promise<{ complete: boolean; undelivered: number }> {
    this.closed = true;
    const complete = await this.settled(timeoutMs);
    const undelivered = this.backlog();
    this.abort.abort();
    for (const l of this.lanes) l.stop();
    return { complete, undelivered };
  }
}
