// The fault suite's side of Kafka: the local broker (start once, kill -9, restart), topics, a recording
// producer that trickles a workload, and the committed-offset / end-offset view the oracle needs.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Kafka, logLevel, type Admin, type Producer } from 'kafkajs';
import type { WorkItem } from './workload.js';

const run = promisify(execFile);

export interface BrokerHandle {
  brokers: string[];
  /** The suite knows the broker's state dir: it may kill -9 and restart it. */
  owned: boolean;
  /** The suite started it, so it stops it at the end. */
  startedHere: boolean;
  stateDir: string;
  env: NodeJS.ProcessEnv;
}

export async function kafkaLocal(cmd: 'start' | 'stop' | 'status', b: Pick<BrokerHandle, 'env'>): Promise<string> {
  const { stdout, stderr } = await run('bash', ['scripts/kafka-local.sh', cmd], { env: b.env, timeout: 180_000 });
  return `${stdout}${stderr}`;
}

export async function ensureBroker(port: number, stateDir: string): Promise<BrokerHandle> {
  if (process.env['KAFKA_BROKERS']) {
    return { brokers: process.env['KAFKA_BROKERS'].split(','), owned: false, startedHere: false, stateDir: '', env: process.env };
  }
  const env = { ...process.env, KAFKA_PORT: String(port), RECUR_KAFKA_HOME: stateDir };
  const h: BrokerHandle = { brokers: [`127.0.0.1:${port}`], owned: true, startedHere: false, stateDir, env };
  const status = await kafkaLocal('status', h).catch(() => 'stopped');
  if (!/^running/.test(status)) {
    await kafkaLocal('start', h);
    h.startedHere = true;
  }
  return h;
}

/** kill -9 of the broker's JVM (pid from its state dir), as a crash, not a shutdown. */
export function killBroker(b: BrokerHandle): number {
  const pid = Number(readFileSync(join(b.stateDir, 'kafka.pid'), 'utf8').trim());
  process.kill(pid, 'SIGKILL');
  return pid;
}

export function kafka(b: BrokerHandle): Kafka {
  return new Kafka({ clientId: 'recur-faults', brokers: b.brokers, logLevel: logLevel.NOTHING, retry: { retries: 12, initialRetryTime: 300 } });
}

export async function createTopic(admin: Admin, topic: string, partitions: number): Promise<void> {
  // kafkajs' wait for the new topic's leaders can itself run out of retries on a loaded machine ("This server does not
  // host this topic-partition": crash-windows and freeze threw it at their start once, with the machine under load);
  // the topic is made by then, and the wait below decides.
  await admin
    .createTopics({
      topics: [{ topic, numPartitions: partitions, configEntries: [{ name: 'max.message.bytes', value: String(8 * 1024 * 1024) }] }],
      waitForLeaders: true,
    })
    .catch((err: unknown) => {
      if (!/does not host this topic-partition/.test(String((err as Error).message))) throw err;
    });
  // On a loaded machine the first produce can still meet "This server does not host this topic-partition"
  // (seen once): wait until the metadata lists a leader for every partition.
  const until = Date.now() + 30_000;
  for (;;) {
    const meta = await admin.fetchTopicMetadata({ topics: [topic] }).catch(() => null);
    const parts = meta?.topics[0]?.partitions ?? [];
    if (parts.length === partitions && parts.every((p) => p.leader >= 0)) return;
    if (Date.now() > until) throw new Error(`topic ${topic}: no leader for every partition after 30 s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * A send the broker refused because it does not host the partition yet (a new topic's leadership still
 * propagating on a loaded machine, seen after kafkajs' own retries ran out) wrote nothing: try again, for
 * up to 30 s. Any other error is the scenario's.
 */
async function sendWhenHosted<T>(send: () => Promise<T>): Promise<T> {
  const until = Date.now() + 30_000;
  for (;;) {
    try {
      return await send();
    } catch (err) {
      if (!/does not host this topic-partition/.test(String((err as Error).message)) || Date.now() > until) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

export interface Produced extends WorkItem {
  offset: string;
}

/**
 * Sends a workload in order and records where each message landed: one send per partition chunk,
 * so offsets are baseOffset + index. `trickle` spreads the rest over time, so a consumer sees many
 * small batches (as in production) instead of one 4 MiB fetch per partition.
 */
export class Feeder {
  readonly produced: Produced[] = [];
  private next = 0;
  private paused = false;
  private stopped = false;
  private loop: Promise<void> | null = null;
  private inFlight: Promise<void> = Promise.resolve();

  constructor(
    private readonly producer: Producer,
    private readonly topic: string,
    private readonly items: WorkItem[],
  ) {}

  get remaining(): number {
    return this.items.length - this.next;
  }

  async send(count: number): Promise<void> {
    const chunk = this.items.slice(this.next, this.next + count);
    this.next += chunk.length;
    const byPartition = new Map<number, WorkItem[]>();
    for (const it of chunk) byPartition.set(it.partition, [...(byPartition.get(it.partition) ?? []), it]);
    for (const [partition, its] of byPartition) {
      const [meta] = await sendWhenHosted(() =>
        this.producer.send({
          topic: this.topic,
          acks: -1,
          messages: its.map((it) => ({ partition, value: it.value })),
        }),
      );
      const base = BigInt(meta!.baseOffset!);
      its.forEach((it, i) => this.produced.push({ ...it, offset: (base + BigInt(i)).toString() }));
    }
  }

  /** `perSecond` messages a second in 100 ms steps until the workload ends or stop(). */
  trickle(perSecond: number): void {
    const step = Math.max(1, Math.round(perSecond / 10));
    this.loop = (async () => {
      while (!this.stopped && this.remaining > 0) {
        if (!this.paused) {
          this.inFlight = this.send(step);
          await this.inFlight;
        }
        await sleep(100);
      }
    })();
  }

  /** Resolves once no send is in flight: a broker crash must not leave a message of unknown offset. */
  async pause(): Promise<void> {
    this.paused = true;
    await this.inFlight;
  }
  resume(): void {
    this.paused = false;
  }

  /** Stops trickling and sends whatever is left. */
  async finish(): Promise<void> {
    this.stopped = true;
    await this.loop;
    while (this.remaining > 0) await this.send(500);
  }
}

export interface OffsetView {
  committed: Map<number, bigint>;
  high: Map<number, bigint>;
}

export async function offsets(admin: Admin, groupId: string, topic: string): Promise<OffsetView> {
  const [c] = await admin.fetchOffsets({ groupId, topics: [topic] });
  const ends = await admin.fetchTopicOffsets(topic);
  return {
    committed: new Map((c?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)])),
    high: new Map(ends.map((e) => [e.partition, BigInt(e.high)])),
  };
}

export function lag(v: OffsetView): bigint {
  let n = 0n;
  for (const [p, h] of v.high) {
    const c = v.committed.get(p) ?? -1n;
    n += c < 0n ? h : h - c;
  }
  return n;
}

export function committedSum(v: OffsetView): bigint {
  let n = 0n;
  for (const c of v.committed.values()) if (c > 0n) n += c;
  return n;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
