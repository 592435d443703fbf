import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '@clickhouse/client';
import { createChdbConnection } from 'chdb/connection';
import { openStore, migrate, type Store } from '../../src/store/index.js';
import { windowedTables } from '../../src/store/migrate.js';
import { insertIdempotent } from '../../src/store/writer.js';
import { select } from '../../src/store/select.js';
import { tempDir } from '../helpers/env.js';

// Rows go to ClickHouse as TabSeparated text: whatever a description holds must come back unchanged.
describe('insertIdempotent writes hostile text exactly (embedded chDB)', () => {
  let store: Store;
  const nasty = [
    'tab\there, newline\nthere, carriage\rreturn',
    'backslash \\ and \\N and \\t literally, trailing \\',
    "quote ' double \" backtick ` ); DROP TABLE case_events; --",
    'NUL \u0000 inside, bidi \u202e override, emoji 😀, CJK 漢字, combining é',
    '\\N',
    '',
    '[1,2]\t{"json": "yes"}',
  ];

  beforeAll(async () => {
    store = await openStore({ dataDir: tempDir() } as never);
    await migrate(store.client, { dedupWindow: 100 });
  });

  afterAll(async () => store?.close());

  it('takes a changed clickhouse.dedupWindow on every table that deduplicates, at the next start', async () => {
    const windows = async () =>
      select<{ name: string; w: string }>(
        store.client,
        "SELECT name, extract(engine_full, 'non_replicated_deduplication_window = (\\d+)') AS w FROM system.tables WHERE database = currentDatabase() AND w != '' ORDER BY name",
      );
    const before = await windows();
    expect(before.map((t) => t.name)).toEqual(expect.arrayContaining(['assignments', 'case_events', 'clusters', 'trend_alerts']));
    expect(new Set(before.map((t) => t.w))).toEqual(new Set(['100']));
    expect(windowedTables()).toEqual(expect.arrayContaining(before.map((t) => t.name)));
    // Raised to outlast a longer replay: the migrations wrote it only when they created the tables.
    await migrate(store.client, { dedupWindow: 5000, setDedupWindow: true });
    expect(await windows()).toEqual(before.map((t) => ({ ...t, w: '5000' })));
    // A reader's start (recur clusters with a config of its own) leaves it; another application's table too.
    await store.client.command({ query: 'CREATE TABLE other_app_events (x UInt8) ENGINE = MergeTree ORDER BY x SETTINGS non_replicated_deduplication_window = 7' });
    await migrate(store.client, { dedupWindow: 100 });
    expect(await windows()).toEqual([...before.map((t) => ({ ...t, w: '5000' })), { name: 'other_app_events', w: '7' }].sort((a, b) => (a.name < b.name ? -1 : 1)));
    await migrate(store.client, { dedupWindow: 100, setDedupWindow: true });
    expect(await windows()).toEqual([...before, { name: 'other_app_events', w: '7' }].sort((a, b) => (a.name < b.name ? -1 : 1)));
    await store.client.command({ query: 'DROP TABLE other_app_events' });
  });

  it('stores strings, arrays, nulls and numbers as given', async () => {
    const rows = nasty.map((text, i) => ({
      event_id: `e${i}`,
      case_id: text,
      customer_id: '',
      channel: 'chat',
      event_type: 'message',
      occurred_at: new Date(Date.UTC(2026, 10, 1, i)).toISOString(),
      description: text,
      subject: text.slice(0, 5),
      product: '',
      category: '',
      tags: [text, "it's", 'a\\b', ''],
      language: '',
      csat: i % 2 ? null : 4.5,
      nps: i % 3 ? null : -3,
      effort: null,
      handle_seconds: 12.25,
      cost: i % 2 ? 1e-7 : null,
      extra: JSON.stringify({ note: text }),
      pii_masked: i,
      source_topic: 'writer-test',
      source_partition: 0,
      source_offset: String(i),
      ingested_at: new Date(Date.UTC(2026, 10, 2)).toISOString(),
    }));
    await insertIdempotent(store.client, 'case_events', rows, 'writer-test');
    const back = await select<Record<string, unknown>>(
      store.client,
      `SELECT event_id, case_id, description, subject, tags, csat, nps, effort, handle_seconds, cost, extra, pii_masked
       FROM case_events WHERE source_topic = 'writer-test' ORDER BY source_offset`,
      {},
    );
    expect(back.length).toBe(rows.length);
    back.forEach((b, i) => {
      const r = rows[i]!;
      expect(b['description']).toBe(r.description);
      expect(b['case_id']).toBe(r.case_id);
      expect(b['subject']).toBe(r.subject);
      expect(b['tags']).toEqual(r.tags);
      expect(b['extra']).toBe(r.extra);
      expect(b['csat']).toBe(r.csat);
      expect(b['nps']).toBe(r.nps);
      expect(b['effort']).toBeNull();
      expect(b['handle_seconds']).toBe(12.25);
      expect(b['cost']).toBe(r.cost);
      expect(b['pii_masked']).toBe(i);
    });
  });

  it('stores one insert spanning more months than ClickHouse allows partitions per block by default (100)', async () => {
    // A backfill batch with ten years of history: 120 months, one event in each.
    const rows = Array.from({ length: 120 }, (_, i) => ({
      event_id: `m${i}`,
      case_id: `m${i}`,
      channel: 'chat',
      occurred_at: new Date(Date.UTC(2010, i, 15)).toISOString(),
      description: 'old case',
      source_topic: 'months-test',
      source_partition: 0,
      source_offset: String(i),
    }));
    await insertIdempotent(store.client, 'case_events', rows, 'months-test');
    const [n] = await select<{ n: number }>(store.client, "SELECT count() AS n FROM case_events WHERE source_topic = 'months-test'");
    expect(Number(n!.n)).toBe(120);
  });
});

// A ClickHouse server takes inserts through @clickhouse/client's insert(), not chDB's raw insert: the same
// code path is taken here by a client over a chDB connection with no raw insert registered.
describe('insertIdempotent through the general insert path (as on a ClickHouse server)', () => {
  it('stores one insert as one block: a replay of its last rows under the same token adds nothing', async () => {
    const connection = createChdbConnection({ path: tempDir() });
    const client = createClient({ connection: connection as never });
    try {
      await client.command({ query: 'CREATE TABLE t (source_offset Int64, description String) ENGINE = MergeTree ORDER BY source_offset SETTINGS non_replicated_deduplication_window = 100' });
      const rows = Array.from({ length: 40_000 }, (_, i) => ({ source_offset: String(i), description: 'x'.repeat(600) }));
      await insertIdempotent(client, 't', rows, 'topic/0/0-39999');
      const q = async (sql: string) => Number((await (await client.query({ query: sql, format: 'TabSeparated' })).text()).trim());
      // Parallel parsing made three blocks of it, each deduplicated under a token of its own.
      expect(await q("SELECT count() FROM system.parts WHERE database = currentDatabase() AND table = 't' AND active")).toBe(1);
      await insertIdempotent(client, 't', rows.slice(39_900), 'topic/0/0-39999');
      expect(await q('SELECT count() FROM t')).toBe(40_000);
    } finally {
      await client.close();
    }
  });
});
