import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Producer } from 'kafkajs';
import { openStore, migrate, type Store } from '../../src/store/index.js';
import { KafkaSource, kafkaClient } from '../../src/sources/index.js';
import { runPipeline } from '../../src/pipeline/run.js';
import { createMasker } from '../../src/pipeline/wire.js';
import { createAssigner } from '../../src/pipeline/assigner.js';
import { insertIdempotent, rangeToken } from '../../src/store/writer.js';
import { Metrics } from '../../src/pipeline/metrics.js';
import type { Config } from '../../src/config/index.js';
import { admin, brokers, createTopic, goodEvent, silentLog, testConfig, waitFor } from '../helpers/env.js';

type Row = Record<string, string | number>;

async function rows(store: Store, query: string, params: Record<string, unknown> = {}): Promise<Row[]> {
  const rs = await store.client.query({ query, query_params: params, format: 'JSONEachRow' });
  return rs.json<Row>();
}

function hasKcat(): boolean {
  try {
    execFileSync('kcat', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('Kafka → ClickHouse ingestion (real broker, chDB)', () => {
  let config: Config;
  let store: Store;
  let producer: Producer;
  const good = new Map<string, { partition: number; offset: string }>();
  const bad = new Map<string, string>(); // "partition:offset" → expected reason code

  beforeAll(async () => {
    // Batches of ~20 messages per partition are written in chunks of 7: each chunk is its own intent, built
    // while the previous one is written, and the crashes below land in the middle of such a sequence.
    config = testConfig({ 'ingest.maxMessageBytes': 1_048_576, 'ingest.maxBatchRows': 7 });
    await createTopic(config.kafka.topic, 3);
    store = await openStore(config.clickhouse);
    await migrate(store.client, { dedupWindow: config.clickhouse.dedupWindow });
    producer = admin().producer();
    await producer.connect();
  });

  afterAll(async () => {
    await producer?.disconnect();
    await store?.close();
  });

  async function send(partition: number, value: Buffer | string, badReason?: string, id?: string) {
    const [meta] = await producer.send({ topic: config.kafka.topic, messages: [{ partition, value }] });
    const at = `${partition}:${meta!.baseOffset}`;
    if (badReason) bad.set(at, badReason);
    else good.set(id!, { partition, offset: meta!.baseOffset! });
  }

  async function sendGood(from: number, to: number) {
    for (let i = from; i < to; i++) {
      const ev = goodEvent(i);
      await send(i % 3, JSON.stringify(ev), undefined, ev.event_id);
    }
  }

  /** A consumer as a fresh process would run it: the model restored from its snapshot, if any. */
  async function consume(metrics: Metrics, beforeInsert?: (table: string) => void) {
    const source = new KafkaSource(kafkaClient(config.kafka, silentLog), config.kafka, silentLog);
    const assigner = await createAssigner(config, store.client, silentLog);
    const done = runPipeline({
      config,
      log: silentLog,
      store,
      source,
      mask: createMasker(config),
      metrics,
      assigner,
      ...(beforeInsert ? { beforeInsert } : {}),
    });
    return { source, done };
  }

  it('stores every good event once and dead-letters every bad one with its reason and offset, across a crash', async () => {
    await sendGood(0, 60);
    await send(0, '{"event_id": "x1", "case_id": ', 'invalid_json');
    await send(1, JSON.stringify({ event_id: 'x2', channel: 'email' }), 'schema_violation');
    await send(2, JSON.stringify({ ...goodEvent(1000), channel: 42 }), 'schema_violation');
    await send(0, JSON.stringify({ ...goodEvent(1001), occurred_at: 'yesterday' }), 'schema_violation');
    await send(1, JSON.stringify({ ...goodEvent(1002), description: 'x'.repeat(2 * 1024 * 1024) }), 'oversize');
    await send(2, Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d]), 'invalid_utf8');
    await send(0, '[1,2,3]', 'not_an_object');
    // Valid as sent (16,000 characters), but 18 times as long under Unicode normalisation: it was stored so.
    await send(1, JSON.stringify({ ...goodEvent(1004), description: '\uFDFA'.repeat(16_000) }), 'schema_violation');
    const hostile = { ...goodEvent(1003), description: "'); DROP TABLE case_events; -- <script>alert(1)</script>\u0000 \u202e" };
    await send(1, JSON.stringify(hostile), undefined, hostile.event_id);
    if (hasKcat()) {
      // A second, independent real client producing into the same topic.
      const ev = goodEvent(2000);
      execFileSync('kcat', ['-b', brokers().join(','), '-t', config.kafka.topic, '-p', '2', '-P'], { input: `${JSON.stringify(ev)}\n` });
      good.set(ev.event_id, { partition: 2, offset: '?' });
    }

    // First consumer crashes (a non-retriable failure at the store boundary) in the middle of a batch:
    // the case_events rows of its failing chunk landed, its dead letters did not, its offsets were not
    // committed.
    const m1 = new Metrics();
    const first = await consume(m1, (table) => {
      if (table === 'dead_letters') throw new TypeError('injected crash during insert');
    });
    await expect(first.done).rejects.toThrow(/injected crash/);
    await first.source.stop().catch(() => {});
    // Chunks before the first one holding a dead letter may have landed; the batch as a whole did not.
    expect(m1.get('events_stored')).toBeLessThan(60);

    // A second one crashes before its assignments landed, and ClickHouse had already recorded their
    // deduplication token (what a kill -9 between the dedup log and the part commit leaves): the replay
    // must still store them.
    await sendGood(60, 90);
    const crashAssign = await consume(new Metrics(), (table) => {
      if (table === 'assignments') throw new TypeError('injected crash before assignments');
    });
    await expect(crashAssign.done).rejects.toThrow(/injected crash before assignments/);
    await crashAssign.source.stop().catch(() => {});
    const intents = await rows(
      store,
      `SELECT source_partition AS p, toString(argMax(first_offset, last_offset)) AS f, toString(max(last_offset)) AS l, argMax(model_version, last_offset) AS v
       FROM ingest_ledger WHERE source_topic = {t:String} GROUP BY p`,
      { t: config.kafka.topic },
    );
    for (const it of intents) {
      const range = { topic: config.kafka.topic, partition: Number(it['p']), first: BigInt(it['f']!), last: BigInt(it['l']!) };
      // Deduplication is per partition of the table (month): the dummy row sits in the events' month.
      const dummy = { event_id: 'spent-token', case_id: 'x', customer_id: '', channel: 'other', occurred_at: goodEvent(60).occurred_at, cluster_id: 'x', similarity: 0, model_version: 0, source_topic: 'spent', source_partition: 0, source_offset: 0 };
      await insertIdempotent(store.client, 'assignments', [dummy], rangeToken(range, 'assignments', Number(it['v'])));
    }
    await store.client.command({ query: "ALTER TABLE assignments DELETE WHERE event_id = 'spent-token'", clickhouse_settings: { mutations_sync: '2' } });

    await sendGood(90, 120);
    const m2 = new Metrics();
    const second = await consume(m2);
    const expectedGood = good.size;
    await waitFor('all events stored', async () => {
      const [r] = await rows(store, 'SELECT count() AS n FROM case_events WHERE source_topic = {t:String}', { t: config.kafka.topic });
      const [d] = await rows(store, 'SELECT count() AS n FROM dead_letters WHERE source_topic = {t:String}', { t: config.kafka.topic });
      return Number(r!['n']) >= expectedGood && Number(d!['n']) >= bad.size;
    });
    await second.source.stop();
    await second.done;
    expect(m2.get('replayed_ranges')).toBeGreaterThanOrEqual(1); // the half-written range was replayed

    const stored = await rows(store, 'SELECT event_id, count() AS n FROM case_events WHERE source_topic = {t:String} GROUP BY event_id', { t: config.kafka.topic });
    expect(stored.filter((r) => Number(r['n']) !== 1)).toEqual([]); // nothing stored twice
    for (const id of good.keys()) expect(stored.some((r) => r['event_id'] === id), `missing ${id}`).toBe(true);
    expect(stored.length).toBe(expectedGood);

    const dead = await rows(
      store,
      'SELECT source_partition AS p, source_offset AS o, reason_code AS code, reason, count() OVER (PARTITION BY p, o) AS n FROM dead_letters WHERE source_topic = {t:String}',
      { t: config.kafka.topic },
    );
    expect(dead.length).toBe(bad.size);
    for (const d of dead) {
      expect(Number(d['n'])).toBe(1);
      expect(bad.get(`${d['p']}:${d['o']}`)).toBe(d['code']);
      expect(String(d['reason']).length).toBeGreaterThan(5);
    }

    // Rolling counts equal a recount from the stored assignments, per cluster and hour.
    const drift = await rows(
      store,
      `SELECT count() AS n FROM (
         SELECT cluster_id, toStartOfHour(occurred_at) AS b, count() AS n FROM assignments GROUP BY cluster_id, b) AS a
       FULL OUTER JOIN (SELECT cluster_id, bucket AS b, sum(contacts) AS n FROM cluster_counts GROUP BY cluster_id, b) AS c
       ON a.cluster_id = c.cluster_id AND a.b = c.b
       WHERE a.n != c.n`,
    );
    expect(Number(drift[0]!['n'])).toBe(0);
    const [counted] = await rows(store, 'SELECT sum(contacts) AS n FROM cluster_counts');
    expect(Number(counted!['n'])).toBe(expectedGood);

    // Written in chunks: consecutive, non-overlapping intents of at most 7 offsets per partition.
    const ledger = await rows(
      store,
      `SELECT source_partition AS p, first_offset AS f, last_offset AS l FROM ingest_ledger WHERE source_topic = {t:String}
       ORDER BY p, f`,
      { t: config.kafka.topic },
    );
    expect(ledger.length).toBeGreaterThan(3 * 3);
    for (let i = 0; i < ledger.length; i++) {
      const [p, f, l] = [ledger[i]!['p'], Number(ledger[i]!['f']), Number(ledger[i]!['l'])];
      expect(l - f).toBeLessThan(7);
      const prev = ledger[i - 1];
      if (prev && prev['p'] === p) expect(f).toBeGreaterThan(Number(prev['l']));
    }

    // PII never reaches storage.
    const leaked = await rows(store, "SELECT count() AS n FROM case_events WHERE description LIKE '%@example.com%' OR description LIKE '%A12-3456%'");
    expect(Number(leaked[0]!['n'])).toBe(0);

    // Offsets were committed through the end of every partition.
    const a = admin().admin();
    await a.connect();
    const committed = await a.fetchOffsets({ groupId: config.kafka.groupId, topics: [config.kafka.topic] });
    const ends = await a.fetchTopicOffsets(config.kafka.topic);
    await a.disconnect();
    for (const p of committed[0]!.partitions) {
      expect(p.offset).toBe(ends.find((e) => e.partition === p.partition)!.high);
    }
  });
});
