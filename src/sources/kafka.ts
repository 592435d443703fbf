import { readFileSync } from 'node:fs';
import { Kafka, logLevel, type Admin, type Consumer, type KafkaConfig, type LogEntry, type SASLOptions } from 'kafkajs';
import type { Logger } from 'pino';
import { readSecret, type Config } from '../config/index.js';
import { errorMessage } from '../errors.js';
import { explainConnect, explainKafkaError, membershipLost, topicNotReady } from './kafka-errors.js';
import { committedOffset, startOf, type PartitionMarks, type Start } from './start.js';
import { partitionKey, type BatchHandler, type RunOptions, type Source, type SourceBatch } from './types.js';

/**
 * kafkajs stays behind this file, kafka-producer.ts and kafka-errors.ts (it is unmaintained since 2023,
 * tulios/kafkajs#1603): the rest of recur sees `Source` and `MessageProducer` only.
 */

/**
 * The level recur logs a kafkajs message at. Two of kafkajs' own are lowered:
 * - every error answer from a broker ("Response Metadata …: This server does not host this
 *   topic-partition", "The group is rebalancing", "The coordinator is loading") is an ERROR line in kafkajs
 *   even when it is an expected, retried step of a rebalance or of a topic being created; recur logs it as a
 *   warning, and what does fail in the end reaches recur as an error and is reported as one;
 * - kafkajs warns on every start that bounded retries weaken an idempotent producer's exactly-once
 *   delivery. recur claims at-least-once for the topics it produces to (dead letters, alerts: a replay can
 *   re-publish; keys and alert versions identify duplicates: README, 'Delivery guarantees'): debug.
 */
export function kafkaLogLevel(level: logLevel, namespace: string, message: string): 'error' | 'warn' | 'debug' {
  if (message === 'Limiting retries for the idempotent producer may invalidate EoS guarantees') return 'debug';
  if (level === logLevel.ERROR) return namespace === 'Connection' && message.startsWith('Response ') ? 'warn' : 'error';
  return level === logLevel.WARN ? 'warn' : 'debug';
}

export function kafkaClient(cfg: Config['kafka'], log: Logger): Kafka {
  const conf: KafkaConfig = {
    clientId: cfg.clientId,
    brokers: cfg.brokers,
    logLevel: logLevel.WARN,
    logCreator: () => (entry: LogEntry) => {
      const { message, ...rest } = entry.log;
      log[kafkaLogLevel(entry.level, entry.namespace, message)]({ kafka_namespace: entry.namespace, broker: rest['broker'], error: rest['error'] }, `kafka: ${message}`);
    },
    retry: { initialRetryTime: 300, retries: 8 },
  };
  if (cfg.ssl.enabled) {
    // Certificate verification stays on: rejectUnauthorized is never disabled.
    conf.ssl = {
      rejectUnauthorized: true,
      ...(cfg.ssl.caFile ? { ca: [readFileSync(cfg.ssl.caFile, 'utf8')] } : {}),
      ...(cfg.ssl.certFile ? { cert: readFileSync(cfg.ssl.certFile, 'utf8') } : {}),
      ...(cfg.ssl.keyFile ? { key: readFileSync(cfg.ssl.keyFile, 'utf8') } : {}),
    };
  }
  if (cfg.sasl) {
    conf.sasl = {
      mechanism: cfg.sasl.mechanism,
      username: cfg.sasl.username,
      password: readSecret(cfg.sasl.password, cfg.sasl.passwordFile) ?? '',
    } as SASLOptions;
  }
  return new Kafka(conf);
}

export class KafkaSource implements Source {
  readonly name: string;
  private readonly consumer: Consumer;
  /** Reads log starts and committed offsets on joining the group; connected on first use. */
  private readonly admin: Admin;
  private adminConnected: Promise<void> | null = null;
  /** run() has ended: a positioning still retrying gives up (and does not connect the admin client again). */
  private ended = false;
  private running = false;
  private stopping = false;
  private fatal: unknown = null;
  private generation = 0;

  constructor(
    kafka: Kafka,
    private readonly cfg: Config['kafka'],
    private readonly log: Logger,
    /** allowAutoTopicCreation false: never ask the broker to create the topic, only wait for it. */
    opts: { allowAutoTopicCreation?: boolean } = {},
  ) {
    this.name = `kafka:${cfg.topic}`;
    this.consumer = kafka.consumer({
      allowAutoTopicCreation: opts.allowAutoTopicCreation ?? true,
      groupId: cfg.groupId,
      sessionTimeout: cfg.sessionTimeoutMs,
      heartbeatInterval: Math.max(1000, Math.floor(cfg.sessionTimeoutMs / 10)),
      maxBytesPerPartition: cfg.fetchMaxBytesPerPartition,
      maxBytes: Math.max(10 * 1024 * 1024, 2 * cfg.fetchMaxBytesPerPartition),
      // How long a fetch waits for data, and how long kafkajs sleeps when all its partitions are paused
      // (while a join positions them: position()) and stop() waits for the fetch in flight. kafkajs' 5 s
      // default held every start that long; the Java client's fetch.max.wait.ms is 500 ms. A backlog is
      // fetched at once either way; an idle consumer asks once a second.
      maxWaitTimeInMs: 1000,
      retry: { retries: 10 },
    });
    // Few retries: the partitions wait for it, and without it they start as they did before (position()).
    this.admin = kafka.admin({ retry: { retries: 2 } });
  }

  async run(handler: BatchHandler, opts: RunOptions = {}): Promise<void> {
    const resumed = new Set<string>();
    if (this.stopping) return;
    await explainConnect(() => this.consumer.connect(), this.cfg.brokers);
    let subscribed = false;
    try {
      subscribed = await this.subscribeOnceTheTopicIsThere();
    } finally {
      if (!subscribed) await this.consumer.disconnect().catch(() => {});
    }
    if (!subscribed) return;
    // stop() while subscribing: it found nothing running to disconnect.
    if (this.stopping) {
      await this.consumer.disconnect().catch(() => {});
      return;
    }
    this.running = true;
    const crashed = new Promise<void>((_, reject) => {
      this.consumer.on(this.consumer.events.CRASH, (e) => {
        if (!e.payload.restart) reject(e.payload.error);
        // Stopping: the restart kafkajs is about to schedule must not rejoin the group behind our back.
        else if (this.stopping) setImmediate(() => void this.consumer.stop().catch(() => {}));
        else this.log.warn({ err: errorMessage(e.payload.error) }, 'kafka consumer crashed; kafkajs restarts it');
      });
    });
    this.consumer.on(this.consumer.events.GROUP_JOIN, (e) => {
      this.generation++;
      this.log.info({ member_id: e.payload.memberId, assignment: e.payload.memberAssignment, generation: this.generation }, 'joined consumer group');
      // A partition new to this process replays from the model checkpoint (computed now, as the group is
      // joined; marked done once sought: a rejoin meanwhile computes it again). The others go on as they were.
      const fresh: Fresh[] = [];
      for (const [topic, partitions] of Object.entries(e.payload.memberAssignment)) {
        for (const partition of partitions) {
          if (!resumed.has(partitionKey(topic, partition))) fresh.push({ topic, partition, checkpoint: opts.resumeFrom?.(topic, partition) ?? null });
        }
      }
      if (fresh.length === 0) {
        // What a positioning this join superseded left paused.
        this.consumer.resume(Object.keys(e.payload.memberAssignment).map((topic) => ({ topic })));
        return;
      }
      // Held until their start is known: a first fetch below the log start loses records (position()). Only
      // these: the partitions this process holds already go on. kafkajs fetches nothing for a paused
      // partition and keeps heartbeating; recur pauses nothing else.
      const held = [...new Set(fresh.map((f) => f.topic))].map((topic) => ({ topic, partitions: fresh.filter((f) => f.topic === topic).map((f) => f.partition) }));
      this.consumer.pause(held);
      void this.position(fresh, held, resumed, this.generation);
    });
    // kafkajs' own crash handling disconnects (emitting STOP) before it emits CRASH and, unless the error is
    // final, starts the consumer again (kafkajs/src/consumer/index.js, onCrash): only our stop() ends the run.
    // A STOP taken as the end made a crash after joining the group finish `recur run` with exit code 0.
    const stopped = new Promise<void>((resolve) => {
      // stop() resolves it too: called while kafkajs waits to restart after a crash, it finds no runner
      // and kafkajs emits no STOP (the restart is cancelled).
      this.stoppedRun = resolve;
      this.consumer.on(this.consumer.events.STOP, () => {
        if (this.stopping) resolve();
      });
    });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.cfg.partitionsConcurrently,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        if (!isRunning() || isStale() || this.stopping) return;
        const sb: SourceBatch = {
          generation: this.generation,
          topic: batch.topic,
          partition: batch.partition,
          // offsetLag: messages between this batch's last one and the partition's high watermark.
          behind: BigInt(batch.offsetLag()) > 0n,
          messages: batch.messages.map((m) => ({
            offset: BigInt(m.offset),
            key: m.key,
            value: m.value,
            timestampMs: Number(m.timestamp),
          })),
        };
        if (sb.messages.length === 0) return;
        // kafkajs' isStale() only reports seeks, not revocation: a member frozen past the session timeout
        // learns it lost its partitions from its next heartbeat. The handler heartbeats before each write.
        let revoked: Error | null = null;
        const ownedHeartbeat = async () => {
          try {
            await heartbeat();
          } catch (err) {
            revoked ??= membershipLost(err);
            throw err;
          }
        };
        // The handler may leave its last write running after this batch returns (a backlog behind it): that
        // write checks ownership with this context, so a rejoin since (a new generation) makes it stale too.
        const generation = this.generation;
        const stale = () => revoked !== null || !isRunning() || isStale() || this.stopping || this.generation !== generation;
        let outcome;
        try {
          outcome = await handler(sb, { isStale: stale, heartbeat: ownedHeartbeat, lost: () => revoked });
        } catch (err) {
          if (revoked) throw revoked; // kafkajs rejoins the group; the new owner replays from the ledger
          if (stale()) return; // revoked mid-batch: abandoned, the new owner replays it
          // A write an earlier batch of this partition left running was abandoned when its heartbeat found the
          // membership lost: rejoin as well (nothing of this batch is committed), and the ledger replays it.
          const lost = membershipLost(err);
          if (lost) throw lost;
          // Fatal for this process: nothing of this batch is resolved or committed; stop the consumer
          // outside the batch (disconnecting inside it would wait for itself) and let run() reject.
          if (!this.stopping) {
            this.fatal = err;
            setImmediate(() => void this.stop().catch(() => {}));
          }
          return;
        }
        // A handler that lost its partition mid-batch must not commit: the new owner replays from the
        // committed offset (guards against kafkajs#1046-style stale commits). The broker also rejects
        // commits from an old generation.
        if (revoked) throw revoked;
        if (stale()) return;
        // kafkajs keeps one resolved offset per partition, overwritten by each call: the batch's last is the
        // one that counts (each call parses the offset as a Long: Long.fromString was 0.9% of a bench profile per message).
        resolveOffset(batch.messages[batch.messages.length - 1]!.offset);
        if (outcome.storedThrough !== null) {
          try {
            await this.consumer.commitOffsets([
              { topic: batch.topic, partition: batch.partition, offset: (outcome.storedThrough + 1n).toString() },
            ]);
          } catch (err) {
            // The broker refused a commit from a member it no longer knows (frozen past the session
            // timeout). kafkajs wraps that protocol error as non-retriable and would crash the consumer;
            // rethrown unwrapped, its runner rejoins the group instead (UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION).
            throw membershipLost(err) ?? err;
          }
        }
        await heartbeat();
      },
    });
    this.log.info({ topic: this.cfg.topic, group_id: this.cfg.groupId }, 'consumer running');
    // consumer.run returns once the loop started; stay here until stop() or a fatal crash.
    // What ends the consumer is said in the broker's words, without kafkajs' stack (explainKafkaError).
    try {
      await Promise.race([crashed, stopped]).catch((err: unknown) => {
        throw explainKafkaError(err, this.cfg.brokers);
      });
    } finally {
      this.ended = true;
      const connected = this.adminConnected;
      this.adminConnected = null;
      if (connected) await connected.then(() => this.admin.disconnect()).catch(() => {});
    }
    if (this.fatal) throw explainKafkaError(this.fatal, this.cfg.brokers);
  }

  private stoppedRun: (() => void) | null = null;

  /**
   * Seeks partitions new to this process where they start (startOf: the checkpoint, or the log start when
   * that or the committed offset is below it, with a warning saying how many offsets are gone), then
   * resumes them. One read of the log starts and committed offsets per such join; without them (failed:
   * logged), the checkpoints are sought as they are — unless kafka.fromBeginning is false: a partition
   * without a committed offset starts at the log end, so the read is retried while they wait (heartbeating).
   * A newer join meanwhile supersedes this one.
   */
  private async position(fresh: Fresh[], paused: { topic: string; partitions: number[] }[], resumed: Set<string>, generation: number): Promise<void> {
    let marks: Map<string, PartitionMarks> | null = null;
    for (let attempt = 0; ; attempt++) {
      if (this.stopping || this.ended) return; // run() is closing the admin client
      marks = await this.readMarks([...new Set(fresh.map((f) => f.topic))]).catch((err: unknown) => {
        if (!this.stopping && !this.ended) {
          this.log.warn(
            { err: errorMessage(err), attempt },
            this.cfg.fromBeginning ? 'cannot read the log start offsets: partitions start without checking them' : 'cannot read the log offsets: the new partitions wait and it is tried again',
          );
        }
        return null;
      });
      if (marks !== null || this.cfg.fromBeginning || this.generation !== generation) break;
      await new Promise((r) => setTimeout(r, Math.min(10_000, 500 * 2 ** Math.min(attempt, 5))));
    }
    if (this.generation !== generation || this.stopping || this.ended) return;
    try {
      for (const { topic, partition, checkpoint } of fresh) {
        const key = partitionKey(topic, partition);
        const mark = marks?.get(key) ?? null;
        const start = startOf(checkpoint, mark, this.cfg.fromBeginning);
        if (start.seek !== null) this.consumer.seek({ topic, partition, offset: start.seek.toString() });
        resumed.add(key);
        this.logStart(topic, partition, start, checkpoint, mark);
      }
    } catch (err) {
      // kafkajs has no consumer group (it crashed and restarts): its next join positions them anew.
      this.log.warn({ err: errorMessage(err) }, 'cannot position the assigned partitions');
    } finally {
      try {
        this.consumer.resume(paused);
      } catch {
        // As above: no consumer group to resume, and the one kafkajs starts next pauses nothing.
      }
    }
  }

  private logStart(topic: string, partition: number, start: Start, checkpoint: bigint | null, mark: PartitionMarks | null): void {
    if (start.seek === null) return;
    if (start.from === 'checkpoint') {
      this.log.info({ topic, partition, offset: start.seek.toString() }, 'replaying from the model checkpoint');
      return;
    }
    if (start.from === 'log_end') {
      this.log.info({ topic, partition, offset: start.seek.toString() }, 'no committed offset: reading what is produced from now on (kafka.fromBeginning false)');
      return;
    }
    const at = { topic, partition, log_start: start.seek.toString(), offsets_gone: Number(start.gone), committed: mark?.committed?.toString() ?? null };
    if (start.below === 'checkpoint') {
      this.log.warn({ ...at, replay_from: checkpoint?.toString() }, 'part of the replay range is gone from the topic (retention or DeleteRecords): the model cannot relearn it; replaying from the log start');
    } else {
      this.log.warn(at, 'offsets after the committed one are gone from the topic (retention or DeleteRecords) before they were stored; reading from the log start');
    }
  }

  /** Each partition's log start and the group's committed offset, by partitionKey. */
  private async readMarks(topics: string[]): Promise<Map<string, PartitionMarks>> {
    this.adminConnected ??= this.admin.connect().catch((err: unknown) => {
      this.adminConnected = null;
      throw err;
    });
    await this.adminConnected;
    const [watermarks, commits] = await Promise.all([
      Promise.all(topics.map(async (topic) => ({ topic, offsets: await this.admin.fetchTopicOffsets(topic) }))),
      this.admin.fetchOffsets({ groupId: this.cfg.groupId, topics }),
    ]);
    const committed = new Map<string, string>();
    for (const { topic, partitions } of commits) for (const p of partitions) committed.set(partitionKey(topic, p.partition), p.offset);
    const marks = new Map<string, PartitionMarks>();
    for (const { topic, offsets } of watermarks) {
      for (const o of offsets) {
        const key = partitionKey(topic, o.partition);
        marks.set(key, { logStart: BigInt(o.low), logEnd: BigInt(o.high), committed: committedOffset(committed.get(key), BigInt(o.low)) });
      }
    }
    return marks;
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (this.running) await this.consumer.disconnect();
    this.stoppedRun?.();
  }

  /**
   * Subscribes, waiting while the topic does not exist yet or has no leader (a fresh broker creates it on
   * this first request when auto.create.topics.enable is on, and answers "does not host this
   * topic-partition" meanwhile). Says what it is waiting for after 2 s, then at most every 10 s. False when
   * stopped meanwhile (checked between attempts: one attempt includes kafkajs' own metadata retries).
   */
  private async subscribeOnceTheTopicIsThere(): Promise<boolean> {
    const started = Date.now();
    let said = 0;
    for (let attempt = 0; ; attempt++) {
      if (this.stopping) return false;
      try {
        // Always from the beginning: kafkajs also resets to this default when a running partition falls behind
        // retention (OFFSET_OUT_OF_RANGE), and the end would skip what is still in the log. kafka.fromBeginning
        // false is position()'s seek to the log end for a partition without a committed offset.
        await this.consumer.subscribe({ topic: this.cfg.topic, fromBeginning: true });
        if (said > 0) this.log.info({ topic: this.cfg.topic }, 'topic is there: subscribed');
        return true;
      } catch (err) {
        if (!topicNotReady(err)) throw explainKafkaError(err, this.cfg.brokers);
        const waited = Date.now() - started;
        if (waited >= 2_000 && waited >= said * 10_000) {
          said++;
          this.log.warn(
            { topic: this.cfg.topic, brokers: this.cfg.brokers, waited_s: Math.round(waited / 1000) },
            'waiting for the topic to exist (create it, or let the broker create it: auto.create.topics.enable)',
          );
        }
        await new Promise((r) => setTimeout(r, Math.min(5_000, 250 * 2 ** Math.min(attempt, 5))));
      }
    }
  }
}

/** A partition this process is assigned for the first time, and where the model checkpoint replays it from. */
type Fresh = { topic: string; partition: number; checkpoint: bigint | null };

