#!/usr/bin/env node
// Smoke test for a running Kafka broker with the project's kafkajs (2.2.4):
// create a 3-partition topic, produce 100 messages, read them back with a consumer group
// (autoCommit off, offsets committed by hand), check the committed offsets, delete the topic.
// Exits 0 when all 100 messages were read and committed, 1 otherwise.
//
//   node scripts/kafka-smoke.mjs            # broker from KAFKA_BROKERS, default 127.0.0.1:9092
//   KAFKA_BROKERS=127.0.0.1:19092 node scripts/kafka-smoke.mjs
import { Kafka, Partitioners, logLevel } from 'kafkajs';

const brokers = (process.env.KAFKA_BROKERS ?? `127.0.0.1:${process.env.KAFKA_PORT ?? '9092'}`)
  .split(',')
  .map((b) => b.trim())
  .filter(Boolean);
const COUNT = 100;
const PARTITIONS = 3;
const TIMEOUT_MS = Number(process.env.KAFKA_SMOKE_TIMEOUT_MS ?? 60_000);
const runId = `${Date.now()}-${process.pid}`;
const topic = `recur-smoke-${runId}`;
const groupId = `recur-smoke-group-${runId}`;

const kafka = new Kafka({
  clientId: 'recur-kafka-smoke',
  brokers,
  logLevel: process.env.KAFKA_SMOKE_DEBUG ? logLevel.DEBUG : logLevel.WARN,
  retry: { retries: 5 },
});
const admin = kafka.admin();
const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
const consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 1_000 });

const log = (msg) => console.log(`kafka-smoke: ${msg}`);

async function main() {
  const t0 = Date.now();
  await admin.connect();
  const created = await admin.createTopics({
    waitForLeaders: true,
    topics: [{ topic, numPartitions: PARTITIONS, replicationFactor: 1 }],
  });
  if (!created) throw new Error(`topic ${topic} already existed`);
  const meta = await admin.fetchTopicMetadata({ topics: [topic] });
  const partitions = meta.topics[0].partitions.length;
  if (partitions !== PARTITIONS) throw new Error(`expected ${PARTITIONS} partitions, got ${partitions}`);
  log(`created ${topic} with ${partitions} partitions on ${brokers.join(',')}`);

  await producer.connect();
  const messages = Array.from({ length: COUNT }, (_, i) => ({
    key: `case-${i % 17}`,
    value: JSON.stringify({ seq: i, caseId: `case-${i % 17}`, at: new Date().toISOString() }),
  }));
  // Two sends, so both a batch and a follow-up request are exercised.
  await producer.send({ topic, messages: messages.slice(0, 50) });
  await producer.send({ topic, messages: messages.slice(50) });
  log(`produced ${COUNT} messages`);

  const seen = new Set();
  const perPartition = new Map();
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });

  let resolveDone;
  const done = new Promise((resolve) => {
    resolveDone = resolve;
  });
  const timer = setTimeout(() => resolveDone('timeout'), TIMEOUT_MS);

  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ topic: t, partition, message }) => {
      const { seq } = JSON.parse(message.value.toString());
      seen.add(seq);
      perPartition.set(partition, (perPartition.get(partition) ?? 0) + 1);
      await consumer.commitOffsets([
        { topic: t, partition, offset: (BigInt(message.offset) + 1n).toString() },
      ]);
      if (seen.size === COUNT) resolveDone('ok');
    },
  });

  const outcome = await done;
  clearTimeout(timer);
  await consumer.disconnect();
  if (outcome !== 'ok') throw new Error(`timed out: read ${seen.size}/${COUNT} messages`);

  const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
  const committedTotal = committed[0].partitions.reduce((sum, p) => sum + Number(p.offset), 0);
  if (committedTotal !== COUNT) throw new Error(`committed offsets sum to ${committedTotal}, want ${COUNT}`);

  const spread = [...perPartition.entries()].sort(([a], [b]) => a - b).map(([p, n]) => `p${p}=${n}`);
  log(`consumed ${seen.size}/${COUNT} messages (${spread.join(' ')}), committed ${committedTotal}, in ${Date.now() - t0} ms`);

  await admin.deleteTopics({ topics: [topic] });
  await admin.deleteGroups([groupId]).catch(() => {});
}

let code = 0;
try {
  await main();
  log('OK');
} catch (err) {
  code = 1;
  console.error(`kafka-smoke: FAILED: ${err?.stack ?? err}`);
} finally {
  await Promise.allSettled([producer.disconnect(), consumer.disconnect(), admin.disconnect()]);
}
process.exit(code);
