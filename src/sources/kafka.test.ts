import { KafkaJSConnectionError, KafkaJSNonRetriableError, KafkaJSProtocolError, KafkaJSSASLAuthenticationError, logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { isRetriable, PipelineError } from '../errors.js';
import { kafkaLogLevel } from './kafka.js';
import { explainKafkaError } from './kafka-errors.js';
import { MAX_SEND_BYTES, sendParts } from './kafka-producer.js';

// What an operator reads when the brokers cannot be reached: kafkajs' own error classes, as its connect()
// throws them after its retries (a non-retriable error wrapping the connection error). Its type declarations
// omit the constructor arguments the library itself passes, hence the casts.
describe('explainKafkaError', () => {
  it('names the brokers and the cause of a refused connection, and where the brokers are configured', () => {
    const cause = new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:1', { broker: '127.0.0.1:1' });
    // As kafkajs' retrier rejects once its retries are spent (src/retry/index.js): the cause under `cause`.
    const spent = new (KafkaJSNonRetriableError as unknown as new (e: Error, o: { cause: Error }) => Error)(cause, { cause });
    const out = explainKafkaError(spent, ['127.0.0.1:1']);
    expect(out).toBeInstanceOf(PipelineError);
    expect((out as PipelineError).code).toBe('source_unavailable');
    expect((out as PipelineError).message).toBe(
      'cannot reach Kafka at 127.0.0.1:1: Connection error: connect ECONNREFUSED 127.0.0.1:1 (kafka.brokers, RECUR_KAFKA_BROKERS or --brokers)',
    );
  });

  it('says the credentials were refused, without echoing them', () => {
    const refused = new (KafkaJSSASLAuthenticationError as unknown as new (m: string) => Error)('SASL SCRAM SHA512 authentication failed: invalid credentials');
    const out = explainKafkaError(refused, ['b:9093']);
    expect((out as PipelineError).message).toBe('Kafka at b:9093 refused the credentials: SASL SCRAM SHA512 authentication failed: invalid credentials');
  });

  it('gives any other kafkajs error as what the broker answered, without its stack', () => {
    const out = explainKafkaError(new KafkaJSProtocolError('Topic authorization failed'), ['b:9092']);
    expect(out).toBeInstanceOf(PipelineError);
    expect((out as PipelineError).message).toBe('kafka: Topic authorization failed');
  });

  it('leaves other errors as they are', () => {
    const other = new TypeError('boom');
    expect(explainKafkaError(other, ['b:1'])).toBe(other);
  });
});

describe('kafkaLogLevel', () => {
  it("logs a broker's error answer as a warning, a connection failure as an error", () => {
    // As kafkajs logs them (src/network/connection.js): the first during a topic's creation or a rebalance.
    expect(kafkaLogLevel(logLevel.ERROR, 'Connection', 'Response Metadata(key: 3, version: 6)')).toBe('warn');
    expect(kafkaLogLevel(logLevel.ERROR, 'Connection', 'Connection error: connect ECONNREFUSED 127.0.0.1:1')).toBe('error');
    expect(kafkaLogLevel(logLevel.ERROR, 'Runner', 'Crash: KafkaJSNumberOfRetriesExceeded')).toBe('error');
    expect(kafkaLogLevel(logLevel.WARN, 'Runner', 'The group is rebalancing, re-joining')).toBe('warn');
    expect(kafkaLogLevel(logLevel.WARN, 'Producer', 'Limiting retries for the idempotent producer may invalidate EoS guarantees')).toBe('debug');
    expect(kafkaLogLevel(logLevel.INFO, 'Consumer', 'Starting')).toBe('debug');
  });
});

describe('sendParts', () => {
  it('keeps order and puts at most MAX_SEND_BYTES in a part (a larger message alone)', () => {
    const big = (i: number) => ({ key: `k${i}`, value: 'x'.repeat(100 * 1024), headers: { reason_code: 'oversize' } });
    const msgs = Array.from({ length: 20 }, (_, i) => big(i));
    const parts = sendParts(msgs);
    expect(parts.flat()).toEqual(msgs);
    expect(parts.length).toBeGreaterThan(2);
    for (const p of parts) expect(p.reduce((n, m) => n + m.value.length, 0)).toBeLessThanOrEqual(MAX_SEND_BYTES);
    const huge = { value: 'y'.repeat(2 * MAX_SEND_BYTES) };
    expect(sendParts([{ value: 'a' }, huge, { value: 'b' }])).toEqual([[{ value: 'a' }], [huge], [{ value: 'b' }]]);
    expect(sendParts([])).toEqual([]);
  });
});

describe('isRetriable for kafkajs errors', () => {
  it('does not retry a broker verdict kafkajs marks final, and retries the rest', () => {
    // As kafkajs builds them from a broker's error code (kafkajs/src/protocol/error.js).
    const protocolError = (e: { message: string; type: string; code: number; retriable: boolean }) => new KafkaJSProtocolError(e as unknown as Error);
    expect(isRetriable(protocolError({ message: 'The request included a message larger than the max message size the server will accept', type: 'MESSAGE_TOO_LARGE', code: 10, retriable: false }))).toBe(false);
    expect(isRetriable(protocolError({ message: 'leader moved', type: 'NOT_LEADER_FOR_PARTITION', code: 6, retriable: true }))).toBe(true);
    // Marked final by kafkajs, yet they pass: retried.
    expect(isRetriable(protocolError({ message: 'unknown server error', type: 'UNKNOWN_SERVER_ERROR', code: -1, retriable: false }))).toBe(true);
    expect(isRetriable(protocolError({ message: 'broker not available', type: 'BROKER_NOT_AVAILABLE', code: 8, retriable: false }))).toBe(true);
    expect(isRetriable(new KafkaJSConnectionError('Connection error: ECONNREFUSED'))).toBe(true);
  });
});
