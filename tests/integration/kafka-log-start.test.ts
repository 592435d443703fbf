import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { KafkaSource, kafkaClient } from '../../src/sources/index.js';
import type { RunOptions } from '../../src/sources/index.js';
import { admin, createTopic, testConfig, waitFor } from '../helpers/env.js';

// Retention (or an operator's DeleteRecords) moves a partition's log start past where recur would read from.
// Asked for an offset below the log start, the broker answers OFFSET_OUT_OF_RANGE and kafkajs resets the
// partition to its default offset: with fromBeginning false, the end of the log, skipping every record still
// there (and it commits that reset over the group's offset). The source starts at the log start instead and
// says how many offsets are gone.

/** Produces `count` messages `p<partition>-<i>` to each of the topic's first `partitions` partitions. */
async function fill(topic: string, partitions: number, count: number): Promise<void> {
  const producer = admin().producer();
  await producer.connect();
  for (let partition = 0; partition < partitions; partition++) {
    await producer.send({ topic, messages: Array.from({ length: count }, (_, i) => ({ partition, value: `p${partition}-${i}` })) });
  }
  await producer.disconnect();
}

/** Deletes each partition's records below `logStart[partition]`, as retention would. */
async function moveLogStart(topic: string, logStart: number[]): Promise<void> {
  const a = admin().admin();
  await a.connect();
  // kafkajs' deleteTopicRecords looks up the leaders without loading the topic's metadata first
  // ("Topic metadata not loaded"): fetchTopicOffsets loads it.
  await a.fetchTopicOffsets(topic);
  await a.deleteTopicRecords({ topic, partitions: logStart.map((offset, partition) => ({ partition, offset: String(offset) })) });
  const offsets = await a.fetchTopicOffsets(topic);
  await a.disconnect();
  expect(offsets.sort((x, y) => x.partition - y.partition).map((o) => Number(o.low))).toEqual(logStart);
}

async function commit(groupId: string, topic: string, committed: number[]): Promise<void> {
  const a = admin().admin();
  await a.connect();
  await a.setOffsets({ groupId, topic, partitions: committed.map((offset, partition) => ({ partition, offset: String(offset) })) });
  await a.disconnect();
}

/**
 * A source of the group reading the topic (fromBeginning false), keeping the values it is handed per
 * partition and its log lines. `stores` false: it commits nothing.
 */
function start(topic: string, groupId: string, partitions: number, opts: RunOptions = {}, stores = true, gate: Promise<void> = Promise.resolve()) {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) });
  const cfg = testConfig({ 'kafka.topic': topic, 'kafka.groupId': groupId, 'kafka.fromBeginning': false });
  const source = new KafkaSource(kafkaClient(cfg.kafka, log), cfg.kafka, log, { allowAutoTopicCreation: false });
  const seen: string[][] = Array.from({ length: partitions }, () => []);
  let error: unknown = null;
  const running = source.run(async (batch) => {
    for (const m of batch.messages) seen[batch.partition]!.push(m.value!.toString());
    await gate;
    return { storedThrough: stores ? batch.messages[batch.messages.length - 1]!.offset : null };
  }, opts);
  running.catch((err: unknown) => (error = err));
  return {
    seen,
    failed: () => error,
    /** The partitions of its latest join; null before it joined. */
    assigned: () => {
      const join = lines.filter((l) => l['msg'] === 'joined consumer group').at(-1);
      return join ? ((join['assignment'] as Record<string, number[]>)[topic] ?? []) : null;
    },
    gone: () => lines.filter((l) => l['offsets_gone'] !== undefined),
    stop: async () => {
      await source.stop();
      await running.catch(() => {});
    },
  };
}

/** Produces `after` to each partition, and waits (20 s at most) until the source was handed all of them. */
async function sendAfter(topic: string, source: ReturnType<typeof start>, partitions: number[]): Promise<void> {
  const producer = admin().producer();
  await producer.connect();
  await producer.send({ topic, messages: partitions.map((partition) => ({ partition, value: 'after' })) });
  await producer.disconnect();
  const until = Date.now() + 20_000;
  while (Date.now() < until && !(source.failed() || partitions.every((p) => source.seen[p]!.includes('after')))) await new Promise((r) => setTimeout(r, 200));
  expect(source.failed()).toBeNull();
}

/** Waits for the source to join the group, then for `after` on each of `partitions` (sendAfter); stops it. */
async function readUntilAfter(topic: string, source: ReturnType<typeof start>, partitions: number[]): Promise<void> {
  try {
    await waitFor('the source to join the group', async () => source.failed() ?? source.assigned());
    await sendAfter(topic, source, partitions);
  } finally {
    await source.stop();
  }
}

const range = (p: number, from: number, to: number) => Array.from({ length: to - from }, (_, i) => `p${p}-${from + i}`);

describe('KafkaSource when records it would read from are gone from the topic (real broker)', () => {
  it('replays from the log start when the model checkpoint is below it, and says how many offsets are gone', async () => {
    const { topic, groupId } = testConfig().kafka;
    await createTopic(topic, 2);
    await fill(topic, 2, 10);
    await moveLogStart(topic, [6, 3]);
    await commit(groupId, topic, [8, 9]);
    // Partition 0's checkpoint (2) is below its log start (6); partition 1's (5) is above its log start (3).
    const from = [2n, 5n];
    const source = start(topic, groupId, 2, { resumeFrom: (_t, p) => from[p] ?? null });
    await readUntilAfter(topic, source, [0, 1]);
    expect(source.seen[0]).toEqual([...range(0, 6, 10), 'after']);
    expect(source.seen[1]).toEqual([...range(1, 5, 10), 'after']);
    expect(source.gone()).toEqual([expect.objectContaining({ level: 40, topic, partition: 0, replay_from: '2', log_start: '6', offsets_gone: 4 })]);
  });

  it('reads from the log start when the committed offset is below it', async () => {
    const { topic, groupId } = testConfig().kafka;
    await createTopic(topic, 1);
    await fill(topic, 1, 10);
    await moveLogStart(topic, [6]);
    await commit(groupId, topic, [2]);
    const source = start(topic, groupId, 1);
    await readUntilAfter(topic, source, [0]);
    expect(source.seen[0]).toEqual([...range(0, 6, 10), 'after']);
    expect(source.gone()).toEqual([expect.objectContaining({ level: 40, topic, partition: 0, committed: '2', log_start: '6', offsets_gone: 4 })]);
  });

  it('reads a partition handed over in a rebalance from the log start when its committed offset is below it, and goes on reading the one it held', async () => {
    const { topic, groupId } = testConfig().kafka;
    await createTopic(topic, 2);
    await fill(topic, 2, 10);
    await commit(groupId, topic, [2, 2]);
    // `other` holds one partition and commits nothing: its committed offset stays 2 while the log start moves to 6.
    // It joins first: the source, joining second, must not read (and commit) the partition `other` keeps.
    const other = start(topic, groupId, 2, {}, false);
    await waitFor('the first member to join', async () => other.failed() ?? other.assigned()?.length === 2);
    const source = start(topic, groupId, 2);
    try {
      await waitFor('the partitions shared', async () => other.failed() ?? source.failed() ?? (other.assigned()?.length === 1 && source.assigned()?.length === 1));
      const [held] = source.assigned()!;
      const [handed] = other.assigned()!;
      await waitFor('the held partition read', async () => source.failed() ?? source.seen[held!]!.includes(`p${held}-9`));
      await moveLogStart(topic, [6, 6]);
      await other.stop();
      await waitFor('the handed-over partition assigned', async () => source.failed() ?? source.assigned()?.length === 2);
      await sendAfter(topic, source, [0, 1]);
      expect(source.seen[held!]).toEqual([...range(held!, 2, 10), 'after']);
      expect(source.seen[handed!]).toEqual([...range(handed!, 6, 10), 'after']);
      expect(source.gone()).toEqual([expect.objectContaining({ level: 40, topic, partition: handed, committed: '2', log_start: '6', offsets_gone: 4 })]);
    } finally {
      await other.stop();
      await source.stop();
    }
  });

  it('with kafka.fromBeginning false, a partition without a committed offset starts at the end of the log', async () => {
    const { topic, groupId } = testConfig().kafka;
    await createTopic(topic, 1);
    await fill(topic, 1, 5);
    const source = start(topic, groupId, 1);
    await readUntilAfter(topic, source, [0]);
    expect(source.seen[0]).toEqual(['after']);
  });

  it('a partition that falls behind retention while it is read goes on from the log start, not the end', async () => {
    const { topic, groupId } = testConfig().kafka;
    await createTopic(topic, 1);
    await fill(topic, 1, 3);
    await commit(groupId, topic, [0]);
    let release!: () => void;
    const source = start(topic, groupId, 1, {}, true, new Promise<void>((r) => (release = r)));
    try {
      // Its first batch (p0-0…2) is being handled while 3…9 are produced and 3…5 deleted: its next fetch, at
      // 3, is out of range. kafkajs resets to its default offset; the end of the log skipped 6…9.
      await waitFor('the first batch', async () => source.failed() ?? source.seen[0]!.length === 3);
      const producer = admin().producer();
      await producer.connect();
      await producer.send({ topic, messages: range(0, 3, 10).map((value) => ({ partition: 0, value })) });
      await producer.disconnect();
      await moveLogStart(topic, [6]);
      release();
      await sendAfter(topic, source, [0]);
    } finally {
      release();
      await source.stop();
    }
    expect(source.seen[0]).toEqual([...range(0, 0, 3), ...range(0, 6, 10), 'after']);
  });
});
