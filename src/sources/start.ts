/**
 * Where a partition starts reading once this process is assigned it, decided before its first fetch. Pure:
 * kafka.ts reads the marks from the broker and seeks.
 *
 * A start below the partition's log start (retention, DeleteRecords) must not reach the broker: it answers
 * OFFSET_OUT_OF_RANGE and kafkajs resets the partition to its default offset, the end of the log with
 * fromBeginning false, skipping every record still in it (kafkajs/src/consumer/consumerGroup.js,
 * recoverFromOffsetOutOfRange; it also commits that reset over the group's offset).
 */

/** What the broker says about a partition when this process joins the group. */
export interface PartitionMarks {
  /** The first offset still in the log. */
  logStart: bigint;
  /** The offset the next record produced will take (the high watermark). */
  logEnd: bigint;
  /** The group's committed offset (the next one to read); null when there is none. */
  committed: bigint | null;
}

export type Start =
  /** No seek: kafkajs starts from the committed offset, or by fromBeginning when there is none. */
  | { seek: null }
  /** Replay from the model checkpoint. */
  | { seek: bigint; from: 'checkpoint' }
  /** No committed offset, and kafka.fromBeginning false: only what is produced from now on. */
  | { seek: bigint; from: 'log_end' }
  /** The checkpoint or the committed offset is below the log start: `gone` offsets of it are deleted. */
  | { seek: bigint; from: 'log_start'; below: 'checkpoint' | 'committed'; gone: bigint };

/**
 * `checkpoint`: where the model checkpoint wants this partition replayed from (null: no replay). `marks`:
 * null when they could not be read; then the checkpoint is sought as it is (the broker decides).
 * `fromBeginning`: kafka.fromBeginning. The consumer itself always subscribes from the beginning, so that a
 * reset after OFFSET_OUT_OF_RANGE while running (a partition fallen behind retention) lands on the log
 * start, not the end; "from the end" for a partition without a committed offset is this seek.
 */
export function startOf(checkpoint: bigint | null, marks: PartitionMarks | null, fromBeginning = true): Start {
  const logStart = marks?.logStart ?? null;
  if (checkpoint !== null) {
    if (logStart !== null && checkpoint < logStart) return { seek: logStart, from: 'log_start', below: 'checkpoint', gone: logStart - checkpoint };
    return { seek: checkpoint, from: 'checkpoint' };
  }
  const committed = marks?.committed ?? null;
  if (logStart !== null && committed !== null && committed < logStart) return { seek: logStart, from: 'log_start', below: 'committed', gone: logStart - committed };
  if (marks && committed === null && !fromBeginning) return { seek: marks.logEnd, from: 'log_end' };
  return { seek: null };
}

/**
 * A committed offset as the broker returns it: -1 is none (kafkajs also commits it for a reset to the end);
 * -2 is kafkajs' own commit of a reset to the earliest offset (the consumer subscribes from the beginning, so
 * a partition that fell behind retention gets it): the log start.
 */
export function committedOffset(offset: string | undefined, logStart: bigint): bigint | null {
  if (offset === undefined || offset === '') return null;
  const n = BigInt(offset);
  if (n === -2n) return logStart;
  return n < 0n ? null : n;
}
