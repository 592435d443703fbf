import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { KafkaSource, createProducer, kafkaClient, type MessageProducer } from '../../src/sources/index.js';
import { DeliveryQueue, type SinkHealth } from '../../src/sinks/queue.js';
import { KafkaAlertSink } from '../../src/sinks/kafka.js';
import { samplePayload, T0, HOUR } from '../../src/sinks/fixtures.test-util.js';
import { MAX_EXAMPLES, MAX_EXAMPLE_CHARS, type AlertPayload } from '../../src/sinks/payload.js';
import { admin, createTopic, silentLog, testConfig, waitFor } from '../helpers/env.js';

// The first `recur run` against a fresh broker meets a topic that does not exist yet: the broker creates it
// on the consumer's first request and answers "This server does not host this topic-partition" meanwhile.
// The consumer waits for it instead of ending with kafkajs' error, and reads what is produced afterwards.
/** Runs the source, keeping every message value it is handed and the error it ends with, if any. */
function collect(source: KafkaSource) {
  const seen: string[] = [];
  let error: unknown = null;
  const running = source.run(async (batch) => {
    for (const m of batch.messages) seen.push(m.value!.toString());
    return { storedThrough: batch.messages[batch.messages.length - 1]!.offset };
  });
  running.catch((err: unknown) => (error = err));
  return { seen, running, failed: () => error };
}

describe('KafkaSource on a topic that does not exist yet (real broker)', () => {
  it('waits for the topic, then consumes what is produced to it', async () => {
    const cfg = testConfig();
    const source = new KafkaSource(kafkaClient(cfg.kafka, silentLog), cfg.kafka, silentLog);
    const { seen, running, failed } = collect(source);
    const producer = admin().producer();
    await producer.connect();
    try {
      // Produce only once the topic exists (the consumer's subscription asked the broker to create it).
      const a = admin().admin();
      await a.connect();
      await waitFor('the topic to be created', async () => failed() ?? (await a.listTopics()).includes(cfg.kafka.topic));
      await a.disconnect();
      expect(failed()).toBeNull();
      await producer.send({ topic: cfg.kafka.topic, messages: ['one', 'two', 'three'].map((value) => ({ value })) });
      await waitFor('three messages consumed', async () => failed() ?? seen.length >= 3);
      expect(failed()).toBeNull();
      expect(seen).toEqual(['one', 'two', 'three']);
    } finally {
      await producer.disconnect();
      await source.stop();
      await running.catch(() => {});
    }
  });

  it('without auto-creation: says what it waits for, subscribes once the topic is created, and stops cleanly while waiting', async () => {
    const lines: string[] = [];
    const log = pino({ level: 'info' }, { write: (l: string) => void lines.push(l) });
    const waiting = () => lines.some((l) => l.includes('waiting for the topic to exist'));

    // 1. Waits (and says so), then reads what is produced once an operator created the topic.
    const cfg = testConfig();
    const source = new KafkaSource(kafkaClient(cfg.kafka, silentLog), cfg.kafka, log, { allowAutoTopicCreation: false });
    const { seen, running, failed } = collect(source);
    const producer = admin().producer();
    try {
      await waitFor('the waiting warning', async () => failed() ?? waiting());
      expect(failed()).toBeNull();
      expect(lines.join('\n')).toContain(`"topic":"${cfg.kafka.topic}"`);
      await createTopic(cfg.kafka.topic, 1);
      await waitFor('the subscription', async () => failed() ?? lines.some((l) => l.includes('topic is there: subscribed')));
      await producer.connect();
      await producer.send({ topic: cfg.kafka.topic, messages: [{ value: 'after the wait' }] });
      await waitFor('the message consumed', async () => failed() ?? seen.length >= 1);
      expect(failed()).toBeNull();
      expect(seen).toEqual(['after the wait']);
    } finally {
      await producer.disconnect();
      await source.stop();
      await running.catch(() => {});
    }

    // 2. Asked to stop while it still waits: run() returns without error, and nothing created the topic.
    lines.length = 0;
    const other = testConfig();
    const idle = new KafkaSource(kafkaClient(other.kafka, silentLog), other.kafka, log, { allowAutoTopicCreation: false });
    const idleRun = idle.run(async () => ({ storedThrough: null }));
    await waitFor('the waiting warning', async () => waiting());
    const t = Date.now();
    await idle.stop();
    await expect(idleRun).resolves.toBeUndefined();
    expect(Date.now() - t).toBeLessThan(15_000);
    const a = admin().admin();
    await a.connect();
    expect(await a.listTopics()).not.toContain(other.kafka.topic);
    await a.disconnect();
  });

  it('stopped before it starts, it does not connect at all', async () => {
    const cfg = testConfig({ 'kafka.brokers': ['127.0.0.1:1'] });
    const source = new KafkaSource(kafkaClient(cfg.kafka, silentLog), cfg.kafka, silentLog);
    await source.stop();
    // An unreachable broker would take kafkajs' retries (over a minute) to fail if run() tried to connect.
    await expect(source.run(async () => ({ storedThrough: null }))).resolves.toBeUndefined();
  });

  it("sends more dead letters than the broker takes in one request, in parts, to a topic with the broker's default size limit", async () => {
    const cfg = testConfig();
    const producer = await createProducer(kafkaClient(cfg.kafka, silentLog));
    const topic = `${cfg.kafka.topic}.dlq`; // created on first send, with the broker's defaults (1 MB a request)
    const rows = Array.from({ length: 20 }, (_, i) => ({ key: `t:0:${i}`, value: JSON.stringify({ i, payload: 'x'.repeat(100 * 1024) }), headers: { reason_code: 'oversize' } }));
    try {
      await producer.send(topic, rows);
    } finally {
      await producer.close();
    }
    const a = admin().admin();
    await a.connect();
    const offsets = await a.fetchTopicOffsets(topic);
    await a.disconnect();
    expect(offsets.reduce((n, o) => n + Number(o.high) - Number(o.low), 0)).toBe(20);
  });

});

describe('the Kafka alert sink behind the delivery queue (real broker)', () => {
  it('sends a backlog of alerts in a few produce requests, every one of them on the topic and each episode in order', async () => {
    const cfg = testConfig();
    const topic = `${cfg.kafka.topic}.alerts`;
    // 600 episodes opened and closed: 1,200 alerts, none of which coalescing may merge.
    const episodes = Array.from({ length: 600 }, (_, i) => `c-${i}`);
    const sent = await deliverAll(cfg, topic, [...episodes.map((c) => samplePayload(c, 'opened', T0 + HOUR)), ...episodes.map((c) => samplePayload(c, 'closed', T0 + 2 * HOUR))]);
    expect(sent.health).toMatchObject({ delivered: 1200, failed_permanent: 0, dropped: 0 });
    // enqueue returns at once, so the lane wakes to all 1,200: batches of 500, 500 and 200.
    expect(sent.requests).toBe(3);
    expect(await alertsOn(topic, cfg.kafka.groupId, 1200)).toEqual(new Map(episodes.map((c) => [samplePayload(c).episode_id, ['opened', 'closed']])));
  });

  it('sends a batch of alerts larger than the broker takes in one request in parts, in order, and all of it', async () => {
    const cfg = testConfig();
    const topic = `${cfg.kafka.topic}.alerts`; // created on first send, with the broker's defaults (1 MB a request)
    // 300 episodes with the most an alert carries of examples (about 3.5 KB each): 600 alerts, a first batch of
    // 500 (1.7 MB).
    const big = (c: string, type: 'opened' | 'closed', at: number) => ({ ...samplePayload(c, type, at), examples: Array.from({ length: MAX_EXAMPLES }, () => 'x'.repeat(MAX_EXAMPLE_CHARS)) });
    const episodes = Array.from({ length: 300 }, (_, i) => `c-${i}`);
    const sent = await deliverAll(cfg, topic, [...episodes.map((c) => big(c, 'opened', T0 + HOUR)), ...episodes.map((c) => big(c, 'closed', T0 + 2 * HOUR))]);
    expect(sent.health).toMatchObject({ delivered: 600, failed_permanent: 0 });
    expect(sent.requests).toBeGreaterThan(2); // the batch of 500 went in parts
    expect(await alertsOn(topic, cfg.kafka.groupId, 600)).toEqual(new Map(episodes.map((c) => [samplePayload(c).episode_id, ['opened', 'closed']])));
  });

  it('counts as delivered what the broker took of a batch before it refused a later request, and sends that part once', async () => {
    const cfg = testConfig();
    const topic = `${cfg.kafka.topic}.alerts`; // the broker's default message.max.bytes: 1 MB
    const small = Array.from({ length: 10 }, (_, i) => samplePayload(`c-${i}`, 'opened', T0 + HOUR));
    // Over 1 MB: a request of its own after the ten, refused for good (MESSAGE_TOO_LARGE).
    const huge = { ...samplePayload('c-huge', 'opened', T0 + HOUR), label: 'x'.repeat(1_100_000) };
    const sent = await deliverAll(cfg, topic, [...small, huge]);
    expect(sent.requests).toBe(2);
    expect(sent.health).toMatchObject({ delivered: 10, failed_permanent: 1, retries: 0 });
    const a = admin().admin();
    await a.connect();
    const offsets = await a.fetchTopicOffsets(topic);
    await a.disconnect();
    expect(offsets.reduce((n, o) => n + Number(o.high) - Number(o.low), 0)).toBe(10);
  });
});

/** `payloads` through a delivery queue's Kafka sink on the real producer, counting the produce requests it makes. */
async function deliverAll(cfg: ReturnType<typeof testConfig>, topic: string, payloads: AlertPayload[]): Promise<{ health: SinkHealth; requests: number }> {
  const real = await createProducer(kafkaClient(cfg.kafka, silentLog));
  let requests = 0;
  const producer: MessageProducer = { send: (t, ms) => (requests++, real.send(t, ms)), close: () => real.close() };
  const q = new DeliveryQueue([new KafkaAlertSink(producer, topic)]);
  try {
    for (const p of payloads) q.enqueue(p);
    expect(await q.settled(60_000)).toBe(true);
  } finally {
    await q.drain(1000);
    await real.close();
  }
  return { health: q.health()[0]!, requests };
}

/** The types of the alerts on `topic`, per key (episode) in the order they are there, once `n` are read. */
async function alertsOn(topic: string, groupId: string, n: number): Promise<Map<string, string[]>> {
  const consumer = admin().consumer({ groupId: `${groupId}-alerts` });
  const got: { key: string; type: string }[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void got.push({ key: message.key!.toString(), type: (JSON.parse(message.value!.toString()) as { type: string }).type }) });
    await waitFor(`${n} alerts consumed`, async () => got.length >= n, 30_000);
  } finally {
    await consumer.disconnect();
  }
  expect(got).toHaveLength(n);
  const byKey = new Map<string, string[]>();
  for (const g of got) byKey.set(g.key, [...(byKey.get(g.key) ?? []), g.type]);
  return byKey;
}

