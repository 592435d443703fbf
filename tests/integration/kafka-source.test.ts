import { describe, expect, it } from 'vitest';
import { KafkaSource, kafkaClient } from '../../src/sources/index.js';
import { admin, silentLog, testConfig, waitFor } from '../helpers/env.js';

// The first `recur run` against a fresh broker meets a topic that does not exist yet: the broker creates it
// on the consumer's first request and answers "This server does not host this topic-partition" meanwhile.
// The consumer waits for it instead of ending with kafkajs' error, and reads what is produced afterwards.
describe('KafkaSource on a topic that does not exist yet (real broker)', () => {
  it('waits for the topic, then consumes what is produced to it', async () => {
    const cfg = testConfig();
    const source = new KafkaSource(kafkaClient(cfg.kafka, silentLog), cfg.kafka, silentLog);
    const seen: string[] = [];
    const running = source.run(async (batch) => {
      for (const m of batch.messages) seen.push(m.value!.toString());
      return { storedThrough: batch.messages[batch.messages.length - 1]!.offset };
    });
    let failed: unknown = null;
    running.catch((err: unknown) => (failed = err));
    const producer = admin().producer();
    await producer.connect();
    try {
      // Produce only once the topic exists (the consumer's subscription asked the broker to create it).
      const a = admin().admin();
      await a.connect();
      await waitFor('the topic to be created', async () => failed ?? (await a.listTopics()).includes(cfg.kafka.topic));
      await a.disconnect();
      expect(failed).toBeNull();
      await producer.send({ topic: cfg.kafka.topic, messages: ['one', 'two', 'three'].map((value) => ({ value })) });
      await waitFor('three messages consumed', async () => failed ?? seen.length >= 3);
      expect(failed).toBeNull();
      expect(seen).toEqual(['one', 'two', 'three']);
    } finally {
      await producer.disconnect();
      await source.stop();
      await running.catch(() => {});
    }
  });

  it('stops cleanly while it is still waiting for the topic', async () => {
    // The shared broker creates topics on request, so the wait cannot be made to last here: stop at once.
    // run() must return without error and without subscribing.
    const cfg = testConfig();
    const source = new KafkaSource(kafkaClient(cfg.kafka, silentLog), cfg.kafka, silentLog);
    const running = source.run(async () => ({ storedThrough: null }));
    await source.stop();
    await expect(running).resolves.toBeUndefined();
  });
});
