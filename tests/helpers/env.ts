import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import pino from 'pino';
import { afterAll, beforeAll, inject } from 'vitest';
import { loadConfig, type Config } from '../../src/config/index.js';
import type { ClickHouseClient } from '@clickhouse/client';
import { migrate, openStore, type Store } from '../../src/store/index.js';
import { Ingestor, type IngestDeps } from '../../src/pipeline/ingest.js';
import { createMasker } from '../../src/pipeline/wire.js';
import { Metrics } from '../../src/pipeline/metrics.js';

export const silentLog = pino({ level: process.env['TEST_LOG_LEVEL'] ?? 'silent' });

/** An ingestor over a test store, writing chunks of 7 rows (so a 20-message batch is three chunks). */
export function chunkedIngestor(client: ClickHouseClient, config: Config, extra: Partial<IngestDeps> = {}): Ingestor {
  return new Ingestor({
    client,
    mask: createMasker(config),
    maxMessageBytes: config.ingest.maxMessageBytes,
    log: silentLog,
    metrics: new Metrics(),
    now: Date.now,
    chunkRows: 7,
    ...extra,
  });
}

export function brokers(): string[] {
  return inject('kafkaBrokers').split(',');
}

/** Unique names per test, as kafkajs' and clickhouse-js' own suites do. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

export function tempDir(prefix = 'recur-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function testConfig(overrides: Record<string, unknown> = {}): Config {
  return loadConfig({
    env: {},
    overrides: {
      'kafka.brokers': brokers(),
      'kafka.topic': uniqueName('case-events'),
      'kafka.groupId': uniqueName('group'),
      'kafka.deadLetterTopic': uniqueName('dead-letter'),
      'clickhouse.dataDir': tempDir(),
      // With CLICKHOUSE_URL set, the same tests run against a ClickHouse server, one database per test.
      ...(process.env['CLICKHOUSE_URL'] ? { 'clickhouse.url': process.env['CLICKHOUSE_URL'], 'clickhouse.database': uniqueName('recur_test').replace(/-/g, '_') } : {}),
      'kafka.sessionTimeoutMs': 10_000,
      ...overrides,
    },
  });
}

export function admin() {
  return new Kafka({ clientId: 'recur-tests', brokers: brokers(), logLevel: logLevel.NOTHING });
}

export async function createTopic(topic: string, partitions: number): Promise<void> {
  const a = admin().admin();
  await a.connect();
  await a.createTopics({
    topics: [{ topic, numPartitions: partitions, configEntries: [{ name: 'max.message.bytes', value: String(8 * 1024 * 1024) }] }],
    waitForLeaders: true,
  });
  await a.disconnect();
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs = 60_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < until) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

let seq = 0;
export function goodEvent(i: number, extra: Record<string, unknown> = {}) {
  const texts = [
    'My card payment was declined at the shop, email me at jane.doe@example.com',
    'I was charged twice for the same order #A12-3456, please refund',
    'The app crashes when I open the statement page on Android',
    'How do I change my PIN? The manual does not explain it',
    'Transfer to my friend has been pending for three days',
  ];
  return {
    event_id: `ev-${i}-${seq++}`,
    case_id: `case-${Math.floor(i / 2)}`,
    customer_id: `cust-${i % 37}`,
    channel: (['email', 'chat', 'phone', 'social'] as const)[i % 4],
    occurred_at: new Date(Date.UTC(2026, 10, 1, 8) + i * 60_000).toISOString(),
    description: texts[i % texts.length],
    ...extra,
  };
}

/**
 * The store's client with every read query going through `before(call)` first (1-based): a test decides
 * when a real read happens (await something) or that it fails (throw). Inserts and commands go straight through.
 */
export function interceptQueries(client: ClickHouseClient, before: (call: number) => void | Promise<void>): ClickHouseClient {
  let calls = 0;
  return new Proxy(client, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (prop !== 'query') return typeof value === 'function' ? value.bind(target) : value;
      return async (...args: Parameters<typeof target.query>) => {
        await before(++calls);
        return target.query(...args);
      };
    },
  });
}

/**
 * An embedded chDB store for the enclosing describe block, migrated, opened before its tests and closed
 * after them (one data directory per test process). Read `.store` inside tests.
 */
export function embeddedStore(config: Config): { readonly store: Store } {
  const holder: { store: Store } = { store: undefined as unknown as Store };
  beforeAll(async () => {
    holder.store = await openStore(config.clickhouse);
    await migrate(holder.store.client, { dedupWindow: config.clickhouse.dedupWindow });
  });
  afterAll(async () => holder.store?.close());
  return holder;
}
