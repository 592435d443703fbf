// One scenario's world: its own topic, group, chDB data dir and seeded workload; spawning consumers,
// measuring recovery, the final clean drain, and the audit. Scenarios (scenarios.ts) only inject faults.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Admin, Producer } from 'kafkajs';
import { createTopic, committedSum, Feeder, lag, offsets, sleep, type BrokerHandle } from './kafka.js';
import { audit, type Audit } from './oracle.js';
import { spawnConsumer, spawnNode, terminate, type Child } from './consumer.js';
import { buildWorkload, prng, type Prng } from './workload.js';

export const PARTITIONS = 3;
export const SESSION_MS = 6_000;

export interface Shared {
  broker: BrokerHandle;
  admin: Admin;
  producer: Producer;
  runDir: string;
  seed: number;
  /** chDB in the suite's own process: one store open at a time. */
  storeLock: Mutex;
}

export interface Result {
  scenario: string;
  faults: string;
  runs: number;
  events: number;
  bad: number;
  audit: Audit | null;
  worst_recovery_ms: number | null;
  offsets_at_end: boolean;
  negative_control: boolean;
  notes: string[];
  failures: string[];
  seconds: number;
}

export class Mutex {
  private tail: Promise<void> = Promise.resolve();
  async with<T>(fn: () => Promise<T>): Promise<T> {
    const prev = this.tail;
    let release!: () => void;
    this.tail = new Promise((r) => (release = r));
    await prev;
    try {
      return await fn();
    } finally {
      release();
    }
  }
}

export interface WorkloadSize {
  good: number;
  poisonSets: number;
  /** Sent before the first consumer starts (a backlog). */
  preload: number;
  perSecond: number;
}

export class Scenario {
  readonly topic: string;
  readonly group: string;
  readonly dataDir: string;
  readonly dir: string;
  readonly rand: Prng;
  readonly feeder: Feeder;
  readonly notes: string[] = [];
  readonly failures: string[] = [];
  readonly recoveries: number[] = [];
  runs = 0;
  private spawned = 0;
  private readonly t0 = Date.now();
  private readonly watchers: Promise<void>[] = [];

  constructor(
    readonly sh: Shared,
    readonly name: string,
    readonly faults: string,
    readonly size: WorkloadSize,
    readonly baseEnv: Record<string, string> = {},
  ) {
    const id = `${name}-${sh.seed}-${Date.now().toString(36)}`;
    this.topic = `faults-${id}`;
    this.group = `faults-group-${id}`;
    this.dir = join(sh.runDir, name);
    this.dataDir = join(this.dir, 'chdb');
    mkdirSync(this.dir, { recursive: true });
    const seed = sh.seed * 1000 + hash(name);
    this.rand = prng(seed ^ 0x5eed);
    const items = buildWorkload({ seed, tag: name, good: size.good, partitions: PARTITIONS, poisonSets: size.poisonSets });
    this.feeder = new Feeder(sh.producer, this.topic, items);
  }

  log(msg: string): void {
    process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${this.name}: ${msg}\n`);
  }

  async setup(): Promise<void> {
    await createTopic(this.sh.admin, this.topic, PARTITIONS);
    await this.feeder.send(this.size.preload);
    this.feeder.trickle(this.size.perSecond);
  }

  env(extra: Record<string, string> = {}): Record<string, string> {
    return {
      RECUR_KAFKA_BROKERS: this.sh.broker.brokers.join(','),
      RECUR_KAFKA_TOPIC: this.topic,
      RECUR_KAFKA_GROUP_ID: this.group,
      RECUR_KAFKA_DEAD_LETTER_TOPIC: `${this.topic}.dead-letter`,
      RECUR_KAFKA_SESSION_TIMEOUT_MS: String(SESSION_MS),
      RECUR_CLICKHOUSE_DATA_DIR: this.dataDir,
      RECUR_INGEST_MAX_BATCH_ROWS: '200',
      // Checkpoints as often as the chunk count allows, so kills land between, during and after them.
      RECUR_INGEST_SNAPSHOT_MIN_INTERVAL_MS: '0',
      RECUR_LOG_LEVEL: 'info',
      ...this.baseEnv,
      ...extra,
    };
  }

  /** A consumer; its recovery (spawn → first commit advance, or caught up) is measured in the background. */
  spawn(extra: Record<string, string> = {}): Child {
    const c = spawnConsumer(this.env(extra), join(this.dir, `consumer-${++this.spawned}.log`));
    this.watchers.push(this.watchRecovery(c));
    return c;
  }

  spawnScript(script: string, extra: Record<string, string>): Child {
    const c = spawnNode(['--import', 'tsx', script], this.env(extra), join(this.dir, `child-${++this.spawned}.log`));
    this.watchers.push(this.watchRecovery(c));
    return c;
  }

  async offsets() {
    return offsets(this.sh.admin, this.group, this.topic);
  }

  private async watchRecovery(c: Child): Promise<void> {
    const first = await this.offsets().catch(() => null);
    const before = first ? committedSum(first) : 0n;
    while (!c.exited) {
      await sleep(200);
      const v = await this.offsets().catch(() => null);
      if (!v) continue;
      if (committedSum(v) > before || (c.joinedAt !== null && lag(v) === 0n)) {
        this.recoveries.push(Date.now() - c.startedAt);
        return;
      }
    }
  }

  /** Until every partition's committed offset is its end offset (nothing produced is left). */
  async waitCaughtUp(c: Child | null, timeoutMs: number): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      if (c?.exited) return false;
      if (c && c.joinedAt === null) {
        await sleep(250);
        continue;
      }
      const v = await this.offsets().catch(() => null);
      if (v && lag(v) === 0n && [...v.high.keys()].every((p) => v.committed.get(p) === v.high.get(p))) return true;
      await sleep(250);
    }
    return false;
  }

  /**
   * The end of every scenario: the rest of the workload is sent, one clean consumer drains the topic
   * (lag 0), stops on SIGTERM, and the oracle compares the store with what was produced.
   */
  async finish(r: { negativeControl?: boolean; drainEnv?: Record<string, string> } = {}): Promise<Result> {
    await this.feeder.finish();
    const c = this.spawn(r.drainEnv ?? {});
    const caughtUp = await this.waitCaughtUp(c, 180_000);
    if (!caughtUp) this.failures.push(`final consumer did not reach lag 0 (${c.exited ? `exited ${JSON.stringify(c.exited)}: ${c.errors.slice(-2).join(' | ')}` : 'timeout'})`);
    const t = await terminate(c);
    if (t.exit.code !== 0) this.failures.push(`final consumer exit code ${t.exit.code} signal ${t.exit.signal}`);
    await Promise.all(this.watchers);
    const end = await this.offsets();
    const atEnd = [...end.high].every(([p, h]) => end.committed.get(p) === h);
    if (!atEnd) this.failures.push(`committed offsets short of the end: ${fmtOffsets(end)}`);
    const produced = this.feeder.produced;
    const a = await this.sh.storeLock.with(() => audit(this.dataDir, this.topic, produced));
    const totalHigh = [...end.high.values()].reduce((x, y) => x + y, 0n);
    if (totalHigh !== BigInt(produced.length)) this.failures.push(`topic holds ${totalHigh} messages, the feeder recorded ${produced.length}`);
    if (!r.negativeControl) {
      for (const [k, v] of Object.entries({ lost: a.lost, lost_assignments: a.lost_assignments, duplicated: a.duplicated, drift: a.drift, spurious: a.spurious, dlq_wrong_reason: a.dlq_wrong_reason, hostile_mismatch: a.hostile_mismatch })) {
        if (v !== 0) this.failures.push(`${k} = ${v}${k === 'duplicated' ? ` ${JSON.stringify(a.duplicated_by_table)}` : ''}`);
      }
      if (a.dlq_precision !== 1 || a.dlq_recall !== 1) this.failures.push(`dead-letter precision ${a.dlq_precision} recall ${a.dlq_recall}`);
    } else if (a.duplicated === 0) {
      this.failures.push('negative control found no duplicates: the oracle cannot fail');
    }
    return {
      scenario: this.name,
      faults: this.faults,
      runs: this.runs,
      events: a.expected_good,
      bad: a.expected_bad,
      audit: a,
      worst_recovery_ms: this.recoveries.length ? Math.max(...this.recoveries) : null,
      offsets_at_end: atEnd,
      negative_control: !!r.negativeControl,
      notes: this.notes,
      failures: this.failures,
      seconds: Math.round((Date.now() - this.t0) / 1000),
    };
  }
}

function fmtOffsets(v: { committed: Map<number, bigint>; high: Map<number, bigint> }): string {
  return [...v.high].map(([p, h]) => `p${p} ${v.committed.get(p) ?? '-'}/${h}`).join(', ');
}

function hash(s: string): number {
  let h = 2166136261;
  for (const ch of s) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
  return (h >>> 0) % 1000;
}
