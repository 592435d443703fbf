import type { ClickHouseClient } from '@clickhouse/client';
import type { Episode } from '../trends/index.js';
import { chTime, insertIdempotent } from './writer.js';
import { select } from './select.js';
import { EPISODE_COLUMNS, storedEpisode, type StoredEpisodeRow } from './trends.js';

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

interface UndeliveredRow extends StoredEpisodeRow {
  delivered: number;
}

export interface Undelivered {
  episode: Episode;
  /** End (exclusive) of the episode's last bucket, as stored. */
  windowEndMs: number;
  /** The sink was given an earlier version of it. */
  seenBefore: boolean;
}

/**
 * Episodes updated since `sinceMs` whose latest version `sink` was never given, oldest update first; with
 * `refusedToo`, a version the sink refused for good (failed_permanent) counts as not given.
 */
export async function undeliveredEpisodes(client: ClickHouseClient, sink: string, sinceMs: number, refusedToo = false): Promise<Undelivered[]> {
  const rows = await select<UndeliveredRow>(
    client,
    `SELECT ${EPISODE_COLUMNS},
            ifNull(d.version, toInt64(-1)) AS delivered
       FROM (SELECT * FROM trend_alerts FINAL WHERE updated_at >= fromUnixTimestamp64Milli({since:Int64})) AS a
       LEFT JOIN (SELECT episode_id, max(version) AS version FROM alert_deliveries WHERE sink = {sink:String} ${refusedToo ? "AND outcome = 'delivered'" : ''} GROUP BY episode_id) AS d
         ON d.episode_id = a.episode_id
      WHERE ifNull(d.version, toInt64(-1)) < toInt64(toUnixTimestamp64Milli(a.updated_at))
      ORDER BY updated, episode_id`,
    { sink, since: Math.floor(sinceMs) },
    { join_use_nulls: 1 },
  );
  return rows.map((r) => ({ ...storedEpisode(r), seenBefore: Number(r.delivered) >= 0 }));
}
