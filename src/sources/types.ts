export interface SourceMessage {
  offset: bigint;
  key: Buffer | null;
  value: Buffer | null;
  timestampMs: number;
}

export interface SourceBatch {
  topic: string;
  partition: number;
  messages: SourceMessage[];
  /** Bumped on every consumer-group rebalance: per-partition state from an older one must be reloaded. */
  generation: number;
  /**
   * More messages of this partition are already waiting (a backlog): the handler may leave this batch's
   * last write in flight, report only what is acknowledged, and report the rest with the next batch.
   * Unset or false when caught up, so a live stream's last rows are committed as soon as they are stored.
   */
  behind?: boolean;
}

export interface BatchContext {
  /** True once the partition was revoked or the source is stopping: do not commit, do not block. */
  isStale(): boolean;
  /** Keep group membership alive during long work (retries under back-pressure). */
  heartbeat(): Promise<void>;
  /** Why the partition was lost, when the broker said so (its membership error); carried as the cause of an abandoned write. */
  lost?(): unknown;
}

export interface BatchOutcome {
  /** The highest offset whose rows are stored; the source commits offset+1. null: commit nothing. */
  storedThrough: bigint | null;
}

export type BatchHandler = (batch: SourceBatch, ctx: BatchContext) => Promise<BatchOutcome>;

export interface RunOptions {
  /**
   * Where to start reading a partition the first time this process is assigned it, when the model
   * checkpoint covers less than the committed offset: replaying from the checkpoint rebuilds the model.
   * A Kafka source raises it to the partition's log start when it is below (those records are gone).
   */
  resumeFrom?(topic: string, partition: number): bigint | null;
}

/** Where events come from: a Kafka consumer group, a file or stdin. One interface, one pipeline. */
export interface Source {
  readonly name: string;
  /** Resolves when the input is exhausted (file, stdin) or after stop(). */
  run(handler: BatchHandler, opts?: RunOptions): Promise<void>;
  stop(): Promise<void>;
}

/** A topic-partition as one string ("topic\u0000partition"): the key of per-partition maps, and of the model checkpoint's. */
export function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}
