// One error type for infrastructure failures: a bounded code, the stage that failed and whether a retry can help.
// Bad input is never thrown: decoding returns a rejection (see events/decode.ts).

export type Stage = 'config' | 'source' | 'decode' | 'store' | 'sink' | 'pipeline' | 'cli';

export type ErrorCode =
  | 'config_invalid'
  | 'store_unavailable'
  | 'store_locked'
  | 'store_rejected'
  | 'source_unavailable'
  | 'sink_failed'
  | 'shutdown'
  | 'internal';

export class PipelineError extends Error {
  readonly code: ErrorCode;
  readonly stage: Stage;
  readonly retriable: boolean;

  constructor(code: ErrorCode, stage: Stage, message: string, opts: { retriable?: boolean; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'PipelineError';
    this.code = code;
    this.stage = stage;
    this.retriable = opts.retriable ?? false;
  }
}

/** Broker verdicts on a request itself (kafkajs' protocol error types). */
const FINAL_BROKER_ERRORS = new Set([
  'MESSAGE_TOO_LARGE',
  'RECORD_LIST_TOO_LARGE',
  'INVALID_RECORD',
  'CORRUPT_MESSAGE',
  'TOPIC_AUTHORIZATION_FAILED',
  'GROUP_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
  'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
  'INVALID_TOPIC_EXCEPTION',
  'INVALID_TIMESTAMP',
  'POLICY_VIOLATION',
  'UNSUPPORTED_VERSION',
  'INVALID_REQUIRED_ACKS',
]);

/** Programmer errors are never retried (kafkajs' rule), nor a broker's final verdict. */
export function isRetriable(err: unknown): boolean {
  if (err instanceof PipelineError) return err.retriable;
  if (err instanceof TypeError || err instanceof RangeError || err instanceof SyntaxError) return false;
  // A broker's verdict on the request itself: retrying repeats it forever. kafkajs also marks passing ones
  // final (UNKNOWN_SERVER_ERROR, BROKER_NOT_AVAILABLE), so only these are.
  if (err instanceof Error && err.name === 'KafkaJSProtocolError' && FINAL_BROKER_ERRORS.has(String((err as { type?: unknown }).type))) return false;
  return true;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
