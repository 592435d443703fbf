import { sendParts, type MessageProducer } from '../sources/kafka-producer.js';
import { isRetriable, errorMessage } from '../errors.js';
import type { AlertPayload } from './payload.js';
import { SinkError, type AlertSink } from './types.js';

/**
 * Alerts to a Kafka topic keyed by episode_id: every version of one episode lands in one partition, in
 * order, and a compacted topic keeps the latest. Headers let consumers filter without parsing.
 */
export class KafkaAlertSink implements AlertSink {
  readonly name: string;

  constructor(
    private readonly producer: MessageProducer,
    private readonly topic = 'recur.alerts',
  ) {
    this.name = `kafka:${topic}`;
  }

  deliver(p: AlertPayload): Promise<void> {
    return this.deliverBatch([p]);
  }

  /**
   * Many alerts in one produce request, or in a few in order where they exceed the broker's request size
   * (MAX_SEND_BYTES each): a backlog, say a backfill's thousands of episodes, drains in a few round trips
   * instead of one acknowledged send per alert. A failure says how many of the first requests' alerts the
   * broker took, so the queue sends only the rest again (and no older version lands after a newer one).
   */
  async deliverBatch(ps: readonly AlertPayload[]): Promise<void> {
    const messages = ps.map((p) => ({
      key: p.episode_id,
      value: JSON.stringify(p),
      headers: { type: p.type, kind: p.kind, version: String(p.version) },
    }));
    let delivered = 0;
    try {
      for (const part of sendParts(messages)) {
        await this.producer.send(this.topic, part);
        delivered += part.length;
      }
    } catch (err) {
      // The producer already retried; a broker that stays away is still worth another try later.
      throw new SinkError(`kafka alert send to ${this.topic} failed: ${errorMessage(err)}`, { retriable: isRetriable(err), cause: err, delivered });
    }
  }
}
