import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, migrate, type Store } from '../../src/store/index.js';
import type { Ingestor, Assigner } from '../../src/pipeline/ingest.js';
import { Metrics } from '../../src/pipeline/metrics.js';
import { PipelineError } from '../../src/errors.js';
import type { Config } from '../../src/config/index.js';
import type { BatchContext, SourceBatch } from '../../src/sources/index.js';
import { chunkedIngestor, goodEvent, testConfig, uniqueName } from '../helpers/env.js';

// A batch with a backlog behind it leaves its last chunk's write in flight while the next batch is
// processed. What users rely on: a batch never reports (so the source never commits) an offset whose rows
// ClickHouse has not acknowledged, every row lands once, and a write that fails in flight fails the run.
describe('a batch with a backlog leaves its last write in flight (embedded chDB)', () => {
  let config: Config;
  let store: Store;
  const ctx: BatchContext = { isStale: () => false, heartbeat: async () => {} };

  beforeAll(async () => {
    config = testConfig();
    store = await openStore(config.clickhouse);
    await migrate(store.client, { dedupWindow: config.clickhouse.dedupWindow });
  });

  afterAll(async () => store?.close());

  function batch(topic: string, from: number, to: number, behind: boolean, stampMs = 0): SourceBatch {
    const messages = [];
    for (let i = from; i < to; i++) messages.push({ offset: BigInt(i), key: null, value: Buffer.from(JSON.stringify(goodEvent(i))), timestampMs: stampMs });
    return { topic, partition: 0, generation: 1, messages, behind };
  }

  function ingestor(metrics: Metrics, extra: { assigner?: Assigner; beforeInsert?: (table: string) => void } = {}): Ingestor {
    return chunkedIngestor(store.client, config, { metrics, ...extra });
  }

  /** The assigner as the ingestor sees it: one cluster for everything, and its batch bracket counted. */
  function fakeAssigner(snapshotDue: boolean): Assigner & { inFlight: number } {
    return {
      modelVersion: 1,
      inFlight: 0,
      assign: () => ({ clusterId: 'c_1', similarity: 1 }),
      coveredThrough: () => -1n,
      noteBatch: () => {},
      beginBatch() {
        this.inFlight++;
      },
      endBatch() {
        this.inFlight--;
      },
      snapshotDue: () => snapshotDue,
    };
  }

  async function storedOffsets(topic: string): Promise<number[]> {
    const rs = await store.client.query({
      query: 'SELECT toUInt64(source_offset) AS o FROM case_events WHERE source_topic = {topic:String} ORDER BY o',
      query_params: { topic },
      format: 'JSONEachRow',
    });
    return (await rs.json<{ o: string }>()).map((r) => Number(r.o));
  }

  it("a replay publishes its range's dead letters to the topic again: the run it repeats stopped before publishing them", async () => {
    const topic = uniqueName('dlq');
    const values = [JSON.stringify(goodEvent(0)), 'not json', '{"event_id": 1}', JSON.stringify(goodEvent(3)), 'nope'];
    const b: SourceBatch = { topic, partition: 0, generation: 1, behind: false, messages: values.map((v, i) => ({ offset: BigInt(i), key: null, value: Buffer.from(v), timestampMs: 0 })) };
    // The rows are stored, then the topic is away and the source stops (a revocation, SIGTERM): not published.
    let stopping = false;
    const first = chunkedIngestor(store.client, config, { chunkRows: 100, deadLetters: { publish: async () => { stopping = true; throw new Error('broker away (injected)'); } } });
    await expect(first.handle(b, { isStale: () => stopping, heartbeat: async () => {} })).rejects.toThrow();
    // Re-delivered to the next owner: the range is replayed, its rows are not written again, its dead letters are published.
    const published: { key: string }[] = [];
    const againMetrics = new Metrics();
    const again = chunkedIngestor(store.client, config, { chunkRows: 100, metrics: againMetrics, deadLetters: { publish: async (rows) => void published.push(...rows) } });
    expect((await again.handle(b, ctx)).storedThrough).toBe(4n);
    // Stored by the first run: not dead-lettered, nor stored, a second time in the metrics.
    expect(againMetrics.prometheus()).not.toMatch(/^recur_events_dead_lettered_total/m);
    expect(againMetrics.get('events_stored')).toBe(0);
    expect(published.map((p) => p.key).sort()).toEqual([`${topic}:0:1`, `${topic}:0:2`, `${topic}:0:4`]);
    const [n] = await (await store.client.query({ query: 'SELECT count() AS n FROM dead_letters WHERE source_topic = {topic:String}', query_params: { topic }, format: 'JSONEachRow' })).json<{ n: string }>();
    expect(Number(n!.n)).toBe(3);
  });

  it('a replayed range fetched in two parts, the rest of it gone from the log, stores the held part: nothing lost', async () => {
    // The first owner recorded the intent for 100..199 and died before any row landed. 150..204 are gone from
    // the log (compacted, or transaction markers), so the replay's fetches bring 100..149, then 205..210.
    // Held after the first fetch, 100..149 were dropped when the next one started past the range.
    for (const split of [true, false]) {
      const topic = uniqueName(split ? 'held-split' : 'held-one');
      // One chunk for the whole range, so its intent spans it.
      const dead = chunkedIngestor(store.client, config, {
        chunkRows: 1000,
        beforeInsert: () => {
          throw new TypeError('killed before rows');
        },
      });
      await expect(dead.handle(batch(topic, 100, 200, false), ctx)).rejects.toThrow();
      const next = chunkedIngestor(store.client, config, { chunkRows: 1000 });
      const late = batch(topic, 205, 211, false);
      if (split) {
        expect(await next.handle(batch(topic, 100, 150, false), ctx)).toEqual({ storedThrough: null });
        // A re-delivery of part of what is held is not stored twice.
        expect(await next.handle(batch(topic, 120, 150, false), ctx)).toEqual({ storedThrough: null });
        expect(await next.handle(late, ctx)).toEqual({ storedThrough: 210n });
      } else {
        const both = batch(topic, 100, 150, false);
        expect(await next.handle({ ...both, messages: [...both.messages, ...late.messages] }, ctx)).toEqual({ storedThrough: 210n });
      }
      const expected = [...Array.from({ length: 50 }, (_, i) => 100 + i), ...Array.from({ length: 6 }, (_, i) => 205 + i)];
      expect(await storedOffsets(topic), split ? 'in two fetches' : 'in one').toEqual(expected);
    }
  });

  it('counts dead letters when they are stored, as events: a write that never lands counts none', async () => {
    const topic = uniqueName('dead-count');
    const bad = (from: number, to: number) => {
      const b = batch(topic, from, to, false);
      return { ...b, messages: b.messages.map((m, i) => (i % 4 === 0 ? { ...m, value: Buffer.from('{not json') } : m)) };
    };
    const failing = new Metrics();
    const dead = chunkedIngestor(store.client, config, {
      chunkRows: 1000,
      metrics: failing,
      beforeInsert: () => {
        throw new TypeError('killed before rows');
      },
    });
    await expect(dead.handle(bad(0, 20), ctx)).rejects.toThrow();
    // A run stopped there printed "stored 0 events, dead-lettered 5".
    expect([failing.get('events_stored'), failing.get('events_dead_lettered', { reason: 'invalid_json' })]).toEqual([0, 0]);
    const ok = new Metrics();
    expect(await chunkedIngestor(store.client, config, { chunkRows: 1000, metrics: ok }).handle(bad(0, 20), ctx)).toEqual({ storedThrough: 19n });
    expect([ok.get('events_stored'), ok.get('events_dead_lettered', { reason: 'invalid_json' })]).toEqual([15, 5]);
  });

  it('says since when a write has been retried (for /healthz), and clears it once the write goes through', async () => {
    const topic = uniqueName('retrying');
    const metrics = new Metrics();
    const since = () => metrics.snapshot()['recur_store_retrying_since_ms'] ?? 0;
    let failures = 2;
    const seen: number[] = [];
    const ing = ingestor(metrics, {
      beforeInsert: () => {
        seen.push(since());
        if (failures-- > 0) throw new PipelineError('store_unavailable', 'store', 'injected write failure', { retriable: true });
      },
    });
    const t0 = Date.now();
    await ing.handle(batch(topic, 0, 5, false), ctx);
    expect(seen[0]).toBe(0); // first attempt: nothing retrying yet
    expect(seen.at(-1)).toBeGreaterThanOrEqual(t0); // while retried: since its first failure
    expect(since()).toBe(0);
  });

  it('reports through its last acknowledged chunk; the next batch reports the rest; every row lands once', async () => {
    const topic = uniqueName('tail');
    const metrics = new Metrics();
    const ing = ingestor(metrics);
    const producedAt = Date.now();
    // Chunks of 7: [0-6] [7-13] [14-19]; the last one is still being written when the batch returns.
    const first = await ing.handle(batch(topic, 0, 20, true, producedAt), ctx);
    expect(first.storedThrough).toBe(13n);
    const second = await ing.handle(batch(topic, 20, 30, false, producedAt), ctx);
    expect(second.storedThrough).toBe(29n);
    expect(await storedOffsets(topic)).toEqual(Array.from({ length: 30 }, (_, i) => i));
    // Latency is taken when a row is acknowledged, including the rows of the carried chunk.
    expect(metrics.prometheus()).toMatch(/^recur_produce_to_stored_seconds_count 30$/m);
  });

  it('a re-delivery reaching into the write in flight waits for it and is replayed, not written again', async () => {
    const topic = uniqueName('tail');
    const ing = ingestor(new Metrics());
    expect((await ing.handle(batch(topic, 0, 20, true), ctx)).storedThrough).toBe(13n);
    // The same partition again from offset 14 (the chunk still being written) on.
    expect((await ing.handle(batch(topic, 14, 30, false), ctx)).storedThrough).toBe(29n);
    expect(await storedOffsets(topic)).toEqual(Array.from({ length: 30 }, (_, i) => i));
  });

  it('a batch of one chunk with a backlog reports nothing new until the next; settle() stores the tail at the end', async () => {
    const topic = uniqueName('tail');
    const ing = ingestor(new Metrics());
    expect((await ing.handle(batch(topic, 0, 5, true), ctx)).storedThrough).toBe(null);
    // Its first chunk waits for the previous batch's tail, which is then acknowledged.
    expect((await ing.handle(batch(topic, 5, 10, true), ctx)).storedThrough).toBe(4n);
    await ing.settle();
    expect(await storedOffsets(topic)).toEqual(Array.from({ length: 10 }, (_, i) => i));
  });

  it('without a backlog, or with a checkpoint due, a batch returns with everything stored', async () => {
    expect((await ingestor(new Metrics()).handle(batch(uniqueName('tail'), 0, 20, false), ctx)).storedThrough).toBe(19n);
    const due = fakeAssigner(true);
    expect((await ingestor(new Metrics(), { assigner: due }).handle(batch(uniqueName('tail'), 0, 20, true), ctx)).storedThrough).toBe(19n);
    expect(due.inFlight).toBe(0);
  });

  it('a carried write holds the batch bracket until it is acknowledged, so no checkpoint sees its events unstored', async () => {
    const a = fakeAssigner(false);
    const ing = ingestor(new Metrics(), { assigner: a });
    await ing.handle(batch(uniqueName('tail'), 0, 20, true), ctx);
    expect(a.inFlight).toBe(1);
    await ing.settle();
    expect(a.inFlight).toBe(0);
  });

  it('a write that fails in flight fails the next batch, which reports nothing past what was acknowledged', async () => {
    const topic = uniqueName('tail');
    let inserts = 0;
    // The third case_events insert is the carried chunk's [14-19]: refused, not retriable.
    const ing = ingestor(new Metrics(), {
      beforeInsert: (table) => {
        if (table === 'case_events' && ++inserts === 3) throw new PipelineError('store_rejected', 'store', 'injected: rows refused');
      },
    });
    expect((await ing.handle(batch(topic, 0, 20, true), ctx)).storedThrough).toBe(13n);
    await expect(ing.handle(batch(topic, 20, 30, false), ctx)).rejects.toThrow(/injected: rows refused/);
    const stored = await storedOffsets(topic);
    expect(stored).toEqual(Array.from({ length: 14 }, (_, i) => i));
  });
});
