import type { ClickHouseClient } from '@clickhouse/client';
import { chTime, insertIdempotent } from './writer.js';
import { select } from './select.js';
import { goneClusterRows, goneClusters } from './gone.js';
import { labelOf } from '../cluster/labels.js';

export interface RangeEvent {
  event_id: string;
  case_id: string;
  customer_id: string;
  channel: string;
  occurred_at: string;
  description: string;
  cost: number | null;
  handle_seconds: number | null;
  csat: number | null;
  nps: number | null;
  effort: number | null;
  product: string;
  category: string;
  source_topic: string;
  source_partition: number;
  source_offset: number;
  ingested_at: string;
  current: string;
}

/**
 * The range's events from case_events (the source of truth: a re-run interrupted half-way is simply
 * run again), with the cluster each is assigned to now: under the newest version whose clusters were
 * recorded. A re-run killed before recording its clusters left assignments under a version of its own;
 * they are not what the range is clustered as, so the next attempt keeps the ids, and writes the lineage,
 * against the version before it. Killed after its delete, that version is all an event has left: its
 * clusters are the ones the next attempt keeps (else every id in the range was lost).
 */
export async function loadRange(client: ClickHouseClient, fromMs: number, toMs: number): Promise<RangeEvent[]> {
  return select<RangeEvent>(
    client,
    `SELECT e.event_id AS event_id, e.case_id AS case_id, e.customer_id AS customer_id, toString(e.channel) AS channel,
                   toString(e.occurred_at) AS occurred_at, e.description AS description, e.cost AS cost,
                   e.handle_seconds AS handle_seconds, e.csat AS csat, e.nps AS nps, e.effort AS effort,
                   toString(e.product) AS product, toString(e.category) AS category, toString(e.source_topic) AS source_topic,
                   e.source_partition AS source_partition, e.source_offset AS source_offset,
                   toString(e.ingested_at) AS ingested_at, ifNull(a.cluster_id, '') AS current
            FROM case_events AS e
            LEFT JOIN (SELECT event_id, argMax(cluster_id, (model_version IN (SELECT DISTINCT model_version FROM clusters), model_version)) AS cluster_id
                       FROM assignments
                       WHERE occurred_at >= fromUnixTimestamp64Milli({from:Int64}) AND occurred_at < fromUnixTimestamp64Milli({to:Int64})
                       GROUP BY event_id) AS a ON a.event_id = e.event_id
            WHERE e.occurred_at >= fromUnixTimestamp64Milli({from:Int64}) AND e.occurred_at < fromUnixTimestamp64Milli({to:Int64})
            ORDER BY e.occurred_at, e.event_id`,
    { from: fromMs, to: toMs },
    { join_use_nulls: 1 },
  );
}

/**
 * The highest model version anything was written under: assignments, and the clusters and lineage a re-run
 * records. A re-run interrupted after writing part of its version leaves some of it behind, so the next one
 * takes a version (and insert tokens) of its own instead of reusing those of a run already stored.
 */
export async function maxModelVersion(client: ClickHouseClient): Promise<number> {
  const [r] = await select<{ v: number }>(
    client,
    `SELECT greatest((SELECT max(model_version) FROM assignments), (SELECT max(model_version) FROM clusters),
                     (SELECT max(model_version) FROM cluster_lineage)) AS v`,
  );
  return Number(r?.v ?? 0);
}

/**
 * Rewrites a range under a new model version: the new assignments are inserted, then the range's older
 * ones are deleted (a synchronous mutation, which rebuilds their counts projection); counts are computed
 * from what is left. Nothing is lost at any point: interrupted between the two, the range holds both
 * versions until the re-run is run again (under a newer version, from case_events, with each event's
 * cluster as the newest stored version has it).
 */
export async function rewriteRange(
  client: ClickHouseClient,
  fromMs: number,
  toMs: number,
  rows: object[],
  version: number,
  token: string,
  /** Between the insert and the delete, and after the delete (the fault tests kill the process there). */
  reached?: (step: 'inserted' | 'deleted') => void,
): Promise<void> {
  const CHUNK = 50_000;
  for (let i = 0; i < rows.length; i += CHUNK) await insertIdempotent(client, 'assignments', rows.slice(i, i + CHUNK), `${token}/assignments/${i}`);
  reached?.('inserted');
  await client.command({
    query: `ALTER TABLE assignments DELETE WHERE occurred_at >= fromUnixTimestamp64Milli({from:Int64}) AND occurred_at < fromUnixTimestamp64Milli({to:Int64})
              AND model_version < {version:UInt32}`,
    query_params: { from: fromMs, to: toMs, version },
    clickhouse_settings: { mutations_sync: '2' },
  });
  reached?.('deleted');
}

/** Size and first and last event of clusters over all their stored assignments, not only a re-run's range. */
export async function clusterSpans(client: ClickHouseClient, ids: string[]): Promise<Map<string, { size: number; firstSeen: number; lastSeen: number }>> {
  const rows = await select<{ cluster_id: string; n: number; first: number; last: number }>(
    client,
    `SELECT cluster_id, count() AS n, toInt64(toUnixTimestamp64Milli(min(occurred_at))) AS first, toInt64(toUnixTimestamp64Milli(max(occurred_at))) AS last
       FROM assignments WHERE cluster_id IN {ids:Array(String)} GROUP BY cluster_id`,
    { ids },
  );
  return new Map(rows.map((r) => [r.cluster_id, { size: Number(r.n), firstSeen: Number(r.first), lastSeen: Number(r.last) }]));
}

export async function recordRerun(
  client: ClickHouseClient,
  version: number,
  clusters: { id: string; size: number; topTerms: string[]; firstSeen: number; lastSeen: number }[],
  lineage: { kind: string; from: string[]; to: string[] }[],
  nowMs: number,
  token: string,
  /** The re-run's range: a cluster the lineage takes out that keeps events outside it stays as it is. */
  range: { fromMs: number; toMs: number },
): Promise<{ keptOutside: string[] }> {
  await insertIdempotent(
    client,
    'cluster_lineage',
    lineage.map((l) => ({ model_version: version, kind: l.kind, from_ids: l.from, to_ids: l.to, similarity: 0, reason: 'batch re-fit', at: chTime(nowMs) })),
    `${token}/lineage`,
  );
  // Every cluster of the re-fit gets its new terms; kept ids keep their representative examples.
  // Retired and merged-away ids are marked so views and the dashboard stop listing them; they keep their
  // last description (goneClusterRows). Only those with no event left outside the range: a re-fit of one day
  // says where that day's events belong, and a cluster with cases on other days (and in the live model) lives on.
  const gone = goneClusters(lineage);
  const outside = await clustersWithEventsOutside(client, gone.map((g) => g.id), range);
  const ids = clusters.map((c) => c.id);
  const existing = await client.query({
    query: 'SELECT cluster_id, examples FROM v_clusters WHERE cluster_id IN {ids:Array(String)}',
    query_params: { ids },
    format: 'JSONEachRow',
  });
  const examples = new Map((await existing.json<{ cluster_id: string; examples: string[] }>()).map((r) => [r.cluster_id, r.examples]));
  const base = { model_version: version, updated_at: chTime(nowMs) };
  const goneRows = await goneClusterRows(client, gone.filter((g) => !outside.has(g.id)), base);
  await insertIdempotent(
    client,
    'clusters',
    [
      ...clusters.map((c) => ({
        ...base,
        cluster_id: c.id,
        label: labelOf(c.topTerms),
        top_terms: c.topTerms,
        examples: examples.get(c.id) ?? [],
        size: c.size,
        first_seen: chTime(c.firstSeen),
        last_seen: chTime(c.lastSeen),
        state: 'live',
        merged_into: '',
      })),
      ...goneRows,
    ],
    `${token}/clusters`,
  );
  return { keptOutside: [...outside].sort() };
}

/** Which of `ids` have stored assignments outside [fromMs, toMs). */
async function clustersWithEventsOutside(client: ClickHouseClient, ids: string[], range: { fromMs: number; toMs: number }): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await select<{ cluster_id: string }>(
    client,
    `SELECT DISTINCT cluster_id FROM assignments
     WHERE cluster_id IN {ids:Array(String)}
       AND (occurred_at < fromUnixTimestamp64Milli({from:Int64}) OR occurred_at >= fromUnixTimestamp64Milli({to:Int64}))`,
    { ids: [...new Set(ids)], from: range.fromMs, to: range.toMs },
  );
  return new Set(rows.map((r) => r.cluster_id));
}
