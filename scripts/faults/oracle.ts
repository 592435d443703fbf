// The oracle: compares what ClickHouse holds with what was produced, by (topic, partition, offset).
// Run only once every consumer on the data directory has exited (chDB: one process per directory).
import { loadConfig } from '../../src/config/index.js';
import { openStore, type Store } from '../../src/store/index.js';
import { createMasker } from '../../src/pipeline/wire.js';
import type { Produced } from './kafka.js';

export interface Audit {
  expected_good: number;
  expected_bad: number;
  /** Good (and hostile) messages missing from case_events, and from assignments. */
  lost: number;
  lost_assignments: number;
  /** Rows beyond one per source offset, over case_events, assignments and dead_letters. */
  duplicated: number;
  duplicated_by_table: Record<string, number>;
  /** Σ |sum(contacts) − count() of assignments| per (cluster, hour); and the same through v_cluster_trends. */
  drift: number;
  /** Rows in case_events at an offset that held a bad message (or no message we produced). */
  spurious: number;
  dlq_precision: number;
  dlq_recall: number;
  dlq_wrong_reason: number;
  /** Hostile valid events whose stored description differs from the masked original. */
  hostile_mismatch: number;
}

type Row = Record<string, string | number>;

async function q(store: Store, query: string, params: Record<string, unknown> = {}): Promise<Row[]> {
  const rs = await store.client.query({ query, query_params: params, format: 'JSONEachRow' });
  return rs.json<Row>();
}

const loc = (p: unknown, o: unknown) => `${p}:${o}`;

function perOffset(rows: Row[]): { distinct: Set<string>; extra: number } {
  const distinct = new Set<string>();
  let extra = 0;
  for (const r of rows) {
    distinct.add(loc(r['p'], r['o']));
    extra += Number(r['n']) - 1;
  }
  return { distinct, extra };
}

export async function audit(dataDir: string, topic: string, produced: readonly Produced[]): Promise<Audit> {
  const config = loadConfig({ env: {}, overrides: { 'clickhouse.dataDir': dataDir } });
  const store = await openStore(config.clickhouse);
  try {
    const t = { t: topic };
    const byOffset = (table: string) =>
      q(store, `SELECT source_partition AS p, toString(source_offset) AS o, count() AS n FROM ${table} WHERE source_topic = {t:String} GROUP BY p, o`, t);
    const events = perOffset(await byOffset('case_events'));
    const assigned = perOffset(await byOffset('assignments'));
    const deadRows = await q(
      store,
      `SELECT source_partition AS p, toString(source_offset) AS o, count() AS n, groupUniqArray(toString(reason_code)) AS codes
       FROM dead_letters WHERE source_topic = {t:String} GROUP BY p, o`,
      t,
    );
    const dead = perOffset(deadRows);

    const good = produced.filter((m) => m.kind !== 'bad');
    const bad = new Map(produced.filter((m) => m.kind === 'bad').map((m) => [loc(m.partition, m.offset), m.reason!]));
    const goodLocs = new Set(good.map((m) => loc(m.partition, m.offset)));

    let wrongReason = 0;
    let dlqTrue = 0;
    for (const r of deadRows) {
      const want = bad.get(loc(r['p'], r['o']));
      const codes = r['codes'] as unknown as string[];
      if (want === undefined) continue;
      if (codes.length === 1 && codes[0] === want) dlqTrue++;
      else wrongReason++;
    }
    const found = [...bad.keys()].filter((k) => dead.distinct.has(k)).length;

    // Counts: the materialised view against its source, per cluster and hour, both ways round.
    const fromAssign = await q(store, `SELECT cluster_id AS c, toString(toStartOfHour(occurred_at)) AS b, count() AS n FROM assignments GROUP BY c, b`);
    const fromCounts = await q(store, `SELECT cluster_id AS c, toString(bucket) AS b, sum(contacts) AS n FROM cluster_counts GROUP BY c, b`);
    const fromView = await q(store, `SELECT cluster_id AS c, toString(bucket) AS b, contacts AS n FROM v_cluster_trends`);
    const drift = diff(fromAssign, fromCounts) + diff(fromAssign, fromView);

    // Hostile text: stored exactly as the masker renders it.
    const mask = createMasker(config);
    const hostile = good.filter((m) => m.kind === 'hostile');
    let hostileMismatch = 0;
    if (hostile.length) {
      const stored = await q(store, `SELECT event_id AS id, description AS d FROM case_events WHERE event_id IN {ids:Array(String)}`, {
        ids: hostile.map((h) => h.eventId!),
      });
      const byId = new Map(stored.map((r) => [String(r['id']), String(r['d'])]));
      for (const h of hostile) {
        const got = byId.get(h.eventId!);
        if (got !== undefined && got !== mask(h.description!).text) hostileMismatch++;
      }
    }

    return {
      expected_good: good.length,
      expected_bad: bad.size,
      lost: good.filter((m) => !events.distinct.has(loc(m.partition, m.offset))).length,
      lost_assignments: good.filter((m) => !assigned.distinct.has(loc(m.partition, m.offset))).length,
      duplicated: events.extra + assigned.extra + dead.extra,
      duplicated_by_table: { case_events: events.extra, assignments: assigned.extra, dead_letters: dead.extra },
      drift,
      spurious: [...events.distinct].filter((k) => !goodLocs.has(k)).length,
      dlq_precision: dead.distinct.size === 0 ? (bad.size === 0 ? 1 : 0) : dlqTrue / dead.distinct.size,
      dlq_recall: bad.size === 0 ? 1 : found / bad.size,
      dlq_wrong_reason: wrongReason,
      hostile_mismatch: hostileMismatch,
    };
  } finally {
    await store.close();
  }
}

function diff(a: Row[], b: Row[]): number {
  const m = new Map<string, number>();
  for (const r of a) m.set(`${r['c']}|${r['b']}`, Number(r['n']));
  let d = 0;
  for (const r of b) {
    const k = `${r['c']}|${r['b']}`;
    d += Math.abs((m.get(k) ?? 0) - Number(r['n']));
    m.delete(k);
  }
  for (const v of m.values()) d += v;
  return d;
}
