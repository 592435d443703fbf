import { PipelineError } from '../errors.js';

// kafkajs' errors read by the Kafka source and producer: what a failure means and how to say it.

const TOPIC_NOT_READY = new Set(['UNKNOWN_TOPIC_OR_PARTITION', 'LEADER_NOT_AVAILABLE']);

/** An error and its causes, outermost first (kafkajs wraps what its retries gave up on), at most five. */
function* causeChain(err: unknown): Generator<Error> {
  let e: unknown = err;
  for (let i = 0; i < 5 && e instanceof Error; i++) {
    yield e;
    e = (e as { cause?: unknown }).cause;
  }
}

/** The first kafkajs protocol error in the chain whose type is one of `types`; else null. */
function protocolError(err: unknown, types: ReadonlySet<string>): Error | null {
  for (const e of causeChain(err)) if (types.has(String((e as { type?: unknown }).type))) return e;
  return null;
}

/** Whether kafkajs failed because the topic does not exist yet or has no leader yet (both pass with time). */
export function topicNotReady(err: unknown): boolean {
  return protocolError(err, TOPIC_NOT_READY) !== null;
}

const MEMBERSHIP_LOST = new Set(['UNKNOWN_MEMBER_ID', 'ILLEGAL_GENERATION', 'REBALANCE_IN_PROGRESS', 'FENCED_INSTANCE_ID']);

/** The kafkajs protocol error saying this member no longer owns its partitions, unwrapped; else null. */
export function membershipLost(err: unknown): Error | null {
  return protocolError(err, MEMBERSHIP_LOST);
}

/**
 * Connects, or fails with what an operator can act on: which brokers could not be reached and why (after
 * kafkajs' own retries), or that the credentials were refused, instead of kafkajs' error class and stack.
 */
export async function explainConnect(connect: () => Promise<void>, brokers: readonly string[]): Promise<void> {
  try {
    await connect();
  } catch (err) {
    throw explainKafkaError(err, brokers);
  }
}

/**
 * kafkajs' errors in terms an operator can act on, as a PipelineError: a connection or authentication
 * failure anywhere in the cause chain names the brokers and what to check; any other kafkajs error is what
 * the broker answered (and its cause), without kafkajs' stack. Other errors are returned as they are.
 */
export function explainKafkaError(err: unknown, brokers: readonly string[]): unknown {
  const where = brokers.length ? brokers.join(',') : 'the configured brokers';
  for (const e of causeChain(err)) {
    if (e.name === 'KafkaJSSASLAuthenticationError') return new PipelineError('source_unavailable', 'source', `Kafka at ${where} refused the credentials: ${e.message}`, { cause: err });
    if (e.name === 'KafkaJSConnectionError')
      return new PipelineError('source_unavailable', 'source', `cannot reach Kafka at ${where}: ${e.message} (kafka.brokers, RECUR_KAFKA_BROKERS or --brokers)`, { retriable: true, cause: err });
    if (e.name === 'KafkaJSConnectionClosedError')
      return new PipelineError('source_unavailable', 'source', `Kafka at ${where} closed the connection: ${e.message} (a TLS or SASL setting that does not match the listener's? kafka.ssl, kafka.sasl)`, { retriable: true, cause: err });
    if (e.name === 'KafkaJSRequestTimeoutError')
      return new PipelineError('source_unavailable', 'source', `Kafka at ${where} did not answer in time: ${e.message}`, { retriable: true, cause: err });
  }
  if (err instanceof Error && err.name.startsWith('KafkaJS')) {
    const cause = (err as { cause?: unknown }).cause;
    const why = cause instanceof Error && cause.message !== err.message ? ` (${cause.message})` : '';
    return new PipelineError('source_unavailable', 'source', `kafka: ${err.message}${why}`, { retriable: (err as { retriable?: boolean }).retriable ?? false, cause: err });
  }
  return err;
}
