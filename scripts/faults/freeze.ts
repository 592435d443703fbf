// Fault (e): two consumers of one group in ONE process, sharing one chDB store (chDB allows one process
// per data directory). One of them is frozen at a chosen point of its batch for longer than the session
// timeout — it sends no heartbeat, exactly like a process stopped with SIGSTOP — so the group rebalances
// to the other; then it resumes where it was. Configured by RECUR_* like `recur run`; the plan by
// FAULTS_FREEZE_PLAN (JSON list of points), FAULTS_FREEZE_MS; writes a JSON report to FAULTS_FREEZE_OUT.
import { writeFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import pino from 'pino';
import type { ClickHouseClient } from '@clickhouse/client';
import { loadConfig, type Config } from '../../src/config/index.js';
import { migrate, openStore, type Store } from '../../src/store/index.js';
import { KafkaSource, kafkaClient, type BatchHandler, type Source } from '../../src/sources/index.js';
import { runPipeline } from '../../src/pipeline/run.js';
import { createMasker } from '../../src/pipeline/wire.js';
import { createAssigner } from '../../src/pipeline/assigner.js';
import { Metrics } from '../../src/pipeline/metrics.js';

type Point = 'handler_start' | 'before_commit' | `insert:${string}`;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

interface Member {
  name: string;
  joins: number;
  batches: number;
  source: KafkaSource;
  metrics: Metrics;
  done: Promise<unknown>;
}

let armed: { point: Point; fired: string | null; resumedAt: number | null } | null = null;
const freezeMs = Number(process.env['FAULTS_FREEZE_MS'] ?? '10000');

/** Blocks this member's batch (no heartbeats) when the armed point is reached. */
async function gate(member: string, point: Point): Promise<void> {
  if (!armed || armed.fired || armed.point !== point) return;
  armed.fired = member;
  process.stderr.write(`${JSON.stringify({ level: 'info', msg: 'frozen', member, point, ms: freezeMs })}\n`);
  await sleep(freezeMs);
  armed.resumedAt = Date.now();
  process.stderr.write(`${JSON.stringify({ level: 'info', msg: 'resumed', member, point })}\n`);
}

function gatedClient(client: ClickHouseClient, member: string): ClickHouseClient {
  return new Proxy(client, {
    get(target, key) {
      if (key === 'insert') {
        return async (params: { table: string }) => {
          await gate(member, `insert:${params.table}`);
          return target.insert(params as never);
        };
      }
      const v = Reflect.get(target, key) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

function gatedSource(inner: KafkaSource, m: () => Member): Source {
  return {
    name: inner.name,
    stop: () => inner.stop(),
    run: (handler: BatchHandler) =>
      inner.run(async (batch, ctx) => {
        await gate(m().name, 'handler_start');
        const out = await handler(batch, ctx);
        m().batches++;
        await gate(m().name, 'before_commit');
        return out;
      }),
  };
}

function member(name: string, config: Config, store: Store): Member {
  const m = { name, joins: 0, batches: 0 } as Member;
  const log = pino(
    { level: config.log.level, base: { member: name } },
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        if (chunk.includes('"joined consumer group"')) m.joins++;
        process.stderr.write(chunk);
        cb();
      },
    }),
  );
  const cfg: Config = { ...config, cluster: { ...config.cluster, pipeline: `freeze-${name}` } };
  m.source = new KafkaSource(kafkaClient(cfg.kafka, log), cfg.kafka, log);
  m.metrics = new Metrics();
  m.done = (async () => {
    const gatedStore: Store = { ...store, client: gatedClient(store.client, name) };
    const assigner = await createAssigner(cfg, gatedStore.client, log);
    return runPipeline({ config: cfg, log, store: gatedStore, source: gatedSource(m.source, () => m), mask: createMasker(cfg), metrics: m.metrics, assigner });
  })();
  return m;
}

async function waitFor(what: string, fn: () => boolean, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (fn()) return true;
    await sleep(100);
  }
  process.stderr.write(`${JSON.stringify({ level: 'warn', msg: `timed out waiting for ${what}` })}\n`);
  return false;
}

async function main(): Promise<void> {
  const config = loadConfig({ env: process.env });
  const plan = JSON.parse(process.env['FAULTS_FREEZE_PLAN'] ?? '[]') as Point[];
  const store = await openStore(config.clickhouse);
  await migrate(store.client, { dedupWindow: config.clickhouse.dedupWindow });
  const members = [member('a', config, store), member('b', config, store)];
  const report: { point: Point; member: string | null; rejoined: boolean }[] = [];
  await waitFor('both members joined', () => members.every((m) => m.joins > 0), 60_000);
  for (const point of plan) {
    const batches = members.map((m) => m.batches);
    await waitFor('batches after the last freeze', () => members.some((m, i) => m.batches > batches[i]! + 1), 20_000);
    armed = { point, fired: null, resumedAt: null };
    const fired = await waitFor(`freeze point ${point}`, () => armed!.resumedAt !== null, freezeMs + 30_000);
    const who = members.find((m) => m.name === armed!.fired);
    const joinsBefore = who?.joins ?? 0;
    // The frozen member finds out it lost its partitions and joins again.
    const rejoined = fired && who ? await waitFor('rejoin after the freeze', () => who.joins > joinsBefore, 30_000) : false;
    report.push({ point, member: armed.fired, rejoined });
    armed = null;
  }
  await sleep(2_000);
  await Promise.all(members.map((m) => m.source.stop()));
  const results = await Promise.allSettled(members.map((m) => m.done));
  await store.close();
  const out = {
    freezes: report,
    pipelines: results.map((r) => (r.status === 'fulfilled' ? r.value : { error: String(r.reason) })),
    metrics: members.map((m) => m.metrics.snapshot()),
  };
  if (process.env['FAULTS_FREEZE_OUT']) writeFileSync(process.env['FAULTS_FREEZE_OUT'], JSON.stringify(out, null, 2));
  process.exitCode = results.every((r) => r.status === 'fulfilled') ? 0 : 1;
  setTimeout(() => process.exit(), 500).unref();
}

await main();
