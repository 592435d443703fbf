import { PipelineError } from '../errors.js';
import type { AlertPayload } from './payload.js';

/**
 * One destination for alerts. `deliver` resolves once the destination acknowledged the payload and
 * throws a PipelineError (code sink_failed, stage sink) whose `retriable` says whether to try again.
 */
export interface AlertSink {
  readonly name: string;
  deliver(p: AlertPayload): Promise<void>;
  /**
   * Several payloads in one request, in the order given, where the destination takes them so (a Kafka
   * produce request). Resolves once it acknowledged all of them; throws as `deliver` does when it did not,
   * with SinkError.delivered saying how many at the head it took, and the queue tries the rest again: as with
   * one payload, a receiver may see one twice and tells them apart by episode_id and version. Without it,
   * payloads go one by one.
   */
  deliverBatch?(ps: readonly AlertPayload[]): Promise<void>;
}

/**
 * A sink failure; `retryAfterMs` carries a server's Retry-After hint (429/503) to the queue, and `delivered` how
 * many payloads at the head of a batch the destination took before the failure (they are not sent again).
 */
export class SinkError extends PipelineError {
  readonly retryAfterMs: number | undefined;
  readonly delivered: number;
  constructor(message: string, opts: { retriable: boolean; cause?: unknown; retryAfterMs?: number; delivered?: number }) {
    super('sink_failed', 'sink', message, opts);
    this.name = 'SinkError';
    this.retryAfterMs = opts.retryAfterMs;
    this.delivered = Math.max(0, Math.floor(opts.delivered ?? 0));
  }
}
