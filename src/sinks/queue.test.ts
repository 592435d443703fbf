import { setImmediate as tick } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { PipelineError } from '../errors.js';
import { backoffDelay } from './backoff.js';
import { DeliveryQueue, type DeliveryEvent } from './queue.js';
import { PARK_AFTER } from './lane.js';
import { SinkError, type AlertSink } from './types.js';
import type { AlertPayload } from './payload.js';
import { HOUR, T0, samplePayload } from './fixtures.test-util.js';

type Behaviour = 'ok' | 'retry' | 'fail' | 'hang';

/** A sink whose next answers are scripted; after the script it uses `then`. */
class ScriptedSink implements AlertSink {
  readonly got: AlertPayload[] = [];
  readonly delivered: AlertPayload[] = [];
  protected gate: Promise<void> | null = null;
  private open: (() => void) | null = null;
  constructor(
    readonly name: string,
    public script: Behaviour[] = [],
    public then: Behaviour = 'ok',
  ) {}
  /** Holds every delivery until release(). */
  hold(): void {
    this.gate = new Promise((r) => (this.open = r));
  }
  release(): void {
    this.open?.();
    this.gate = null;
  }
  async deliver(p: AlertPayload): Promise<void> {
    this.got.push(p);
    if (this.gate) await this.gate;
    const b = this.script.shift() ?? this.then;
    if (b === 'hang') return new Promise(() => {});
    if (b === 'retry') throw new SinkError('503 from test', { retriable: true });
    if (b === 'fail') throw new PipelineError('sink_failed', 'sink', '404 from test', { retriable: false });
    this.delivered.push(p);
  }
}

/**
 * A ScriptedSink that takes batches: each request's payloads, in order, are kept in `batches`. `partial` scripts
 * a failure after the destination took the first payloads: [how many, retriable].
 */
class BatchSink extends ScriptedSink {
  readonly batches: string[][] = [];
  partial: [number, boolean][] = [];
  async deliverBatch(ps: readonly AlertPayload[]): Promise<void> {
    this.batches.push(ids([...ps]));
    this.got.push(...ps);
    if (this.gate) await this.gate;
    const part = this.partial.shift();
    if (part) {
      this.delivered.push(...ps.slice(0, part[0]));
      throw new SinkError('second request refused', { retriable: part[1], delivered: part[0] });
    }
    const b = this.script.shift() ?? this.then;
    if (b === 'hang') return new Promise(() => {});
    if (b === 'retry') throw new SinkError('503 from test', { retriable: true });
    if (b === 'fail') throw new PipelineError('sink_failed', 'sink', '404 from test', { retriable: false });
    this.delivered.push(...ps);
  }
}

/** Refuses (retriably) every payload of the clusters in `poison`, as a receiver whose handler fails on them. */
class PoisonSink extends ScriptedSink {
  constructor(
    name: string,
    readonly poison: Set<string>,
  ) {
    super(name);
  }
  override async deliver(p: AlertPayload): Promise<void> {
    if (this.poison.has(p.cluster_id)) {
      this.got.push(p);
      throw new SinkError('500 from test', { retriable: true });
    }
    return super.deliver(p);
  }
}

const ids = (ps: AlertPayload[]) => ps.map((p) => `${p.cluster_id}@${p.version}`);
const v = (cluster: string, n: number) => samplePayload(cluster, n === 0 ? 'opened' : 'updated', T0 + HOUR + n);

function queue(sinks: AlertSink[], extra: ConstructorParameters<typeof DeliveryQueue>[1] = {}) {
  const delays: number[] = [];
  const events: DeliveryEvent[] = [];
  const q = new DeliveryQueue(sinks, {
    initialBackoffMs: 100,
    maxBackoffMs: 400,
    random: () => 0.5,
    sleep: async (ms) => {
      delays.push(ms);
      await tick();
    },
    now: () => T0,
    onEvent: (e) => events.push(e),
    ...extra,
  });
  return { q, delays, events };
}

describe('backoffDelay', () => {
  it('is full jitter under a capped exponential ceiling, at least a server hint', () => {
    const half = () => 0.5;
    expect([1, 2, 3, 4, 5].map((a) => backoffDelay(a, 100, 400, half))).toEqual([50, 100, 200, 200, 200]);
    expect(backoffDelay(3, 100, 400, () => 0)).toBe(0);
    expect(backoffDelay(3, 100, 400, () => 0.999)).toBe(399);
    expect(backoffDelay(1, 100, 400, half, 300)).toBe(300);
    expect(backoffDelay(1, 100, 400, half, 10_000)).toBe(400); // a hint never exceeds the cap
  });
});

describe('DeliveryQueue', () => {
  it('delivers every payload to every sink; a permanently failing sink does not hold up the others', async () => {
    const good = new ScriptedSink('good');
    const bad = new ScriptedSink('bad', [], 'fail');
    const { q } = queue([good, bad]);
    for (const c of ['a', 'b', 'c']) expect(q.enqueue(v(c, 0))).toBe(true);
    expect(await q.settled(2000)).toBe(true);
    expect(ids(good.delivered)).toEqual(['a@' + (T0 + HOUR), 'b@' + (T0 + HOUR), 'c@' + (T0 + HOUR)]);
    const [hg, hb] = q.health();
    expect(hg).toMatchObject({ sink: 'good', healthy: true, delivered: 3, failed_permanent: 0, pending: 0, last_error: null });
    expect(hb).toMatchObject({ sink: 'bad', healthy: false, delivered: 0, failed_permanent: 3, consecutive_failures: 3, last_error: '404 from test' });
  });

  it('queues a payload for the named sinks only when asked (a redelivery to the sink that missed it)', async () => {
    const a = new ScriptedSink('a');
    const b = new ScriptedSink('b');
    const { q } = queue([a, b]);
    expect(q.sinkNames()).toEqual(['a', 'b']);
    expect(q.enqueue(v('x', 0), new Set(['b']))).toBe(true);
    expect(q.enqueue(v('y', 0))).toBe(true);
    expect(await q.settled(2000)).toBe(true);
    expect(ids(a.delivered)).toEqual(['y@' + (T0 + HOUR)]);
    expect(ids(b.delivered)).toEqual(['x@' + (T0 + HOUR), 'y@' + (T0 + HOUR)]);
  });

  it('retries retriable failures with backoff until delivered', async () => {
    const flaky = new ScriptedSink('flaky', ['retry', 'retry', 'retry', 'retry']);
    const { q, delays, events } = queue([flaky]);
    q.enqueue(v('a', 0));
    expect(await q.settled(2000)).toBe(true);
    expect(delays).toEqual([50, 100, 200, 200]);
    expect(flaky.got).toHaveLength(5);
    expect(q.health()[0]).toMatchObject({ delivered: 1, retries: 4, retrying: 0, consecutive_failures: 0, healthy: true });
    expect(events.map((e) => e.outcome)).toEqual(['retry', 'retry', 'retry', 'retry', 'delivered']);
    expect(events.at(-1)).toMatchObject({ attempt: 5, episode_id: flaky.got[0]!.episode_id });
  });

  it('sets aside a payload the sink keeps refusing: the alerts behind it go out, its episode keeps its order, and it goes once accepted', async () => {
    const s = new PoisonSink('s', new Set(['a']));
    const { q, delays } = queue([s]);
    q.enqueue(v('a', 0));
    q.enqueue(v('b', 0));
    q.enqueue(v('a', 1));
    q.enqueue(v('c', 0));
    for (let i = 0; i < 50 && s.delivered.length < 2; i++) await tick();
    // Before: 'a' was retried without end and b and c waited behind it.
    expect(ids(s.delivered)).toEqual([`b@${T0 + HOUR}`, `c@${T0 + HOUR}`]);
    // a's update never went before its opened.
    expect(s.got.filter((p) => p.cluster_id === 'a').every((p) => p.version === T0 + HOUR)).toBe(true);
    expect(q.health()[0]).toMatchObject({ delivered: 2, parked: 1 });
    expect(delays.slice(0, PARK_AFTER)).toEqual([50, 100, 200]);
    s.poison.clear();
    expect(await q.settled(2000)).toBe(true);
    expect(ids(s.delivered)).toEqual([`b@${T0 + HOUR}`, `c@${T0 + HOUR}`, `a@${T0 + HOUR}`, `a@${T0 + HOUR + 1}`]);
  });

  it('with the sink down, payloads take turns and the wait keeps growing to its cap', async () => {
    const s = new PoisonSink('s', new Set(['a', 'b']));
    const { q, delays } = queue([s]);
    q.enqueue(v('a', 0));
    q.enqueue(v('b', 0));
    for (let i = 0; i < 50 && delays.length < 8; i++) await tick();
    expect(delays.slice(0, 8)).toEqual([50, 100, 200, 200, 200, 200, 200, 200]);
    expect(s.got.map((p) => p.cluster_id).slice(0, 8)).toEqual(['a', 'a', 'a', 'b', 'b', 'b', 'a', 'a']);
    s.poison.clear();
    expect(await q.settled(2000)).toBe(true);
    expect(ids(s.delivered).sort()).toEqual([`a@${T0 + HOUR}`, `b@${T0 + HOUR}`]);
  });

  it('reports a sink unhealthy after repeated retriable failures, and healthy again once it delivers', async () => {
    const flaky = new ScriptedSink('flaky', ['retry', 'retry', 'retry'], 'ok');
    // The backoff before the fourth attempt waits until the test has looked.
    let backoffs = 0;
    let resume!: () => void;
    const looked = new Promise<void>((r) => (resume = r));
    const { q } = queue([flaky], {
      sleep: async () => {
        if (++backoffs === 3) await looked;
        else await tick();
      },
    });
    q.enqueue(v('a', 0));
    for (let i = 0; i < 20 && backoffs < 3; i++) await tick();
    expect(flaky.got).toHaveLength(3);
    expect(q.health()[0]).toMatchObject({ healthy: false, consecutive_failures: 3, retrying: 1, delivered: 0, last_error: '503 from test' });
    resume();
    expect(await q.settled(2000)).toBe(true);
    expect(flaky.delivered).toHaveLength(1);
    expect(q.health()[0]).toMatchObject({ healthy: true, consecutive_failures: 0, retrying: 0, delivered: 1 });
  });

  it('still coalesces an update queued behind an opened of the same episode once that opened is taken', async () => {
    const s = new ScriptedSink('s');
    s.hold();
    const { q } = queue([s]);
    q.enqueue(v('x', 0)); // the lane is busy with x
    await tick();
    q.enqueue(v('a', 0)); // a's opened, then its first update, queued together
    q.enqueue(v('a', 1));
    s.release();
    s.hold();
    await tick();
    await tick(); // a's opened is now in flight; its update v1 still waits
    q.enqueue(v('a', 2)); // replaces v1
    s.release();
    expect(await q.settled(2000)).toBe(true);
    expect(ids(s.delivered)).toEqual([`x@${T0 + HOUR}`, `a@${T0 + HOUR}`, `a@${T0 + HOUR + 2}`]);
  });

  it('sends only the newest queued update of an episode (coalescing), never dropping an opened or closed', async () => {
    const s = new ScriptedSink('s');
    s.hold();
    const { q } = queue([s]);
    q.enqueue(v('a', 0)); // taken in flight at once
    await tick();
    q.enqueue(v('b', 0));
    q.enqueue(v('a', 1));
    q.enqueue(v('a', 3));
    q.enqueue(v('a', 2)); // older than the queued one: dropped
    q.enqueue(v('b', 1));
    s.release();
    expect(await q.settled(2000)).toBe(true);
    // a's updates collapse to the newest in the first update's place; b's `opened` is not replaced by its update
    expect(ids(s.delivered)).toEqual([`a@${T0 + HOUR}`, `b@${T0 + HOUR}`, `a@${T0 + HOUR + 3}`, `b@${T0 + HOUR + 1}`]);
    expect(q.health()[0]).toMatchObject({ delivered: 4, superseded: 2 });
  });

  it('abandons an update waiting for retry once a newer update of the same episode is queued', async () => {
    const s = new ScriptedSink('s', ['ok', 'retry']);
    let release!: () => void;
    const { q } = queue([s], { sleep: () => new Promise<void>((r) => (release = r)) });
    q.enqueue(v('a', 0));
    q.enqueue(v('a', 1));
    for (let i = 0; i < 5; i++) await tick();
    expect(q.health()[0]!.retrying).toBe(1);
    q.enqueue(v('a', 2));
    release();
    expect(await q.settled(2000)).toBe(true);
    expect(ids(s.delivered)).toEqual([`a@${T0 + HOUR}`, `a@${T0 + HOUR + 2}`]);
    expect(q.health()[0]).toMatchObject({ delivered: 2, superseded: 1, retrying: 0 });
  });

  it('keeps retrying an opened alert even when an update of it is queued behind', async () => {
    const s = new ScriptedSink('s', ['retry']);
    let release!: () => void;
    const { q } = queue([s], { sleep: () => new Promise<void>((r) => (release = r)) });
    q.enqueue(v('a', 0));
    for (let i = 0; i < 5; i++) await tick();
    q.enqueue(v('a', 1));
    release();
    expect(await q.settled(2000)).toBe(true);
    expect(ids(s.delivered)).toEqual([`a@${T0 + HOUR}`, `a@${T0 + HOUR + 1}`]);
  });

  it('never blocks the caller; a full lane drops its oldest payload (default policy)', async () => {
    const s = new ScriptedSink('s', [], 'hang');
    const { q, events } = queue([s], { capacity: 2 });
    q.enqueue(v('a', 0));
    await tick(); // a hangs in flight
    // enqueue is synchronous: it returns at once, with the sink still hanging.
    for (const c of ['b', 'c', 'd']) expect(q.enqueue(v(c, 0))).toBe(true);
    expect(q.health()[0]).toMatchObject({ pending: 2, dropped: 1 });
    expect(events.filter((e) => e.outcome === 'dropped').map((e) => e.episode_id)).toEqual([v('b', 0).episode_id]);
    expect(q.backlog()).toBe(3); // one hanging in flight + two queued
  });

  it('with policy reject, a full lane refuses the new payload', async () => {
    const s = new ScriptedSink('s', [], 'hang');
    const { q } = queue([s], { capacity: 1, overflow: 'reject' });
    q.enqueue(v('a', 0));
    await tick(); // a in flight
    expect(q.enqueue(v('b', 0))).toBe(true);
    expect(q.enqueue(v('c', 0))).toBe(false);
    expect(q.health()[0]).toMatchObject({ pending: 1, rejected: 1, dropped: 0 });
  });

  it('drain delivers what it can within the timeout, then stops and refuses new payloads', async () => {
    const ok = new ScriptedSink('ok');
    const stuck = new ScriptedSink('stuck', [], 'retry');
    const { q } = queue([ok, stuck], { sleep: (ms, signal) => new Promise<void>((r) => (signal.aborted ? r() : signal.addEventListener('abort', () => r()))) });
    q.enqueue(v('a', 0));
    q.enqueue(v('b', 0));
    const r = await q.drain(200);
    expect(r).toEqual({ complete: false, undelivered: 2 });
    expect(ok.delivered).toHaveLength(2);
    expect(q.enqueue(v('c', 0))).toBe(false);
    expect(q.health().map((h) => h.rejected)).toEqual([1, 1]);
  });

  it('treats programmer errors from a sink as permanent and refuses duplicate sink names', async () => {
    const s: AlertSink = { name: 'buggy', deliver: async () => { throw new TypeError('x is undefined'); } };
    const { q } = queue([s]);
    q.enqueue(v('a', 0));
    expect(await q.settled(2000)).toBe(true);
    expect(q.health()[0]).toMatchObject({ failed_permanent: 1, healthy: false });
    expect(() => new DeliveryQueue([s, s])).toThrow(TypeError);
  });

  describe('a sink that takes batches', () => {
    const at = (c: string, n: number) => `${c}@${T0 + HOUR + n}`;

    it('gets what queued behind a delivery in one request, in queue order, at most maxBatch at a time', async () => {
      const s = new BatchSink('kafka');
      s.hold();
      const { q, events } = queue([s], { maxBatch: 3 });
      q.enqueue(v('a', 0)); // alone in flight
      await tick();
      for (const c of ['b', 'c', 'd', 'e']) q.enqueue(v(c, 0));
      q.enqueue(v('b', 1));
      s.release();
      expect(await q.settled(2000)).toBe(true);
      expect(s.batches).toEqual([[at('a', 0)], [at('b', 0), at('c', 0), at('d', 0)], [at('e', 0), at('b', 1)]]);
      expect(q.health()[0]).toMatchObject({ delivered: 6, pending: 0 });
      // Every payload is reported on its own, as one sent alone would be.
      expect(events.filter((e) => e.outcome === 'delivered')).toHaveLength(6);
    });

    it('retries a failed batch whole, leaving out an update a newer queued one superseded during the backoff', async () => {
      const s = new BatchSink('kafka', ['ok', 'retry']);
      s.hold();
      let release!: () => void;
      const { q, events } = queue([s], { sleep: () => new Promise<void>((r) => (release = r)) });
      q.enqueue(v('x', 0));
      await tick();
      q.enqueue(v('a', 0));
      q.enqueue(v('b', 0));
      q.enqueue(v('b', 1)); // b's opened and first update go in one batch, behind x
      s.release();
      for (let i = 0; i < 10; i++) await tick();
      expect(s.batches).toEqual([[at('x', 0)], [at('a', 0), at('b', 0), at('b', 1)]]);
      expect(q.health()[0]).toMatchObject({ retrying: 3, retries: 3 });
      expect(q.backlog()).toBe(3);
      q.enqueue(v('b', 1)); // the same version again while it waits in flight: nothing new
      q.enqueue(v('b', 2)); // newer: b@1 is left out of the retry
      release();
      expect(await q.settled(2000)).toBe(true);
      expect(s.batches.slice(2)).toEqual([[at('a', 0), at('b', 0)], [at('b', 2)]]);
      expect(ids(s.delivered)).toEqual([at('x', 0), at('a', 0), at('b', 0), at('b', 2)]);
      expect(q.health()[0]).toMatchObject({ delivered: 4, superseded: 2, retrying: 0, consecutive_failures: 0 });
      expect(events.filter((e) => e.outcome === 'retry').map((e) => e.attempt)).toEqual([1, 1, 1]);
    });

    it('counts a permanently refused batch against each of its payloads', async () => {
      const s = new BatchSink('kafka', [], 'fail');
      s.hold();
      const { q, events } = queue([s]);
      q.enqueue(v('a', 0));
      await tick();
      q.enqueue(v('b', 0));
      q.enqueue(v('c', 0));
      s.release();
      expect(await q.settled(2000)).toBe(true);
      expect(s.batches).toHaveLength(2);
      expect(q.health()[0]).toMatchObject({ failed_permanent: 3, delivered: 0, healthy: false, consecutive_failures: 2 });
      expect(events.filter((e) => e.outcome === 'failed_permanent')).toHaveLength(3);
    });

    it('takes apart a batch it keeps failing on: the payloads sent with the refused one go, one request each, and it is set aside', async () => {
      // A destination that refuses (retriably) any request holding cluster a's alert, as a receiver whose handler fails on it.
      class Refusing extends BatchSink {
        override async deliverBatch(ps: readonly AlertPayload[]): Promise<void> {
          if (ps.some((p) => p.cluster_id === 'a')) {
            this.batches.push(ids([...ps]));
            throw new SinkError('500 from test', { retriable: true });
          }
          return super.deliverBatch(ps);
        }
      }
      const s = new Refusing('k');
      const { q } = queue([s], { maxBatch: 3 });
      for (const c of ['a', 'b', 'c', 'd', 'e', 'f']) q.enqueue(v(c, 0));
      for (let i = 0; i < 200 && s.delivered.length < 5; i++) await tick();
      // Before: b and c went with a in every request, for good; only d, e, f were delivered.
      expect(ids(s.delivered).sort()).toEqual(['b', 'c', 'd', 'e', 'f'].map((c) => `${c}@${T0 + HOUR}`));
      expect(q.health()[0]).toMatchObject({ delivered: 5 });
    });

    it('refuses a maxBatch below 1', () => {
      expect(() => new DeliveryQueue([new BatchSink('k')], { maxBatch: 0 })).toThrow(RangeError);
    });

    it('sends again only what the destination did not take of a batch that failed part way', async () => {
      const s = new BatchSink('kafka');
      s.partial = [[2, true]]; // the first request (a, b) taken, the second (c) refused
      const during: unknown[] = [];
      const { q, events } = queue([s], {
        now: () => T0 + 5,
        sleep: async () => {
          during.push(q.backlog(), q.health()[0]!.delivered, q.health()[0]!.last_delivered_at);
          await tick();
        },
      });
      for (const c of ['a', 'b', 'c']) q.enqueue(v(c, 0));
      expect(await q.settled(2000)).toBe(true);
      // While c waits for its retry, a and b are delivered and out of the backlog.
      expect(during).toEqual([1, 2, new Date(T0 + 5).toISOString()]);
      expect(s.batches).toEqual([[at('a', 0), at('b', 0), at('c', 0)], [at('c', 0)]]);
      expect(ids(s.delivered)).toEqual([at('a', 0), at('b', 0), at('c', 0)]);
      expect(q.health()[0]).toMatchObject({ delivered: 3, retries: 1, retrying: 0, consecutive_failures: 0 });
      expect(events.map((e) => `${e.outcome}:${e.attempt}`)).toEqual(['delivered:1', 'delivered:1', 'retry:1', 'delivered:2']);
    });

    it('takes a delivered head as a delivery: failures before it no longer count in a row', async () => {
      const s = new BatchSink('kafka');
      s.partial = [
        [0, true],
        [0, true],
        [1, true], // the third failure in a row, but one that took a
      ];
      const seen: unknown[] = [];
      const { q } = queue([s], {
        sleep: async () => {
          const h = q.health()[0]!;
          seen.push(`${h.consecutive_failures}/${h.healthy}`);
          await tick();
        },
      });
      for (const c of ['a', 'b']) q.enqueue(v(c, 0));
      expect(await q.settled(2000)).toBe(true);
      expect(seen).toEqual(['1/true', '2/true', '1/true']);
      expect(q.health()[0]).toMatchObject({ delivered: 2, retries: 5, healthy: true, consecutive_failures: 0 }); // retries count payloads: 2 + 2 + 1
    });

    it('takes a destination saying it took more than the batch for all of it', async () => {
      const s = new BatchSink('kafka');
      s.partial = [[99, true]];
      const { q } = queue([s]);
      for (const c of ['a', 'b']) q.enqueue(v(c, 0));
      expect(await q.settled(2000)).toBe(true);
      expect(s.batches).toHaveLength(1);
      expect(q.health()[0]).toMatchObject({ delivered: 2, retries: 0, failed_permanent: 0, healthy: true, consecutive_failures: 0, last_error: null });
    });

    it('counts as delivered the head a destination took before refusing the rest for good', async () => {
      const s = new BatchSink('kafka');
      s.hold();
      s.partial = [[1, false]];
      const { q } = queue([s]);
      for (const c of ['a', 'b', 'c']) q.enqueue(v(c, 0));
      s.release();
      expect(await q.settled(2000)).toBe(true);
      expect(q.health()[0]).toMatchObject({ delivered: 1, failed_permanent: 2, healthy: false });
    });

    it('holds a batch in flight as one: a member already sent is not queued again, and what a retry leaves out leaves the backlog', async () => {
      const s = new BatchSink('kafka', ['ok', 'retry', 'retry']);
      s.hold();
      const sleeps: (() => void)[] = [];
      const { q } = queue([s], { sleep: () => new Promise<void>((r) => sleeps.push(r)) });
      q.enqueue(v('x', 0));
      await tick();
      q.enqueue(v('a', 0));
      q.enqueue(v('b', 1)); // an update of b's episode, second in the next batch
      s.release();
      for (let i = 0; i < 10 && sleeps.length < 1; i++) await tick();
      expect(s.batches).toEqual([[at('x', 0)], [at('a', 0), at('b', 1)]]);
      q.enqueue(v('b', 1)); // the same version as the batch's second member: already in flight
      expect(q.backlog()).toBe(2);
      q.enqueue(v('b', 2)); // newer: b@1 is left out of the retry
      s.hold(); // the retry of a waits at the sink until looked at
      sleeps.shift()!();
      for (let i = 0; i < 10 && s.batches.length < 3; i++) await tick();
      expect(s.batches.at(-1)).toEqual([at('a', 0)]);
      expect(q.backlog()).toBe(2); // a in flight, b@2 queued
      expect(q.health()[0]).toMatchObject({ retrying: 1, superseded: 2 });
      s.release();
      for (let i = 0; i < 10 && sleeps.length < 1; i++) await tick();
      sleeps.shift()!();
      expect(await q.settled(2000)).toBe(true);
      expect(ids(s.delivered)).toEqual([at('x', 0), at('a', 0), at('b', 2)]);
    });
  });
});
