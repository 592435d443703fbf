import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { affectedCustomers, clusterCosts, migrate, openStore, topClusters, type Store } from '../../src/store/index.js';
import { clusterRoute, ownerTotals, type ClusterCostRow } from '../../src/store/cost.js';
import { ownersConfigSchema } from '../../src/owners/index.js';
import { splitStatements } from '../../src/store/migrate.js';
import { insertIdempotent } from '../../src/store/writer.js';
import { select } from '../../src/store/select.js';
import { CHANNELS } from '../../src/events/schema.js';
import { tempDir } from '../helpers/env.js';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 10, 2, 9);

/** Assignments rows: cluster, hour offset, case, customer, channel. */
function rows(spec: [string, number, string, string, string][], from = 0) {
  return spec.map(([cluster, hour, kase, customer, channel], i) => ({
    event_id: `e${from + i}`,
    case_id: kase,
    customer_id: customer,
    channel,
    occurred_at: new Date(T0 + hour * HOUR + i * 1000).toISOString(),
    cluster_id: cluster,
    similarity: 1,
    model_version: 1,
    cost: null,
    handle_seconds: null,
    csat: null,
    nps: null,
    effort: null,
    product: '',
    category: '',
    source_topic: 'counts-test',
    source_partition: 0,
    source_offset: String(from + i),
  }));
}

const SPEC: [string, number, string, string, string][] = [
  ['k1', 0, 'c1', 'u1', 'web'],
  ['k1', 0, 'c1', 'u1', 'phone'], // the same case on a second channel: one case, two channels
  ['k1', 0, 'c2', '', 'other'],
  ['k1', 1, 'c3', 'u3', 'email'],
  ['k2', 0, 'c4', 'u4', 'social'],
  ['k2', 0, 'c5', 'u4', 'chat'],
  ['k2', 0, 'c6', 'u5', 'chat'],
];

type Bucket = { cluster_id: string; bucket: string; contacts: number; cases: number; customers: number; channels: string[] };

/** What v_cluster_trends must say, recounted from the assignments themselves. */
async function recount(store: Store): Promise<Bucket[]> {
  const got = await select<Bucket>(
    store.client,
    `SELECT cluster_id, toString(toStartOfHour(occurred_at)) AS bucket, count() AS contacts, uniqExact(case_id) AS cases,
            uniqExactIf(customer_id, customer_id != '') AS customers, groupUniqArray(toString(channel)) AS channels
     FROM assignments GROUP BY cluster_id, bucket ORDER BY cluster_id, bucket`,
    {},
  );
  // In CHANNELS order, as the view gives them.
  return got.map((b) => ({ ...b, channels: CHANNELS.filter((c) => b.channels.includes(c)) }));
}

async function trends(store: Store): Promise<Bucket[]> {
  return select<Bucket>(
    store.client,
    'SELECT cluster_id, toString(bucket) AS bucket, contacts, cases, customers, channels FROM v_cluster_trends ORDER BY cluster_id, bucket',
    {},
  );
}

/** What a query's plan reads: each `ReadFromMergeTree (table or projection)`. */
async function reads(store: Store, sql: string): Promise<string[]> {
  const plan = await select<{ explain: string }>(store.client, `EXPLAIN ${sql}`, {});
  return plan.flatMap((r) => /ReadFromMergeTree \([^)]*\)/.exec(r.explain) ?? []);
}

/**
 * Where a read of every column of cluster_counts comes from. Per cluster: ClickHouse reads a projection only when
 * it reads fewer granules than the table, and most cluster-hours here hold one event.
 */
async function readFrom(store: Store, channels = 'groupBitOrMerge(channel_bits)'): Promise<string> {
  const sql = `SELECT cluster_id, sum(contacts), uniqExactMerge(cases), uniqExactMerge(customers), ${channels}, sum(cost), sum(handle_seconds),
                      sum(csat_sum), sum(csat_n), sum(nps_promoters), sum(nps_detractors), sum(nps_n), sum(effort_sum), sum(effort_n)
               FROM cluster_counts GROUP BY cluster_id`;
  return (await reads(store, sql)).join('\n');
}

/** Migration 013 builds the projection of the rows already stored in the background: until then the parts read their rows. */
async function built(store: Store): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const [pending] = await select<{ n: number }>(store.client, `SELECT count() AS n FROM system.mutations WHERE table = 'assignments' AND NOT is_done`, {});
    if (Number(pending!.n) === 0) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the projection was not built in 30 s');
}

describe('rolling counts: the bucket_counts projection (embedded chDB)', () => {
  let store: Store;

  beforeAll(async () => {
    store = await openStore({ dataDir: tempDir() } as never);
    await migrate(store.client, { dedupWindow: 100 });
  });

  afterAll(async () => store?.close());

  it("gives each bucket's contacts, distinct cases and customers, and channels in CHANNELS order, as a recount of the assignments", async () => {
    await insertIdempotent(store.client, 'assignments', rows(SPEC), null);
    const got = await trends(store);
    expect(got).toEqual(await recount(store));
    expect(got.find((b) => b.cluster_id === 'k1' && b.bucket.endsWith('09:00:00'))).toMatchObject({ contacts: 3, cases: 2, customers: 1, channels: ['phone', 'web', 'other'] });
  });

  it('answers cluster_counts and the analyst views over it from the projection stored in the parts (the same expressions as the view)', async () => {
    expect(await readFrom(store)).toBe('ReadFromMergeTree (bucket_counts)');
    for (const view of ['v_cluster_trends', 'v_cluster_daily', 'v_cluster_weekly', 'v_top_clusters']) {
      expect(await reads(store, `SELECT * FROM ${view}`), view).toContain('ReadFromMergeTree (bucket_counts)');
    }
  });

  it('a store counted by the old projection (groupUniqArray channels) migrates to it with the same counts, and so does a migration run again', async () => {
    // Back to the store 006 made: its projection and views, and 013 not yet applied.
    const statements = (file: string) => splitStatements(readFileSync(new URL(`../../schemas/clickhouse/${file}`, import.meta.url), 'utf8'));
    await store.client.command({ query: 'ALTER TABLE assignments DROP PROJECTION bucket_counts SETTINGS mutations_sync = 2' });
    await store.client.command({ query: 'DROP VIEW cluster_counts' });
    await store.client.command({ query: 'DROP VIEW v_cluster_trends' });
    for (const statement of statements('006_counts_from_assignments.sql')) await store.client.command({ query: statement });
    for (const statement of statements('003_counts.sql').filter((s) => s.includes('VIEW IF NOT EXISTS v_cluster_trends'))) await store.client.command({ query: statement });
    await store.client.command({ query: `DELETE FROM schema_migrations WHERE version = '013_channel_bits'` });
    await insertIdempotent(store.client, 'assignments', rows([['k1', 1, 'c7', 'u7', 'chat'], ['k3', 3, 'c8', 'u8', 'phone']], 50), null);
    const projections = async () =>
      (await select<{ name: string }>(store.client, `SELECT DISTINCT name FROM system.projection_parts WHERE table = 'assignments' AND active`, {})).map((p) => p.name);
    expect(await projections()).toEqual(['hourly_counts']);
    // Its customers (uniqExactStateIf(customer_id, customer_id != '')) never matched a query's: ClickHouse reads
    // `customer_id != ''` in a query as notEmpty(customer_id), so any read of customers went to the whole table.
    expect(await readFrom(store, 'groupUniqArrayMerge(channels)')).toBe('ReadFromMergeTree (default.assignments)');

    // Stopped after any of its statements before the new projection is added, the views still answer.
    const steps = statements('013_channel_bits.sql');
    for (const statement of steps.slice(0, steps.findIndex((q) => q.includes('ADD PROJECTION')))) {
      await store.client.command({ query: statement });
      expect(await trends(store)).toEqual(await recount(store));
    }
    expect(await projections()).toEqual([]);

    expect((await migrate(store.client, { dedupWindow: 100 })).applied).toEqual(['013_channel_bits']);
    expect(await trends(store)).toEqual(await recount(store));
    await built(store);
    expect(await trends(store)).toEqual(await recount(store));
    expect(await readFrom(store)).toBe('ReadFromMergeTree (bucket_counts)');
    expect(await projections()).toEqual(['bucket_counts']);

    // A migration is recorded only once all its statements ran: one that failed on a later statement runs again from
    // the top (here all of it runs twice).
    await store.client.command({ query: `DELETE FROM schema_migrations WHERE version = '013_channel_bits'` });
    expect((await migrate(store.client, { dedupWindow: 100 })).applied).toEqual(['013_channel_bits']);
    await built(store);
    await insertIdempotent(store.client, 'assignments', rows([['k3', 2, 'c9', 'u9', 'web']], 100), null);
    expect(await trends(store)).toEqual(await recount(store));
    expect(await readFrom(store)).toBe('ReadFromMergeTree (bucket_counts)');
  });

  it('a window from part-way through an hour counts that whole hour in clusters and cost, so they leave out no contact the affected list gives', async () => {
    const at = (hhmm: string) => Date.parse(`2026-11-20T${hhmm}:00Z`);
    const spec: [string, number, string, string, string][] = [['kw', 0, 'cw1', 'uw1', 'chat'], ['kw', 0, 'cw2', 'uw2', 'email']];
    const [early, late] = rows(spec, 1000);
    await insertIdempotent(store.client, 'assignments', [{ ...early!, occurred_at: new Date(at('10:50')).toISOString() }, { ...late!, occurred_at: new Date(at('11:20')).toISOString() }], null);
    const since = at('10:40');
    expect((await affectedCustomers(store.client, 'kw', since))!.map((r) => r.customer_id)).toEqual(['uw2', 'uw1']);
    const cost = ownersConfigSchema.parse({}).cost;
    const listed = (await topClusters(store.client, { sinceMs: since, limit: 100, cost })).find((r) => r.cluster_id === 'kw');
    const all = (await topClusters(store.client, { limit: 100, cost })).find((r) => r.cluster_id === 'kw');
    expect(listed).toMatchObject({ contacts: 2, cases: 2, customers: 2, cost: all!.cost });
    expect(all!.cost).toBeGreaterThan(0);
    expect((await clusterCosts(store.client, cost, since, undefined, true)).find((r) => r.cluster_id === 'kw')).toMatchObject({ contacts: 2, cases: 2, cost: all!.cost });
  });

  it("routes by a rule's product however many other products the cluster's contacts name (16 of them are kept to show)", async () => {
    const spec = Array.from({ length: 40 }, (_, i): [string, number, string, string, string] => ['kp', 200, `cp${i}`, `up${i}`, 'chat']);
    const products = Array.from({ length: 38 }, (_, i) => `gadget-${String(i).padStart(2, '0')}`).concat('Router-X2', 'Überweisung');
    await insertIdempotent(store.client, 'assignments', rows(spec, 2000).map((r, i) => ({ ...r, product: products[i]! })), null);
    const owners = ownersConfigSchema.parse({ rules: [{ team: 'manufacturing', products: ['router-x2'] }, { team: 'payments', products: ['überweisung'] }] });
    const [row] = await clusterCosts(store.client, owners.cost, 0, ['kp'], false, owners.rules);
    expect(row!.products).toEqual(expect.arrayContaining(['Router-X2', 'Überweisung']));
    expect(row!.products.length).toBeLessThanOrEqual(18);
    expect(await clusterRoute(store.client, owners, 'kp')).toMatchObject({ owner: 'manufacturing', reason: 'rule' });
  });

  it('counts a case once per owner however many of its clusters the case\'s messages fell in, and none of a cluster left out', async () => {
    // Owner A has ko1 and ko2, B has ko3; ko4 (say resolved) is not charged to anyone.
    const spec: [string, number, string, string, string][] = [
      ['ko1', 300, 'co1', 'u1', 'chat'], ['ko2', 300, 'co1', 'u1', 'email'], // A: once
      ['ko1', 300, 'co2', 'u2', 'chat'], ['ko3', 300, 'co2', 'u2', 'chat'], // A once, B once
      ['ko2', 300, 'co3', 'u3', 'phone'], // A
      ['ko1', 300, 'co4', 'u4', 'chat'], ['ko1', 300, 'co4', 'u4', 'chat'], ['ko2', 300, 'co4', 'u4', 'chat'], ['ko3', 300, 'co4', 'u4', 'web'], // A once, B once
      ['ko4', 300, 'co1', 'u1', 'chat'], ['ko4', 300, 'co5', 'u5', 'chat'],
    ];
    await insertIdempotent(store.client, 'assignments', rows(spec, 3000), null);
    const since = T0 + 300 * HOUR;
    const cost = ownersConfigSchema.parse({}).cost;
    const team: Record<string, string> = { ko1: 'A', ko2: 'A', ko3: 'B' };
    const charged = (await clusterCosts(store.client, cost, since, ['ko1', 'ko2', 'ko3'], true)).map((r): ClusterCostRow & { owner: string } => ({ ...r, owner: team[r.cluster_id]! }));
    expect(charged.map((r) => [r.cluster_id, Number(r.cases)]).sort()).toEqual([['ko1', 3], ['ko2', 3], ['ko3', 2]]);
    const totals = await ownerTotals(store.client, charged, since);
    expect(totals.map((o) => [o.owner, o.clusters, o.cases, o.contacts])).toEqual([
      ['A', 2, 4, 7],
      ['B', 1, 2, 2],
    ]);
  });
});
