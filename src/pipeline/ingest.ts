import type { ClickHouseClient } from '@clickhouse/client';
import type { Logger } from 'pino';
import { decodeEvent, type Rejection } from '../events/index.js';
import { PipelineError, isRetriable } from '../errors.js';
import { chTime, insertIdempotent, lastIntent, rangeToken, recordIntent, storedAssignments, storedOffsets, type OffsetRange, type StoredPlacement } from '../store/writer.js';
import { partitionKey, type BatchContext, type BatchOutcome, type SourceBatch, type SourceMessage } from '../sources/types.js';
import { caseEventRow, deadLetterRow, type Located, type Masker } from './rows.js';
import { ExpansionError } from '../text/normalize.js';
import type { Metrics } from './metrics.js';
import { retryUntil } from './retry.js';

export interface Placement {
  clusterId: string;
  similarity: number;
}

/** How far past an event's arrival its time moves the model's clock (Assigner.assign caps it there). */
export const MODEL_MAX_AHEAD_MS = 86_400_000;

/** The clustering stage as the pipeline sees it (adapter over src/cluster). */
export interface Assigner {
  readonly modelVersion: number;
  /**
   * Called with a batch's masked texts, in order, before they are assign()ed (an embedding model works
   * on batches and asynchronously; `heartbeat` keeps the group membership during long batches).
   */
  prepare?(maskedTexts: readonly string[], heartbeat: () => Promise<void>): Promise<void>;
  /** prepare() embeds the texts and holds their vectors until they are placed: batches take the model in turns. */
  readonly embedsFirst?: boolean;
  /**
   * Places an event and learns from it. With `at`, once per offset: an offset the model has learned from
   * before gives its earlier placement while its rows are not stored, null once they are.
   */
  assign(maskedText: string, eventId: string, timeMs: number, at?: Located, arrivedMs?: number): Placement | null;
  /** The last offset of a partition the model has learned from (-1n: none). */
  learnedThrough?(topic: string, partition: number): bigint;
  /** Rows are stored through `lastOffset`: placements kept for re-deliveries up to it can go. */
  forgetStored?(topic: string, partition: number, lastOffset: bigint): void;
  /** Offsets already inside the restored snapshot, per partition (-1n: none). */
  coveredThrough(topic: string, partition: number): bigint;
  noteBatch(topic: string, partition: number, lastOffset: bigint): void;
  /** Records the clusters the model started so far; resolves once they are stored (before rows name them). */
  flushBirths?(): Promise<void>;
  /**
   * Brackets every batch (partitions are handled concurrently): a snapshot taken while another batch has
   * placed events it has not stored yet would hold events its offsets do not cover.
   */
  beginBatch(): void;
  endBatch(): void;
  /** A checkpoint is due: batches should end with everything stored, so one can be taken between them. */
  snapshotDue?(): boolean;
}

export interface ObservedEvent {
  timeMs: number;
  /** When it was ingested (stored as assignments.ingested_at): an event dated far after it is kept out of detection. */
  arrivedMs: number;
  /** Stored before (a replay): seen by the stage already, or by the rebuild; not counted late again. */
  stored?: boolean;
  clusterId: string;
  caseId: string;
  customerId: string;
}

export interface EventObserver {
  observe(e: ObservedEvent): void;
}

export interface DeadLetterPublisher {
  publish(rows: { key: string; value: string; headers: Record<string, string> }[]): Promise<void>;
}

export interface IngestDeps {
  client: ClickHouseClient;
  mask: Masker;
  maxMessageBytes: number;
  log: Logger;
  metrics: Metrics;
  now: () => number;
  assigner?: Assigner;
  /** Sees every stored event (trend buckets, lateness). */
  observer?: EventObserver;
  deadLetters?: DeadLetterPublisher;
  /** Deduplication tokens on inserts; off only for the fault suite's negative control. */
  dedup?: boolean;
  /** Test hook at the store boundary: throw here to simulate ClickHouse failing. */
  beforeInsert?: (table: string) => void;
  /**
   * Rows per write. A larger batch is written as consecutive chunks of this size, each its own intent
   * range, and chunk N+1 is processed while chunk N's writes run (default: the whole batch at once).
   */
  chunkRows?: number;
}

/** A chunk decoded, masked and placed: its rows, ready to write. */
interface Built {
  range: OffsetRange;
  nowMs: number;
  events: object[];
  /** Dead-letter rows to insert (on a replay, those not stored yet). */
  dead: object[];
  /** Every dead letter of the range, for the topic: a replay cannot tell which of them were published. */
  deadAll: object[];
  assignments: object[];
  observed: ObservedEvent[];
  /** The messages' produce times (ms; 0 when the source has none): produce-to-stored latency. */
  stamps: number[];
}

/** Messages processed between two yields to the event loop, so a write in flight is dispatched and acked. */
const YIELD_EVERY = 500;
const yieldToIo = () => new Promise<void>((resolve) => setImmediate(resolve));

interface PartitionState {
  generation: number;
  intent: OffsetRange | null;
  /** Messages of a replayed intent range that arrived split across fetches. */
  pending: SourceMessage[];
  /**
   * The last chunk of a batch that had a backlog behind it, still being written: the next batch's first
   * chunk is processed meanwhile, and reports it stored once acknowledged. Holds the assigner's batch
   * bracket until it settles.
   */
  tail: { writing: Promise<void>; last: bigint } | null;
}

/**
 * One batch: decode → mask → assign → rows, written idempotently, then report how far is stored.
 * Exactly-once counting rests on the intent ledger: each offset range is recorded before its rows,
 * and its rows carry tokens derived from the range, so a replay re-inserts the same range under the
 * same tokens (dropped by ClickHouse) before anything new. See README "Delivery guarantees".
 */
export class Ingestor {
  private readonly partitions = new Map<string, PartitionState>();
  /** Seconds spent in the count stage so far: a wait for a store step leaves them out (waitForStore). */
  private countSeconds = 0;

  constructor(private readonly deps: IngestDeps) {}

  async handle(batch: SourceBatch, ctx: BatchContext): Promise<BatchOutcome> {
    const key = partitionKey(batch.topic, batch.partition);
    let st = this.partitions.get(key);
    // After a rebalance another consumer may have written intents for this partition: read them again.
    if (!st || st.generation !== batch.generation) {
      // A write left in flight under the previous ownership settles before the ledger is read again.
      await st?.tail?.writing.catch(() => {});
      const intent = await this.retry(ctx, 'ingest_ledger', () => lastIntent(this.deps.client, batch.topic, batch.partition));
      st = { generation: batch.generation, intent, pending: [], tail: null };
      this.partitions.set(key, st);
    }
    // Overlap this batch's last write with the next batch only when one is waiting, and not when a
    // checkpoint is due (it needs a moment with nothing placed and unstored).
    const carry = batch.behind === true && !(this.deps.assigner?.snapshotDue?.() ?? false);
    this.deps.assigner?.beginBatch();
    let handedOver = false;
    try {
      const outcome = await this.handleWith(st, batch, ctx, carry);
      handedOver = st.tail !== null; // the tail this batch left ends the bracket when it settles
      return outcome;
    } catch (err) {
      this.partitions.delete(key); // unknown how far this batch got: the ledger is the truth
      throw err;
    } finally {
      if (!handedOver) this.deps.assigner?.endBatch();
    }
  }

  /**
   * Waits for every write left in flight (end of input, or stop), and fails as a batch would if one
   * failed. What it stores is committed by the next run's replay, not here: the source has stopped.
   */
  async settle(): Promise<void> {
    const failures: unknown[] = [];
    for (const st of this.partitions.values()) {
      await this.settleTail(st).catch((err: unknown) => {
        // Abandoned on stop or revocation: its range is in the ledger, and the next owner replays it.
        if (!(err instanceof PipelineError && err.code === 'shutdown')) failures.push(err);
      });
    }
    if (failures.length) throw failures[0];
  }

  private async settleTail(st: PartitionState): Promise<void> {
    const tail = st.tail;
    if (!tail) return;
    st.tail = null;
    await this.waitForStore(tail.writing);
  }

  private async handleWith(st: PartitionState, batch: SourceBatch, ctx: BatchContext, carry: boolean): Promise<BatchOutcome> {
    const lastOffset = batch.messages[batch.messages.length - 1]!.offset;
    // The model snapshot already holds these events, and a snapshot is only taken after its rows were stored.
    const covered = this.deps.assigner?.coveredThrough(batch.topic, batch.partition) ?? -1n;
    let messages = batch.messages.filter((m) => m.offset > covered);
    let stored: bigint | null = null;
    // Only new chunks overlap a write in flight; anything else (a replay, a re-delivery reaching into the
    // write in flight, a batch the checkpoint covers) reports offsets past it, so it settles first.
    const reach = st.tail?.last ?? st.intent?.last ?? null;
    if (messages.length === 0 || (reach !== null && messages[0]!.offset <= reach)) await this.settleTail(st);
    const intent = st.intent;
    // A replay: the batch reaches into the last intent's range, or part of that range is held from the fetch
    // before (the rest of it may be gone from the log, compacted or control records: then this batch starts
    // after it, and what is held is written now, not dropped).
    if (intent && messages.length > 0 && (st.pending.length > 0 || messages[0]!.offset <= intent.last)) {
      // Replay. Below the last intent everything was stored before that intent was written: the model
      // relearns those events (same order, same assignments) but nothing is written again.
      await this.warm(batch, messages.filter((m) => m.offset < intent.first), ctx);
      const inRange = withHeld(st.pending, messages.filter((m) => m.offset >= intent.first && m.offset <= intent.last));
      messages = messages.filter((m) => m.offset > intent.last);
      const reached = inRange.length > 0 && inRange[inRange.length - 1]!.offset >= intent.last;
      if (!reached && messages.length === 0) {
        st.pending = inRange;
        this.deps.metrics.inc('replay_partial_batches');
        return { storedThrough: null };
      }
      st.pending = [];
      if (inRange.length) {
        const { client } = this.deps;
        const previous = await this.retry(ctx, 'assignments', () => storedAssignments(client, intent));
        // The negative control turns every idempotency measure off, this check included.
        const present =
          this.deps.dedup === false
            ? undefined
            : {
                case_events: await this.retry(ctx, 'case_events', () => storedOffsets(client, 'case_events', intent)),
                dead_letters: await this.retry(ctx, 'dead_letters', () => storedOffsets(client, 'dead_letters', intent)),
                assignments: new Set(previous.keys()),
              };
        await this.writeRange(intent, inRange, ctx, previous, present);
      }
      stored = intent.last;
      this.deps.metrics.inc('replayed_ranges');
    }
    if (messages.length === 0) return { storedThrough: stored ?? lastOffset };
    const through = await this.writeChunks(st, batch, messages, ctx, carry && stored === null);
    return { storedThrough: through ?? stored };
  }

  /**
   * New messages, in chunks of `chunkRows`: chunk N+1 is decoded, masked and placed while chunk N's rows
   * are being written, and its intent is recorded only once chunk N is acknowledged, so the ledger's last
   * intent still bounds what may be missing: everything below it is stored. The previous batch's tail,
   * if it left one, is the first write in flight. With `carry` the last chunk's write is left in flight
   * as this batch's tail, and what is acknowledged is reported: through the chunk before it (null if none).
   */
  private async writeChunks(st: PartitionState, batch: SourceBatch, messages: SourceMessage[], ctx: BatchContext, carry: boolean): Promise<bigint | null> {
    const size = Math.max(1, this.deps.chunkRows ?? messages.length);
    let writing: Promise<void> | null = st.tail?.writing ?? null;
    let inFlight: bigint | null = st.tail?.last ?? null;
    let acked: bigint | null = null;
    st.tail = null;
    try {
      for (let i = 0; i < messages.length; i += size) {
        const part = messages.slice(i, i + size);
        const range: OffsetRange = { topic: batch.topic, partition: batch.partition, first: part[0]!.offset, last: part[part.length - 1]!.offset };
        const built = await this.build(range, part, ctx);
        if (writing) {
          await this.waitForStore(writing);
          acked = inFlight;
        }
        writing = this.store(built, ctx, true).then(() => {
          st.intent = range;
        });
        inFlight = range.last;
        // Handled here and awaited below: a write failing while the next chunk is built is not unhandled.
        writing.catch(() => {});
      }
      if (carry) {
        const tail = writing!.finally(() => this.deps.assigner?.endBatch());
        tail.catch(() => {});
        st.tail = { writing: tail, last: inFlight! };
        return acked;
      }
      await this.waitForStore(writing!);
    } catch (err) {
      await writing?.catch(() => {});
      throw err;
    }
    return messages[messages.length - 1]!.offset;
  }

  private async waitForStore(writing: Promise<void>): Promise<void> {
    const t = performance.now();
    const counted = this.countSeconds;
    await writing;
    // The trend counting a store step does once its rows are in is its own stage (count), not waiting.
    const waited = (performance.now() - t) / 1000 - (this.countSeconds - counted);
    this.deps.metrics.observe('stage_seconds', Math.max(0, waited), { stage: 'store_wait' });
  }

  /** Feed already-stored events to the model only, to rebuild its state after a restart. */
  private async warm(batch: SourceBatch, messages: SourceMessage[], ctx: BatchContext): Promise<void> {
    const { assigner, mask, maxMessageBytes } = this.deps;
    if (!assigner || messages.length === 0) return;
    // Events this model has learned from already (the same process, or its checkpoint, saw them) are skipped.
    const learned = assigner.learnedThrough?.(batch.topic, batch.partition) ?? -1n;
    const valid = [];
    for (const m of messages) {
      if (m.offset <= learned) continue;
      const res = decodeEvent(m.value, maxMessageBytes);
      if (!res.ok) continue;
      // As the batch that stored it built it: an event refused because a text of it grows past bounds under
      // normalisation was dead-lettered, not learned (masking it here threw, and every restart failed on it).
      let text: string;
      try {
        text = caseEventRow(res.event, res.extra, { topic: batch.topic, partition: batch.partition, offset: m.offset }, mask, '').maskedDescription;
      } catch (err) {
        if (err instanceof ExpansionError) continue;
        throw err;
      }
      valid.push({ text, id: res.event.event_id, time: Date.parse(res.event.occurred_at), offset: m.offset, appended: m.timestampMs });
    }
    if (valid.length === 0) return;
    // Each event's stored arrival, as a replay passes it: the model's clock is capped a day past it, and this restart's
    // own clock would cap an event dated far ahead later than the run that stored it did, retiring other clusters.
    // Read only when an event may have been capped: its arrival came after the record's timestamp (appended to the
    // log before it was consumed; an hour allowed for a producer's clock ahead), so an event dated within a day of it
    // was not.
    const capped = valid.some((v) => v.time > v.appended + MODEL_MAX_AHEAD_MS - 3_600_000);
    const range = { topic: batch.topic, partition: batch.partition, first: valid[0]!.offset, last: valid[valid.length - 1]!.offset };
    const arrived = capped ? await this.retry(ctx, 'assignments', () => storedAssignments(this.deps.client, range)) : new Map<bigint, StoredPlacement>();
    const release = assigner.embedsFirst ? await this.takeModel() : null;
    try {
      await assigner.prepare?.(valid.map((v) => v.text), () => ctx.heartbeat());
      // Relearned in this delivery order, which need not be the order partitions were consumed in before the
      // restart: an event that started a cluster gives it its recorded id again (cluster_births), and new ones
      // are numbered past every recorded id. One may start elsewhere now, a second cluster of the same problem.
      for (const v of valid) assigner.assign(v.text, v.id, v.time, { topic: batch.topic, partition: batch.partition, offset: v.offset }, arrived.get(v.offset)?.arrivedMs);
    } finally {
      release?.();
    }
    // These events' rows are stored: no re-delivery needs their placements.
    assigner.forgetStored?.(batch.topic, batch.partition, valid[valid.length - 1]!.offset);
    this.deps.metrics.inc('events_rewarmed', {}, valid.length);
  }

  /** Replays: one range, processed and then written (only its missing rows). */
  private async writeRange(
    range: OffsetRange,
    messages: SourceMessage[],
    ctx: BatchContext,
    stored: ReadonlyMap<bigint, StoredPlacement>,
    present?: Record<'case_events' | 'dead_letters' | 'assignments', ReadonlySet<bigint>>,
  ): Promise<void> {
    await this.store(await this.build(range, messages, ctx, stored, present), ctx, false, present);
  }

  /** Decode → mask → assign → rows; yields to the event loop now and then so a write in flight proceeds. */
  private async build(
    range: OffsetRange,
    messages: SourceMessage[],
    ctx: BatchContext,
    stored: ReadonlyMap<bigint, StoredPlacement> = new Map(),
    /** On a replay: the offsets each table already holds; only the missing rows are written. */
    present?: Record<'case_events' | 'dead_letters' | 'assignments', ReadonlySet<bigint>>,
  ): Promise<Built> {
    const { mask, now, metrics, assigner } = this.deps;
    const version = assigner?.modelVersion ?? 0;
    // Processing time without the pauses (the writes in flight run then).
    let busy = 0;
    let t0 = performance.now();
    const nowMs = now();
    const ingestedAt = chTime(nowMs);
    const events: object[] = [];
    const dead: object[] = [];
    const deadAll: object[] = [];
    const assignments: object[] = [];
    const observed: ObservedEvent[] = [];
    const stamps = messages.map((m) => m.timestampMs);
    const valid: { at: Located; row: ReturnType<typeof caseEventRow>['row']; text: string; eventId: string; caseId: string; customerId: string; timeMs: number }[] = [];
    const pause = async () => {
      busy += performance.now() - t0;
      await yieldToIo();
      t0 = performance.now();
    };
    // Stage profile: validate (bytes → checked event), mask (PII masking and the stored row), cluster.
    let validate = 0;
    let masking = 0;
    let since = 0;
    const refuse = (rej: Rejection, m: SourceMessage, at: Located) => {
      const row = deadLetterRow(rej, m.value, at, mask, nowMs);
      deadAll.push(row);
      // Stored (and counted, once stored) once: a replay of a stored one is not another.
      if (!present?.dead_letters.has(m.offset)) dead.push(row);
    };
    for (const m of messages) {
      if (++since % YIELD_EVERY === 0) await pause();
      const at = { topic: range.topic, partition: range.partition, offset: m.offset };
      const ta = performance.now();
      const res = decodeEvent(m.value, this.deps.maxMessageBytes);
      const tb = performance.now();
      validate += tb - ta;
      if (!res.ok) {
        refuse(res, m, at);
        continue;
      }
      let built: ReturnType<typeof caseEventRow>;
      try {
        built = caseEventRow(res.event, res.extra, at, mask, ingestedAt);
      } catch (err) {
        if (!(err instanceof ExpansionError)) throw err;
        // Valid as sent, but it would be stored many times its size: refused, as an oversize message is.
        refuse({ ok: false, code: 'schema_violation', reason: err.message }, m, at);
        continue;
      }
      const { row, maskedDescription } = built;
      masking += performance.now() - tb;
      if (!present?.case_events.has(m.offset)) events.push(row);
      const e = res.event;
      valid.push({ at, row, text: maskedDescription, eventId: e.event_id, caseId: e.case_id, customerId: e.customer_id ?? '', timeMs: Date.parse(e.occurred_at) });
    }
    let clustering = 0;
    // A model that embeds first (prepare) holds one batch's vectors: partitions consumed concurrently take it in
    // turns, from prepare through the last placement (another's prepare during this one's pauses replaced them).
    const release = assigner?.embedsFirst ? await this.takeModel() : null;
    try {
      if (assigner) {
        const tp = performance.now();
        await assigner.prepare?.(valid.map((v) => v.text), () => ctx.heartbeat());
        clustering += performance.now() - tp;
        for (const v of valid) {
          if (++since % YIELD_EVERY === 0) await pause();
          const tc = performance.now();
          // Learned once per offset: a re-delivered event gets the placement the model made of it before.
          const before = stored.get(v.at.offset);
          // Its arrival, the stored one on a replay: the model's clock is capped from it the same either way.
          const placed = assigner.assign(v.text, v.eventId, v.timeMs, v.at, before?.arrivedMs ?? nowMs);
          // Learned and stored before, yet not among the stored rows given: only if its placement was forgotten.
          const a = before ?? placed ?? relearned(assigner, v, metrics);
          clustering += performance.now() - tc;
          if (!present?.assignments.has(v.at.offset)) assignments.push(assignmentRow(v.row, a.clusterId, a.similarity, version));
          // A stored row keeps the arrival it was stored with, so detection judges it as the restart's rebuild will.
          observed.push({ timeMs: v.timeMs, arrivedMs: before?.arrivedMs ?? nowMs, clusterId: a.clusterId, caseId: v.caseId, customerId: v.customerId, stored: before !== undefined });
        }
      }
    } finally {
      release?.();
    }
    busy += performance.now() - t0;
    metrics.observe('stage_seconds', busy / 1000, { stage: 'process' });
    metrics.observe('stage_seconds', validate / 1000, { stage: 'validate' });
    metrics.observe('stage_seconds', masking / 1000, { stage: 'mask' });
    metrics.observe('stage_seconds', clustering / 1000, { stage: 'cluster' });
    return { range, nowMs, events, dead, deadAll, assignments, observed, stamps };
  }

  /** Ledger row (fresh ranges), then the rows, then what follows a stored range (model, trends, DLQ topic). */
  private async store(
    built: Built,
    ctx: BatchContext,
    fresh: boolean,
    present?: Record<'case_events' | 'dead_letters' | 'assignments', ReadonlySet<bigint>>,
  ): Promise<void> {
    const { client, metrics, assigner } = this.deps;
    const { range, nowMs, events, dead, deadAll, assignments, observed, stamps } = built;
    const version = assigner?.modelVersion ?? 0;
    const t1 = performance.now();
    await this.ensureOwned(ctx, 'ingest_ledger');
    if (fresh) await this.retry(ctx, 'ingest_ledger', () => recordIntent(client, range, version, nowMs));
    const insert = async (table: string, rows: object[], token: string | null) => {
      await this.ensureOwned(ctx, table);
      await this.retry(ctx, table, async () => {
        this.deps.beforeInsert?.(table);
        await insertIdempotent(client, table, rows, token);
      });
    };
    const write = async (table: 'case_events' | 'dead_letters' | 'assignments', rows: object[]) => {
      if (rows.length === 0) return;
      const token = this.deps.dedup === false ? null : rangeToken(range, table, version);
      await insert(table, rows, token);
      if (!present || token === null) return;
      // A replay re-sends the missing rows under the range's own token first (so a stale owner's late
      // insert of the same range is still dropped), then checks: rows still missing mean the token was
      // spent on a part that never landed, and they go again under a token of this attempt's own.
      const now = await this.retry(ctx, table, () => storedOffsets(client, table, range));
      const missing = rows.filter((r) => !now.has(BigInt((r as { source_offset: string }).source_offset)));
      if (missing.length === 0) return;
      this.deps.metrics.inc('spent_tokens_repaired', { table }, missing.length);
      await insert(table, missing, `${token}/repair/${nowMs}`);
    };
    // The clusters these rows name are recorded before the rows: a restart reserves their numbers.
    if (assigner?.flushBirths) await this.retry(ctx, 'cluster_births', () => assigner.flushBirths!());
    // The ledger row is written first; the data tables are independent of each other (each carries its own
    // token), so they are inserted concurrently. Counts are a projection inside the assignments' parts.
    await Promise.all([write('case_events', events), write('dead_letters', dead), write('assignments', assignments)]);
    // The ledger, births and inserts of the chunk, acknowledged (wall time: it overlaps building the next chunk).
    metrics.observe('stage_seconds', (performance.now() - t1) / 1000, { stage: 'insert' });
    // Produce (message timestamp) to stored: the latency users feel. File input has no timestamps; a replay's
    // rows were stored (and measured) by the run it repeats.
    const storedAt = Date.now();
    if (fresh) for (const ts of stamps) if (ts > 0) metrics.histogram('produce_to_stored_seconds', Math.max(0, storedAt - ts) / 1000);
    assigner?.noteBatch(range.topic, range.partition, range.last);
    if (this.deps.observer) {
      const tc = performance.now();
      for (const e of observed) this.deps.observer.observe(e);
      const took = (performance.now() - tc) / 1000;
      this.countSeconds += took;
      metrics.observe('stage_seconds', took, { stage: 'count' });
    }
    // The topic is at-least-once: a replay publishes every dead letter of its range again (keyed
    // topic:partition:offset), as it cannot know whether the run it repeats published them before it stopped.
    if (deadAll.length && this.deps.deadLetters) {
      const out = (deadAll as ReturnType<typeof deadLetterRow>[]).map((d) => ({
        key: `${d.source_topic}:${d.source_partition}:${d.source_offset}`,
        value: JSON.stringify(d),
        headers: { reason_code: d.reason_code, source_topic: d.source_topic, source_offset: d.source_offset },
      }));
      await this.retry(ctx, 'dead_letter_topic', () => this.deps.deadLetters!.publish(out));
    }
    metrics.observe('stage_seconds', (performance.now() - t1) / 1000, { stage: 'store' });
    metrics.inc('events_stored', {}, events.length);
    // Counted when stored, as events are: a stop before the write leaves them to the run that stores them.
    for (const d of dead as { reason_code: string }[]) metrics.inc('events_dead_lettered', { reason: d.reason_code });
    metrics.inc('batches', {});
  }

  /**
   * A handler whose partition was revoked (frozen past the session timeout, kafkajs#1046) stops before
   * its next write: the new owner replays the range from the ledger.
   */
  private async ensureOwned(ctx: BatchContext, what: string): Promise<void> {
    // A heartbeat (sent at most once per heartbeat interval) is how a member that was frozen learns it
    // was revoked; without it the stale check below cannot see a rebalance. Broker errors are not ours.
    await ctx.heartbeat().catch(() => {});
    this.abandonIfStale(ctx, what);
  }

  private abandonIfStale(ctx: BatchContext, what: string): void {
    if (ctx.isStale()) {
      this.deps.metrics.inc('batches_abandoned');
      throw abandoned(ctx, `partition revoked or stopping before writing ${what}; batch abandoned`);
    }
  }

  private modelTurn: Promise<void> = Promise.resolve();

  /** Waits for the model's turn; the function returned gives it back. */
  private async takeModel(): Promise<() => void> {
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const before = this.modelTurn;
    this.modelTurn = before.then(() => mine);
    await before;
    return release;
  }

  /** When each write now being retried first failed: /healthz looks at the oldest (a partition stuck while others store). */
  private readonly retrying = new Map<object, number>();

  private noteRetrying(): void {
    let oldest = 0;
    for (const t of this.retrying.values()) if (oldest === 0 || t < oldest) oldest = t;
    this.deps.metrics.set('store_retrying_since_ms', oldest);
  }

  /** Back-pressure: while the store is down the batch waits here, so nothing is fetched or committed. */
  private async retry<T>(ctx: BatchContext, what: string, fn: () => Promise<T>): Promise<T> {
    const loop = {};
    try {
      return await retryUntil(fn, {
        isRetriable,
        shouldStop: () => ctx.isStale(),
        onRetry: async (err, attempt, delayMs) => {
          this.deps.metrics.inc('store_retries', { target: what });
          if (!this.retrying.has(loop)) {
            this.retrying.set(loop, this.deps.now());
            this.noteRetrying();
          }
          this.deps.log.warn({ target: what, attempt, delay_ms: delayMs, err: (err as Error).message }, 'write failed, retrying');
          await ctx.heartbeat().catch(() => {});
        },
        stopError: () => abandoned(ctx, `stopped while retrying ${what}`),
      });
    } finally {
      if (this.retrying.delete(loop)) this.noteRetrying();
    }
  }
}

function relearned(assigner: Assigner, v: { text: string; eventId: string; timeMs: number }, metrics: Metrics): Placement {
  metrics.inc('events_relearned');
  return assigner.assign(v.text, v.eventId, v.timeMs)!;
}

/** A write given up because the partition was lost or the source is stopping; the broker's word on the loss, if any, is its cause. */
function abandoned(ctx: BatchContext, message: string): PipelineError {
  return new PipelineError('shutdown', 'pipeline', message, { cause: ctx.lost?.() ?? undefined });
}

function assignmentRow(ev: Record<string, unknown>, clusterId: string, similarity: number, version: number) {
  return {
    event_id: ev['event_id'],
    case_id: ev['case_id'],
    customer_id: ev['customer_id'],
    channel: ev['channel'],
    occurred_at: ev['occurred_at'],
    cluster_id: clusterId,
    similarity: Math.round(similarity * 1e4) / 1e4,
    model_version: version,
    cost: ev['cost'],
    handle_seconds: ev['handle_seconds'],
    csat: ev['csat'],
    nps: ev['nps'],
    effort: ev['effort'],
    product: ev['product'],
    category: ev['category'],
    source_topic: ev['source_topic'],
    source_partition: ev['source_partition'],
    source_offset: ev['source_offset'],
    ingested_at: ev['ingested_at'],
  };
}

/** The held part of a replayed range with a fetch's part of it, in offset order, each offset once (a re-delivery repeats some). */
function withHeld(held: readonly SourceMessage[], fetched: readonly SourceMessage[]): SourceMessage[] {
  if (held.length === 0) return [...fetched];
  const seen = new Set(held.map((m) => m.offset));
  return [...held, ...fetched.filter((m) => !seen.has(m.offset))].sort((a, b) => (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0));
}
