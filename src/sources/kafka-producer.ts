import { Partitioners, type Kafka, type Producer } from 'kafkajs';
import { explainConnect } from './kafka-errors.js';

// The producer of the topics recur writes (dead letters, alerts), behind our interface as the consumer is.

export interface MessageProducer {
  send(topic: string, messages: { key?: string; value: string | Buffer; headers?: Record<string, string> }[]): Promise<void>;
  close(): Promise<void>;
}

export async function createProducer(kafka: Kafka, brokers: readonly string[] = []): Promise<MessageProducer> {
  // The partitioner is named (kafkajs' default since 2.0: murmur2, as the Java client) so kafkajs does not
  // warn about its change of default on every start.
  const producer: Producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: true, createPartitioner: Partitioners.DefaultPartitioner });
  await explainConnect(() => producer.connect(), brokers);
  return {
    async send(topic, messages) {
      // kafkajs sends a partition's messages as one record batch, and the broker refuses one over its
      // message.max.bytes (1 MB by default) for good: a chunk's dead letters (up to 64 KiB each) go in parts.
      for (const part of sendParts(messages)) await producer.send({ topic, acks: -1, messages: part });
    },
    close: () => producer.disconnect(),
  };
}

/** Bytes per send, under the broker's default message.max.bytes with room for the batch's own framing. */
export const MAX_SEND_BYTES = 900 * 1024;

type Outgoing = { key?: string; value: string | Buffer; headers?: Record<string, string> };

/** Messages in order, in parts of at most MAX_SEND_BYTES (a larger message alone in its part). */
export function sendParts<T extends Outgoing>(messages: readonly T[]): T[][] {
  const parts: T[][] = [];
  let part: T[] = [];
  let bytes = 0;
  for (const m of messages) {
    let size = Buffer.byteLength(m.value) + (m.key ? Buffer.byteLength(m.key) : 0) + 64;
    for (const [k, v] of Object.entries(m.headers ?? {})) size += Buffer.byteLength(k) + Buffer.byteLength(v);
    if (part.length > 0 && bytes + size > MAX_SEND_BYTES) {
      parts.push(part);
      [part, bytes] = [[], 0];
    }
    part.push(m);
    bytes += size;
  }
  if (part.length > 0) parts.push(part);
  return parts;
}
