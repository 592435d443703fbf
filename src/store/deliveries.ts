import type { ClickHouseClient } from '@clickhouse/client';
import type { Episode } from '../trends/index.js';
import { chTime, insertIdempotent } from './writer.js';
import { select } from './select.js';

export interface DeliveryRecord {
  sink: string;
  episodeId: string;
  version: number;
  outcome: 'delivered' | 'failed_permanent';
  atMs: number;
}

/** Records what sinks were given (alert_deliveries keeps the highest version per sink and episode). */
export async function recordDeliveries(client: ClickHouseClient, records: readonly DeliveryRecord[]): Promise<void> {
  await insertIdempotent(
    client,
    'alert_deliveries',
    records.map((r) => ({ sink: r.sink, episode_id: r.episodeId, version: r.version, outcome: r.outcome, at: chTime(r.atMs) })),
    null,
  );
}

/** When each sink was first configured; a sink seen for the first time is recorded as configured now. */
export async function registerSinks(client: ClickHouseClient, sinks: readonly string[], nowMs: number): Promise<Map<string, number>> {
  const rows = await select<{ sink: string; since: number }>(
    client,
    'SELECT sink, toInt64(toUnixTimestamp64Milli(min(since))) AS since FROM alert_sinks WHERE sink IN {sinks:Array(String)} GROUP BY sink',
    { sinks },
  );
  const known = new Map(rows.map((r) => [r.sink, Number(r.since)]));
  const fresh = sinks.filter((s) => !known.has(s));
  if (fresh.length > 0) await insertIdempotent(client, 'alert_sinks', fresh.map((sink) => ({ sink, since: chTime(nowMs) })), null);
  for (const s of fresh) known.set(s, nowMs);
  return known;
}

interface UndeliveredRow {
  episode_id: string;
  cluster_id: string;
  kind: string;
  status: string;
  start: number;
  end: number;
  observed: number;
  expected: number;
  score: number;
  peak_score: number;
  peak_observed: number;
  customers: number;
  buckets: number;
  opened: number;
  updated: number;
  closed: number | null;
  delivered: number;
}

export interface Undelivered {
  episode: Episode;
  /** End (exclusive) of the episode's last bucket, as stored. */
  windowEndMs: number;
  /** The sink was given an earlier version of it. */
  seenBefore: boolean;
}

/** Episodes updated since `sinceMs` whose latest version `sink` was never given, oldest update first. */
export async function undeliveredEpisodes(client: ClickHouseClient, sink: string, sinceMs: number): Promise<Undelivered[]> {
  const rows = await select<UndeliveredRow>(
    client,
    `SELECT a.episode_id AS episode_id, a.cluster_id AS cluster_id, toString(a.kind) AS kind, toString(a.status) AS status,
            toInt64(toUnixTimestamp(a.window_start)) * 1000 AS start, toInt64(toUnixTimestamp(a.window_end)) * 1000 AS end,
            a.observed AS observed, a.expected AS expected, a.score AS score, a.peak_score AS peak_score,
            a.peak_observed AS peak_observed, a.customers AS customers, a.buckets AS buckets,
            toInt64(toUnixTimestamp64Milli(a.opened_at)) AS opened, toInt64(toUnixTimestamp64Milli(a.updated_at)) AS updated,
            if(isNull(a.closed_at), NULL, toInt64(toUnixTimestamp64Milli(assumeNotNull(a.closed_at)))) AS closed,
            ifNull(d.version, toInt64(-1)) AS delivered
       FROM (SELECT * FROM trend_alerts FINAL WHERE updated_at >= fromUnixTimestamp64Milli({since:Int64})) AS a
       LEFT JOIN (SELECT episode_id, max(version) AS version FROM alert_deliveries WHERE sink = {sink:String} GROUP BY episode_id) AS d
         ON d.episode_id = a.episode_id
      WHERE ifNull(d.version, toInt64(-1)) < toInt64(toUnixTimestamp64Milli(a.updated_at))
      ORDER BY updated, episode_id`,
    { sink, since: Math.floor(sinceMs) },
    { join_use_nulls: 1 },
  );
  return rows.map((r) => ({
    windowEndMs: Number(r.end),
    seenBefore: Number(r.delivered) >= 0,
    episode: {
      id: r.episode_id,
      clusterId: r.cluster_id,
      kind: r.kind as Episode['kind'],
      status: r.status === 'closed' ? 'closed' : 'open',
      startBucket: Number(r.start),
      // Not stored: only the window's end is, which the payload takes from windowEndMs.
      lastBucket: Number(r.start),
      openedAt: Number(r.opened),
      updatedAt: Number(r.updated),
      closedAt: r.closed === null ? null : Number(r.closed),
      observed: Number(r.observed),
      expected: Number(r.expected),
      score: Number(r.score),
      peakScore: Number(r.peak_score),
      peakObserved: Number(r.peak_observed),
      peakBucket: Number(r.start),
      customers: Number(r.customers),
      buckets: Number(r.buckets),
      quietBuckets: 0,
    },
  }));
}
